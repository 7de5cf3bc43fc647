"""ConDa's sensitivity to its cutoff and dampening constant, and what recording costs the server.

Digits (built in), 10 clients, Dirichlet(0.5); client 0 plants a backdoor (2x2 trigger,
target class 0) and is forgotten. Per seed one federation is trained (every client's
contribution recorded) and one gold federation without client 0. ConDa (Chundawat et al.,
2024) is then applied over a grid of ratio cutoffs ``lambda`` and dampening constants
``gamma`` (upper bound 1), with the paper's raw contributions and with contributions
normalised per local step; each result is audited for backdoor success, clean-image rate of
the target class, and test accuracy. The plot shows the medians over seeds per grid cell,
with the cell where the default ``(0.2, 0.5)`` lies outlined.

Recording: the records' bytes and seconds per round (what ConDa asks of the server) beside a
training round's wall time and the server's own aggregation time, all measured in the same
federation.

Run::

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/federated_sweep.py [--seeds 3]

Writes ``benchmarks/results/federated_sweep.json``, ``federated_sweep.md`` and
``federated_sweep.png``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from tqdm import tqdm

from obliviate import get_method
from obliviate.core.checkpoint import atomic_write_text
from obliviate.federated.records import FederationRecords
from obliviate.federated.scenario import FederatedScenario

RESULTS = Path(__file__).resolve().parent / "results"
CUTOFFS = (0.05, 0.1, 0.15, 0.2, 0.3, 0.5, 1.0)
GAMMAS = (0.0, 0.25, 0.5, 0.75, 1.0)
NORMALIZE = (None, "step")
FIGURES = ("backdoor_success", "clean_target_rate", "test_accuracy")
CLAIM = "paper: dampening with the default cutoff removes the forgotten client's influence with little loss of accuracy"


def _median(values: list[float]) -> float:
    return float(statistics.median(values))


def sweep(seeds: list[int], cache: str) -> dict[str, Any]:
    """Run the grid for every seed; returns the per-cell medians, gold's and the cost figures."""
    cells: dict[tuple, list[dict[str, float]]] = {}
    gold_rows, original_rows, costs = [], [], []
    conda = get_method("federated", "conda")
    retrain = get_method("federated", "retrain")
    total = len(seeds) * len(NORMALIZE) * len(CUTOFFS) * len(GAMMAS)
    with tqdm(total=total, desc="conda grid") as bar:
        for seed in seeds:
            scenario = FederatedScenario(dataset="digits", clients=10, forget="client:0", backdoor=True, seed=seed,
                                         cache_dir=cache)
            original = scenario.original()
            request = scenario.request()
            gold = retrain().unlearn(original, request)
            gold_rows.append(scenario.audit(gold.model))
            original_rows.append(scenario.audit(original))
            records = FederationRecords.load(scenario.records_dir)
            info = gold.info
            costs.append({
                "seed": seed,
                "record_bytes_per_round": _median(records.bytes_per_round),
                "record_seconds_per_round": _median(records.seconds_per_round),
                "gold_round_seconds": info["round_seconds"] / max(info["rounds"], 1),
                "gold_client_compute_seconds_per_round": info["compute_seconds"] / max(info["rounds"], 1),
                "gold_server_seconds_per_round": info["server_seconds"] / max(info["rounds"], 1),
                "gold_messaging_seconds_per_round": info["messaging_seconds"] / max(info["rounds"], 1),
                "model_bytes": sum(v.numel() * v.element_size() for v in original.state_dict().values()),
            })
            for normalize in NORMALIZE:
                for cutoff in CUTOFFS:
                    for gamma in GAMMAS:
                        method = conda(ratio_cutoff=cutoff, dampening_constant=gamma, normalize=normalize)
                        result = method.unlearn(original, request)
                        audit = scenario.audit(result.model)
                        row = {k: audit[k] for k in FIGURES}
                        row["dampened_fraction"] = result.info["dampened_fraction"]
                        row["seconds"] = result.seconds
                        cells.setdefault((normalize or "raw", cutoff, gamma), []).append(row)
                        bar.update(1)
    grid = [
        {"normalize": key[0], "cutoff": key[1], "gamma": key[2],
         **{k: _median([r[k] for r in rows]) for k in (*FIGURES, "dampened_fraction", "seconds")}}
        for key, rows in cells.items()
    ]
    gold = {k: _median([r[k] for r in gold_rows]) for k in FIGURES}
    original = {k: _median([r[k] for r in original_rows]) for k in FIGURES}
    return {"seeds": seeds, "grid": grid, "gold": gold, "original": original, "costs": costs}


def plot(document: dict[str, Any], path: Path) -> None:
    """Heat maps: rows cutoff, columns gamma; one row of panels per normalisation."""
    import numpy as np
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.patches import Rectangle

    figure = Figure(figsize=(11, 7), layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.subplots(len(NORMALIZE), len(FIGURES), squeeze=False)
    for i, normalize in enumerate(n or "raw" for n in NORMALIZE):
        for j, metric in enumerate(FIGURES):
            ax = axes[i][j]
            values = np.full((len(CUTOFFS), len(GAMMAS)), np.nan)
            for row in document["grid"]:
                if row["normalize"] == normalize:
                    values[CUTOFFS.index(row["cutoff"]), GAMMAS.index(row["gamma"])] = row[metric]
            image = ax.imshow(values, vmin=0, vmax=1, cmap="viridis" if metric == "test_accuracy" else "magma_r",
                              aspect="auto")
            for (r, c), v in np.ndenumerate(values):
                dark = v < 0.5 if metric == "test_accuracy" else v > 0.5
                ax.text(c, r, f"{v:.2f}", ha="center", va="center", fontsize=7, color="w" if dark else "k")
            ax.add_patch(Rectangle((GAMMAS.index(0.5) - 0.5, CUTOFFS.index(0.2) - 0.5), 1, 1, fill=False, lw=2,
                                   edgecolor="#1f77b4"))
            ax.set_xticks(range(len(GAMMAS)), [str(g) for g in GAMMAS], fontsize=7)
            ax.set_yticks(range(len(CUTOFFS)), [str(c) for c in CUTOFFS], fontsize=7)
            ax.set_xlabel("dampening constant gamma", fontsize=8)
            ax.set_ylabel("ratio cutoff lambda", fontsize=8)
            ax.set_title(f"{metric} ({normalize}; gold {document['gold'][metric]:.2f})", fontsize=8)
            figure.colorbar(image, ax=ax, shrink=0.8)
    figure.suptitle(f"ConDa on digits, 10 clients, backdoored client 0 forgotten; medians over "
                    f"{len(document['seeds'])} seeds (outlined: the default)", fontsize=9)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)


def markdown(document: dict[str, Any]) -> str:
    gold, original = document["gold"], document["original"]
    lines = [
        "## ConDa's sensitivity (digits, 10 clients, backdoored client 0 forgotten)",
        "",
        f"Medians over {len(document['seeds'])} seeds. Original: backdoor {original['backdoor_success']:.3f}, "
        f"clean images to the target {original['clean_target_rate']:.3f}, test {original['test_accuracy']:.3f}; "
        f"gold: {gold['backdoor_success']:.3f} / {gold['clean_target_rate']:.3f} / {gold['test_accuracy']:.3f}.",
        "Each cell: backdoor success / clean-target rate / test accuracy (dampened share of weights).",
        "",
    ]
    for normalize in (n or "raw" for n in NORMALIZE):
        lines += [f"Contributions: {normalize}.", "",
                  "| cutoff \\ gamma | " + " | ".join(str(g) for g in GAMMAS) + " |",
                  "|---|" + "---|" * len(GAMMAS)]
        for cutoff in CUTOFFS:
            cells = []
            for gamma in GAMMAS:
                row = next(r for r in document["grid"] if r["normalize"] == normalize and r["cutoff"] == cutoff
                           and r["gamma"] == gamma)
                cells.append(f"{row['backdoor_success']:.2f} / {row['clean_target_rate']:.2f} / "
                             f"{row['test_accuracy']:.2f} ({100 * row['dampened_fraction']:.1f}%)")
            lines.append(f"| {cutoff} | " + " | ".join(cells) + " |")
        lines.append("")
    cost = {k: _median([c[k] for c in document["costs"]]) for k in document["costs"][0] if k != "seed"}
    lines += [
        "Server cost of recording (per training round, medians): "
        f"{cost['record_bytes_per_round'] / 1e6:.2f} MB written ({cost['model_bytes'] / 1e6:.3f} MB model, 10 clients) in "
        f"{1000 * cost['record_seconds_per_round']:.1f} ms, against a gold training round of "
        f"{cost['gold_round_seconds']:.2f} s (clients' compute {cost['gold_client_compute_seconds_per_round']:.2f} s, "
        f"server aggregation {1000 * cost['gold_server_seconds_per_round']:.1f} ms, messaging and scheduling "
        f"{cost['gold_messaging_seconds_per_round']:.2f} s).",
        "",
        f"{CLAIM}.",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--render", action="store_true", help="redraw the plot and table from the JSON (no runs)")
    args = parser.parse_args()
    if args.render:
        document = json.loads((RESULTS / "federated_sweep.json").read_text())
        atomic_write_text(RESULTS / "federated_sweep.md", markdown(document))
        plot(document, RESULTS / "federated_sweep.png")
        return
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="obliviate-sweep-") as cache:
        document = sweep(list(range(args.seeds)), cache)
    document["claim"] = CLAIM
    document["wall_seconds"] = time.perf_counter() - started
    RESULTS.mkdir(exist_ok=True)
    atomic_write_text(RESULTS / "federated_sweep.json", json.dumps(document, indent=1))
    text = markdown(document)
    atomic_write_text(RESULTS / "federated_sweep.md", text)
    plot(document, RESULTS / "federated_sweep.png")
    print(text)


if __name__ == "__main__":
    main()
