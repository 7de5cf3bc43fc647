"""Classification benchmark: every method against retraining from scratch.

Digits (built in) and the MNIST test set (``$OBLIVIATE_DATA_DIR/mnist-test``), class and
10% random forgetting, 3 seeds. For each configuration the bench runner trains the
original model, times ``retrain`` (gold) in the same run, and audits every method. The
table reports each method's gap to gold (forget/retain/test accuracy, MIA) and its
speedup ``gold seconds / method seconds``.

For random forgetting the target is not zero forget accuracy but gold's: a method meets
it when its forget accuracy and MIA lie within 0.03 of gold's. Relearn time (the
concealment check of :mod:`obliviate.audit.relearn`) is measured for every row, beside
gold's and a randomly initialised network's. A second part runs each method with its
paper's own hyper-parameters (``--params paper``) beside the defaults tuned here, on data
that did not tune them (wine) and on digits.

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
COLUMNS = ("forget_accuracy", "retain_accuracy", "test_accuracy", "mia", "mia_auc")
PRESET_CONFIGS = (
    {"dataset": "digits", "forget": "class:3"},
    {"dataset": "wine", "forget": "class:1", "model": "mlp"},
)


def configurations(datasets: list[str]) -> list[dict]:
    configs = []
    for dataset in datasets:
        for forget in ("class:3", "random:0.1"):
            configs.append({"dataset": dataset, "forget": forget})
    return configs


def gap_table(reports: list[dict]) -> str:
    """Markdown: one line per (configuration, method) with gaps to gold and speedup."""
    head = (
        "| data | forget | method | " + " | ".join(f"{c} (gap)" for c in COLUMNS)
        + " | relearn steps | random-init steps | relearn ratio | concealed seeds | speedup | meets 0.03 |"
    )
    lines = [head, "|" + "---|" * (len(COLUMNS) + 9)]
    for report in reports:
        options = report["options"]
        for row in report["summary"]:
            if row.get("runs", 0) == 0:
                continue
            cells = []
            for column in COLUMNS:
                value = row[column]["mean"]
                gap = row["gap_to_gold"][column]["mean"]
                cells.append(f"{value:.3f} ({gap:+.3f})")
            speed = row.get("speedup", {}).get("mean")
            speed_text = f"{speed:.1f}x" if speed is not None else "-"
            relearn = [_stat(row, "relearn_steps", ".0f"), _stat(row, "relearn_random_steps", ".0f")]
            relearn.append(_stat(row, "relearn_ratio", ".2f"))
            concealed = row.get("relearn_concealed", {})
            relearn.append(
                f"{round(concealed['mean'] * concealed['n'])}/{concealed['n']}"
                if concealed.get("n") and row["method"] != "original" else "-"
            )
            cells += relearn
            meets = "-"
            if options["forget"].startswith("random") and row["method"] not in ("gold", "original"):
                ok = all(abs(row["gap_to_gold"][c]["mean"]) <= TARGET for c in ("forget_accuracy", "mia"))
                meets = "yes" if ok else "no"
            lines.append(
                f"| {options['dataset']} | {options['forget']} | {row['method']} | "
                + " | ".join(cells)
                + f" | {speed_text} | {meets} |"
            )
    return "\n".join(lines)


def _stat(row: dict, key: str, spec: str) -> str:
    stat = row.get(key) or {}
    if stat.get("mean") is None:
        return "-"
    text = format(stat["mean"], spec)
    return text if stat.get("n", 1) >= row["runs"] else f"{text} [{stat['n']}/{row['runs']}]"


def preset_table(pairs: list[tuple[dict, dict]]) -> str:
    """Markdown: per configuration and method, defaults against the paper's settings."""
    lines = [
        "| data | forget | method | forget_accuracy default / paper | retain_accuracy default / paper "
        "| mia_auc default / paper | speedup default / paper |",
        "|---|---|---|---|---|---|---|",
    ]
    for default, paper in pairs:
        options = default["options"]
        by_method = {row["method"]: row for row in paper["summary"]}
        for row in default["summary"]:
            other = by_method.get(row["method"])
            if row["runs"] == 0 or other is None or other["runs"] == 0 or row["method"] in ("original", "gold"):
                continue
            cells = []
            for key, spec in (("forget_accuracy", ".3f"), ("retain_accuracy", ".3f"), ("mia_auc", ".3f"), ("speedup", ".1f")):
                cells.append(f"{_stat(row, key, spec)} / {_stat(other, key, spec)}")
            lines.append(f"| {options['dataset']} | {options['forget']} | {row['method']} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def write_tables(reports: list[dict], pairs: list[tuple[dict, dict]]) -> None:
    """``classification.md`` (and stdout) from the reports: gaps, relearn, paper settings."""
    table = gap_table(reports)
    presets = preset_table(pairs) if pairs else ""
    everything = reports + [report for pair in pairs for report in pair]
    body = "\n\n".join(render_markdown(report) for report in everything)
    atomic_write_text(
        RESULTS / "classification.md",
        "# Classification benchmark\n\n" + table + "\n\n## Paper settings\n\n" + presets + "\n\n" + body + "\n",
    )
    print(table)
    print(presets)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--datasets", default="digits,mnist")
    parser.add_argument("--methods", default="all")
    parser.add_argument("--no-presets", action="store_true", help="skip the paper-settings comparison")
    parser.add_argument("--render", action="store_true", help="only re-render the tables from the stored JSON")
    args = parser.parse_args(argv)
    if args.render:
        stored = json.loads((RESULTS / "classification.json").read_text())
        main_reports = [r for r in stored if r.get("flags", {}).get("relearn")]
        rest = [r for r in stored if not r.get("flags", {}).get("relearn")]
        write_tables(main_reports, list(zip(rest[0::2], rest[1::2])))
        return 0
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
            relearn=True,
            title=f"{options['dataset']} {options['forget']}",
        )
        reports.append(report)
    pairs = []
    if not args.no_presets:
        for options in PRESET_CONFIGS:
            pair = tuple(
                run_bench(
                    "classification",
                    methods=args.methods,
                    seeds=args.seeds,
                    options=options,
                    param_preset=preset,
                    title=f"{options['dataset']} {options['forget']} ({preset} parameters)",
                )
                for preset in ("default", "paper")
            )
            pairs.append(pair)
    RESULTS.mkdir(parents=True, exist_ok=True)
    everything = reports + [report for pair in pairs for report in pair]
    atomic_write_text(RESULTS / "classification.json", json.dumps(everything, indent=2))
    write_tables(reports, pairs)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
