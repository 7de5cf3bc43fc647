"""``obliviate synth score`` and ``bench`` in-process, the bench report, and the demo section."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from obliviate.cli.main import app
from obliviate.data.tabular import load_builtin_table
from obliviate.synthetic.bench import run_synth_bench
from obliviate.synthetic.demo import run_demo_section
from obliviate.synthetic.score import PUBLISHED_KEYS, tabsyndex


@pytest.fixture(scope="module")
def csv_pair(tmp_path_factory):
    data = load_builtin_table("wine")
    order = np.random.default_rng(0).permutation(len(data.frame))
    folder = tmp_path_factory.mktemp("csv")
    real, synth = data.frame.iloc[order[:89]], data.frame.iloc[order[89:178]]
    real.to_csv(folder / "real.csv", index=False)
    synth.to_csv(folder / "synth.csv", index=False)
    return folder / "real.csv", folder / "synth.csv", real.reset_index(drop=True), synth.reset_index(drop=True)


def test_score_json_has_the_published_keys_and_the_api_numbers(csv_pair):
    real_csv, synth_csv, real, synth = csv_pair
    arguments = ["synth", "score", str(real_csv), str(synth_csv), "--target", "target", "--categorical", "target",
                 "--n-jobs", "1", "--json"]  # fmt: skip
    result = CliRunner().invoke(app, arguments)
    assert result.exit_code == 0, result.output
    printed = json.loads(result.stdout)
    assert set(PUBLISHED_KEYS) <= set(printed) and printed["faithful"] is False
    expected = tabsyndex(real, synth, categorical=["target"], target="target", n_jobs=1)
    for key in PUBLISHED_KEYS:
        assert printed[key] == pytest.approx(getattr(expected, key), abs=1e-9)
    faithful = CliRunner().invoke(app, [*arguments, "--faithful"])
    assert faithful.exit_code == 0 and json.loads(faithful.stdout)["faithful"] is True


def test_score_table_and_bad_input_give_one_error_line(csv_pair, tmp_path):
    real_csv, synth_csv, _, _ = csv_pair
    runner = CliRunner()
    table = runner.invoke(app, ["synth", "score", str(real_csv), str(synth_csv), "--categorical", "target"])
    assert table.exit_code == 0 and "corr_score" in table.stdout
    for arguments in (
        [str(real_csv), str(synth_csv)],  # target is text but not listed as categorical
        [str(real_csv), str(tmp_path / "none.csv"), "--categorical", "target"],
        [str(real_csv), str(synth_csv), "--categorical", "target", "--target", "nope"],
    ):
        result = runner.invoke(app, ["synth", "score", *arguments])
        assert result.exit_code == 2
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr


def test_bench_writes_its_report_table_and_plot(tmp_path):
    out = tmp_path / "bench"
    result = CliRunner().invoke(
        app,
        ["synth", "bench", "--dataset", "wine", "--generators", "independent", "--seeds", "1",
         "--no-faithful", "--quiet", "--out", str(out), "--json"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["generators"] == ["holdout", "independent"]
    assert (out / "report.md").read_text().count("\n|") >= 3
    assert (out / "components.png").stat().st_size > 1000
    bad = CliRunner().invoke(app, ["synth", "bench", "--dataset", "wine", "--generators", "gan9000", "--quiet"])
    assert bad.exit_code == 2 and "unknown generators" in bad.stderr


def test_bench_ranks_the_reference_generators():
    report = run_synth_bench(
        "breast_cancer", generators=["bootstrap", "independent", "gaussian_copula"], seeds=[0], faithful=False,
        n_jobs=1, progress=False,
    )
    scores = {row["generator"]: row["score"]["mean"] for row in report["summary"]}
    assert scores["independent"] < scores["gaussian_copula"] < scores["holdout"] + 0.02
    assert scores["independent"] < scores["bootstrap"]


def test_demo_section_writes_a_table_and_plots_and_returns_their_paths(tmp_path):
    summary = run_demo_section(tmp_path / "synthetic", dataset="wine", generators=("gaussian_copula",), epochs=2)
    for key in ("table", "json", "components_plot", "training_plot"):
        assert summary["paths"][key].is_file(), key
    assert summary["paths"]["training_plot"].read_bytes()[:4] == b"\x89PNG"
    assert "| gaussian_copula |" in summary["table_markdown"]
    assert len(summary["training_curve"]) >= 2 and summary["seconds"] < 60


def test_the_bench_table_reports_where_the_published_code_fails():
    from obliviate.synthetic.bench import render_table, summarise

    scores = {key: 0.5 for key in PUBLISHED_KEYS}
    results = [
        {"generator": "smote", "seed": seed, "fit_seconds": 0.1, "score_seconds": 0.2,
         "tabsyndex": {**scores, "faithful": False},
         "faithful": {"error": "faithful mode: real categories ['x'] ..."} if seed else {**scores, "faithful": True}}
        for seed in (0, 1)
    ]  # fmt: skip
    table = render_table({"summary": summarise(results), "rank_agreement": None})
    assert "| smote | 0.500 |" in table and "(fails 1/2)" in table
