"""The ``obliviate`` command line, driven in-process through typer's CliRunner.

Bad input must give one line on stderr and a non-zero exit; good input must give what
the API gives (valid report JSON, a certificate that matches the written weights).
"""

from __future__ import annotations

import dataclasses
import json
import sys

import pytest
from typer.testing import CliRunner

from obliviate.audit.certificate import verify_certificate
from obliviate.bench import demo as demo_module
from obliviate.bench.tasks import DemoConfig, task_spec
from obliviate.classification.scenario import ClassificationScenario
from obliviate.cli.main import app
from obliviate.core.checkpoint import load_state, save_model, state_sha256
from obliviate.report.schema import validate_report

TINY = ["--dataset", "digits", "--epochs", "2", "--seeds", "1", "--quiet"]


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def _one_error_line(result) -> str:
    assert result.exit_code != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.output
    return lines[0]


def test_bench_json_prints_only_the_report_on_stdout_and_writes_files(runner, tmp_path):
    out = tmp_path / "bench"
    result = runner.invoke(
        app,
        ["bench", "classification", "--forget", "class:3", "--methods", "finetune",
         "--set", "finetune.epochs=1", "--json", "--out", str(out), *TINY],
    )
    assert result.exit_code == 0, result.output
    report = validate_report(json.loads(result.stdout))
    assert [row["method"] for row in report["summary"]] == ["original", "gold", "finetune"]
    assert report["params"]["finetune"]["epochs"] == 1 and report["options"]["epochs"] == 2
    assert "gold (retrain)" in result.stderr  # the table went to stderr
    for name in ("report.json", "report.md", "index.html", "plots/tradeoff.png", "plots/speedup.png"):
        assert (out / name).is_file(), name
    assert json.loads((out / "report.json").read_text())["summary"] == report["summary"]


@pytest.mark.parametrize("spec", ["class3", "banana:3", "class:x"])
def test_bad_forget_spec_gives_one_line_naming_the_spec(runner, spec):
    result = runner.invoke(app, ["bench", "classification", "--forget", spec, "--methods", "finetune", *TINY])
    line = _one_error_line(result)
    assert line.startswith("error: ") and spec in line


def test_unknown_method_gives_one_line_listing_the_registered_ones(runner):
    result = runner.invoke(app, ["bench", "classification", "--methods", "finetune,nope", *TINY])
    line = _one_error_line(result)
    assert "'nope'" in line and "retrain" in line


def test_unknown_task_gives_one_line(runner):
    line = _one_error_line(runner.invoke(app, ["bench", "astrology", *TINY]))
    assert "unknown task 'astrology'" in line and "classification" in line


@pytest.mark.parametrize(
    ("assignment", "expected"),
    [("finetune.epochs", "METHOD.PARAM=VALUE"), ("epochs=3", "METHOD.PARAM=VALUE"),
     ("finetune.epochz=3", "no parameter 'epochz'"), ("finetune.lr=-1", "lr")],
)
def test_bad_set_gives_one_line(runner, assignment, expected):
    result = runner.invoke(app, ["bench", "classification", "--methods", "finetune", "--set", assignment, *TINY])
    assert expected in _one_error_line(result)


def test_methods_lists_retrain_with_its_tags(runner):
    result = runner.invoke(app, ["methods", "classification"])
    assert result.exit_code == 0 and "retrain" in result.stdout and "finetune" in result.stdout
    rows = json.loads(runner.invoke(app, ["methods", "classification", "--json"]).stdout)
    retrain = next(row for row in rows if row["method"] == "retrain")
    assert retrain["exact"] is True and "class" in retrain["forget_kinds"]
    assert all(row["exact"] is False for row in rows if row["method"] != "retrain")


@pytest.mark.parametrize("command", ["bench", "methods", "forget", "demo", "verify", "audit"])
def test_every_command_help_shows_an_example(runner, command):
    result = runner.invoke(app, [command, "--help"])
    assert result.exit_code == 0 and "Example" in result.stdout and f"obliviate {command}" in result.stdout


def test_demo_writes_an_index_page_with_a_section_per_task(runner, tmp_path, monkeypatch):
    real = task_spec("classification")
    fast = DemoConfig("tiny digits", {"dataset": "digits", "forget": "class:3", "epochs": 2}, ("finetune", "no_such"),
                      method_params={"finetune": {"epochs": 1}})
    monkeypatch.setattr(demo_module, "task_spec", lambda name: dataclasses.replace(real, demo=(fast, fast)))
    out = tmp_path / "demo"
    result = runner.invoke(app, ["demo", "--out", str(out), "--tasks", "classification", "--quick", "--quiet"])
    assert result.exit_code == 0, result.output
    page = (out / "index.html").read_text()
    assert "<h2>classification</h2>" in page and "<h3>tiny digits</h3>" in page
    assert page.count("<h3>") == 1  # --quick runs the first configuration only
    assert 'src="classification/tiny-digits/plots/tradeoff.png"' in page
    report = validate_report(json.loads((out / "classification/tiny-digits/report.json").read_text()))
    assert report["methods"] == ["finetune"] and report["seeds"] == [0]
    assert any("no_such" in note for note in report["notes"])


def test_demo_with_unknown_task_gives_one_line(runner, tmp_path):
    line = _one_error_line(runner.invoke(app, ["demo", "--out", str(tmp_path), "--tasks", "astrology"]))
    assert "astrology" in line


@pytest.fixture(scope="module")
def saved_model(tmp_path_factory):
    scenario = ClassificationScenario(dataset="digits", forget="class:3", epochs=2)
    model = scenario.original()
    path = tmp_path_factory.mktemp("model") / "model.safetensors"
    save_model(model, path)
    return path, model


def test_forget_writes_weights_whose_hash_is_the_certificates_after_hash(runner, tmp_path, saved_model):
    path, model = saved_model
    out = tmp_path / "forgotten"
    result = runner.invoke(
        app,
        ["forget", "--task", "classification", "--model-file", str(path), "--recipe", "cnn", "--dataset", "digits",
         "--forget", "class:3", "--method", "finetune", "--set", "epochs=1", "--out", str(out)],
    )
    assert result.exit_code == 0, result.output
    certificate = json.loads((out / "certificate.json").read_text())
    state, metadata = load_state(out / "model.safetensors")
    assert certificate["model"]["sha256_after"] == state_sha256(state)
    assert certificate["model"]["sha256_before"] == state_sha256(model)
    assert certificate["model"]["sha256_after"] != certificate["model"]["sha256_before"]
    assert certificate["method"] == {"name": "finetune", "params": {"epochs": 1, "lr": 0.001, "batch_size": 64}}
    assert certificate["forget_spec"] == "class:3" and certificate["dataset"] == "digits"
    assert verify_certificate(certificate, state)
    assert metadata["method"] == "finetune"
    assert "forget_accuracy" in certificate["audit"]


def test_forget_with_weights_of_another_recipe_gives_one_line(runner, tmp_path, saved_model):
    path, _ = saved_model
    result = runner.invoke(
        app,
        ["forget", "--model-file", str(path), "--recipe", "mlp", "--dataset", "digits", "--forget", "class:3",
         "--method", "finetune", "--out", str(tmp_path / "x")],
    )
    assert "does not fit this model" in _one_error_line(result)
    assert not (tmp_path / "x").exists()


def test_demo_shows_a_failed_section_on_the_page_and_exits_non_zero(runner, tmp_path, monkeypatch):
    from obliviate.core.errors import DataError

    def broken_scenario(**options):
        raise DataError("the data file 'x.gz' is missing; put it in $OBLIVIATE_DATA_DIR")

    real = task_spec("classification")
    broken = dataclasses.replace(
        real, make_scenario=broken_scenario, demo=(DemoConfig("needs a file", {}, ("finetune",)),)
    )
    monkeypatch.setattr(demo_module, "task_spec", lambda name: broken)
    out = tmp_path / "demo"
    result = runner.invoke(app, ["demo", "--out", str(out), "--tasks", "classification", "--quiet"])
    assert result.exit_code == 1
    assert "needs a file: FAILED: the data file 'x.gz' is missing" in result.stderr
    page = (out / "index.html").read_text()
    assert '<div class="error">the data file &#x27;x.gz&#x27; is missing' in page


@pytest.mark.parametrize(
    ("args", "expected"),
    [(["--option", "rounds"], "KEY=VALUE"), (["--option", "rounds=5"], "does not take one of the options"),
     (["--seeds", "two"], "bad --seeds 'two'")],
)
def test_bad_scenario_options_give_one_line(runner, args, expected):
    result = runner.invoke(app, ["bench", "classification", "--methods", "finetune", "--quiet", *args])
    assert expected in _one_error_line(result)


@pytest.fixture(scope="module")
def chain(tmp_path_factory, saved_model):
    """Two successive deletions on one model through the CLI: class 3, then class 5."""
    from typer.testing import CliRunner

    path, _ = saved_model
    root = tmp_path_factory.mktemp("chain")
    runner, model_file = CliRunner(), path
    for step, spec in enumerate(("class:3", "class:5"), start=1):
        out = root / f"step{step}"
        result = runner.invoke(
            app,
            ["forget", "--task", "classification", "--model-file", str(model_file), "--recipe", "cnn", "--dataset",
             "digits", "--forget", spec, "--method", "finetune", "--set", "epochs=1", "--out", str(out)],
        )
        assert result.exit_code == 0, result.output
        model_file = out / "model.safetensors"
    history = root / "history"
    history.mkdir()
    for step in (1, 2):
        (history / f"{step:03d}.json").write_text((root / f"step{step}" / "certificate.json").read_text())
    return root, history


def test_verify_names_every_check_and_exits_zero_when_all_hold(runner, chain, saved_model):
    root, _ = chain
    path, _ = saved_model
    step = root / "step1"
    result = runner.invoke(
        app, ["verify", str(step / "certificate.json"), "--model", str(step / "model.safetensors"), "--before", str(path)]
    )
    assert result.exit_code == 0, result.output
    for name in ("digest", "weights after", "weights before"):
        assert f"ok   {name}" in result.stdout


def test_verify_reports_a_wrong_model_and_a_wrong_before(runner, chain, saved_model):
    root, _ = chain
    path, _ = saved_model
    cert = root / "step2" / "certificate.json"
    wrong_after = runner.invoke(app, ["verify", str(cert), "--model", str(root / "step1" / "model.safetensors")])
    assert wrong_after.exit_code == 1 and "verification failed at: weights after" in wrong_after.stdout
    wrong_before = runner.invoke(
        app, ["verify", str(cert), "--model", str(root / "step2" / "model.safetensors"), "--before", str(path)]
    )
    assert wrong_before.exit_code == 1 and "verification failed at: weights before" in wrong_before.stdout


@pytest.mark.parametrize(
    "edit",
    [
        lambda c: c["method"].update(name="retrain"),
        lambda c: c["audit"].update(forget_accuracy=0.0),
        lambda c: c.update(forget_spec="class:4"),
        lambda c: c["model"].update(sha256_after="0" * 64),
        lambda c: c["forget_set"].update(sha256="0" * 64),
    ],
    ids=["method", "audit", "forget-spec", "weights-hash", "forget-ids-hash"],
)
def test_verify_detects_an_edited_field(runner, chain, tmp_path, edit):
    root, _ = chain
    cert = json.loads((root / "step1" / "certificate.json").read_text())
    edit(cert)
    tampered = tmp_path / "certificate.json"
    tampered.write_text(json.dumps(cert))
    result = runner.invoke(app, ["verify", str(tampered), "--model", str(root / "step1" / "model.safetensors")])
    assert result.exit_code == 1 and "FAIL digest" in result.stdout


def test_verify_of_the_forget_ids(runner, chain, tmp_path):
    root, _ = chain
    forgotten = ClassificationScenario(dataset="digits", forget="class:3").forget_indices
    ids = tmp_path / "ids.txt"
    ids.write_text("".join(f"{i}\n" for i in forgotten[::-1]))  # any order
    cert = str(root / "step1" / "certificate.json")
    assert runner.invoke(app, ["verify", cert, "--ids", str(ids)]).exit_code == 0
    ids.write_text("".join(f"{i}\n" for i in forgotten[1:]))  # one id missing
    result = runner.invoke(app, ["verify", cert, "--ids", str(ids)])
    assert result.exit_code == 1 and "FAIL forget ids" in result.stdout


def test_verify_chain_checks_the_links_in_order_and_names_the_first_broken_one(runner, chain, tmp_path):
    _, history = chain
    result = runner.invoke(app, ["verify", "--chain", str(history)])
    assert result.exit_code == 0, result.output
    assert "ok   link 2: 002.json: intact, follows 001.json" in result.stdout
    broken = tmp_path / "broken"
    broken.mkdir()
    # The second deletion listed first: its weights before are not what the first produced.
    (broken / "001.json").write_text((history / "002.json").read_text())
    (broken / "002.json").write_text((history / "001.json").read_text())
    result = runner.invoke(app, ["verify", "--chain", str(broken)])
    assert result.exit_code == 1 and "verification failed at: link 2" in result.stdout


def _ed25519_keys(folder):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519

    key = ed25519.Ed25519PrivateKey.generate()
    private = folder / "officer.pem"
    private.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    public = folder / "officer.pub.pem"
    public.write_bytes(
        key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    return private, public


def test_a_signed_certificate_verifies_and_a_recomputed_digest_without_the_key_does_not(runner, tmp_path, saved_model):
    from obliviate.audit.certificate import _digest

    path, _ = saved_model
    private, public = _ed25519_keys(tmp_path)
    out = tmp_path / "signed"
    result = runner.invoke(
        app,
        ["forget", "--model-file", str(path), "--model", "cnn", "--dataset", "digits", "--forget", "class:3",
         "--method", "finetune", "--set", "epochs=1", "--out", str(out), "--sign-key", str(private), "--quiet"],
    )
    assert result.exit_code == 0, result.output
    cert_path = out / "certificate.json"
    good = runner.invoke(app, ["verify", str(cert_path), "--model", str(out / "model.safetensors"), "--public-key", str(public)])
    assert good.exit_code == 0 and "ok   signature" in good.stdout
    # A forger edits the audit and recomputes the digest: the digest check passes, the signature fails.
    cert = json.loads(cert_path.read_text())
    cert["audit"]["forget_accuracy"]["value"] = 0.5 + cert["audit"]["forget_accuracy"]["value"]
    cert["certificate_sha256"] = _digest(cert)
    forged = tmp_path / "forged.json"
    forged.write_text(json.dumps(cert))
    bad = runner.invoke(app, ["verify", str(forged), "--public-key", str(public)])
    assert "ok   digest" in bad.stdout
    assert bad.exit_code == 1 and "verification failed at: signature" in bad.stdout
    # Another officer's key does not verify it either.
    (tmp_path / "other").mkdir()
    _, other = _ed25519_keys(tmp_path / "other")
    wrong = runner.invoke(app, ["verify", str(cert_path), "--public-key", str(other)])
    assert wrong.exit_code == 1, wrong.stdout


def test_demo_shows_a_companion_tools_section_with_its_plot(runner, tmp_path, monkeypatch):
    def fake_section(out_dir, progress=False):
        import matplotlib

        matplotlib.use("Agg")
        from matplotlib import pyplot as plt

        out_dir.mkdir(parents=True)
        plt.plot([0, 1]), plt.savefig(out_dir / "curve.png"), plt.close()
        (out_dir / "table.md").write_text("| a |\n")
        return {"summary": "EcoVal F1 0.8", "plot": out_dir / "curve.png", "table": out_dir / "table.md"}

    import types

    monkeypatch.setitem(sys.modules, "fake_companion_demo", types.SimpleNamespace(run_demo_section=fake_section))
    monkeypatch.setattr(demo_module, "COMPANIONS", {"valuation": ("fake_companion_demo", "data valuation")})
    out = tmp_path / "demo"
    result = runner.invoke(app, ["demo", "--out", str(out), "--tasks", "valuation", "--quiet"])
    assert result.exit_code == 0, result.output
    page = (out / "index.html").read_text()
    assert "<h2>data valuation</h2>" in page and "EcoVal F1 0.8" in page
    assert 'src="valuation/curve.png"' in page and 'href="valuation/table.md"' in page
