"""A user's own Hugging Face model folder and question-answer file through `obliviate forget`,
the bench runner on a tiny configuration, and the method contract on the llm request."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from obliviate.bench.runner import build_unlearner, run_bench
from obliviate.bench.tasks import task_spec
from obliviate.cli.main import app
from obliviate.core.errors import DataError, InvalidParameterError
from obliviate.llm.models import load_model_dir
from obliviate.llm.scenario import LLMScenario


@pytest.fixture(scope="module")
def user_folder(fact_scenarios, tmp_path_factory):
    """The seed-0 original saved as a Hugging Face folder, its corpus as a JSON-lines file."""
    scenario = fact_scenarios[0]
    root = tmp_path_factory.mktemp("user-llm")
    scenario.original().save_pretrained(root / "model")
    scenario.tokenizer.save_pretrained(root / "model")
    lines = [{"question": i.question, "answer": i.answer, "entity": i.entity, "attribute": i.attribute}
             for i in scenario.corpus.items]
    lines += [{"question": i.question, "answer": i.answer, "entity": i.entity, "attribute": i.attribute,
               "split": "holdout"} for i in scenario.corpus.holdout]
    (root / "qa.jsonl").write_text("".join(json.dumps(line) + "\n" for line in lines))
    (root / "ids.txt").write_text("\n".join(scenario.forget_ids) + "\n")
    return root, scenario


def test_forget_a_fact_from_the_users_own_model_folder_writes_model_and_certificate(user_folder, tmp_path):
    root, scenario = user_folder
    out = tmp_path / "deletion"
    result = CliRunner().invoke(app, [
        "forget", "--task", "llm", "--model-dir", str(root / "model"), "--data", str(root / "qa.jsonl"),
        "--forget", f"ids:{root / 'ids.txt'}", "--method", "unstar", "--out", str(out), "--quiet",
    ])
    assert result.exit_code == 0, result.output
    certificate = json.loads((out / "certificate.json").read_text())
    assert certificate["forget_set"]["count"] == 1 and certificate["method"]["name"] == "unstar"
    assert certificate["audit"]["forget_em"]["value"] == 0.0
    user = LLMScenario(dataset=str(root / "qa.jsonl"), forget=f"ids:{root / 'ids.txt'}", model_dir=root / "model")
    assert user.exact_matches(user.original())["forget_em"] == 1.0
    reloaded = user.load_model(out / "model.safetensors")
    assert user.exact_matches(reloaded)["forget_em"] == 0.0


def test_a_folder_without_a_model_is_refused_with_the_fix(tmp_path):
    with pytest.raises(DataError, match="save_pretrained"):
        load_model_dir(tmp_path)


def test_methods_never_mutate_the_model_and_keep_its_type(fact_scenarios):
    scenario = fact_scenarios[0]
    original = scenario.original()
    before = {k: v.clone() for k, v in original.state_dict().items()}
    for name in ("grad_ascent", "npo", "idk", "answer_swap"):
        result = build_unlearner("llm", name, {"steps": 3} if name in ("grad_ascent", "npo", "idk") else {}).unlearn(
            original, scenario.request())
        assert type(result.model) is type(original) and result.model.state_dict().keys() == before.keys()
    assert all((original.state_dict()[k] == v).all() for k, v in before.items())
    with pytest.raises(InvalidParameterError, match="steps"):
        build_unlearner("llm", "npo", {"steps": 0})


def test_bench_runs_every_method_beside_gold_on_a_tiny_corpus():
    spec = task_spec("llm")
    assert {"forget_em", "paraphrase_em", "hard_retain_em", "retain_em", "forget_quality", "mia_auc",
            "relearn_em"} <= set(spec.metrics)
    report = run_bench("llm", methods=["unstar", "grad_diff"], seeds=1, progress=False,
                       method_params={"grad_diff": {"steps": 3}},
                       options={"entities": 6, "holdout": 3, "attributes": 2, "epochs": 2})
    rows = {r["method"]: r for r in report["runs"]}
    assert {"unstar", "grad_diff"} <= set(rows) and all(rows[m].get("metrics") for m in ("unstar", "grad_diff"))
    assert "forget_em" in report["metrics"] and report["seeds"] == [0]
