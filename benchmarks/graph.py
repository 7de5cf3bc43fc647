"""Graph unlearning benchmark: D2DGN against GNNDelete (and the baselines) on Cora.

Edge deletion (``edges:0.05``, link prediction) and node deletion (``nodes:0.05``, node
classification), GCN, every registered method, 3 seeds. For each configuration the bench
runner trains the original model, times ``retrain`` (gold) in the same run, times and
audits every method, and counts FLOPs in a separate run on the first seed.

The seed paper (Sinha et al., "Distill to Delete", 2023) claims D2DGN is up to 3.2x faster
than GNNDelete and needs 10.2e6 fewer FLOPs per forward pass. This script measures, in one
run and paired by seed: ``gnndelete seconds / d2dgn seconds`` (wall time of the whole
unlearning call, with each method's default number of steps), the same ratio per
optimizer step, forward-pass FLOPs of each unlearned model and their difference, FLOPs of
the whole unlearning call, and the audit gaps between the two (test AUC, deleted-edge AUC
against gold, MI ratio; accuracies for node deletion).

Run::

    OMP_NUM_THREADS=1 OBLIVIATE_DATA_DIR=../shared/data .venv/bin/python benchmarks/graph.py

Writes ``benchmarks/results/graph.json`` and ``graph.md`` and prints the Markdown tables.
``--dataset csbm`` runs the same on the built-in synthetic graph (no data needed).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from pathlib import Path
from typing import Any

from obliviate.bench.runner import run_bench
from obliviate.core.checkpoint import atomic_write_text
from obliviate.report.tables import render_markdown

RESULTS = Path(__file__).resolve().parent / "results"
COLUMNS = {
    "link": ("test_auc", "test_aup", "deleted_auc", "df_auc", "df_aup", "mi_ratio", "mi_ratio_ours", "mia_auc"),
    "node": ("deleted_accuracy", "retain_accuracy", "test_accuracy", "mia", "mia_auc"),
}
FORGETS = {"edges": ("edges:0.05", "link"), "nodes": ("nodes:0.05", "node")}


def _mean_std(values: list[float]) -> tuple[float, float]:
    values = [v for v in values if v is not None and math.isfinite(v)]
    if not values:
        return float("nan"), float("nan")
    mean = sum(values) / len(values)
    if len(values) == 1:
        return mean, 0.0
    return mean, math.sqrt(sum((v - mean) ** 2 for v in values) / (len(values) - 1))


def _runs(report: dict[str, Any], method: str) -> dict[int, dict[str, Any]]:
    return {run["seed"]: run for run in report["runs"] if run["method"] == method and run["status"] == "ok"}


def compare(report: dict[str, Any], objective: str, *, fast: str = "d2dgn", slow: str = "gnndelete") -> dict[str, Any]:
    """D2DGN against GNNDelete, paired by seed: time, time per step, FLOPs and audit gaps."""
    fast_runs, slow_runs, gold_runs = _runs(report, fast), _runs(report, slow), _runs(report, "gold")
    seeds = sorted(set(fast_runs) & set(slow_runs))
    out: dict[str, Any] = {"seeds": seeds}
    if not seeds:
        return out

    def paired(fn) -> dict[str, float]:
        mean, std = _mean_std([fn(fast_runs[s], slow_runs[s], gold_runs.get(s)) for s in seeds])
        return {"mean": mean, "std": std}

    out["speedup_seconds"] = paired(lambda f, s, g: s["seconds"] / f["seconds"])
    out["speedup_per_step"] = paired(
        lambda f, s, g: (s["seconds"] / s["info"]["steps"]) / (f["seconds"] / f["info"]["steps"])
    )
    out["steps"] = {fast: fast_runs[seeds[0]]["info"]["steps"], slow: slow_runs[seeds[0]]["info"]["steps"]}
    first = seeds[0]
    fwd_fast = fast_runs[first]["metrics"]["forward_flops"]
    fwd_slow = slow_runs[first]["metrics"]["forward_flops"]
    out["forward_flops"] = {fast: fwd_fast, slow: fwd_slow, "difference": fwd_slow - fwd_fast, "ratio": fwd_slow / fwd_fast}
    if fast_runs[first]["flops"] and slow_runs[first]["flops"]:
        out["unlearning_flops"] = {
            fast: fast_runs[first]["flops"],
            slow: slow_runs[first]["flops"],
            "ratio": slow_runs[first]["flops"] / fast_runs[first]["flops"],
        }
    for metric in COLUMNS[objective]:
        out[f"{metric}_{fast}_minus_{slow}"] = paired(lambda f, s, g, m=metric: f["metrics"][m] - s["metrics"][m])
        if gold_runs:
            for name, runs in ((fast, fast_runs), (slow, slow_runs)):
                out[f"{metric}_{name}_distance_to_gold"] = _mean_std_dict(
                    [abs(runs[s]["metrics"][metric] - gold_runs[s]["metrics"][metric]) for s in seeds if s in gold_runs]
                )
    return out


def _mean_std_dict(values: list[float]) -> dict[str, float]:
    mean, std = _mean_std(values)
    return {"mean": mean, "std": std}


def _cell(mean: float, std: float, digits: int = 3) -> str:
    if not math.isfinite(mean):
        return "-"
    return f"{mean:.{digits}f} ± {std:.{digits}f}"


def _flops(value: float | None) -> str:
    return "-" if value is None or not math.isfinite(value) else f"{value / 1e6:.1f}M"


def headline_table(reports: dict[str, dict[str, Any]]) -> str:
    """Markdown: one line per (configuration, row) with the audit, FLOPs, time and speedups."""
    lines = []
    for label, report in reports.items():
        objective = FORGETS[label][1]
        columns = COLUMNS[objective]
        options = report["options"]
        lines += [
            f"**{options['dataset']}, {options['forget']}** ({'link prediction' if objective == 'link' else 'node classification'}, "
            f"{options.get('model', 'gcn').upper()}, {len(report['seeds'])} seeds)",
            "",
            "| method | " + " | ".join(columns) + " | FLOPs / forward | FLOPs (unlearning) | seconds | speedup vs gold | speedup vs gnndelete |",
            "|---|" + "---:|" * (len(columns) + 5),
        ]
        gnndelete = _runs(report, "gnndelete")
        for row in report["summary"]:
            method = row["method"]
            if not row.get("runs"):
                continue
            runs = _runs(report, method)
            cells = [_cell(row[c]["mean"], row[c]["std"]) if row.get(c) else "-" for c in columns]
            forward = row.get("forward_flops", {}).get("mean")
            total = row.get("flops", {}).get("mean") if row.get("flops") else None
            seconds = row.get("seconds")
            speed = row.get("speedup")
            versus = "-"
            if gnndelete and method not in ("original",):
                ratios = [gnndelete[s]["seconds"] / runs[s]["seconds"] for s in runs if s in gnndelete and runs[s]["seconds"]]
                if ratios:
                    versus = _cell(*_mean_std(ratios), digits=2) + "x"
            name = f"**{method}**" if method == "gold" else method
            lines.append(
                f"| {name} | "
                + " | ".join(cells)
                + f" | {_flops(forward)} | {_flops(total)} | "
                + (_cell(seconds["mean"], seconds["std"], 2) if seconds else "-")
                + " | "
                + (_cell(speed["mean"], speed["std"], 1) + "x" if speed else "-")
                + f" | {versus} |"
            )
        lines.append("")
    return "\n".join(lines)


def comparison_text(comparisons: dict[str, dict[str, Any]]) -> str:
    """Markdown bullet list: the D2DGN / GNNDelete ratios and gaps per configuration."""
    lines = ["## D2DGN against GNNDelete (same run, paired by seed)", ""]
    for label, c in comparisons.items():
        if "speedup_seconds" not in c:
            lines.append(f"- {label}: d2dgn or gnndelete did not run")
            continue
        objective = FORGETS[label][1]
        s, p = c["speedup_seconds"], c["speedup_per_step"]
        f = c["forward_flops"]
        lines.append(
            f"- **{label}**: gnndelete seconds / d2dgn seconds = {s['mean']:.2f} ± {s['std']:.2f} "
            f"({c['steps']['gnndelete']} vs {c['steps']['d2dgn']} steps); per step {p['mean']:.2f} ± {p['std']:.2f}. "
            f"FLOPs per forward pass: d2dgn {f['d2dgn'] / 1e6:.1f}M, gnndelete {f['gnndelete'] / 1e6:.1f}M "
            f"(gnndelete needs {f['difference'] / 1e6:.1f}M more, ratio {f['ratio']:.3f})."
        )
        if "unlearning_flops" in c:
            u = c["unlearning_flops"]
            lines.append(
                f"  FLOPs of the whole unlearning call: d2dgn {u['d2dgn'] / 1e9:.2f}G, gnndelete {u['gnndelete'] / 1e9:.2f}G "
                f"(ratio {u['ratio']:.2f})."
            )
        gaps = []
        for metric in COLUMNS[objective]:
            gap = c[f"{metric}_d2dgn_minus_gnndelete"]
            text = f"{metric} d2dgn − gnndelete = {gap['mean']:+.3f} ± {gap['std']:.3f}"
            near = c.get(f"{metric}_d2dgn_distance_to_gold")
            far = c.get(f"{metric}_gnndelete_distance_to_gold")
            if near and far:
                text += f" (|gap to gold|: d2dgn {near['mean']:.3f}, gnndelete {far['mean']:.3f})"
            gaps.append(text)
        lines.append("  " + "; ".join(gaps) + ".")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--dataset", default="cora")
    parser.add_argument("--model", default="gcn")
    parser.add_argument("--forget", default="edges,nodes", help="comma-separated: edges, nodes")
    parser.add_argument("--methods", default="all")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    if args.dataset != "csbm" and not os.environ.get("OBLIVIATE_DATA_DIR"):
        print(f"OBLIVIATE_DATA_DIR is unset: it must name the folder holding planetoid/ for {args.dataset}", file=sys.stderr)
        return 2
    reports, comparisons = {}, {}
    for label in args.forget.split(","):
        forget, objective = FORGETS[label]
        report = run_bench(
            "graph",
            methods=args.methods,
            seeds=args.seeds,
            options={"dataset": args.dataset, "forget": forget, "model": args.model},
            count_flops=True,
            title=f"{args.dataset} {forget} ({args.model})",
        )
        reports[label] = report
        comparisons[label] = compare(report, objective)
    args.out.mkdir(parents=True, exist_ok=True)
    document = {"schema": "obliviate.benchmark.graph/1", "comparison": comparisons, "reports": reports}
    atomic_write_text(args.out / "graph.json", json.dumps(document, indent=2))
    table = headline_table(reports)
    text = comparison_text(comparisons)
    body = "\n\n".join(render_markdown(report) for report in reports.values())
    atomic_write_text(args.out / "graph.md", "# Graph unlearning benchmark\n\n" + table + "\n" + text + "\n" + body)
    print(table)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
