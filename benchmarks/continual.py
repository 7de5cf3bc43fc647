"""Continual benchmark: ``cl_unlearn`` and the baselines on a class-incremental stream with
an unlearning request, against the gold stream (retrained without the forgotten data).

Stream ``learn:0-1,learn:2-3,learn:4-5,unlearn:2-3,learn:6-7`` on digits (built in) and the
MNIST test set (``$OBLIVIATE_DATA_DIR/mnist-test``, skipped without it), 3 seeds. Every
method starts from the same state (the model, buffer and EMA teacher after ``learn:4-5``),
applies the deletion with its own rule and learns the rest of the stream. The table gives
medians over seeds of the final audit, the accuracy on the forgotten classes right after
the deletion step (gold: 0), and the speedup ``gold seconds / method seconds`` measured in
the same run. The accuracy matrices (operations x tasks, seed 0) are plotted per method.

Run::

    OMP_NUM_THREADS=1 OBLIVIATE_DATA_DIR=../shared/data .venv/bin/python benchmarks/continual.py

Writes ``benchmarks/results/continual.json``, ``continual.md`` and ``continual.<data>.png``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
from pathlib import Path

from obliviate.bench.runner import run_bench
from obliviate.continual.scenario import bench_spec
from obliviate.continual.stream import DEFAULT_STREAM
from obliviate.core.checkpoint import atomic_write_text
from obliviate.report.plots import plot_accuracy_matrices

RESULTS = Path(__file__).resolve().parent / "results"
METHODS = ("cl_unlearn", "finetune", "er", "der++", "lwf")
COLUMNS = ("retained_accuracy", "forgotten_accuracy", "bwt", "mia", "mia_auc")
STEP = 3
FORGOTTEN_TASK = 1
CLAIM = ("paper: the unified framework matches or exceeds existing approaches in both continual "
         "learning and unlearning (qualitative; no figures for these data)")


def _median(values):
    values = [v for v in values if v is not None and v == v]
    return statistics.median(values) if values else float("nan")


def rows_of(report: dict) -> list[dict]:
    out = []
    for name in ("gold", *METHODS):
        runs = [r for r in report["runs"] if r["method"] == name and r["status"] == "ok"]
        if not runs:
            continue
        row = {"method": name, **{c: _median([r["metrics"].get(c) for r in runs]) for c in COLUMNS}}
        row["forgotten_after_step"] = _median(
            [r["info"]["accuracy_matrix"][STEP][FORGOTTEN_TASK] for r in runs if "accuracy_matrix" in r["info"]]
        )
        row["seconds"] = _median([r["seconds"] for r in runs])
        row["speedup"] = _median([r["speedup"] for r in runs])
        out.append(row)
    return out


def markdown(tables: dict[str, list[dict]]) -> str:
    head = ("| data | method | retained acc | forgotten acc | forgotten acc after step | bwt | mia (SVC) | "
            "mia AUC | seconds | speedup vs gold |")
    lines = [head, "|" + "---|" * 10]
    for data, rows in tables.items():
        for r in rows:
            lines.append(
                f"| {data} | {r['method']} | {r['retained_accuracy']:.3f} | {r['forgotten_accuracy']:.3f} | "
                f"{r['forgotten_after_step']:.3f} | {r['bwt']:.3f} | {r['mia']:.3f} | {r['mia_auc']:.3f} | "
                f"{r['seconds']:.2f} | {r['speedup']:.2f} |"
            )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--datasets", nargs="+", default=["digits", "mnist"])
    parser.add_argument("--render", action="store_true", help="redraw the plots from continual.json (no runs)")
    args = parser.parse_args()
    if args.render:
        saved = json.loads((RESULTS / "continual.json").read_text())
        for data, report in saved["reports"].items():
            plot_accuracy_matrices(report, RESULTS / f"continual.{data}.png")
        return
    spec = bench_spec()
    reports, tables = {}, {}
    for data in args.datasets:
        if data == "mnist" and not os.environ.get("OBLIVIATE_DATA_DIR"):
            print("mnist skipped: set OBLIVIATE_DATA_DIR to the folder holding mnist-test/")
            continue
        report = run_bench(spec, methods=list(METHODS), seeds=args.seeds,
                           options={"dataset": data, "stream": DEFAULT_STREAM}, progress=True,
                           title=f"continual, {data}")
        reports[data] = report
        tables[data] = rows_of(report)
        plot_accuracy_matrices(report, RESULTS / f"continual.{data}.png")
    RESULTS.mkdir(exist_ok=True)
    atomic_write_text(RESULTS / "continual.json", json.dumps({"claim": CLAIM, "tables": tables, "reports": reports},
                                                             indent=1, default=str))
    text = (f"# Continual learning with unlearning\n\nStream `{DEFAULT_STREAM}`, medians over {args.seeds} seeds; "
            "gold = the stream retrained without classes 2-3.\n\n" + markdown(tables) + f"\n\n{CLAIM}\n")
    atomic_write_text(RESULTS / "continual.md", text)
    print(text)


if __name__ == "__main__":
    main()
