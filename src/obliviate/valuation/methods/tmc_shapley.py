"""``tmc_shapley``: Truncated Monte Carlo Shapley (Ghorbani and Zou, ICML 2019, Algorithm 1).

The data Shapley value of point ``i`` is its marginal contribution averaged over all
orderings of the data,

    phi_i = (1 / n!) sum_pi [ u(S_pi,i ∪ {i}) - u(S_pi,i) ],

``S_pi,i`` the points before ``i`` in ordering ``pi``. TMC samples ``T`` random
permutations and walks each one, fitting a model on every prefix; the estimate is the
mean marginal contribution. Truncation: once the prefix's score lies within
``tolerance * |u(N)|`` of the full-data score ``u(N)`` for ``patience`` consecutive
points, the rest of the permutation is given marginal contribution 0 without fitting
(Algorithm 1 truncates at the first such point, ``patience = 1``; the default 5 keeps one
lucky small prefix from ending a walk). The paper ties the tolerance to the bootstrap
variation of ``u(N)``; with ``truncation_tolerance=None`` (the default) the tolerance is
the standard deviation of the full model's validation score over 200 bootstrap
resamples of the validation set, relative to ``u(N)`` (no extra fit). A fixed relative
tolerance can be given instead; ``0`` turns truncation off, and the estimate is then the
plain permutation-sampling estimate, unbiased for the exact Shapley value. (A tolerance
below the score's resolution, e.g. 1% with 100 validation points, truncates only on an
exact tie with ``u(N)``.)

Cost: at most ``T * n`` fits (plus one for ``u(N)``). ``extra["stderr"]`` holds the
standard error of each estimate, ``std(marginals) / sqrt(T)``.
"""

from __future__ import annotations

import numpy as np

from obliviate.core.params import NONE, Interval
from obliviate.valuation.base import Computed, Valuation, register_valuation
from obliviate.valuation.data import TrainSet
from obliviate.valuation.parallel import run_jobs
from obliviate.valuation.utility import Utility


def walk_permutation(
    x: np.ndarray,
    y: np.ndarray,
    utility: Utility,
    permutation: np.ndarray,
    full_score: float,
    tolerance: float,
    patience: int,
) -> tuple[np.ndarray, int]:
    """Marginal contributions of every point along one permutation (0 after truncation).

    Returns:
        ``(marginals indexed by point, fits)``.
    """
    marginals = np.zeros(len(y))
    previous = utility.empty_score
    fits = 0
    close = 0
    threshold = tolerance * abs(full_score)
    for position, point in enumerate(permutation):
        if tolerance > 0 and close >= patience:
            break
        prefix = permutation[: position + 1]
        score, fitted = utility.evaluate(x[prefix], y[prefix])
        fits += fitted
        marginals[point] = score - previous
        previous = score
        close = close + 1 if abs(full_score - score) < threshold else 0
    return marginals, fits


def _walk_many(x, y, utility, permutations, full_score, tolerance, patience):
    rows, fits = [], 0
    for permutation in permutations:
        marginals, walked = walk_permutation(x, y, utility, permutation, full_score, tolerance, patience)
        rows.append(marginals)
        fits += walked
    return np.vstack(rows), fits


@register_valuation("tmc_shapley")
class TMCShapley(Valuation):
    """Truncated Monte Carlo data Shapley (Ghorbani and Zou 2019).

    Args:
        n_permutations: number of sampled permutations ``T``.
        truncation_tolerance: relative tolerance to ``u(N)`` that ends a permutation
            (``None``: the bootstrap standard deviation of ``u(N)`` over ``u(N)``; 0: off).
        patience: consecutive prefixes within tolerance before truncating.
        permutations_per_job: permutations walked by one joblib job.
    """

    _parameter_constraints = {
        "n_permutations": [Interval(int, 1, None)],
        "truncation_tolerance": [NONE, Interval(float, 0.0, 1.0)],
        "patience": [Interval(int, 1, None)],
        "permutations_per_job": [Interval(int, 1, None)],
    }

    def __init__(
        self,
        *,
        n_permutations: int = 100,
        truncation_tolerance: float | None = None,
        patience: int = 5,
        permutations_per_job: int = 2,
        seed: int = 0,
        n_jobs: int | None = None,
        progress: bool = False,
    ):
        super().__init__(seed=seed, n_jobs=n_jobs, progress=progress)
        self.n_permutations = n_permutations
        self.truncation_tolerance = truncation_tolerance
        self.patience = patience
        self.permutations_per_job = permutations_per_job

    def _compute(self, train: TrainSet, utility: Utility) -> Computed:
        n = len(train)
        full_model, full_fits = utility.fit(train.x, train.y)
        full_score = utility.score_model(full_model)
        if self.truncation_tolerance is None:
            spread = utility.bootstrap_std(full_model, seed=self.seed)
            tolerance = spread / abs(full_score) if full_score else 0.0
        else:
            tolerance = float(self.truncation_tolerance)
        rng = np.random.default_rng(self.seed)
        permutations = [rng.permutation(n) for _ in range(self.n_permutations)]
        per_job = self.permutations_per_job
        jobs = [
            (train.x, train.y, utility, permutations[start : start + per_job], full_score,
             tolerance, int(self.patience))
            for start in range(0, len(permutations), per_job)
        ]
        payloads, fits, parallel = run_jobs(
            _walk_many, jobs, n_jobs=self.n_jobs, progress=self.progress, desc="tmc_shapley",
            total_fits=self.n_permutations * n,
        )
        marginals = np.vstack(payloads)
        values = marginals.mean(axis=0)
        stderr = marginals.std(axis=0, ddof=1) / np.sqrt(len(marginals)) if len(marginals) > 1 else np.full(n, np.nan)
        return Computed(
            values,
            fits + full_fits,
            extra={"stderr": stderr},
            info={
                "parallel": parallel,
                "full_score": float(full_score),
                "truncation_tolerance": tolerance,
                "fits_per_permutation": fits / len(marginals),
            },
        )
