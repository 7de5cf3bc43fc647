"""Synthetic-data benchmark: every generator scored with TabSynDex, and TabSynDex's own speed.

1. Generators. UCI Adult (``$OBLIVIATE_DATA_DIR/uci-adult``, 8,000 rows halved into train and
   holdout), wine, diabetes and breast cancer (built in): every available generator learns the
   train half; its sample is scored with TabSynDex (default mode, and faithful mode or the reason
   the published code fails on it) and with SDMetrics' quality report when installed. The holdout
   half is the reference a perfect generator would reach. 3 seeds; on Adult the slow neural
   generators (``vae``, ``ctgan``, ``tvae``) run on the first seed only. The rank agreement is
   Spearman's rho between TabSynDex and SDMetrics over the generators.
2. Speed. A 4,000-row Adult pair (real rows against a Gaussian-copula sample; categories under 2%
   merged into ``Other`` so that the published algorithm does not fail on them): a literal,
   sequential reimplementation of the published algorithm
   (:mod:`obliviate.synthetic.reference`) against ``tabsyndex(faithful=True)`` (same numbers,
   checked) and the default mode, 1 and 2 threads, and SDMetrics' quality report, all in this
   run, median of 3. Then the whole Adult training file (32,561 rows) against a copula sample
   of the same size.

Run::

    OMP_NUM_THREADS=1 OBLIVIATE_DATA_DIR=../shared/data .venv/bin/python benchmarks/synthetic.py

(with ``pip install 'obliviate[synthetic]'`` for CTGAN, TVAE and SDMetrics). Writes
``benchmarks/results/synthetic.json``, ``synthetic.md`` and ``synthetic.png``.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import os
import statistics
import sys
import time
import warnings
from pathlib import Path

import pandas as pd

from obliviate.core.checkpoint import atomic_write_text
from obliviate.data.tabular import load_adult, load_table
from obliviate.synthetic.bench import (
    HOLDOUT,
    NEURAL,
    rank_agreement,
    render_table,
    run_synth_bench,
    summarise,
)
from obliviate.synthetic.crosscheck import sdmetrics_available, sdmetrics_quality
from obliviate.synthetic.generators import generator_names, make_generator
from obliviate.synthetic.reference import published_tabsyndex
from obliviate.synthetic.score import PUBLISHED_KEYS, tabsyndex
from obliviate.synthetic.tracking import plot_components

RESULTS = Path(__file__).resolve().parent / "results"
CLAIMS = {
    "published_seconds_4000": 6.0,
    "speedup_target": 10.0,
    "sdmetrics_seconds_4000": 0.2,
    "sdmetrics_ratio_target": 3.0,
}
NEURAL_PARAMS = {"ctgan": {"batch_size": 200}, "tvae": {"batch_size": 200}}


def _version(package: str) -> str | None:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return None


def bench_generators(datasets: list[str], seeds: list[int], epochs: int, adult_rows: int) -> list[dict]:
    reports = []
    available = generator_names()
    for name in datasets:
        print(f"[synthetic] generators on {name}", file=sys.stderr, flush=True)
        options = {"epochs": epochs, "generator_params": NEURAL_PARAMS, "progress": True}
        if name == "adult":
            fast = [g for g in available if g not in NEURAL]
            slow = [g for g in available if g in NEURAL]
            report = run_synth_bench("adult", generators=fast, seeds=seeds, rows=adult_rows, **options)
            if slow:
                extra = run_synth_bench("adult", generators=slow, seeds=seeds[:1], rows=adult_rows, **options)
                extra_rows = [r for r in extra["results"] if r["generator"] != HOLDOUT]
                report["results"] += extra_rows
                report["generators"] += slow
                report["seeds_by_generator"] = {g: seeds[:1] for g in slow}
                report["summary"] = summarise(report["results"])
                report["rank_agreement"] = rank_agreement(report["summary"])
        else:
            report = run_synth_bench(name, generators=available, seeds=seeds, **options)
        reports.append(report)
    return reports


def _lumped(frame: pd.DataFrame, categorical: list[str], share: float = 0.02) -> pd.DataFrame:
    out = frame.copy()
    for column in categorical:
        frequencies = out[column].value_counts(normalize=True)
        rare = frequencies[frequencies < share].index
        out.loc[out[column].isin(rare), column] = "Other"
    return out


def _timed(function, repeats: int) -> tuple[float, object]:
    seconds, value = [], None
    for _ in range(repeats):
        began = time.perf_counter()
        value = function()
        seconds.append(time.perf_counter() - began)
    return statistics.median(seconds), value


def _coded(frame: pd.DataFrame, categorical: list[str]) -> pd.DataFrame:
    out = frame.copy()
    for column in categorical:
        out[column] = pd.Categorical(out[column], categories=sorted(out[column].unique())).codes.astype(int)
    return out


def bench_speed(repeats: int) -> dict:
    data = load_adult()
    categorical, target = data.categorical, data.target
    complete = _lumped(data.frame.dropna().reset_index(drop=True), categorical)
    real = complete.sample(4000, random_state=0).reset_index(drop=True)
    real = real[[c for c in real.columns if c != target] + [target]]
    synth = make_generator("gaussian_copula", seed=0).fit(real, categorical=categorical).sample(4000)
    coded_real, coded_synth = _coded(real, categorical), _coded(synth, categorical)
    options = {"categorical": categorical, "target": target}
    print("[synthetic] speed on a 4,000-row Adult pair", file=sys.stderr, flush=True)
    timings: dict[str, float] = {}
    timings["reference"], reference = _timed(
        lambda: published_tabsyndex(coded_real, coded_synth, categorical, -1, "class"), repeats
    )
    timings["faithful_1"], faithful = _timed(lambda: tabsyndex(real, synth, faithful=True, n_jobs=1, **options), repeats)
    timings["faithful_2"], _ = _timed(lambda: tabsyndex(real, synth, faithful=True, n_jobs=2, **options), repeats)
    timings["default_1"], default = _timed(lambda: tabsyndex(real, synth, n_jobs=1, **options), repeats)
    timings["default_2"], _ = _timed(lambda: tabsyndex(real, synth, n_jobs=2, **options), repeats)
    sdm = None
    if sdmetrics_available():
        timings["sdmetrics"], sdm = _timed(lambda: sdmetrics_quality(real, synth, categorical=categorical), repeats)
    max_gap = max(abs(reference[k] - faithful.to_dict()[k]) for k in PUBLISHED_KEYS)
    small = {
        "rows": 4000,
        "seconds": timings,
        "reference_scores": reference,
        "faithful_scores": faithful.to_dict(),
        "default_scores": default.to_dict(),
        "default_component_seconds": default.seconds,
        "sdmetrics": sdm,
        "faithful_vs_reference_max_abs_gap": max_gap,
        "speedup_default_1": timings["reference"] / timings["default_1"],
        "speedup_default_2": timings["reference"] / timings["default_2"],
        "speedup_faithful_2": timings["reference"] / timings["faithful_2"],
    }
    if sdm is not None:
        small["ratio_to_sdmetrics_1"] = timings["default_1"] / timings["sdmetrics"]
        small["ratio_to_sdmetrics_2"] = timings["default_2"] / timings["sdmetrics"]
    print("[synthetic] speed on the 32,561-row Adult training file", file=sys.stderr, flush=True)
    full = data.frame
    full_synth = make_generator("gaussian_copula", seed=0).fit(full, categorical=categorical).sample(len(full))
    big: dict[str, float] = {}
    big["default_1"], big_default = _timed(lambda: tabsyndex(full, full_synth, n_jobs=1, **options), repeats)
    big["default_2"], _ = _timed(lambda: tabsyndex(full, full_synth, n_jobs=2, **options), repeats)
    big_sdm = None
    if sdmetrics_available():
        big["sdmetrics"], big_sdm = _timed(lambda: sdmetrics_quality(full, full_synth, categorical=categorical), repeats)
    large = {
        "rows": len(full),
        "seconds": big,
        "default_scores": big_default.to_dict(),
        "default_component_seconds": big_default.seconds,
        "sdmetrics": big_sdm,
    }
    if big_sdm is not None:
        large["ratio_to_sdmetrics_1"] = big["default_1"] / big["sdmetrics"]
        large["ratio_to_sdmetrics_2"] = big["default_2"] / big["sdmetrics"]
    return {"pair_4000": small, "full_32561": large, "repeats": repeats}


def speed_table(speed: dict) -> str:
    small, large = speed["pair_4000"], speed["full_32561"]
    s, b = small["seconds"], large["seconds"]

    def cell(seconds: dict, key: str) -> str:
        return f"{seconds[key]:.2f}" if key in seconds else "not installed"

    lines = [
        "| scoring | 4,000-row pair s | vs literal published algorithm | vs SDMetrics | 32,561-row table s | vs SDMetrics |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    rows = [
        ("published algorithm, literal and sequential (reference)", "reference", None),
        ("`tabsyndex(faithful=True)`, 1 thread", "faithful_1", None),
        ("`tabsyndex(faithful=True)`, 2 threads", "faithful_2", None),
        ("`tabsyndex()` default, 1 thread", "default_1", "default_1"),
        ("`tabsyndex()` default, 2 threads", "default_2", "default_2"),
        ("SDMetrics quality report", "sdmetrics", "sdmetrics"),
    ]
    for label, key, big_key in rows:
        vs_reference = f"{s['reference'] / s[key]:.1f}x faster" if key in s else "-"
        vs_sdm = f"{s[key] / s['sdmetrics']:.2f}x its time" if key in s and "sdmetrics" in s else "-"
        big_cell = cell(b, big_key) if big_key else "-"
        big_vs = f"{b[big_key] / b['sdmetrics']:.2f}x its time" if big_key and big_key in b and "sdmetrics" in b else "-"
        lines.append(f"| {label} | {cell(s, key)} | {vs_reference} | {vs_sdm} | {big_cell} | {big_vs} |")
    lines.append("")
    lines.append(
        f"Faithful mode against the literal reimplementation: largest gap over the six keys "
        f"{small['faithful_vs_reference_max_abs_gap']:.1e} (published score {small['reference_scores']['score']:.4f})."
    )
    lines.append(
        f"Claims: published code about {CLAIMS['published_seconds_4000']:.0f} s on a 4,000-row Adult pair "
        f"(target {CLAIMS['speedup_target']:.0f}x faster), SDMetrics about {CLAIMS['sdmetrics_seconds_4000']} s "
        f"(target within {CLAIMS['sdmetrics_ratio_target']:.0f}x)."
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--datasets", default="adult,wine,diabetes,breast_cancer")
    parser.add_argument("--epochs", type=int, default=50, help="epochs of vae, ctgan and tvae")
    parser.add_argument("--adult-rows", type=int, default=8000)
    parser.add_argument("--repeats", type=int, default=3, help="timing repeats (median)")
    parser.add_argument("--no-speed", action="store_true")
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore")
    datasets = args.datasets.split(",")
    has_adult = bool(os.environ.get("OBLIVIATE_DATA_DIR"))
    if not has_adult:
        print("OBLIVIATE_DATA_DIR is unset: skipping UCI Adult and the speed section", file=sys.stderr)
        datasets = [d for d in datasets if d != "adult"]
    for name in datasets:
        load_table(name)  # fail early on a missing file
    began = time.perf_counter()
    reports = bench_generators(datasets, list(range(args.seeds)), args.epochs, args.adult_rows)
    speed = bench_speed(args.repeats) if has_adult and not args.no_speed else None
    document = {
        "benchmark": "synthetic",
        "threads": os.environ.get("OMP_NUM_THREADS", "unset"),
        "cpu_count": os.cpu_count(),
        "versions": {p: _version(p) for p in ("scikit-learn", "pandas", "numpy", "torch", "sdmetrics", "ctgan")},
        "claims": CLAIMS,
        "reports": reports,
        "speed": speed,
        "seconds": time.perf_counter() - began,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    atomic_write_text(RESULTS / "synthetic.json", json.dumps(document, indent=2, default=float) + "\n")
    parts = [
        "# Synthetic data: TabSynDex",
        "",
        f"One thread (`OMP_NUM_THREADS={document['threads']}`), {os.cpu_count()} cores; "
        f"sdmetrics {document['versions']['sdmetrics'] or 'not installed'}, "
        f"ctgan {document['versions']['ctgan'] or 'not installed'}.",
    ]
    for report in reports:
        note = ""
        if report.get("seeds_by_generator"):
            note = f" ({', '.join(report['seeds_by_generator'])}: first seed only)"
        seeds = len(report['seeds'])
        parts += ["", f"## {report['dataset']}: {report['train_rows']} training rows, {seeds} seed{'s' if seeds > 1 else ''}{note}",
                  "", render_table(report)]  # fmt: skip
    if speed is not None:
        parts += ["", "## Speed (Adult)", "", speed_table(speed)]
    markdown = "\n".join(parts) + "\n"
    atomic_write_text(RESULTS / "synthetic.md", markdown)
    if reports:
        first = reports[0]
        means = {r["generator"]: {k: r[k]["mean"] for k in PUBLISHED_KEYS} for r in first["summary"]}
        plot_components(means, RESULTS / "synthetic.png", title=f"TabSynDex components on {first['dataset']}")
    print(markdown)
    return 0


if __name__ == "__main__":
    sys.exit(main())
