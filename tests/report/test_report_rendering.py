"""The report schema and every renderer, on a hand-made report with known figures.

Two seeds, one method: the expected cells (mean ± sample std, gaps to gold) are worked
out by hand in the comments, so the tests check the arithmetic and the formatting.
"""

from __future__ import annotations

import copy
import json
import math

import numpy as np
import pytest
from rich.console import Console

from obliviate.bench.summary import mean_std, summarise
from obliviate.report.files import report_section, write_report_files
from obliviate.report.html import render_page
from obliviate.report.plots import plot_report
from obliviate.report.schema import (
    SCHEMA,
    ReportSchemaError,
    dumps_report,
    jsonable,
    load_report,
    summary_row,
    validate_report,
    write_report,
)
from obliviate.report.tables import format_number, render_markdown, rich_table

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _run(seed, method, role, metrics, seconds=None, speedup=None, flops=None):
    return {
        "seed": seed, "method": method, "role": role, "status": "ok", "reason": None, "metrics": metrics,
        "seconds": seconds, "speedup": speedup, "flops": flops, "info": {},
    }


def make_report(metrics=("forget_accuracy", "retain_accuracy")) -> dict:
    """original / gold / finetune / ssd (skipped) over seeds 0 and 1."""
    runs = [
        _run(0, "original", "reference", {"forget_accuracy": 0.9, "retain_accuracy": 0.95}),
        _run(0, "gold", "gold", {"forget_accuracy": 0.1, "retain_accuracy": 0.96}, 2.0, 1.0),
        _run(0, "finetune", "method", {"forget_accuracy": 0.3, "retain_accuracy": 0.90}, 0.5, 4.0),
        {**_run(0, "ssd", "method", {}), "status": "skipped", "reason": "does not support forget kind 'class'"},
        _run(1, "original", "reference", {"forget_accuracy": 0.8, "retain_accuracy": 0.97}),
        _run(1, "gold", "gold", {"forget_accuracy": 0.0, "retain_accuracy": 0.94}, 4.0, 1.0),
        _run(1, "finetune", "method", {"forget_accuracy": 0.2, "retain_accuracy": 0.92}, 1.0, 4.0),
        {**_run(1, "ssd", "method", {}), "status": "skipped", "reason": "does not support forget kind 'class'"},
    ]
    for run in runs:
        run["metrics"] = {k: v for k, v in run["metrics"].items() if k in metrics}
    methods = ["finetune", "ssd"]
    return {
        "schema": SCHEMA, "task": "classification", "title": "digits, forget class 3",
        "created": "2026-11-26T10:00:00+00:00",
        "options": {"dataset": "digits", "forget": "class:3"}, "seeds": [0, 1], "methods": methods,
        "params": {"retrain": {}, "finetune": {"epochs": 1}, "ssd": {}}, "metrics": list(metrics),
        "higher_is_better": ["retain_accuracy"] if "retain_accuracy" in metrics else [],
        "flags": {"count_flops": False, "relearn": False},
        "environment": {"python": "3.11", "packages": {"obliviate": "0.1.0", "torch": "2.13.0"}, "device": "cpu"},
        "runs": runs, "summary": summarise(runs, methods=methods, metrics=list(metrics)), "notes": ["a note"],
    }


@pytest.fixture
def report() -> dict:
    return make_report()


def test_summary_statistics_are_mean_and_sample_std_over_seeds(report):
    finetune = summary_row(report, "finetune")
    # forget accuracy 0.3 and 0.2: mean 0.25, sample std sqrt(2 * 0.05^2 / 1) = 0.0707
    assert finetune["forget_accuracy"]["mean"] == pytest.approx(0.25, abs=1e-12)
    assert finetune["forget_accuracy"]["std"] == pytest.approx(math.sqrt(0.005), abs=1e-12)
    # gaps 0.3 - 0.1 and 0.2 - 0.0 are both 0.2: paired by seed, std 0
    assert finetune["gap_to_gold"]["forget_accuracy"]["mean"] == pytest.approx(0.2, abs=1e-12)
    assert finetune["gap_to_gold"]["forget_accuracy"]["std"] == pytest.approx(0.0, abs=1e-12)
    assert finetune["speedup"] == {"mean": 4.0, "std": 0.0, "n": 2}
    assert summary_row(report, "gold")["seconds"]["mean"] == pytest.approx(3.0)
    assert "seconds" not in summary_row(report, "original")
    ssd = summary_row(report, "ssd")
    assert ssd["runs"] == 0 and "forget kind" in ssd["skipped"]


def test_mean_std_matches_numpy_and_ignores_missing_values():
    values = [0.1, 0.4, 0.35, 0.9]
    stat = mean_std(values + [None, float("nan")])
    assert stat["mean"] == pytest.approx(np.mean(values), abs=1e-12)
    assert stat["std"] == pytest.approx(np.std(values, ddof=1), abs=1e-12)
    assert stat["n"] == 4
    assert mean_std([0.7]) == {"mean": 0.7, "std": 0.0, "n": 1}
    assert mean_std([None, float("nan")]) == {"mean": None, "std": None, "n": 0}


def test_a_nan_seed_is_counted_out_and_shown_never_as_zero():
    from obliviate.report.tables import format_stat

    runs = [
        {"seed": seed, "method": name, "role": "gold" if name == "gold" else "method", "status": "ok",
         "reason": None, "metrics": {"mia_auc": value}, "seconds": 1.0, "speedup": 1.0, "flops": None, "info": {}}
        for seed, value in enumerate([0.6, None, 0.8])
        for name in ("gold", "m")
    ]
    row = summarise(runs, methods=["m"], metrics=["mia_auc"])[-1]
    assert row["runs"] == 3
    assert row["mia_auc"]["n"] == 2 and row["mia_auc"]["mean"] == pytest.approx(0.7)
    assert format_stat(row["mia_auc"], "mia_auc", runs=row["runs"]).endswith("[2/3]")
    assert format_stat(mean_std([None]), "mia_auc", runs=3) == "—"


def test_validate_report_accepts_a_built_report_and_survives_a_json_round_trip(report, tmp_path):
    path = write_report(report, tmp_path / "report.json")
    assert load_report(path) == json.loads(dumps_report(report))


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda r: r.update(schema="obliviate.report/0"), "schema"),
        (lambda r: r.pop("environment"), "environment"),
        (lambda r: r["summary"].pop(1), "gold"),
        (lambda r: r["summary"][2]["forget_accuracy"].pop("std"), "forget_accuracy"),
        (lambda r: r["summary"][2].update(seconds={"mean": -1.0, "std": -0.5}), "seconds.std"),
        (lambda r: r["runs"][2].update(method="unknown"), "runs[2].method"),
        (lambda r: r["runs"][2].update(seed=7), "runs[2].seed"),
        (lambda r: r["runs"][2].update(seconds=True), "runs[2].seconds"),
        (lambda r: r["runs"][2]["metrics"].update(forget_accuracy=float("nan")), "forget_accuracy"),
        (lambda r: r["runs"][3].update(reason=None), "runs[3].reason"),
        (lambda r: r["summary"][2].pop("speedup"), "speedup"),
    ],
)
def test_validate_report_names_the_field_that_breaks_the_schema(report, mutate, field):
    broken = copy.deepcopy(report)
    mutate(broken)
    with pytest.raises(ReportSchemaError, match=field.replace("[", r"\[").replace("]", r"\]")):
        validate_report(broken)


def test_an_invalid_report_is_not_written(report, tmp_path):
    del report["summary"][1]
    with pytest.raises(ReportSchemaError):
        write_report_files(report, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_jsonable_turns_numpy_scalars_and_non_finite_floats_into_json_types():
    converted = jsonable({"a": np.float32(0.5), "b": np.int64(3), "c": float("inf"), "d": (1, 2), "e": {3, 1}})
    assert converted == {"a": 0.5, "b": 3, "c": None, "d": [1, 2], "e": [1, 3]}
    json.dumps(converted, allow_nan=False)


def test_markdown_shows_every_row_with_mean_std_and_gap_to_gold(report):
    text = render_markdown(report)
    assert "| **gold (retrain)** | 0.050 ± 0.071 | 0.950 ± 0.014 | 3.00 ± 1.41 | 1.0x ± 0.0x |" in text
    assert "| finetune | 0.250 ± 0.071 | 0.910 ± 0.014 | 0.75 ± 0.35 | 4.0x ± 0.0x |" in text
    assert "| original | 0.850 ± 0.071 | 0.960 ± 0.014 | — | — |" in text
    # gaps: forget 0.3-0.1 and 0.2-0.0 (both +0.2); retain 0.90-0.96 = -0.06 and 0.92-0.94 = -0.02
    assert "| finetune | +0.200 ± 0.000 | -0.040 ± 0.028 |" in text
    assert "retain_accuracy ↑" in text
    assert "- `ssd`: does not support forget kind 'class'" in text
    assert "- a note" in text


def test_tables_are_rendered_from_the_summary_not_recomputed_from_runs(report):
    report["summary"][2]["forget_accuracy"] = {"mean": 0.123, "std": 0.004}
    assert "| finetune | 0.123 ± 0.004 |" in render_markdown(report)


def test_rich_table_lists_each_row_and_limits_columns_to_the_first_metrics(report):
    console = Console(record=True, width=160)
    console.print(rich_table(report, max_metrics=1))
    text = console.export_text()
    for label in ("original", "gold (retrain)", "finetune", "0.250", "±0.071", "4.0x"):
        assert label in text
    assert "retain" not in text and "1 more metric" in text


def test_format_number_per_kind_of_figure():
    assert format_number(12.345, "speedup") == "12.3x"
    assert format_number(0.4213, "seconds") == "0.42"
    assert format_number(2.12e9, "flops") == "2.1e9"
    assert format_number(0.98765, "forget_accuracy") == "0.988"
    assert format_number(-0.0001, "mia") == "0.000"
    assert format_number(None) == "—"


def test_plots_are_written_as_png_files(report, tmp_path):
    written = plot_report(report, tmp_path)
    assert set(written) == {"tradeoff", "speedup"}
    for path in written.values():
        data = path.read_bytes()
        assert data[:8] == PNG_MAGIC and len(data) > 5_000


def test_a_single_metric_report_gets_a_bar_chart_of_that_metric(tmp_path):
    written = plot_report(make_report(metrics=("forget_accuracy",)), tmp_path)
    assert set(written) == {"forget_accuracy", "speedup"}
    assert (tmp_path / "forget_accuracy.png").read_bytes()[:8] == PNG_MAGIC


def test_report_files_and_html_page_are_self_contained(report, tmp_path):
    written = write_report_files(report, tmp_path)
    assert {"json", "markdown", "html", "tradeoff", "speedup"} <= set(written)
    page = (tmp_path / "index.html").read_text()
    assert "<style>" in page and "http://" not in page and "https://" not in page and "<script" not in page
    for name in ("plots/tradeoff.png", "plots/speedup.png", "report.json", "report.md"):
        assert f'"{name}"' in page and (tmp_path / name).is_file()
    assert '<tr class="gold"><td>gold (retrain)</td>' in page


def test_html_escapes_text_from_the_report(report, tmp_path):
    report["notes"] = ["<script>alert(1)</script>"]
    section = report_section(report, report_dir=tmp_path, page_dir=tmp_path, plots={}, title="a <b> title")
    page = render_page("page", [section])
    assert "<script>" not in page and "&lt;script&gt;" in page and "a &lt;b&gt; title" in page
