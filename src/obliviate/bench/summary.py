"""Aggregate raw bench runs into the report's summary rows.

For each row (``original``, ``gold``, then every method) and each metric, the summary
holds the mean and the sample standard deviation over seeds (``ddof=1``; 0 for a single
seed), and ``gap_to_gold``: the same two statistics of ``value(method, seed) -
value(gold, seed)``, paired by seed so that seed-to-seed variation of the scenario cancels.
"""

from __future__ import annotations

import math
from typing import Any, Iterable

from obliviate.report.schema import COST_KEYS, GOLD_ROW, ORIGINAL_ROW


def mean_std(values: Iterable[float | None]) -> dict[str, Any]:
    """``{"mean": m, "std": s, "n": n}`` over the ``n`` finite values (``None``s and NaNs are
    left out and not counted).

    ``s`` is the sample standard deviation ``sqrt(sum((x - m)^2) / (n - 1))``, 0 for one
    value; both are ``None`` when no value is finite.
    """
    finite = [float(v) for v in values if v is not None and math.isfinite(float(v))]
    if not finite:
        return {"mean": None, "std": None, "n": 0}
    mean = sum(finite) / len(finite)
    if len(finite) == 1:
        return {"mean": mean, "std": 0.0, "n": 1}
    variance = sum((v - mean) ** 2 for v in finite) / (len(finite) - 1)
    return {"mean": mean, "std": math.sqrt(variance), "n": len(finite)}


def metric_order(runs: list[dict[str, Any]], preferred: Iterable[str]) -> list[str]:
    """Audit metrics present in ``runs``: those of ``preferred`` first, in its order, then the rest
    in order of first appearance."""
    seen: list[str] = []
    for run in runs:
        for name in run["metrics"]:
            if name not in seen:
                seen.append(name)
    preferred = [name for name in preferred if name in seen]
    return preferred + [name for name in seen if name not in preferred]


def summarise(
    runs: list[dict[str, Any]], *, methods: list[str], metrics: list[str]
) -> list[dict[str, Any]]:
    """Summary rows (``original``, ``gold``, then ``methods`` in order) from raw run records.

    Args:
        runs: run records as stored in the report (``seed``, ``method``, ``role``,
            ``status``, ``reason``, ``metrics``, ``seconds``, ``speedup``, ``flops``).
        methods: benched method names, in display order.
        metrics: audit metric names to summarise.

    Returns:
        One dict per row, as described in :mod:`obliviate.report.schema`.
    """
    gold_by_seed = {
        run["seed"]: run["metrics"] for run in runs if run["method"] == GOLD_ROW and run["status"] == "ok"
    }
    rows = []
    for name in [ORIGINAL_ROW, GOLD_ROW, *methods]:
        mine = [run for run in runs if run["method"] == name]
        if not mine:
            continue
        ok = [run for run in mine if run["status"] == "ok"]
        skipped = [run for run in mine if run["status"] == "skipped"]
        role = mine[0]["role"]
        row: dict[str, Any] = {
            "method": name,
            "role": role,
            "runs": len(ok),
            "skipped": skipped[0]["reason"] if skipped else None,
        }
        if ok:
            for metric in metrics:
                row[metric] = mean_std(run["metrics"].get(metric) for run in ok)
            for key in COST_KEYS:
                values = [run[key] for run in ok if run[key] is not None]
                if values:
                    row[key] = mean_std(values)
            row["gap_to_gold"] = {
                metric: mean_std(_gap(run, gold_by_seed, metric) for run in ok) for metric in metrics
            }
        rows.append(row)
    return rows


def _gap(run: dict[str, Any], gold_by_seed: dict[int, dict[str, Any]], metric: str) -> float | None:
    gold = gold_by_seed.get(run["seed"], {}).get(metric)
    value = run["metrics"].get(metric)
    if gold is None or value is None:
        return None
    return float(value) - float(gold)
