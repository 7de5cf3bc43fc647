"""Evaluation protocols for data values: noisy-label detection and point removal.

The standard protocols of the data-valuation literature (Ghorbani and Zou 2019; Kwon and
Zou 2023; OpenDataVal, Jiang et al. 2023), so that numbers compare with other libraries.

* **Noisy-label detection.** A fraction ``rho`` of training labels is flipped
  (:meth:`obliviate.valuation.data.ValuationData.with_label_noise`); a good method gives
  the flipped points low values. Two scores:

  - ``noisy_f1``: the values are split in two by 1-D k-means (``k = 2``, scikit-learn,
    ``n_init = 10``, seeded); the cluster with the lower mean is predicted noisy, and the
    F1 score of that prediction against the flipped points is reported,
    ``F1 = 2 P R / (P + R)``;
  - ``precision_at_noise``: the share of flipped points among the ``round(rho n)``
    lowest-valued points (equal to the recall at that cut).

  Random values score ``precision_at_noise ≈ rho`` and ``noisy_f1 ≈ 2 rho / (1 + 2 rho)``
  (k-means splits uniform values near the middle, flagging about half the points).

* **Point removal.** Remove the highest- (or lowest-) valued points in steps of 5% of
  the training set, refit the model on what remains, and score it on the *test* set;
  compare with removing points in random order. Removing valuable points first should
  make accuracy fall faster than random removal; removing low-valued points first should
  keep it (or raise it when they are mislabelled).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from obliviate.core.errors import InvalidRequestError
from obliviate.report.plots import save_figure
from obliviate.valuation.data import TrainSet
from obliviate.valuation.result import ValuationResult
from obliviate.valuation.utility import Utility


def _values_of(values: ValuationResult | np.ndarray) -> np.ndarray:
    return values.values if isinstance(values, ValuationResult) else np.asarray(values, dtype=np.float64)


def two_means_low_cluster(values: np.ndarray, *, seed: int = 0) -> np.ndarray:
    """Boolean mask of the points in the lower-mean cluster of a 1-D 2-means split.

    All points equal: nothing is flagged.
    """
    from sklearn.cluster import KMeans

    values = np.asarray(values, dtype=np.float64)
    if np.ptp(values) == 0:
        return np.zeros(len(values), dtype=bool)
    model = KMeans(n_clusters=2, n_init=10, random_state=seed).fit(values.reshape(-1, 1))
    low = int(np.argmin(model.cluster_centers_.ravel()))
    return model.labels_ == low


def noisy_label_detection(values: ValuationResult | np.ndarray, noisy: np.ndarray, *, seed: int = 0) -> dict[str, float]:
    """Scores of how well low values find the flipped labels.

    Args:
        values: a result or an ``(n,)`` array in training-set order.
        noisy: boolean mask of the flipped points.

    Returns:
        ``{"noisy_f1", "noisy_precision", "noisy_recall", "precision_at_noise", "noise_rate"}``.

    Raises:
        InvalidRequestError: when the mask does not match the values or flags nothing.
    """
    scores = _values_of(values)
    noisy = np.asarray(noisy, dtype=bool)
    if noisy.shape != scores.shape:
        raise InvalidRequestError(f"noisy mask of shape {noisy.shape} does not match {scores.shape} values")
    if not noisy.any():
        raise InvalidRequestError("no point is marked noisy; add label noise first (ValuationData.with_label_noise)")
    flagged = two_means_low_cluster(scores, seed=seed)
    true_positive = float(np.sum(flagged & noisy))
    precision = true_positive / flagged.sum() if flagged.any() else 0.0
    recall = true_positive / noisy.sum()
    f1 = 2 * precision * recall / (precision + recall) if precision + recall > 0 else 0.0
    count = int(noisy.sum())
    lowest = np.argsort(scores, kind="stable")[:count]
    return {
        "noisy_f1": float(f1),
        "noisy_precision": float(precision),
        "noisy_recall": float(recall),
        "precision_at_noise": float(noisy[lowest].mean()),
        "noise_rate": float(noisy.mean()),
    }


@dataclass
class RemovalCurve:
    """Test accuracy after removing a growing fraction of the training set.

    Attributes:
        method: the valuation method.
        order: ``"high"`` (highest values first), ``"low"`` or ``"random"``.
        fractions: fractions removed, starting at 0.
        accuracy: test accuracy at each fraction (mean over repeats for ``random``).
    """

    method: str
    order: str
    fractions: np.ndarray
    accuracy: np.ndarray
    info: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "order": self.order,
            "fractions": [round(float(f), 6) for f in self.fractions],
            "accuracy": [float(a) for a in self.accuracy],
            **self.info,
        }


def _removal_accuracy(train: TrainSet, test_utility: Utility, ranking: np.ndarray, fractions: np.ndarray) -> tuple[np.ndarray, int]:
    accuracy, fits = [], 0
    n = len(train)
    for fraction in fractions:
        removed = int(round(fraction * n))
        kept = np.sort(ranking[removed:])
        score, fitted = test_utility.evaluate(train.x[kept], train.y[kept])
        accuracy.append(score)
        fits += fitted
    return np.asarray(accuracy), fits


def removal_fractions(max_fraction: float = 0.5, step: float = 0.05) -> np.ndarray:
    """``0, step, 2 step, ..., max_fraction``."""
    if not 0 < step <= max_fraction < 1:
        raise InvalidRequestError(f"need 0 < step <= max_fraction < 1; got step={step}, max_fraction={max_fraction}")
    count = int(round(max_fraction / step))
    return np.round(np.arange(count + 1) * step, 10)


def point_removal_curve(
    values: ValuationResult | np.ndarray,
    train: TrainSet,
    test_utility: Utility,
    *,
    order: str = "high",
    max_fraction: float = 0.5,
    step: float = 0.05,
    method: str | None = None,
) -> RemovalCurve:
    """Test accuracy as the highest- (``order="high"``) or lowest-valued (``"low"``) points go.

    Args:
        values: the values, in training-set order.
        train: the training set they value.
        test_utility: a utility scoring on the test set (same model as the valuation).
        order: ``"high"`` or ``"low"``.
        max_fraction, step: fractions removed, ``0, step, ..., max_fraction``.

    Raises:
        InvalidRequestError: for an unknown order or mismatched lengths.
    """
    scores = _values_of(values)
    if len(scores) != len(train):
        raise InvalidRequestError(f"{len(scores)} values for {len(train)} training points")
    if order not in ("high", "low"):
        raise InvalidRequestError(f"order must be 'high' or 'low'; got {order!r}")
    ranking = np.argsort(-scores if order == "high" else scores, kind="stable")
    fractions = removal_fractions(max_fraction, step)
    accuracy, fits = _removal_accuracy(train, test_utility.with_classes(train.y), ranking, fractions)
    name = method or (values.method if isinstance(values, ValuationResult) else "values")
    return RemovalCurve(name, order, fractions, accuracy, {"model_fits": fits})


def random_removal_curve(
    train: TrainSet, test_utility: Utility, *, repeats: int = 5, seed: int = 0, max_fraction: float = 0.5, step: float = 0.05
) -> RemovalCurve:
    """The baseline: points removed in random order, test accuracy averaged over ``repeats`` orders."""
    rng = np.random.default_rng(seed)
    fractions = removal_fractions(max_fraction, step)
    utility = test_utility.with_classes(train.y)
    runs = [_removal_accuracy(train, utility, rng.permutation(len(train)), fractions)[0] for _ in range(repeats)]
    runs_array = np.vstack(runs)
    return RemovalCurve("random order", "random", fractions, runs_array.mean(axis=0), {"std": runs_array.std(axis=0).tolist()})


def removal_area(curve: RemovalCurve, baseline: RemovalCurve) -> float:
    """Mean gap ``accuracy(curve) - accuracy(baseline)`` over the removal fractions.

    Negative for a good ``"high"`` curve (valuable points removed first hurt more than
    random removal), positive for a good ``"low"`` curve.
    """
    if not np.allclose(curve.fractions, baseline.fractions):
        raise InvalidRequestError("curves must share their removal fractions")
    return float(np.mean(curve.accuracy - baseline.accuracy))


def plot_removal_curves(
    curves: list[RemovalCurve], path: str | os.PathLike, *, title: str = "Point removal"
) -> Path:
    """Plot test accuracy against the fraction removed, one panel per order (high, low).

    The random-order curve, if given, is drawn in both panels. Writes a PNG atomically.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt


    baseline = [c for c in curves if c.order == "random"]
    figure, axes = plt.subplots(1, 2, figsize=(10, 4), sharey=True)
    for axis, order, label in zip(axes, ("high", "low"), ("highest values removed first", "lowest values removed first")):
        for curve in curves:
            if curve.order == order:
                axis.plot(curve.fractions, curve.accuracy, marker="o", markersize=3, label=curve.method)
        for curve in baseline:
            axis.plot(curve.fractions, curve.accuracy, color="black", linestyle="--", label="random order")
        axis.set_title(label)
        axis.set_xlabel("fraction of training points removed")
        axis.grid(alpha=0.3)
    axes[0].set_ylabel("test accuracy")
    axes[1].legend(fontsize=8, loc="best")
    figure.suptitle(title)
    figure.tight_layout()

    save_figure(figure, path, dpi=110)

    plt.close(figure)

    return Path(path)


def plot_removal_grid(curves_by_dataset: dict[str, list[RemovalCurve]], path: str | os.PathLike, *, title: str = "") -> Path:
    """One row of panels (high first, low first) per data set; random order dashed. Writes a PNG."""

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt


    rows = max(1, len(curves_by_dataset))
    figure, axes = plt.subplots(rows, 2, figsize=(10, 3.2 * rows), squeeze=False)
    for row, (dataset, curves) in enumerate(curves_by_dataset.items()):
        for column, order in enumerate(("high", "low")):
            axis = axes[row][column]
            for curve in curves:
                if curve.order == order:
                    axis.plot(curve.fractions, curve.accuracy, marker="o", markersize=2, label=curve.method)
                elif curve.order == "random":
                    axis.plot(curve.fractions, curve.accuracy, color="black", linestyle="--", label="random order")
            axis.set_title(f"{dataset}: {'highest' if order == 'high' else 'lowest'} values removed first", fontsize=9)
            axis.grid(alpha=0.3)
            axis.set_ylabel("test accuracy" if column == 0 else "")
        axes[row][1].legend(fontsize=7, loc="best")
    for axis in axes[-1]:
        axis.set_xlabel("fraction of training points removed")
    if title:
        figure.suptitle(title)
    figure.tight_layout()
    save_figure(figure, path, dpi=100)
    plt.close(figure)
    return Path(path)
