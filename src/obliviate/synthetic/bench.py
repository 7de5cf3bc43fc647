"""Train every available generator on a table and score each with TabSynDex (and SDMetrics).

Per seed the real table is split in two halves: generators learn the *train* half and sample
as many rows; the *holdout* half is scored as if it were synthetic, which gives the figure a
perfect generator (one drawing fresh rows from the real distribution) would reach. Each
sample is scored with TabSynDex (default mode), optionally in faithful mode (or the reason the
published code would fail on it), and with SDMetrics' quality report when it is installed.
The rank agreement is Spearman's rho between TabSynDex and SDMetrics over the generators'
mean scores.
"""

from __future__ import annotations

import math
import os
import time
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from obliviate.core.errors import InvalidParameterError, InvalidRequestError
from obliviate.data.tabular import TabularData, load_table
from obliviate.synthetic.crosscheck import sdmetrics_available, sdmetrics_quality
from obliviate.synthetic.generators import generator_names, make_generator
from obliviate.synthetic.score import COMPONENTS, PUBLISHED_KEYS, tabsyndex

HOLDOUT = "holdout"
NEURAL = ("vae", "ctgan", "tvae")


def resolve_generators(spec: str | Sequence[str]) -> list[str]:
    """``"all"`` (every available generator) or a comma-separated list, checked against the registry."""
    available = generator_names(available_only=True)
    if isinstance(spec, str):
        names = available if spec == "all" else [s.strip() for s in spec.split(",") if s.strip()]
    else:
        names = list(spec)
    known = generator_names(available_only=False)
    unknown = [n for n in names if n not in known]
    if unknown:
        raise InvalidRequestError(f"unknown generators {unknown}; choose from: {', '.join(known)}")
    missing = [n for n in names if n not in available]
    if missing:
        raise InvalidRequestError(
            f"generators {missing} need the ctgan package: pip install 'obliviate[synthetic]'"
        )
    return names


def _halves(data: TabularData, rows: int | None, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    frame = data.frame
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(frame))
    if rows is not None:
        order = order[: min(rows, len(frame))]
    half = len(order) // 2
    train = frame.iloc[np.sort(order[:half])].reset_index(drop=True)
    holdout = frame.iloc[np.sort(order[half : 2 * half])].reset_index(drop=True)
    return train, holdout


def run_synth_bench(
    dataset: str | TabularData = "adult",
    *,
    generators: str | Sequence[str] = "all",
    seeds: Sequence[int] = (0,),
    rows: int | None = None,
    data_dir: str | os.PathLike | None = None,
    epochs: int = 30,
    generator_params: Mapping[str, Mapping[str, Any]] | None = None,
    faithful: bool = True,
    sdmetrics: bool | None = None,
    n_jobs: int | None = -1,
    progress: bool = True,
) -> dict[str, Any]:
    """Bench generators on one table.

    Args:
        dataset: a table name (``adult``, ``wine``, ``diabetes``, ``breast_cancer``) or a :class:`TabularData`.
        generators: ``"all"`` or names.
        seeds: one run per seed (split, generator seed, scoring seed).
        rows: use at most this many rows of the table (before the halving).
        data_dir: folder with the Adult files (default ``$OBLIVIATE_DATA_DIR/uci-adult``).
        epochs: training epochs of the neural generators.
        generator_params: extra hyper-parameters per generator name (e.g. ``{"ctgan": {"batch_size": 200}}``).
        faithful: also score in faithful mode (or record why the published code would fail).
        sdmetrics: also run SDMetrics' quality report (default: when installed).
        n_jobs: threads for the efficacy fits.
        progress: show a progress bar.

    Returns:
        The report: ``{"dataset", "rows", "seeds", "generators", "results", "summary", "rank_agreement", ...}``.
    """
    if not seeds:
        raise InvalidParameterError("run_synth_bench: give at least one seed")
    if rows is not None and rows < 40:
        raise InvalidParameterError(f"run_synth_bench: rows must be at least 40; got {rows}")
    data = dataset if isinstance(dataset, TabularData) else load_table(dataset, data_dir=data_dir)
    names = resolve_generators(generators)
    use_sdmetrics = sdmetrics_available() if sdmetrics is None else sdmetrics
    runs = [(seed, name) for seed in seeds for name in [HOLDOUT] + names]
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(runs), desc=f"synth bench {data.name}", unit="run", leave=False)
    results: list[dict[str, Any]] = []
    try:
        for seed in seeds:
            train, holdout = _halves(data, rows, seed)
            for name in [HOLDOUT] + names:
                if bar is not None:
                    bar.set_postfix_str(f"seed {seed} {name}")
                params = dict((generator_params or {}).get(name, {}))
                results.append(
                    _one_run(data, train, holdout, name, seed, epochs, params, faithful, use_sdmetrics, n_jobs)
                )
                if bar is not None:
                    bar.update(1)
    finally:
        if bar is not None:
            bar.close()
    summary = summarise(results)
    return {
        "dataset": data.name,
        "rows": int(len(train) + len(holdout)),
        "train_rows": int(len(train)),
        "categorical": data.categorical,
        "target": data.target,
        "target_type": data.target_type,
        "seeds": list(seeds),
        "generators": [HOLDOUT] + names,
        "epochs": epochs,
        "sdmetrics": bool(use_sdmetrics),
        "threads": os.environ.get("OMP_NUM_THREADS", "unset"),
        "results": results,
        "summary": summary,
        "rank_agreement": rank_agreement(summary),
    }


def _one_run(data, train, holdout, name, seed, epochs, params, faithful, use_sdmetrics, n_jobs) -> dict[str, Any]:
    began = time.perf_counter()
    if name == HOLDOUT:
        sample = holdout
    else:
        params = {"seed": seed, **params}
        if name in NEURAL:
            params.setdefault("epochs", epochs)
        generator = make_generator(name, **params)
        generator.fit(train, categorical=data.categorical, target=data.target)
        sample = generator.sample(len(train), seed=seed + 1000)
    fit_seconds = time.perf_counter() - began
    options = {"categorical": data.categorical, "target": data.target, "target_type": data.target_type}
    result = tabsyndex(train, sample, seed=seed, n_jobs=n_jobs, **options)
    row: dict[str, Any] = {
        "generator": name,
        "seed": seed,
        "fit_seconds": fit_seconds,
        "score_seconds": result.seconds["total"],
        "tabsyndex": result.to_dict(),
        "pmse_ratio": result.details["pmse"]["ratio"],
    }
    if faithful:
        complete_train = train.dropna().reset_index(drop=True)
        complete_sample = sample.dropna().reset_index(drop=True)
        try:
            published = tabsyndex(complete_train, complete_sample, faithful=True, n_jobs=n_jobs, **options)
            row["faithful"] = published.to_dict()
            row["faithful_seconds"] = published.seconds["total"]
        except InvalidRequestError as exc:
            row["faithful"] = {"error": str(exc)}
    if use_sdmetrics:
        row["sdmetrics"] = sdmetrics_quality(train, sample, categorical=data.categorical)
    return row


def _mean_std(values: list[float]) -> dict[str, float]:
    array = np.asarray(values, dtype=float)
    return {"mean": float(array.mean()), "std": float(array.std(ddof=1)) if len(array) > 1 else 0.0}


def summarise(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Mean and std over seeds per generator, in the order the generators were run."""
    names = list(dict.fromkeys(r["generator"] for r in results))
    summary = []
    for name in names:
        runs = [r for r in results if r["generator"] == name]
        row: dict[str, Any] = {"generator": name, "runs": len(runs)}
        for key in PUBLISHED_KEYS:
            row[key] = _mean_std([r["tabsyndex"][key] for r in runs])
        row["fit_seconds"] = _mean_std([r["fit_seconds"] for r in runs])
        row["score_seconds"] = _mean_std([r["score_seconds"] for r in runs])
        faithful_scores = [r["faithful"]["score"] for r in runs if "faithful" in r and "score" in r["faithful"]]
        failures = [r["faithful"]["error"] for r in runs if "faithful" in r and "error" in r["faithful"]]
        row["faithful_score"] = _mean_std(faithful_scores) if faithful_scores else None
        row["faithful_failures"] = len(failures)
        if failures:
            row["faithful_failure"] = failures[0]
        sdm = [r["sdmetrics"]["score"] for r in runs if r.get("sdmetrics")]
        row["sdmetrics_score"] = _mean_std(sdm) if sdm else None
        summary.append(row)
    return summary


def rank_agreement(summary: list[dict[str, Any]]) -> dict[str, Any] | None:
    """Spearman's rho and Kendall's tau between TabSynDex and SDMetrics over the generators (holdout left out)."""
    from scipy import stats

    rows = [r for r in summary if r["generator"] != HOLDOUT and r.get("sdmetrics_score")]
    if len(rows) < 3:
        return None
    ours = [r["score"]["mean"] for r in rows]
    theirs = [r["sdmetrics_score"]["mean"] for r in rows]
    rho = stats.spearmanr(ours, theirs).statistic
    tau = stats.kendalltau(ours, theirs).statistic
    return {
        "generators": [r["generator"] for r in rows],
        "spearman": None if math.isnan(rho) else float(rho),
        "kendall": None if math.isnan(tau) else float(tau),
    }


def _cell(stat: dict[str, float] | None, digits: int = 3) -> str:
    if not stat:
        return "-"
    if stat.get("std"):
        return f"{stat['mean']:.{digits}f} ± {stat['std']:.{digits}f}"
    return f"{stat['mean']:.{digits}f}"


def render_table(report: dict[str, Any]) -> str:
    """Markdown table of a bench report: components, faithful score, SDMetrics, times."""
    head = ["generator", "TabSynDex"] + [k.replace("_score", "") for k in COMPONENTS]
    head += ["faithful", "SDMetrics", "fit s", "score s"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for row in report["summary"]:
        faithful = _cell(row["faithful_score"])
        if row["faithful_failures"]:
            faithful = f"{faithful} (fails {row['faithful_failures']}/{row['runs']})" if row["faithful_score"] else (
                f"fails {row['faithful_failures']}/{row['runs']}"
            )
        cells = [row["generator"], _cell(row["score"])] + [_cell(row[k]) for k in COMPONENTS]
        cells += [faithful, _cell(row["sdmetrics_score"]), _cell(row["fit_seconds"], 2), _cell(row["score_seconds"], 2)]
        lines.append("| " + " | ".join(cells) + " |")
    agreement = report.get("rank_agreement")
    if agreement:
        lines.append("")
        lines.append(
            f"Rank agreement with SDMetrics over {len(agreement['generators'])} generators: "
            f"Spearman {agreement['spearman']:.2f}, Kendall {agreement['kendall']:.2f}."
        )
    return "\n".join(lines)


def write_bench_files(report: dict[str, Any], out_dir: str | os.PathLike) -> dict[str, Path]:
    """Write ``report.json``, ``report.md`` and ``components.png`` into ``out_dir``."""
    import json

    from obliviate.core.checkpoint import atomic_write_text
    from obliviate.synthetic.tracking import plot_components

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    json_path, md_path = out / "report.json", out / "report.md"
    atomic_write_text(json_path, json.dumps(report, indent=2, default=float) + "\n")
    seeds = len(report["seeds"])
    title = f"TabSynDex on {report['dataset']} ({report['train_rows']} training rows, {seeds} seed{'s' if seeds > 1 else ''})"
    atomic_write_text(md_path, f"# {title}\n\n" + render_table(report) + "\n")
    means = {r["generator"]: {k: r[k]["mean"] for k in PUBLISHED_KEYS} for r in report["summary"]}
    plot_path = plot_components(means, out / "components.png", title=title)
    return {"json": json_path, "markdown": md_path, "plot": plot_path}
