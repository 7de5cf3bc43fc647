"""``loo``: leave-one-out values, ``v_i = u(N) - u(N \\ {i})``.

The classical baseline (Koh and Liang 2017 approximate it with influence functions;
Ghorbani and Zou 2019 compare against it): ``n + 1`` model fits. With a stable learner
most points change the validation accuracy by nothing, so many values tie at 0.
"""

from __future__ import annotations

import numpy as np

from obliviate.valuation.base import Computed, Valuation, register_valuation
from obliviate.valuation.data import TrainSet
from obliviate.valuation.methods._fits import score_subsets
from obliviate.valuation.parallel import chunked, run_jobs
from obliviate.valuation.utility import Utility


@register_valuation("loo")
class LeaveOneOut(Valuation):
    """Leave-one-out: v_i = u(N) - u(N without i), n + 1 fits."""

    def __init__(self, *, seed: int = 0, n_jobs: int | None = None, progress: bool = False):
        super().__init__(seed=seed, n_jobs=n_jobs, progress=progress)

    def _compute(self, train: TrainSet, utility: Utility) -> Computed:
        n = len(train)
        everyone = np.arange(n)
        subsets = [everyone] + [np.delete(everyone, i) for i in range(n)]
        jobs = [(train.x, train.y, utility, chunk) for chunk in chunked(subsets, 16)]
        payloads, fits, parallel = run_jobs(
            score_subsets, jobs, n_jobs=self.n_jobs, progress=self.progress, desc="loo", total_fits=n + 1
        )
        scores = np.concatenate([np.asarray(p) for p in payloads])
        return Computed(scores[0] - scores[1:], fits, info={"parallel": parallel, "full_score": float(scores[0])})
