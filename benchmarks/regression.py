"""Regression benchmark: every method against retraining from scratch, in three domains.

* tabular: California housing (``$OBLIVIATE_DATA_DIR/california-housing``), forgetting every
  block group worth at most $100k (``range:target<=1.0``); scikit-learn's diabetes data
  (``range:target>=200``) when ``OBLIVIATE_DATA_DIR`` is unset;
* vision: rotated digits (rotation angle of an 8x8 digit, small CNN), forgetting every
  image rotated by 30 degrees or more (``range:target>=30``), the analogue of the paper's
  "forget every face aged 0 to 30";
* forecasting: yearly sunspots (1-D convolutional forecaster on 12-year windows),
  forgetting the windows whose target year lies in 1900-1950 (``time:1900-1950``).

3 seeds each. For every seed the bench runner trains the original model, times ``retrain``
(gold) in the same run, and audits every method: L1 errors and their gaps to gold, the
paper's SVC membership attack (``mia``) and the same-distribution loss-attack AUC
(``mia_auc``), the Wasserstein distance of forget-set predictions to gold's, the relearn
time as a ratio to gold's, and ``speedup = gold seconds / method seconds``. The table puts
the paper's AgeDB figures (Tarun et al., ICML 2023) beside the measured ones.

Run::

    OMP_NUM_THREADS=1 OBLIVIATE_DATA_DIR=../shared/data .venv/bin/python benchmarks/regression.py

Writes ``benchmarks/results/regression.json`` and ``regression.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import torch

from obliviate.bench.runner import run_bench
from obliviate.core.checkpoint import atomic_write_text
from obliviate.report.tables import render_markdown

RESULTS = Path(__file__).resolve().parent / "results"
METHODS = ("finetune", "neggrad", "gaussian", "blindspot")
COLUMNS = ("forget_l1", "retain_l1", "test_forget_l1", "test_retain_l1", "mia", "mia_auc")

# Tarun et al., ICML 2023, AgeDB (forget ages 0-30), as published: test L1 on the retain
# ages and on the forgotten ages, and the SVC membership attack on the forget set.
PAPER_AGEDB = {
    "original": {"test_retain_l1": 9.33, "test_forget_l1": 12.77, "mia": 0.59},
    "gold": {"test_retain_l1": 11.38, "test_forget_l1": 24.31, "mia": 0.30},
    "finetune": {"test_retain_l1": 9.79, "test_forget_l1": 14.83, "mia": None},
    "gaussian": {"test_retain_l1": 9.81, "test_forget_l1": 17.07, "mia": None},
    "blindspot": {"test_retain_l1": 9.98, "test_forget_l1": 21.63, "mia": 0.40},
}


def configurations() -> list[dict]:
    tabular = (
        {"domain": "tabular", "dataset": "california", "forget": "range:target<=1.0"}
        if os.environ.get("OBLIVIATE_DATA_DIR")
        else {"domain": "tabular", "dataset": "diabetes", "forget": "range:target>=200"}
    )
    return [
        tabular,
        {"domain": "vision", "dataset": "rotated_digits", "forget": "range:target>=30"},
        {"domain": "forecasting", "dataset": "sunspots", "forget": "time:1900-1950"},
    ]


def _mean(row: dict, key: str) -> float | None:
    entry = row.get(key)
    return None if not isinstance(entry, dict) else entry.get("mean")


def _gap(row: dict, key: str) -> float | None:
    entry = row.get("gap_to_gold", {}).get(key)
    return None if entry is None else entry.get("mean")


def _fmt(value: float | None, digits: int = 3) -> str:
    return "-" if value is None else f"{value:.{digits}g}" if abs(value) >= 100 else f"{value:.{digits}f}"


def gap_table(reports: list[dict]) -> str:
    """Markdown: one line per (domain, method): value (gap to gold), Wasserstein, relearn ratio, speedup."""
    head = (
        "| domain | data | forget | method | "
        + " | ".join(f"{c} (gap)" for c in COLUMNS)
        + " | wasserstein_to_gold | relearn_ratio | speedup |"
    )
    lines = [head, "|" + "---|" * (len(COLUMNS) + 7)]
    for report in reports:
        options = report["options"]
        for row in report["summary"]:
            if row.get("runs", 0) == 0:
                continue
            cells = []
            for column in COLUMNS:
                value, gap = _mean(row, column), _gap(row, column)
                if value is None:
                    cells.append("-")
                elif row["method"] == "gold":
                    cells.append(_fmt(value))
                else:
                    cells.append(f"{_fmt(value)} ({gap:+.3f})" if gap is not None else _fmt(value))
            speed = _mean(row, "speedup")
            lines.append(
                f"| {report['title']} | {options['dataset']} | {options['forget']} | {row['method']} | "
                + " | ".join(cells)
                + f" | {_fmt(_mean(row, 'wasserstein_to_gold'))} | {_fmt(_mean(row, 'relearn_ratio'), 2)}"
                + f" | {'-' if speed is None else f'{speed:.1f}x'} |"
            )
    return "\n".join(lines)


def _best(rows: list[dict], metric: str) -> str:
    scored = [(abs(_gap(r, metric)), r["method"]) for r in rows if _gap(r, metric) is not None]
    if not scored:
        return "-"
    gap, name = min(scored)
    return f"{name} ({gap:.3f})"


def closest_to_gold(reports: list[dict]) -> str:
    """Markdown: per domain, which method lies closest to gold on forget L1 and on MIA, and blindspot's speedup."""
    lines = [
        "| domain | closest to gold on forget_l1 | closest to gold on mia | closest on mia_auc | blindspot speedup |",
        "|---|---|---|---|---|",
    ]
    for report in reports:
        methods = [r for r in report["summary"] if r["role"] == "method" and r.get("runs", 0)]

        blindspot = next((r for r in methods if r["method"] == "blindspot"), None)
        speed = _mean(blindspot, "speedup") if blindspot else None
        lines.append(
            f"| {report['title']} | {_best(methods, 'forget_l1')} | {_best(methods, 'mia')} | "
            f"{_best(methods, 'mia_auc')} | "
            f"{'-' if speed is None else f'{speed:.1f}x'} |"
        )
    return "\n".join(lines)


def paper_table(reports: list[dict]) -> str:
    """Markdown: the paper's AgeDB test L1 (retain / forgotten range) and MIA beside each domain's."""
    head = "| method | AgeDB (paper): test L1 retain / forget, mia | " + " | ".join(
        f"{r['title']}: test L1 retain / forget, mia" for r in reports
    ) + " |"
    lines = [head, "|---|---|" + "---|" * len(reports)]
    for method, claim in PAPER_AGEDB.items():
        mia = "-" if claim["mia"] is None else f"{claim['mia']:.2f}"
        cells = [f"{claim['test_retain_l1']:.2f} / {claim['test_forget_l1']:.2f}, {mia}"]
        for report in reports:
            row = next((r for r in report["summary"] if r["method"] == method), None)
            if row is None or not row.get("runs"):
                cells.append("-")
                continue
            cells.append(
                f"{_fmt(_mean(row, 'test_retain_l1'))} / {_fmt(_mean(row, 'test_forget_l1'))}, {_fmt(_mean(row, 'mia'), 2)}"
            )
        lines.append(f"| {method} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--methods", default=",".join(METHODS))
    parser.add_argument("--no-relearn", action="store_true", help="skip the relearn-time probe")
    args = parser.parse_args(argv)
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
    reports = []
    started = time.perf_counter()
    for config in configurations():
        options = {k: v for k, v in config.items() if k != "domain"}
        print(f"{config['domain']}: {options}", file=sys.stderr)
        reports.append(
            run_bench(
                "regression",
                methods=args.methods,
                seeds=args.seeds,
                options=options,
                relearn=not args.no_relearn,
                progress=False,
                title=config["domain"],
            )
        )
    seconds = time.perf_counter() - started
    RESULTS.mkdir(parents=True, exist_ok=True)
    document = {"benchmark": "regression", "seconds": seconds, "torch_threads": torch.get_num_threads(),
                "paper_agedb": PAPER_AGEDB, "reports": reports}
    atomic_write_text(RESULTS / "regression.json", json.dumps(document, indent=1, sort_keys=True) + "\n")
    parts = [
        "# Regression benchmark",
        "",
        f"3 domains x {args.seeds} seeds, {seconds:.0f} s in all on {torch.get_num_threads()} torch thread(s). "
        "Values are means over seeds; gaps to gold (method - gold, paired by seed) in brackets; "
        "`speedup = gold seconds / method seconds`, measured in the same run; "
        "`relearn_ratio = relearn steps / gold's relearn steps`.",
        "",
        gap_table(reports),
        "",
        "## Closest to gold",
        "",
        closest_to_gold(reports),
        "",
        "## Beside the paper (AgeDB, Tarun et al., ICML 2023)",
        "",
        "The paper's retain/forget columns are test errors on the retained and the forgotten ages; "
        "here `test_retain_l1` / `test_forget_l1` (test rows outside / inside the forgotten range or period).",
        "",
        paper_table(reports),
        "",
    ]
    for report in reports:
        parts += [f"## {report['title']}: full table", "", render_markdown(report), ""]
    atomic_write_text(RESULTS / "regression.md", "\n".join(parts))
    print(gap_table(reports))
    print()
    print(closest_to_gold(reports))
    print()
    print(paper_table(reports))
    print(f"\nwrote {RESULTS / 'regression.json'} and {RESULTS / 'regression.md'} ({seconds:.0f} s)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
