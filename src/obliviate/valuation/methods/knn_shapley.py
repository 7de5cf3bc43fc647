"""``knn_shapley``: exact Shapley values of a K-nearest-neighbour classifier (Jia et al. 2019).

Jia, Dao, Wang, Hubis, Gurel, Li, Zhang, Spanos and Song, "Efficient task-specific data
valuation for nearest neighbor algorithms", VLDB 2019, Theorem 1. For one validation
point ``(x, y)`` the utility of a subset ``S`` is the (unweighted) K-NN likelihood of the
right label,

    u_x(S) = (1 / K) sum_{k=1}^{min(K, |S|)} 1[ y_{alpha_k(S)} = y ],

``alpha_k(S)`` the k-th nearest point of ``S`` to ``x``. With the training points sorted
by distance to ``x``, ``alpha_1`` nearest, ``alpha_N`` farthest, its Shapley values
follow from one backward recursion:

    s_{alpha_N} = 1[y_{alpha_N} = y] / N,
    s_{alpha_i} = s_{alpha_{i+1}} + (1[y_{alpha_i} = y] - 1[y_{alpha_{i+1}} = y]) / K * min(K, i) / i.

The utility over a validation set is the mean of ``u_x``, so the values are the mean of
the per-point ones. No model is trained (the utility's model is not used, only its
validation data); cost ``O(N_valid * N log N)``. Distances are Euclidean; ties are broken
by training-set order (stable sort).
"""

from __future__ import annotations

import numpy as np

from obliviate.core.params import Interval
from obliviate.valuation.base import Computed, Valuation, register_valuation
from obliviate.valuation.data import TrainSet
from obliviate.valuation.utility import Utility


def _sorted_neighbours(x_train: np.ndarray, x_valid: np.ndarray) -> np.ndarray:
    from scipy.spatial.distance import cdist

    return np.argsort(cdist(x_valid, x_train, "sqeuclidean"), axis=1, kind="stable")


def knn_utility(
    x_train: np.ndarray, y_train: np.ndarray, x_valid: np.ndarray, y_valid: np.ndarray, subset: np.ndarray, k: int
) -> float:
    """``u(S)``: the mean over validation points of the K-NN likelihood of the right label.

    The game whose Shapley values :func:`knn_shapley_values` computes exactly (``u(∅) = 0``).
    """
    subset = np.sort(np.asarray(subset, dtype=int))
    if len(subset) == 0:
        return 0.0
    order = _sorted_neighbours(x_train[subset], x_valid)[:, :k]
    return float(np.mean(np.sum(y_train[subset][order] == y_valid[:, None], axis=1) / k))


def knn_shapley_values(
    x_train: np.ndarray, y_train: np.ndarray, x_valid: np.ndarray, y_valid: np.ndarray, k: int, *, chunk: int = 256
) -> np.ndarray:
    """Exact K-NN Shapley values of every training point (Jia et al. 2019, Theorem 1)."""
    n = len(y_train)
    positions = np.arange(1, n + 1, dtype=np.float64)  # the recursion's 1-based i
    weights = np.minimum(k, positions) / positions / k
    values = np.zeros(n)
    for start in range(0, len(y_valid), chunk):
        xs, ys = x_valid[start : start + chunk], y_valid[start : start + chunk]
        order = _sorted_neighbours(x_train, xs)
        match = (y_train[order] == ys[:, None]).astype(np.float64)
        s = np.empty_like(match)
        s[:, n - 1] = match[:, n - 1] / n
        for i in range(n - 2, -1, -1):
            s[:, i] = s[:, i + 1] + (match[:, i] - match[:, i + 1]) * weights[i]
        rows = np.arange(len(ys))[:, None]
        per_point = np.empty_like(s)
        per_point[rows, order] = s
        values += per_point.sum(axis=0)
    return values / len(y_valid)


@register_valuation("knn_shapley")
class KNNShapley(Valuation):
    """Exact KNN-Shapley (Jia et al. 2019), no model fits.

    Args:
        n_neighbors: ``K`` of the K-NN utility.
    """

    uses_model = False
    _parameter_constraints = {"n_neighbors": [Interval(int, 1, None)]}

    def __init__(self, *, n_neighbors: int = 10, seed: int = 0, n_jobs: int | None = None, progress: bool = False):
        super().__init__(seed=seed, n_jobs=n_jobs, progress=progress)
        self.n_neighbors = n_neighbors

    def _compute(self, train: TrainSet, utility: Utility) -> Computed:
        values = knn_shapley_values(train.x, train.y, utility.x_valid, utility.y_valid, int(self.n_neighbors))
        return Computed(values, 0, info={"utility_game": f"K-NN likelihood of the right label, K = {self.n_neighbors}"})
