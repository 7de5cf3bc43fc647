"""Valuation benchmark: EcoVal against the Shapley family on noisy-label detection and point removal.

Every method (``ecoval``, ``tmc_shapley``, ``knn_shapley``, ``data_oob``, ``loo``,
``random``) values the training set of breast cancer, wine and digits (built in) and of
UCI Adult (a subsample; only when ``OBLIVIATE_DATA_DIR`` is set) after 10% of its labels
were flipped, over 3 seeds (split, noise and method seeds). Reported per data set and
method, as the median over seeds:

* ``noisy_f1``: F1 of the lower cluster of a 2-means split of the values against the
  flipped points; ``precision_at_noise``: share of flipped points among the 10% lowest;
* ``high - random`` / ``low - random``: mean test-accuracy gap to random removal when the
  highest / lowest values are removed first, in 5% steps up to 50%;
* ``model_fits`` and ``seconds``, and both as ratios against TMC-Shapley measured in the
  same run (``fits vs TMC`` = TMC's fits / the method's);
* two ablation rows: detection by EcoVal's extrinsic (cluster) part alone and by its
  intrinsic part alone, from the same run.

The aim set for EcoVal: noisy-label F1 within 0.05 of TMC-Shapley's at 20x fewer model
fits. The learner is logistic regression (scikit-learn, lbfgs); one thread.

Run::

    OMP_NUM_THREADS=1 OBLIVIATE_DATA_DIR=../shared/data .venv/bin/python benchmarks/valuation.py

Writes ``benchmarks/results/valuation.json``, ``valuation.md`` and ``valuation.png`` (the
point-removal curves of seed 0).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

from obliviate.core.checkpoint import atomic_write_text
from obliviate.valuation.data import load
from obliviate.valuation.evaluation import noisy_label_detection, plot_removal_grid
from obliviate.valuation.experiment import ALL_METHODS, median_rows, run_detection, run_removal

RESULTS = Path(__file__).resolve().parent / "results"
NOISE = 0.1
# Training / validation / test sizes. Digits and Adult are subsampled to keep TMC-Shapley
# (thousands of fits per seed) to a few minutes on one thread.
SIZES = {
    "breast_cancer": {},
    "wine": {},
    "digits": {"n_train": 300, "n_valid": 200, "n_test": 500},
    "adult": {"n_train": 300, "n_valid": 200, "n_test": 1000},
}
AIM_F1_GAP, AIM_FIT_RATIO = 0.05, 20.0
KEYS = ("noisy_f1", "precision_at_noise", "high_minus_random", "low_minus_random", "model_fits", "seconds")


def ablation_rows(rows: list[dict], ecoval, noisy, seed: int) -> list[dict]:
    """Detection by each part of EcoVal's value alone (same fits): which part does the work."""
    base = next(row for row in rows if row["method"] == "ecoval")
    out = []
    for part in ("extrinsic", "intrinsic"):
        scores = noisy_label_detection(ecoval.extra[part], noisy, seed=seed)
        out.append({
            **base,
            "method": f"ecoval ({part} part only)",
            "noisy_f1": scores["noisy_f1"],
            "precision_at_noise": scores["precision_at_noise"],
            "high_minus_random": None,
            "low_minus_random": None,
            "production_function_r2": None,
        })
    return out


def _signed(value) -> str:
    return "-" if value is None else f"{value:+.3f}"


def table(rows: list[dict]) -> str:
    head = ("| data | method | noisy_f1 | precision_at_noise | high - random | low - random | model_fits | "
            "fits vs TMC | seconds | speed vs TMC |")
    lines = [head, "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    tmc = {row["dataset"]: row for row in rows if row["method"] == "tmc_shapley"}
    for row in rows:
        base = tmc[row["dataset"]]
        fits_ratio = f"{base['model_fits'] / row['model_fits']:.0f}x" if row["model_fits"] else "no fits"
        speed = f"{base['seconds'] / row['seconds']:.0f}x" if row["seconds"] > 0 else "-"
        lines.append(
            f"| {row['dataset']} | {row['method']} | {row['noisy_f1']:.3f} | {row['precision_at_noise']:.3f} | "
            f"{_signed(row['high_minus_random'])} | {_signed(row['low_minus_random'])} | {row['model_fits']:.0f} | "
            f"{fits_ratio} | {row['seconds']:.2f} | {speed} |"
        )
    return "\n".join(lines)


def aim_table(rows: list[dict]) -> tuple[str, list[dict]]:
    lines = ["| data | EcoVal F1 | TMC F1 | F1 gap | fits EcoVal / TMC | fewer fits | meets aim |", "|---|---:|---:|---:|---:|---:|---|"]
    verdicts = []
    for dataset in dict.fromkeys(row["dataset"] for row in rows):
        eco = next(r for r in rows if r["dataset"] == dataset and r["method"] == "ecoval")
        tmc = next(r for r in rows if r["dataset"] == dataset and r["method"] == "tmc_shapley")
        gap = eco["noisy_f1"] - tmc["noisy_f1"]
        ratio = tmc["model_fits"] / eco["model_fits"]
        meets = gap >= -AIM_F1_GAP and ratio >= AIM_FIT_RATIO
        verdicts.append({"dataset": dataset, "f1_gap": gap, "fit_ratio": ratio, "meets_aim": meets})
        lines.append(
            f"| {dataset} | {eco['noisy_f1']:.3f} | {tmc['noisy_f1']:.3f} | {gap:+.3f} | "
            f"{eco['model_fits']:.0f} / {tmc['model_fits']:.0f} | {ratio:.0f}x | {'yes' if meets else 'no'} |"
        )
    return "\n".join(lines), verdicts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--datasets", default="breast_cancer,wine,digits,adult")
    parser.add_argument("--tmc-permutations", type=int, default=30)
    args = parser.parse_args(argv)
    datasets = args.datasets.split(",")
    if "adult" in datasets and not os.environ.get("OBLIVIATE_DATA_DIR"):
        print("OBLIVIATE_DATA_DIR is unset: skipping UCI Adult (set it to the shared data folder)", file=sys.stderr)
        datasets.remove("adult")
    params = {"tmc_shapley": {"n_permutations": args.tmc_permutations}}
    started = time.perf_counter()
    raw, curves_seed0 = [], {}
    for dataset in datasets:
        for seed in range(args.seeds):
            data = load(dataset, seed=seed, **SIZES.get(dataset, {})).with_label_noise(NOISE, seed=seed)
            rows, results = run_detection(data, ALL_METHODS, seed=seed, params=params, log=lambda line: print(line, file=sys.stderr))
            curves, removal = run_removal(data, results, seed=seed)
            by_method = {row["method"]: row for row in removal}
            for row in rows:
                row.update({k: by_method[row["method"]][k] for k in ("high_minus_random", "low_minus_random")})
                row["production_function_r2"] = (
                    results["ecoval"].provenance["production_function"]["r2"] if row["method"] == "ecoval" else None
                )
            raw += rows + ablation_rows(rows, results["ecoval"], data.noisy, seed)
            if seed == 0:
                curves_seed0[f"{dataset} (n={len(data.train)})"] = curves
    summary = median_rows(raw, KEYS)
    aims, verdicts = aim_table(summary)
    seconds = time.perf_counter() - started
    RESULTS.mkdir(parents=True, exist_ok=True)
    plot = plot_removal_grid(curves_seed0, RESULTS / "valuation.png", title=f"Point removal, {NOISE:.0%} labels flipped, seed 0")
    document = {
        "benchmark": "valuation",
        "noise": NOISE,
        "seeds": args.seeds,
        "tmc_permutations": args.tmc_permutations,
        "sizes": {d: SIZES.get(d, {}) for d in datasets},
        "threads": os.environ.get("OMP_NUM_THREADS"),
        "aim": {"f1_gap": AIM_F1_GAP, "fit_ratio": AIM_FIT_RATIO, "verdicts": verdicts},
        "summary": summary,
        "runs": raw,
        "plot": plot.name,
        "seconds": seconds,
    }
    atomic_write_text(RESULTS / "valuation.json", json.dumps(document, indent=1))
    body = table(summary)
    markdown = (
        "# Valuation benchmark\n\n"
        f"{NOISE:.0%} of training labels flipped; medians over {args.seeds} seeds; logistic regression; "
        f"TMC-Shapley with {args.tmc_permutations} permutations; OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS')}; "
        f"total {seconds:.0f} s.\n\n"
        f"{body}\n\n## The aim: EcoVal within {AIM_F1_GAP} of TMC-Shapley's F1 at {AIM_FIT_RATIO:.0f}x fewer fits\n\n{aims}\n\n"
        f"Point-removal curves (seed 0): `{plot.name}`.\n"
    )
    atomic_write_text(RESULTS / "valuation.md", markdown)
    print(body)
    print()
    print(aims)
    print(f"total {seconds:.0f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
