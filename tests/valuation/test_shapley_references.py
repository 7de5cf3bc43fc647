"""Shapley-family methods against exact Shapley values computed by enumerating subsets."""

from __future__ import annotations

import numpy as np
import pytest

from obliviate.valuation import KNNShapley, TMCShapley, TrainSet, Utility
from obliviate.valuation.exact import exact_data_shapley, exact_shapley
from obliviate.valuation.methods.knn_shapley import knn_utility

from .conftest import blobs


def test_exact_shapley_of_an_additive_game_is_each_players_weight():
    weights = np.array([0.5, -1.0, 2.0, 0.25])
    phi = exact_shapley(4, lambda subset: float(weights[subset].sum()))
    np.testing.assert_allclose(phi, weights, atol=1e-12)


def test_exact_shapley_splits_a_unanimity_game_equally():
    # v(S) = 1 iff S contains players 0 and 2: they share the unit, the others get nothing.
    phi = exact_shapley(4, lambda subset: float({0, 2} <= set(subset.tolist())))
    np.testing.assert_allclose(phi, [0.5, 0.0, 0.5, 0.0], atol=1e-12)


@pytest.mark.parametrize("k", [1, 3, 5])
def test_knn_shapley_equals_brute_force_shapley_of_the_knn_utility(k):
    x, y = blobs(8, seed=k, classes=3)
    x_valid, y_valid = blobs(6, seed=10 + k, classes=3)
    train, utility = TrainSet(x, y), Utility(x_valid, y_valid)
    brute = exact_shapley(len(y), lambda subset: knn_utility(x, y, x_valid, y_valid, subset, k))
    result = KNNShapley(n_neighbors=k).fit(train, utility)
    np.testing.assert_allclose(result.values, brute, atol=1e-12)
    # Efficiency: the values add up to u(N) - u(∅) = u(N).
    assert result.values.sum() == pytest.approx(knn_utility(x, y, x_valid, y_valid, np.arange(len(y)), k), abs=1e-12)
    assert result.model_fits == 0


class CachedUtility(Utility):
    """A utility that remembers every subset it scored (keyed by its set of rows)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.cache: dict[frozenset, tuple[float, int]] = {}

    def with_classes(self, labels):
        return self

    def evaluate(self, x, y):
        key = frozenset((row.tobytes(), label) for row, label in zip(x, y.tolist()))
        if key not in self.cache:
            self.cache[key] = super().evaluate(x, y)
        return self.cache[key]


def test_tmc_without_truncation_converges_to_exact_shapley(tiny_game):
    train, plain = tiny_game
    utility = CachedUtility(plain.x_valid, plain.y_valid, classes=np.unique(train.y))
    exact = exact_data_shapley(train, utility)
    assert np.ptp(exact) > 0.05, "the fixture must give the points different values"
    errors = {}
    for permutations in (20, 2000):
        max_errors = []
        for seed in range(3):
            result = TMCShapley(n_permutations=permutations, truncation_tolerance=0.0, seed=seed).fit(train, utility)
            max_errors.append(np.abs(result.values - exact).max())
            if permutations == 2000:
                # Every estimate lies within 4 standard errors of the exact value.
                assert np.all(np.abs(result.values - exact) <= 4 * result.extra["stderr"] + 1e-9)
        errors[permutations] = float(np.median(max_errors))
    assert errors[2000] < 0.015
    assert errors[2000] < errors[20] / 3
    # The mislabelled point (index 5) has the lowest exact value.
    assert int(np.argmin(exact)) == 5


def test_tmc_truncation_saves_fits_without_moving_the_ranking_much(tiny_game):
    train, plain = tiny_game
    utility = CachedUtility(plain.x_valid, plain.y_valid, classes=np.unique(train.y))
    full = TMCShapley(n_permutations=200, truncation_tolerance=0.0, seed=0).fit(train, utility)
    truncated = TMCShapley(n_permutations=200, truncation_tolerance=0.05, patience=1, seed=0).fit(train, utility)
    assert truncated.model_fits < full.model_fits
    assert int(np.argmin(truncated.values)) == int(np.argmin(full.values))
