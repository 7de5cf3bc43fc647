"""The negative control of every acceptance check, and the median rule (importable from any test)."""

from __future__ import annotations

import statistics
from typing import Any, Iterable

from obliviate.core.contracts import Unlearner, UnlearningRequest

ACCEPTANCE_SEEDS = (0, 1, 2)
"""Every acceptance check holds for the median over these seeds."""


class Identity(Unlearner):
    """The negative control: returns the model unchanged. Never registered; every task's
    acceptance checks must fail for it (a check the original already passes proves nothing)."""

    name = "identity"
    task = "any"
    needs_retain = False
    needs_training_data = False

    def __init__(self):
        pass

    def _needs_torch_module(self) -> bool:
        return False

    def _unlearn(self, model: Any, request: UnlearningRequest) -> Any:
        return model


def median_over(values: Iterable[float]) -> float:
    """The median of per-seed figures (what an acceptance check compares with its bound)."""
    return float(statistics.median(list(values)))
