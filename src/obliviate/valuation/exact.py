"""Exact Shapley values by enumerating every subset: the reference for small games.

    phi_i = sum_{S ⊆ N \\ {i}}  |S|! (n - |S| - 1)! / n!  * [ v(S ∪ {i}) - v(S) ]

(Shapley 1953). ``2^n`` evaluations of ``v``; only for ``n <= 16``. The tests check
KNN-Shapley and Monte Carlo Shapley against it.
"""

from __future__ import annotations

from math import factorial
from typing import Callable

import numpy as np

from obliviate.core.errors import InvalidRequestError
from obliviate.valuation.data import TrainSet
from obliviate.valuation.utility import Utility

MAX_POINTS = 16


def exact_shapley(n: int, value: Callable[[np.ndarray], float]) -> np.ndarray:
    """Shapley values of the game ``value`` on players ``0..n-1``.

    Args:
        n: number of players.
        value: ``v(S)`` for a sorted index array ``S`` (called once per subset).

    Raises:
        InvalidRequestError: for ``n`` above :data:`MAX_POINTS`.
    """
    if not 1 <= n <= MAX_POINTS:
        raise InvalidRequestError(f"exact Shapley enumerates 2^n subsets; n must lie in [1, {MAX_POINTS}], got {n}")
    players = np.arange(n)
    table = np.empty(1 << n)
    sizes = np.zeros(1 << n, dtype=int)
    for mask in range(1 << n):
        members = players[[(mask >> i) & 1 == 1 for i in range(n)]]
        table[mask] = value(members)
        sizes[mask] = len(members)
    weights = np.array([factorial(s) * factorial(n - s - 1) / factorial(n) for s in range(n)])
    phi = np.zeros(n)
    for i in range(n):
        bit = 1 << i
        for mask in range(1 << n):
            if not mask & bit:
                phi[i] += weights[sizes[mask]] * (table[mask | bit] - table[mask])
    return phi


def exact_data_shapley(train: TrainSet, utility: Utility) -> np.ndarray:
    """Exact data Shapley values of a tiny training set under ``utility`` (``2^n`` fits at most)."""
    utility = utility.with_classes(train.y)
    return exact_shapley(len(train), lambda subset: utility.evaluate(train.x[subset], train.y[subset])[0])
