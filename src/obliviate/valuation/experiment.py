"""Run valuation methods through the evaluation protocols: the engine of the CLI, demo and benchmark.

:func:`run_detection` values one (noisy) data set with several methods and scores each on
noisy-label detection, timing it; :func:`run_removal` draws the point-removal curves of
those values against random removal.
"""

from __future__ import annotations

from typing import Any, Callable, Iterable

import numpy as np

from obliviate.core.errors import InvalidParameterError, InvalidRequestError
from obliviate.valuation.base import get_valuation, valuation_methods
from obliviate.valuation.data import ValuationData
from obliviate.valuation.evaluation import (
    RemovalCurve,
    noisy_label_detection,
    point_removal_curve,
    random_removal_curve,
    removal_area,
)
from obliviate.valuation.result import ValuationResult
from obliviate.valuation.utility import Utility

# The methods ``all`` stands for, in the order reports list them.
ALL_METHODS = ("ecoval", "tmc_shapley", "knn_shapley", "data_oob", "loo", "random")


def resolve_methods(spec: str | Iterable[str]) -> list[str]:
    """``"all"`` -> :data:`ALL_METHODS`; ``"ecoval,loo"`` -> ``["ecoval", "loo"]``.

    Raises:
        RegistryError: for an unknown method name.
        InvalidRequestError: for an empty list.
    """
    names = list(ALL_METHODS) if spec == "all" else (
        [part.strip() for part in spec.split(",") if part.strip()] if isinstance(spec, str) else list(spec)
    )
    if not names:
        raise InvalidRequestError(f"no method given; choose 'all' or some of: {', '.join(valuation_methods())}")
    for name in names:
        get_valuation(name)
    return names


def build_method(name: str, *, seed: int, params: dict[str, Any] | None = None, n_jobs: int | None = None, progress: bool = False):
    """An instance of the method ``name`` with ``params`` on top of its defaults.

    Raises:
        InvalidParameterError: for a parameter the method does not have.
    """
    cls = get_valuation(name)
    params = dict(params or {})
    known = set(cls._param_names())
    unknown = sorted(set(params) - known)
    if unknown:
        raise InvalidParameterError(
            f"valuation/{name} has no parameter {', '.join(map(repr, unknown))}; its parameters are: {', '.join(sorted(known))}"
        )
    return cls(**{"seed": seed, "n_jobs": n_jobs, "progress": progress, **params})


def run_detection(
    data: ValuationData,
    methods: Iterable[str],
    *,
    seed: int = 0,
    params: dict[str, dict[str, Any]] | None = None,
    model: Any = None,
    n_jobs: int | None = None,
    progress: bool = False,
    log: Callable[[str], None] | None = None,
) -> tuple[list[dict[str, Any]], dict[str, ValuationResult]]:
    """Value ``data.train`` with every method and score noisy-label detection.

    Args:
        data: the data set; with ``data.noisy`` set, detection scores are computed,
            otherwise they are ``None``.
        methods: method names.
        seed: seed of every method.
        params: ``{method: {parameter: value}}`` overrides.
        model: the utility's model (``None``: logistic regression).

    Returns:
        ``(rows, results)``: one row per method (``dataset, method, noise, seed, n_train,
        noisy_f1, precision_at_noise, model_fits, seconds``) and the results by method.
    """
    params = params or {}
    utility = Utility(data.x_valid, data.y_valid, model=model, classes=data.classes)
    rows, results = [], {}
    for name in methods:
        method = build_method(name, seed=seed, params=params.get(name), n_jobs=n_jobs, progress=progress)
        result = method.fit(data.train, utility)
        detection: dict[str, Any] = {"noisy_f1": None, "precision_at_noise": None}
        if data.noisy is not None and data.noisy.any():
            scores = noisy_label_detection(result, data.noisy, seed=seed)
            detection = {"noisy_f1": scores["noisy_f1"], "precision_at_noise": scores["precision_at_noise"]}
        row = {
            "dataset": data.name,
            "method": name,
            "noise": float(data.info.get("label_noise", 0.0)),
            "seed": seed,
            "n_train": len(data.train),
            **detection,
            "model_fits": result.model_fits,
            "seconds": round(result.seconds, 4),
        }
        rows.append(row)
        results[name] = result
        if log:
            log(f"{data.name} seed {seed} {name}: f1 {row['noisy_f1']} fits {row['model_fits']} {row['seconds']:.2f} s")
    return rows, results


def run_removal(
    data: ValuationData,
    results: dict[str, ValuationResult],
    *,
    seed: int = 0,
    model: Any = None,
    max_fraction: float = 0.5,
    step: float = 0.05,
    random_repeats: int = 3,
) -> tuple[list[RemovalCurve], list[dict[str, Any]]]:
    """Point-removal curves of every result (high and low first) and random removal.

    The model is refitted on the training data left and scored on the test set.

    Returns:
        ``(curves, rows)``: the curves (the random one last) and one row per method with
        ``high_minus_random`` and ``low_minus_random`` (mean accuracy gaps to random
        removal; negative and positive respectively for useful values).
    """
    test_utility = Utility(data.x_test, data.y_test, model=model, classes=data.classes)
    baseline = random_removal_curve(
        data.train, test_utility, repeats=random_repeats, seed=seed, max_fraction=max_fraction, step=step
    )
    curves, rows = [], []
    for name, result in results.items():
        high = point_removal_curve(result, data.train, test_utility, order="high", max_fraction=max_fraction, step=step, method=name)
        low = point_removal_curve(result, data.train, test_utility, order="low", max_fraction=max_fraction, step=step, method=name)
        curves += [high, low]
        rows.append(
            {
                "dataset": data.name,
                "method": name,
                "seed": seed,
                "high_minus_random": removal_area(high, baseline),
                "low_minus_random": removal_area(low, baseline),
                "accuracy_at_start": float(high.accuracy[0]),
            }
        )
    curves.append(baseline)
    return curves, rows


def median_rows(rows: list[dict[str, Any]], keys: Iterable[str], by: tuple[str, ...] = ("dataset", "method")) -> list[dict[str, Any]]:
    """Rows grouped by ``by`` with the median of each of ``keys`` (``None`` stays ``None``)."""
    groups: dict[tuple, list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault(tuple(row[k] for k in by), []).append(row)
    out = []
    for key, members in groups.items():
        merged = dict(zip(by, key))
        merged["seeds"] = len(members)
        for name in keys:
            values = [m[name] for m in members if m.get(name) is not None]
            merged[name] = float(np.median(values)) if values else None
        out.append(merged)
    return out
