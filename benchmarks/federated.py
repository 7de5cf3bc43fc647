"""Federated benchmark: ConDa against retraining, FedEraser and PGA, and how cost grows.

Digits (built in) split among 10 clients with Dirichlet(0.5) class proportions; client 0
plants a backdoor (a 2x2 trigger patch relabelled to class 0) and is then forgotten.
Every federated round runs on Flower's simulation engine. For each seed the bench runner
trains the original global model (recording every client's contribution), times
``retrain`` (gold: FedAvg from scratch without client 0) in the same run, and audits
every method: test accuracy, accuracy on the retained and forgotten clients' data,
backdoor attack success, and a sorted-softmax membership attack.

The ConDa paper claims it is at least 100x faster than the nearest state-of-the-art
method. With ``--clients 10 50 ...`` the cost part also times ``conda``, ``pga``,
``federaser`` and ``retrain`` at the larger sizes on digits and reports each one's time over
ConDa's; digits is too small for federations of 50 or more clients to converge, so the
study of quality and cost as the federation grows is ``benchmarks/federated_scaling.py``
(MNIST, converged federations, 3 seeds). Times of the
Flower-based methods include Flower's messaging; the clients' own compute (the longest
client per round, summed over rounds) is reported beside them, and for PGA the ascent
alone (without its FedAvg post-training round). The one-off start of Ray and of the
simulation's client actors is excluded from every method and reported apart.

With ``$OBLIVIATE_DATA_DIR`` set, the same quality bench also runs on the MNIST test set
(split 8,000 / 2,000, one seed by default).

Run::

    OMP_NUM_THREADS=1 OBLIVIATE_DATA_DIR=../shared/data .venv/bin/python benchmarks/federated.py

Writes ``benchmarks/results/federated.json`` and ``federated.md``.
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

from obliviate.bench.environment import describe_environment
from obliviate.bench.runner import run_bench
from obliviate.core.checkpoint import atomic_write_text
from obliviate.federated import engine
from obliviate.federated.records import FederationRecords
from obliviate.federated.scenario import FederatedScenario

RESULTS = Path(__file__).resolve().parent / "results"
QUALITY_METHODS = ["conda", "finetune", "neggrad", "pga", "federaser"]
SCALING_METHODS = ["conda", "pga", "federaser"]
QUALITY_COLUMNS = ("test_accuracy", "retain_accuracy", "forget_accuracy", "backdoor_success", "clean_target_rate",
                   "mia", "mia_auc")
COST_METHODS = ("gold", "conda", "finetune", "neggrad", "pga", "federaser")


def _mean(values: list[float]) -> float | None:
    values = [v for v in values if v is not None]
    return statistics.fmean(values) if values else None


def _runs(report: dict[str, Any], method: str) -> list[dict[str, Any]]:
    return [run for run in report["runs"] if run["method"] == method and run["status"] == "ok"]


def timing_row(report: dict[str, Any], clients: int) -> dict[str, Any]:
    """Mean seconds per method (gold = retrain) and their ratio to ConDa's, from one report."""
    row: dict[str, Any] = {"clients": clients, "seeds": len(report["seeds"])}
    names = {"retrain": "gold", **{m: m for m in SCALING_METHODS}}
    for label, method in names.items():
        runs = _runs(report, method)
        row[f"{label}_seconds"] = _mean([r["seconds"] for r in runs])
        if label in ("retrain", "federaser"):
            row[f"{label}_compute_seconds"] = _mean([r["info"].get("compute_seconds") for r in runs])
        if label == "pga":
            row["pga_ascent_seconds"] = _mean([r["info"].get("ascent_seconds") for r in runs])
        row[f"{label}_backdoor_success"] = _mean([r["metrics"].get("backdoor_success") for r in runs])
        row[f"{label}_test_accuracy"] = _mean([r["metrics"].get("test_accuracy") for r in runs])
    conda = row["conda_seconds"]
    for key in ("retrain_seconds", "federaser_seconds", "pga_seconds", "pga_ascent_seconds",
                "retrain_compute_seconds", "federaser_compute_seconds"):
        value = row.get(key)
        row[key.replace("_seconds", "_over_conda")] = value / conda if value and conda else None
    return row


def respai_rows(options: dict[str, Any], seeds: list[int]) -> list[dict[str, Any]]:
    """ConDa with the public code's inverted ratio (``compat="respai"``) on the cached scenarios."""
    from obliviate import get_method

    rows = []
    for seed in seeds:
        scenario = FederatedScenario(seed=seed, **options)
        original = scenario.original()
        result = get_method("federated", "conda")(compat="respai").unlearn(original, scenario.request())
        audit = scenario.audit(result.model)
        records = FederationRecords.load(scenario.records_dir)
        recording = {"record_bytes_per_round": statistics.median(records.bytes_per_round),
                     "record_seconds_per_round": statistics.median(records.seconds_per_round)}
        rows.append({"seed": seed, "seconds": result.seconds, **audit, **recording})
    return rows


def cost_lines(report: dict[str, Any], respai: list[dict[str, Any]]) -> list[str]:
    """Markdown rows: each method's wall time split into clients' compute (longest client per
    round, summed; PGA's and NegGrad's ascent counts as the leaving client's compute, as in
    their protocol), the server's own compute and messaging (the rest of each round's wall
    time), means over seeds, and the ratio of each part to ConDa's whole time (ConDa runs on
    the server only)."""
    conda = _mean([r["seconds"] for r in _runs(report, "conda")])
    lines = [
        "| method | seconds | clients' compute s | server compute s | messaging s | seconds / conda "
        "| clients' compute / conda | server compute / conda |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for method in COST_METHODS:
        runs = _runs(report, method)
        if not runs:
            continue
        seconds = _mean([r["seconds"] for r in runs])
        info = [r.get("info") or {} for r in runs]
        def part(key: str, info: list[dict[str, Any]] = info) -> float:
            return _mean([i.get(key, 0.0) for i in info]) or 0.0

        # PGA and NegGrad: the leaving clients' own ascent (a Flower round of its own) counts as
        # clients' compute and its messaging as messaging; PGA's reference model is server work.
        client = part("compute_seconds") + part("ascent_seconds")
        messaging = part("messaging_seconds") + part("ascent_messaging_seconds")
        server = part("server_seconds") + part("reference_seconds")
        if not any(key in i for i in info for key in ("compute_seconds", "ascent_seconds")):
            server = seconds  # runs on the server alone (ConDa)

        def ratio(value):
            if not value or not conda:
                return "—"
            r = value / conda
            return f"{r:.0f}x" if r >= 10 else f"{r:.2g}x"

        lines.append(f"| {'gold (retrain)' if method == 'gold' else method} | {fmt(seconds)} | {fmt(client)} | "
                     f"{fmt(server)} | {fmt(messaging)} | {ratio(seconds)} | {ratio(client)} | {ratio(server)} |")
    if respai:
        per_round = _mean([r.get("record_bytes_per_round") for r in respai])
        per_round_s = _mean([r.get("record_seconds_per_round") for r in respai])
        gold_rounds = [r.get("info") or {} for r in _runs(report, "gold")]
        round_s = _mean([i.get("round_seconds", 0) / max(i.get("rounds", 1), 1) for i in gold_rounds])
        lines += ["", f"ConDa's recording overhead during training: {per_round / 1e6:.2f} MB and "
                  f"{1000 * per_round_s:.1f} ms per round (only the participants' files are written), against "
                  f"{fmt(round_s, 2)} s for a training round."]
    return lines


def fmt(value: Any, digits: int = 3) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def quality_lines(summary: list[dict[str, Any]]) -> list[str]:
    """Markdown rows of a quality table (mean over seeds) from a report's summary."""
    lines = [
        "| method | " + " | ".join(QUALITY_COLUMNS) + " | seconds | speedup vs gold |",
        "|---|" + "---|" * (len(QUALITY_COLUMNS) + 2),
    ]
    for row in summary:
        if row.get("runs", 0) == 0:
            continue
        name = "gold (retrain)" if row["method"] == "gold" else row["method"]
        cells = [fmt(row[c]["mean"]) if c in row else "—" for c in QUALITY_COLUMNS]
        seconds = row.get("seconds", {}).get("mean")
        speed = row.get("speedup", {}).get("mean")
        lines.append(
            f"| {name} | " + " | ".join(cells) + f" | {fmt(seconds)} | {fmt(speed, 1) + 'x' if speed else '—'} |"
        )
    return lines


def markdown(document: dict[str, Any]) -> str:
    """The tables (quality at 10 clients, cost at every size), rendered from the JSON."""
    lines = [
        "## Federated unlearning: forget a backdoored client (digits, 10 clients, Dirichlet 0.5)",
        "",
        f"Mean over {len(document['quality']['seeds'])} seeds. Gold = FedAvg from scratch without the client. "
        "`backdoor_success`: triggered test images sent to the target class (gold's level is the goal). "
        "Seconds of Flower-based methods include Flower's messaging.",
        "",
        *quality_lines(document["quality"]["summary"]),
    ]
    respai = document.get("conda_respai") or []
    if respai:
        cells = [fmt(_mean([r.get(c) for r in respai])) for c in QUALITY_COLUMNS]
        lines.append("| conda (compat=respai) | " + " | ".join(cells) +
                     f" | {fmt(_mean([r['seconds'] for r in respai]))} | — |")
    first = document["reports"].get(str(document["scaling"][0]["clients"])) if document.get("scaling") else None
    if first:
        lines += ["", "### Where the time goes (10 clients, means over seeds)", "", *cost_lines(first, respai)]
    if len(document["scaling"]) > 1:
        lines += scaling_lines(document)
    if document.get("mnist"):
        lines += [
            "",
            f"## The same on MNIST (test set split 8,000/2,000, 10 clients; {len(document['mnist']['seeds'])} seed(s))",
            "",
            *quality_lines(document["mnist"]["summary"]),
        ]
    startup = document["startup"]
    lines += [
        "",
        f"One-off start-up, excluded above: Ray head {fmt(startup['ray_seconds'], 1)} s; Flower simulation "
        f"(client actors) {fmt(startup['simulation_seconds'], 1)} s at its last (re)start. "
        f"Machine: {document['environment'].get('cpu_count', '?')} CPUs; total wall time "
        f"{fmt(document['wall_seconds'] / 60, 1)} min.",
        "",
    ]
    return "\n".join(lines)


def scaling_lines(document: dict[str, Any]) -> list[str]:
    """Markdown rows of the cost-over-ConDa table, one per federation size."""
    lines = [
        "",
        "## Cost of unlearning as the federation grows (time over ConDa's)",
        "",
        "| clients | conda s | pga s (ascent only) | federaser s (client compute) | retrain s (client compute) "
        "| pga / conda (ascent) | federaser / conda | retrain / conda | backdoor: conda / gold |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for row in document["scaling"]:
        lines.append(
            f"| {row['clients']} | {fmt(row['conda_seconds'], 4)} | {fmt(row['pga_seconds'], 2)} "
            f"({fmt(row['pga_ascent_seconds'], 2)}) | {fmt(row['federaser_seconds'], 2)} "
            f"({fmt(row['federaser_compute_seconds'], 2)}) | {fmt(row['retrain_seconds'], 2)} "
            f"({fmt(row['retrain_compute_seconds'], 2)}) | {fmt(row['pga_over_conda'], 0)}x "
            f"({fmt(row['pga_ascent_over_conda'], 0)}x) | {fmt(row['federaser_over_conda'], 0)}x | "
            f"{fmt(row['retrain_over_conda'], 0)}x | {fmt(row['conda_backdoor_success'], 2)} / "
            f"{fmt(row['retrain_backdoor_success'], 2)} |"
        )
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dataset", default="digits", choices=["digits", "mnist"])
    parser.add_argument("--seeds", type=int, default=3, help="seeds of the 10-client quality bench")
    parser.add_argument("--scale-seeds", type=int, default=1, help="seeds at 50 and 100 clients")
    parser.add_argument("--clients", type=int, nargs="+", default=[10],
                        help="federation sizes (the first gets the quality bench); see federated_scaling.py")
    parser.add_argument(
        "--mnist-seeds", type=int, default=1,
        help="seeds of an extra 10-client MNIST quality bench (needs $OBLIVIATE_DATA_DIR; 0 skips it)",
    )
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--render", action="store_true", help="rewrite federated.md from federated.json (no runs)")
    args = parser.parse_args(argv)
    if args.render:
        document = json.loads((args.out / "federated.json").read_text())
        atomic_write_text(args.out / "federated.md", markdown(document))
        return 0

    started = time.perf_counter()
    cache = tempfile.TemporaryDirectory(prefix="obliviate-bench-federated-")
    base = {"dataset": args.dataset, "forget": "client:0", "backdoor": True, "cache_dir": cache.name}
    reports: dict[int, dict[str, Any]] = {}
    scaling = []
    startup = {"ray_seconds": None, "simulation_seconds": None}
    respai: list[dict[str, Any]] = []
    mnist: dict[str, Any] | None = None
    try:
        for clients in args.clients:
            first = clients == args.clients[0]
            methods = QUALITY_METHODS if first else SCALING_METHODS
            seeds = args.seeds if first else args.scale_seeds
            options = {**base, "clients": clients}
            print(f"[federated] {clients} clients, {seeds} seed(s): {', '.join(['retrain', *methods])}", file=sys.stderr)
            report = run_bench(
                "federated",
                methods=methods,
                seeds=seeds,
                options=options,
                progress=True,
                title=f"{args.dataset}, {clients} clients, forget backdoored client 0",
            )
            reports[clients] = report
            scaling.append(timing_row(report, clients))
            if first:
                respai = respai_rows(options, report["seeds"])
            if engine._SESSION is not None:
                startup["ray_seconds"] = engine._SESSION.start_seconds
            if engine._SERVICE is not None:
                startup["simulation_seconds"] = engine._SERVICE.start_seconds
        if args.mnist_seeds > 0 and os.environ.get("OBLIVIATE_DATA_DIR"):
            print(f"[federated] MNIST, 10 clients, {args.mnist_seeds} seed(s)", file=sys.stderr)
            mnist = run_bench(
                "federated",
                methods=QUALITY_METHODS,
                seeds=args.mnist_seeds,
                options={**base, "dataset": "mnist", "clients": 10},
                progress=True,
                title="mnist, 10 clients, forget backdoored client 0",
            )
    finally:
        engine.stop_federation()
        cache.cleanup()

    quality = reports[args.clients[0]]
    document = {
        "schema": "obliviate.benchmark.federated/1",
        "command": "OMP_NUM_THREADS=1 .venv/bin/python benchmarks/federated.py " + " ".join(argv or sys.argv[1:]),
        "data_dir_set": bool(os.environ.get("OBLIVIATE_DATA_DIR")),
        "environment": describe_environment(),
        "wall_seconds": time.perf_counter() - started,
        "startup": startup,
        "quality": {"seeds": quality["seeds"], "options": quality["options"], "summary": quality["summary"]},
        "conda_respai": respai,
        "scaling": scaling,
        "mnist": {"seeds": mnist["seeds"], "options": mnist["options"], "summary": mnist["summary"]} if mnist else None,
        "reports": {str(k): v for k, v in reports.items()},
    }
    if mnist:
        document["reports"]["mnist-10"] = mnist
    args.out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(args.out / "federated.json", json.dumps(document, indent=1, sort_keys=True, default=str))
    text = markdown(document)
    atomic_write_text(args.out / "federated.md", text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
