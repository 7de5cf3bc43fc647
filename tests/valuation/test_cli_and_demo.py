"""``obliviate value`` and the demo section."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from obliviate.cli.main import app
from obliviate.valuation.demo import run_demo_section
from obliviate.valuation.experiment import ALL_METHODS

KEYS = {"noisy_f1", "precision_at_noise", "model_fits", "seconds"}


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def test_value_json_prints_the_detection_scores(runner):
    result = runner.invoke(app, ["value", "--dataset", "breast_cancer", "--method", "ecoval", "--noise", "0.1", "--json", "-q"])
    assert result.exit_code == 0, result.output
    row = json.loads(result.stdout.strip())
    assert KEYS <= set(row) and row["method"] == "ecoval"
    assert row["noisy_f1"] > 0.5 and 41 <= row["model_fits"] <= 121


def test_value_all_prints_one_row_per_method_and_writes_values(runner, tmp_path):
    result = runner.invoke(
        app,
        ["value", "--dataset", "wine", "--method", "all", "--n-train", "40", "--json", "-q",
         "--set", "tmc_shapley.n_permutations=2", "--set", "data_oob.n_estimators=10",
         "--values-out", str(tmp_path / "values.csv")],
    )
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.stdout.strip().splitlines()]
    assert [row["method"] for row in rows] == list(ALL_METHODS)
    assert all(KEYS <= set(row) for row in rows)
    assert (tmp_path / "values_ecoval.csv").read_text().startswith("id,value")


def test_value_reports_bad_input_in_one_line(runner):
    result = runner.invoke(app, ["value", "--method", "shapley_magic", "-q"])
    assert result.exit_code == 2
    assert result.stderr.strip().startswith("error: unknown valuation method 'shapley_magic'")
    result = runner.invoke(app, ["value", "--set", "ecoval.n_bundles=1", "-q", "--json"])
    assert result.exit_code == 2 and "n_bundles" in result.stderr
    result = runner.invoke(app, ["value", "--csv", "missing.csv", "-q"])
    assert result.exit_code == 2 and "--target" in result.stderr


def test_demo_section_writes_a_table_and_a_plot(tmp_path):
    summary = run_demo_section(tmp_path / "valuation", quick=True)
    assert summary["plot"].read_bytes()[:4] == b"\x89PNG"
    table = summary["table"].read_text()
    assert all(name in table for name in ALL_METHODS)
    assert {row["method"] for row in summary["rows"]} == set(ALL_METHODS)
    assert json.loads(summary["json"].read_text())["rows"][0]["method"] == "ecoval"
    assert "EcoVal" in summary["summary"]


def test_value_reads_a_users_csv_and_keeps_its_ids(runner, tmp_path):
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(0)
    labels = np.arange(120) % 2
    frame = pd.DataFrame({"size": labels * 2.0 + rng.normal(size=120), "shop": np.where(labels, "north", "south"),
                          "churned": labels, "customer": [f"u{i:03d}" for i in range(120)]})
    frame.to_csv(tmp_path / "customers.csv", index=False)
    out = tmp_path / "values.json"
    result = runner.invoke(
        app,
        ["value", "--csv", str(tmp_path / "customers.csv"), "--target", "churned", "--id-column", "customer",
         "--method", "knn_shapley", "--noise", "0.1", "--json", "-q", "--values-out", str(out)],
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["dataset"] == "customers"
    saved = json.loads(out.read_text())
    assert len(saved["ids"]) == 60 and all(i.startswith("u") for i in saved["ids"])
