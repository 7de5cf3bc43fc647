"""``data_oob``: out-of-bag estimates of data value (Kwon and Zou, ICML 2023).

Fit ``B`` models on bootstrap samples ``S_1..S_B`` (``n`` points drawn with replacement);
a point's value is the mean, over the models whose sample left it out, of whether that
model classifies it correctly:

    psi_i = sum_b 1[i not in S_b] * 1[f_b(x_i) = y_i]  /  sum_b 1[i not in S_b].

The paper bags decision trees (B = 800); here the base learner is the utility's model
(by default a logistic regression) so that every method values data for the same
learner. Cost: ``B`` fits. A point no sample left out (rare for ``B >= 20``) gets the
mean value.
"""

from __future__ import annotations

import numpy as np

from obliviate.core.params import Interval
from obliviate.valuation.base import Computed, Valuation, register_valuation
from obliviate.valuation.data import TrainSet
from obliviate.valuation.methods._fits import score_and_probe
from obliviate.valuation.parallel import chunked, run_jobs
from obliviate.valuation.utility import Utility


def _probe_chunk(x, y, utility, subsets):
    return score_and_probe(x, y, utility, subsets, correctness=True)


@register_valuation("data_oob")
class DataOOB(Valuation):
    """Data-OOB (Kwon and Zou 2023): out-of-bag accuracy over B bootstrap fits.

    Args:
        n_estimators: number of bootstrap models ``B``.
    """

    _parameter_constraints = {"n_estimators": [Interval(int, 2, None)]}

    def __init__(self, *, n_estimators: int = 100, seed: int = 0, n_jobs: int | None = None, progress: bool = False):
        super().__init__(seed=seed, n_jobs=n_jobs, progress=progress)
        self.n_estimators = n_estimators

    def _compute(self, train: TrainSet, utility: Utility) -> Computed:
        n = len(train)
        rng = np.random.default_rng(self.seed)
        samples = [rng.integers(0, n, size=n) for _ in range(self.n_estimators)]
        jobs = [(train.x, train.y, utility, chunk) for chunk in chunked(samples, 8)]
        payloads, fits, parallel = run_jobs(
            _probe_chunk, jobs, n_jobs=self.n_jobs, progress=self.progress, desc="data_oob", total_fits=len(samples)
        )
        correct = np.vstack([view for payload in payloads for _, view in payload]).astype(np.float64)
        out_of_bag = np.ones((len(samples), n), dtype=bool)
        for b, sample in enumerate(samples):
            out_of_bag[b, sample] = False
        counts = out_of_bag.sum(axis=0)
        totals = np.where(out_of_bag, correct, 0.0).sum(axis=0)
        values = np.divide(totals, counts, out=np.zeros(n), where=counts > 0)
        if (counts == 0).any():
            values[counts == 0] = values[counts > 0].mean()
        return Computed(values, fits, extra={"oob_count": counts}, info={"parallel": parallel})
