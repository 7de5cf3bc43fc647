"""Classification benchmark: every method against retraining from scratch.

Digits (built in) and the MNIST test set (``$OBLIVIATE_DATA_DIR/mnist-test``), class and
10% random forgetting, 3 seeds. For each configuration the bench runner trains the
original model, times ``retrain`` (gold) in the same run, and audits every method. The
table reports each method's gap to gold (forget/retain/test accuracy, MIA) and its
speedup ``gold seconds / method seconds``.

For random forgetting the target is not zero forget accuracy but gold's: a method meets
it when its forget accuracy and MIA lie within 0.03 of gold's.

Run::

    OMP_NUM_THREADS=1 OBLIVIATE_DATA_DIR=../shared/data .venv/bin/python benchmarks/classification.py

Writes ``benchmarks/results/classification.json`` and ``classification.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from obliviate.bench.runner import run_bench
from obliviate.core.checkpoint import atomic_write_text
from obliviate.report.tables import render_markdown

RESULTS = Path(__file__).resolve().parent / "results"
TARGET = 0.03
COLUMNS = ("forget_accuracy", "retain_accuracy", "test_accuracy", "mia")


def configurations(datasets: list[str]) -> list[dict]:
    configs = []
    for dataset in datasets:
        for forget in ("class:3", "random:0.1"):
            configs.append({"dataset": dataset, "forget": forget})
    return configs


def gap_table(reports: list[dict]) -> str:
    """Markdown: one line per (configuration, method) with gaps to gold and speedup."""
    head = "| data | forget | method | " + " | ".join(f"{c} (gap)" for c in COLUMNS) + " | speedup | meets 0.03 |"
    lines = [head, "|" + "---|" * (len(COLUMNS) + 5)]
    for report in reports:
        options = report["options"]
        for row in report["summary"]:
            if row.get("runs", 0) == 0 or row["method"] == "original":
                continue
            cells = []
            for column in COLUMNS:
                value = row[column]["mean"]
                gap = row["gap_to_gold"][column]["mean"]
                cells.append(f"{value:.3f} ({gap:+.3f})")
            speed = row.get("speedup", {}).get("mean")
            speed_text = f"{speed:.1f}x" if speed is not None else "-"
            meets = "-"
            if options["forget"].startswith("random") and row["method"] != "gold":
                ok = all(abs(row["gap_to_gold"][c]["mean"]) <= TARGET for c in ("forget_accuracy", "mia"))
                meets = "yes" if ok else "no"
            lines.append(
                f"| {options['dataset']} | {options['forget']} | {row['method']} | "
                + " | ".join(cells)
                + f" | {speed_text} | {meets} |"
            )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--datasets", default="digits,mnist")
    parser.add_argument("--methods", default="all")
    args = parser.parse_args(argv)
    datasets = args.datasets.split(",")
    if "mnist" in datasets and not os.environ.get("OBLIVIATE_DATA_DIR"):
        print("OBLIVIATE_DATA_DIR is unset: skipping MNIST (set it to the shared data folder)", file=sys.stderr)
        datasets.remove("mnist")
    reports = []
    for options in configurations(datasets):
        report = run_bench(
            "classification",
            methods=args.methods,
            seeds=args.seeds,
            options=options,
            title=f"{options['dataset']} {options['forget']}",
        )
        reports.append(report)
    RESULTS.mkdir(parents=True, exist_ok=True)
    atomic_write_text(RESULTS / "classification.json", json.dumps(reports, indent=2))
    table = gap_table(reports)
    body = "\n\n".join(render_markdown(report) for report in reports)
    atomic_write_text(RESULTS / "classification.md", "# Classification benchmark\n\n" + table + "\n\n" + body + "\n")
    print(table)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
