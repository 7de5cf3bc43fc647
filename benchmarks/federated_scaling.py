"""Federated unlearning as the federation grows: 10, 50 and 100 clients that converge.

MNIST (the test set of ``$OBLIVIATE_DATA_DIR``, split 8,000 / 2,000) among N clients with
Dirichlet(0.5) class proportions; client 0 plants a backdoor (a 4x4 trigger patch relabelled
to class 0, twice the mean client size in triggered copies) and is then forgotten. The
network is the built-in MLP, so that the federation can be trained long enough to converge
at every size on two CPU cores: FedAvg for 20 rounds at 10 clients, 40 at 50 and 60 at 100
(2 local epochs of SGD with momentum, learning rate 0.1: in a one-seed probe at 100 clients it
reached test accuracy 0.929 in 40 rounds where 0.05 reached 0.915 in 60). Per size and seed the bench runner trains the original (every
client's contribution recorded), gold (FedAvg from scratch without client 0) and every
method; ConDa's variants (contributions normalised per example; a 5% quantile cutoff; the
public code's inverted ratio) are applied to the same cached federation afterwards.

Per size the table shows medians over seeds and the spread (min-max) of: the original's
test accuracy and backdoor success (the backdoor has to be learnt for its removal to mean
anything), every method's test, retain and forget accuracy, the clean-image rate of the
target class (a model sending clean images to the target scores high on backdoor success
without any backdoor) and backdoor success, and each method's time over ConDa's.

The ConDa paper (Chundawat et al., 2024) claims ConDa removes a backdoored client's
influence and is at least 100x faster than the nearest state-of-the-art method.

Run::

    OMP_NUM_THREADS=1 OBLIVIATE_DATA_DIR=../shared/data .venv/bin/python benchmarks/federated_scaling.py

Writes ``benchmarks/results/federated_scaling.json``, ``federated_scaling.md`` and
``federated_scaling.png``; ``--render`` redraws the table and plot from the JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from obliviate import get_method
from obliviate.bench.environment import describe_environment
from obliviate.bench.runner import run_bench
from obliviate.core.checkpoint import atomic_write_text
from obliviate.federated import engine
from obliviate.federated.scenario import FederatedScenario

RESULTS = Path(__file__).resolve().parent / "results"
ROUNDS = {10: 20, 50: 40, 100: 60}
LR = 0.1
METHODS = ["conda", "finetune", "neggrad", "pga", "federaser"]
VARIANTS = {
    "conda (normalize=example)": {"normalize": "example"},
    "conda (cutoff_quantile=0.05)": {"cutoff_quantile": 0.05},
    "conda (compat=respai)": {"compat": "respai"},
}
FIGURES = ("test_accuracy", "retain_accuracy", "forget_accuracy", "clean_target_rate", "backdoor_success")
CLAIM = ("paper: ConDa removes the backdoored client's influence (backdoor success near gold's) "
         "and is at least 100x faster than the nearest state-of-the-art method")


def _median(values: list[float]) -> float | None:
    values = [v for v in values if v is not None]
    return float(statistics.median(values)) if values else None


def _spread(values: list[float]) -> tuple[float, float] | None:
    values = [v for v in values if v is not None]
    return (min(values), max(values)) if values else None


def method_rows(report: dict[str, Any], variants: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per method (original, gold, the methods, ConDa's variants): per-seed figures."""
    rows = []
    names = ["original", "gold", *METHODS]
    for name in names:
        runs = [r for r in report["runs"] if r["method"] == name and r["status"] == "ok"]
        if name == "gold" and not runs:
            runs = [r for r in report["runs"] if r["method"] == "retrain" and r["status"] == "ok"]
        if not runs:
            continue
        rows.append({"method": name, "seeds": [r["seed"] for r in runs],
                     **{f: [r["metrics"].get(f) for r in runs] for f in FIGURES},
                     "seconds": [r.get("seconds") for r in runs],
                     "dampened_fraction": [(r.get("info") or {}).get("dampened_fraction") for r in runs]})
    for label in VARIANTS:
        runs = [v for v in variants if v["method"] == label]
        if runs:
            rows.append({"method": label, "seeds": [r["seed"] for r in runs],
                         **{f: [r.get(f) for r in runs] for f in FIGURES}, "seconds": [r["seconds"] for r in runs],
                         "dampened_fraction": [r.get("dampened_fraction") for r in runs]})
    conda = _median(next((row["seconds"] for row in rows if row["method"] == "conda"), []))
    for row in rows:
        seconds = _median(row["seconds"])
        row["over_conda"] = seconds / conda if seconds and conda and row["method"] != "original" else None
    return rows


def variant_runs(options: dict[str, Any], seeds: list[int]) -> list[dict[str, Any]]:
    """ConDa's variants on the cached federations of ``seeds`` (server-side only: no training)."""
    conda = get_method("federated", "conda")
    rows = []
    for seed in seeds:
        scenario = FederatedScenario(seed=seed, **options)
        original, request = scenario.original(), scenario.request()
        for label, params in VARIANTS.items():
            result = conda(**params).unlearn(original, request)
            rows.append({"method": label, "seed": seed, "seconds": result.seconds,
                         "dampened_fraction": result.info.get("dampened_fraction"), **scenario.audit(result.model)})
    return rows


def fmt(value: Any, digits: int = 3) -> str:
    if value is None:
        return "—"
    return f"{value:.{digits}f}" if isinstance(value, float) else str(value)


def cell(values: list[float], digits: int = 3) -> str:
    """Median and, when seeds differ, the min-max spread."""
    median, spread = _median(values), _spread(values)
    if median is None:
        return "—"
    if spread is None or spread[1] - spread[0] < 10 ** -digits:
        return fmt(median, digits)
    return f"{fmt(median, digits)} ({fmt(spread[0], digits)}–{fmt(spread[1], digits)})"


def ratio(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:.0f}x" if value >= 10 else f"{value:.2g}x"


def markdown(document: dict[str, Any]) -> str:
    lines = [
        "## Federated unlearning as the federation grows (MNIST, MLP, Dirichlet 0.5, forget backdoored client 0)",
        "",
        f"Medians over seeds {document['seeds']} with the min–max spread in brackets. Local SGD learning rate "
        f"{document.get('lr', LR)}, {document.get('local_epochs', 2)} local epochs; rounds per size: "
        + ", ".join(f"{n} clients {r}" for n, r in sorted(document["rounds"].items(), key=lambda kv: int(kv[0])))
        + ". `clean_target_rate`: clean non-target test images sent to the target class. "
        "Seconds are wall time including Flower's messaging; `/ conda` is each method's median time over ConDa's. "
        "`weights dampened`: ConDa's share of dampened weights (— where the run did not record it). "
        "ConDa's variants are timed on their own `unlearn` call, the other methods through the bench runner.",
        "",
        f"{CLAIM}.",
    ]
    for size in document["sizes"]:
        rows = size["rows"]
        lines += ["", f"### {size['clients']} clients ({size['rounds']} rounds)", "",
                  "| method | " + " | ".join(FIGURES) + " | weights dampened | seconds | / conda |",
                  "|---|" + "---|" * (len(FIGURES) + 3)]
        for row in rows:
            name = "gold (retrain)" if row["method"] == "gold" else row["method"]
            seconds = "—" if row["method"] == "original" else cell(row["seconds"], 3 if row["method"].startswith("conda") else 1)
            dampened = row.get("dampened_fraction") or []
            share = cell([100 * v for v in dampened if v is not None], 1) + "%" if any(v is not None for v in dampened) else "—"
            lines.append(f"| {name} | " + " | ".join(cell(row[f]) for f in FIGURES)
                         + f" | {share} | {seconds} | {ratio(row['over_conda'])} |")
    lines += ["", f"Machine: {document['environment'].get('cpu_count', '?')} CPUs; total wall time "
              f"{fmt(document['wall_seconds'] / 60, 1)} min.", ""]
    return "\n".join(lines)


def plot(document: dict[str, Any], path: Path) -> None:
    """Backdoor success and test accuracy per method against the number of clients."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sizes = [s["clients"] for s in document["sizes"]]
    methods = [r["method"] for r in document["sizes"][0]["rows"]]
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for method in methods:
        for ax, figure in zip(axes, ("backdoor_success", "test_accuracy")):
            values = []
            for size in document["sizes"]:
                row = next((r for r in size["rows"] if r["method"] == method), None)
                values.append(_median(row[figure]) if row else None)
            style = {"linewidth": 3, "color": "black"} if method == "gold" else {}
            ax.plot(sizes, [v if v is not None else float("nan") for v in values], marker="o", label=method, **style)
    for ax, title in zip(axes, ("backdoor success (median)", "test accuracy (median)")):
        ax.set_xlabel("clients")
        ax.set_xticks(sizes)
        ax.set_title(title)
        ax.grid(alpha=0.3)
    axes[1].legend(fontsize=7, loc="lower left")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, nargs="+", default=sorted(ROUNDS))
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--rounds", type=int, nargs="+", default=None,
                        help="FedAvg rounds per size, in the order of --clients (default 20/40/60)")
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--render", action="store_true", help="redraw the table and plot from the JSON (no runs)")
    args = parser.parse_args(argv)
    if args.render:
        document = json.loads((args.out / "federated_scaling.json").read_text())
        atomic_write_text(args.out / "federated_scaling.md", markdown(document))
        plot(document, args.out / "federated_scaling.png")
        return 0
    if not os.environ.get("OBLIVIATE_DATA_DIR"):
        print("[federated-scaling] skipped: set OBLIVIATE_DATA_DIR to the folder holding mnist/ "
              "(see ../shared/data/INVENTORY.md)", file=sys.stderr)
        return 0
    if args.rounds and len(args.rounds) != len(args.clients):
        parser.error(f"--rounds needs one value per size in --clients ({len(args.clients)}); got {len(args.rounds)}")
    rounds = dict(zip(args.clients, args.rounds)) if args.rounds else {n: ROUNDS.get(n, 60) for n in args.clients}
    started = time.perf_counter()
    cache = tempfile.TemporaryDirectory(prefix="obliviate-bench-federated-scaling-")
    sizes = []
    try:
        for clients in args.clients:
            options = {"dataset": "mnist", "model": "mlp", "clients": clients, "rounds": rounds[clients], "lr": LR,
                       "forget": "client:0", "backdoor": True, "cache_dir": cache.name}
            print(f"[federated-scaling] {clients} clients, {rounds[clients]} rounds, {args.seeds} seed(s)", file=sys.stderr)
            report = run_bench("federated", methods=METHODS, seeds=args.seeds, options=options, progress=True,
                               title=f"mnist, {clients} clients, forget backdoored client 0")
            variants = variant_runs(options, report["seeds"])
            sizes.append({"clients": clients, "rounds": rounds[clients], "rows": method_rows(report, variants),
                          "report": report})
    finally:
        engine.stop_federation()
        cache.cleanup()
    document = {
        "schema": "obliviate.benchmark.federated_scaling/1",
        "command": "OMP_NUM_THREADS=1 OBLIVIATE_DATA_DIR=../shared/data .venv/bin/python benchmarks/federated_scaling.py "
                   + " ".join(argv or sys.argv[1:]),
        "claim": CLAIM,
        "environment": describe_environment(),
        "wall_seconds": time.perf_counter() - started,
        "seeds": sizes[0]["report"]["seeds"] if sizes else [],
        "rounds": {str(k): v for k, v in rounds.items()},
        "lr": LR,
        "local_epochs": FederatedScenario(dataset="mnist", clients=2).recipe.epochs,
        "sizes": sizes,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(args.out / "federated_scaling.json", json.dumps(document, indent=1, sort_keys=True, default=str))
    atomic_write_text(args.out / "federated_scaling.md", markdown(document))
    plot(document, args.out / "federated_scaling.png")
    print(markdown(document))
    return 0


if __name__ == "__main__":
    sys.exit(main())
