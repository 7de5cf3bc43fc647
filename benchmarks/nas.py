"""EmoNAS benchmark: searched vs random vs hand-designed architectures, on the built-in stand-ins.

The stand-ins are not faces: scikit-learn's real 8x8 digit images (macro pipeline, 10 classes)
and ``digits-motion`` clips made by moving and deforming them (micro pipeline, 4 motion
classes, dynamic images, leave-one-subject-out). Users run the same code on FER2013, CK+/RAF-DB
folders or CASME II/SAMM/SMIC clip folders with ``obliviate nas search``.

1. Macro, digits, 3 seeds: a first-order DARTS search (10 epochs) on the training part only
   (halved into weight and architecture splits), the genotype retrained from scratch for 10
   epochs; beside it a random genotype from the same space and a hand-designed small CNN, same
   recipe. Seed 0 also runs the second-order search.
2. Micro, digits-motion, 3 seeds: 8 subjects; search on 3 held-out subjects (never evaluated),
   LOSO over the other 5; networks as above plus the small CNN on mean frames (the order-blind
   control of dynamic imaging). UF1 and UAR over the pooled LOSO predictions.

Speed is a ratio measured in the same run: CPU latency per image (batch 1) against the
hand-designed CNN, and second-order search time against first-order.

Run::

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/nas.py

Writes ``benchmarks/results/nas.json`` and ``nas.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

import torch

from obliviate.core.checkpoint import atomic_write_text
from obliviate.nas.data import load_digits_images, make_digits_motion
from obliviate.nas.pipeline import LABELS, run_holdout, run_loso

RESULTS = Path(__file__).resolve().parent / "results"
CLAIM = (
    "EmoNAS (abstract): gradient-based search yields lightweight models that outperform the state of the art "
    "on 13 facial-expression data sets and do very well in speed and space complexity (no figures in the abstract)."
)


def _median(values) -> float:
    return float(statistics.median(values))


def _summarise(runs: list[dict], keys: tuple[str, ...]) -> dict[str, dict[str, float]]:
    names = list(runs[0]["models"])
    out = {}
    for name in names:
        rows = [run["models"][name] for run in runs]
        out[name] = {
            key: _median(r[key] for r in rows) for key in (*keys, "parameters", "flops", "latency_ms")
        }
        out[name]["min_" + keys[0]] = float(min(r[keys[0]] for r in rows))
        out[name]["max_" + keys[0]] = float(max(r[keys[0]] for r in rows))
        hand = [run["models"]["hand_cnn"]["latency_ms"] for run in runs]
        out[name]["latency_vs_hand_cnn"] = _median(r["latency_ms"] / h for r, h in zip(rows, hand))
    return out


def render(report: dict) -> str:
    macro, micro = report["macro"], report["micro"]
    lines = [
        f"Seeds {report['seeds']}, {report['threads']} thread(s), torch {report['torch']}; medians over seeds "
        "(range in brackets). Stand-in data, not faces.",
        "",
        f"**Macro: digits (8x8), hold-out test {macro['test_images']} images, chance {macro['chance']:.3f}; "
        f"search {macro['search_epochs']} epochs, retrain {macro['epochs']} epochs.**",
        "",
        "| network | test accuracy | UF1 | parameters | FLOPs/image | CPU ms/image | latency vs hand CNN |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, row in macro["summary"].items():
        lines.append(
            f"| {LABELS[name]} | {row['accuracy']:.3f} [{row['min_accuracy']:.3f}-{row['max_accuracy']:.3f}] | {row['uf1']:.3f} | "
            f"{row['parameters']:,.0f} | {row['flops']:,.0f} | {row['latency_ms']:.2f} | {row['latency_vs_hand_cnn']:.1f}x |"
        )
    so = macro["second_order"]
    lines += [
        "",
        f"Search time (first order, median): {macro['search_seconds']:.1f} s. Second order (seed 0): "
        f"{so['search_seconds']:.1f} s ({so['search_seconds'] / so['first_order_seconds_seed0']:.1f}x the first-order search of seed 0), "
        f"retrained test accuracy {so['accuracy']:.3f} (first order, seed 0: {so['first_order_accuracy_seed0']:.3f}).",
        "",
        "Genotypes (first order): "
        + "; ".join(f"seed {s}: `{g}`" for s, g in zip(report["seeds"], macro["genotypes"])),
        "",
        f"**Micro: digits-motion, LOSO over {len(micro['evaluated_subjects'])} subjects ({micro['clips']} clips), search on "
        f"{len(micro['search_subjects'])} held-out subjects; chance {micro['chance']:.3f}.**",
        "",
        "| network | UF1 | UAR | parameters | FLOPs/image | CPU ms/image | latency vs hand CNN |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, row in micro["summary"].items():
        lines.append(
            f"| {LABELS[name]} | {row['uf1']:.3f} [{row['min_uf1']:.3f}-{row['max_uf1']:.3f}] | {row['uar']:.3f} | "
            f"{row['parameters']:,.0f} | {row['flops']:,.0f} | {row['latency_ms']:.2f} | {row['latency_vs_hand_cnn']:.1f}x |"
        )
    lines += [
        "",
        f"Search time (median): {micro['search_seconds']:.1f} s. Whole benchmark: {report['seconds']:.0f} s.",
        "",
        f"Paper's claim: {CLAIM}",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--render", action="store_true", help="only re-render the table from the stored JSON")
    args = parser.parse_args(argv)
    json_path, md_path = RESULTS / "nas.json", RESULTS / "nas.md"
    if args.render:
        report = json.loads(json_path.read_text())
    else:
        began = time.perf_counter()
        seeds = list(range(args.seeds))
        digits = load_digits_images()
        macro_runs = []
        for seed in seeds:
            print(f"[nas] macro seed {seed}", file=sys.stderr, flush=True)
            macro_runs.append(run_holdout(digits, epochs=args.epochs, seed=seed, progress=True))
        print("[nas] macro second order, seed 0", file=sys.stderr, flush=True)
        second = run_holdout(
            digits, epochs=args.epochs, seed=0, order="second", controls=False, progress=True
        )
        micro_runs = []
        for seed in seeds:
            print(f"[nas] micro seed {seed}", file=sys.stderr, flush=True)
            clips = make_digits_motion(subjects=8, clips_per_class=8, seed=seed)
            micro_runs.append(
                run_loso(
                    clips, search_subjects=["s05", "s06", "s07"], epochs=args.epochs, seed=seed, progress=True
                )
            )
        first = macro_runs[0]
        report = {
            "benchmark": "nas",
            "seeds": seeds,
            "threads": torch.get_num_threads(),
            "omp_num_threads": os.environ.get("OMP_NUM_THREADS"),
            "torch": torch.__version__,
            "claim": CLAIM,
            "macro": {
                "dataset": first["dataset"],
                "test_images": first["test_images"],
                "chance": first["chance"],
                "epochs": first["epochs"],
                "search_epochs": first["search_epochs"],
                "summary": _summarise(macro_runs, ("accuracy", "uar", "uf1")),
                "search_seconds": _median(r["search"]["seconds"] for r in macro_runs),
                "genotypes": [r["search"]["genotype_text"] for r in macro_runs],
                "second_order": {
                    "search_seconds": second["search"]["seconds"],
                    "first_order_seconds_seed0": first["search"]["seconds"],
                    "accuracy": second["models"]["searched"]["accuracy"],
                    "first_order_accuracy_seed0": first["models"]["searched"]["accuracy"],
                    "genotype": second["search"]["genotype_text"],
                },
                "runs": macro_runs,
            },
            "micro": {
                "dataset": micro_runs[0]["dataset"],
                "clips": micro_runs[0]["clips"],
                "chance": micro_runs[0]["chance"],
                "search_subjects": micro_runs[0]["search_subjects"],
                "evaluated_subjects": micro_runs[0]["evaluated_subjects"],
                "summary": _summarise(micro_runs, ("uf1", "uar", "accuracy")),
                "search_seconds": _median(r["search"]["seconds"] for r in micro_runs),
                "genotypes": [r["search"]["genotype_text"] for r in micro_runs],
                "runs": micro_runs,
            },
            "seconds": time.perf_counter() - began,
        }
        RESULTS.mkdir(parents=True, exist_ok=True)
        atomic_write_text(json_path, json.dumps(report, indent=2, default=float) + "\n")
    table = render(report)
    atomic_write_text(md_path, "# EmoNAS architecture search (benchmarks/nas.py)\n\n" + table + "\n")
    print(table)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
