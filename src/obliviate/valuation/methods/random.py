"""``random``: values drawn i.i.d. uniform on [0, 1) — the control every protocol must beat.

A method whose noisy-label detection or point-removal curve is no better than this one's
has learnt nothing about the data.
"""

from __future__ import annotations

import numpy as np

from obliviate.valuation.base import Computed, Valuation, register_valuation
from obliviate.valuation.data import TrainSet
from obliviate.valuation.utility import Utility


@register_valuation("random")
class RandomValuation(Valuation):
    """Random values, i.i.d. uniform on [0, 1) (no model fits)."""

    uses_model = False

    def __init__(self, *, seed: int = 0, n_jobs: int | None = None, progress: bool = False):
        super().__init__(seed=seed, n_jobs=n_jobs, progress=progress)

    def _compute(self, train: TrainSet, utility: Utility) -> Computed:
        return Computed(np.random.default_rng(self.seed).random(len(train)), 0)
