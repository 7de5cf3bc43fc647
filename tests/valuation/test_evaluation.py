"""The evaluation protocols on values whose answer is known."""

from __future__ import annotations

import numpy as np
import pytest

from obliviate.core.errors import InvalidRequestError
from obliviate.valuation import (
    KNNShapley,
    Utility,
    load_builtin,
    noisy_label_detection,
    plot_removal_curves,
    point_removal_curve,
    random_removal_curve,
)
from obliviate.valuation.evaluation import removal_area, removal_fractions


def test_perfect_values_score_one_and_random_values_score_chance():
    noisy = np.zeros(200, dtype=bool)
    noisy[:20] = True
    perfect = np.where(noisy, -1.0, 1.0) + 0.01 * np.random.default_rng(0).normal(size=200)
    scores = noisy_label_detection(perfect, noisy)
    assert scores["noisy_f1"] == pytest.approx(1.0) and scores["precision_at_noise"] == pytest.approx(1.0)
    chance = [noisy_label_detection(np.random.default_rng(s).random(200), noisy) for s in range(10)]
    # k-means halves uniform values: F1 near 2 rho / (1 + 2 rho) = 0.167, precision near rho = 0.1.
    assert np.median([c["noisy_f1"] for c in chance]) == pytest.approx(0.167, abs=0.04)
    assert np.median([c["precision_at_noise"] for c in chance]) == pytest.approx(0.1, abs=0.06)
    assert noisy_label_detection(np.ones(200), noisy)["noisy_f1"] == 0.0
    with pytest.raises(InvalidRequestError, match="no point is marked noisy"):
        noisy_label_detection(perfect, np.zeros(200, dtype=bool))


def test_removing_mislabelled_points_first_helps_and_removing_valuable_ones_hurts(tmp_path):
    data = load_builtin("breast_cancer", seed=0).with_label_noise(0.2, seed=0)
    values = KNNShapley().fit(data.train, Utility(data.x_valid, data.y_valid))
    test_utility = Utility(data.x_test, data.y_test)
    high = point_removal_curve(values, data.train, test_utility, order="high", max_fraction=0.4, step=0.1)
    low = point_removal_curve(values, data.train, test_utility, order="low", max_fraction=0.4, step=0.1)
    baseline = random_removal_curve(data.train, test_utility, repeats=2, max_fraction=0.4, step=0.1)
    np.testing.assert_allclose(high.fractions, [0, 0.1, 0.2, 0.3, 0.4])
    assert high.accuracy[0] == low.accuracy[0] == pytest.approx(baseline.accuracy[0])
    assert removal_area(low, baseline) > 0.01
    assert removal_area(high, baseline) < -0.01
    path = plot_removal_curves([high, low, baseline], tmp_path / "plots" / "removal.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_removal_fractions_are_validated():
    np.testing.assert_allclose(removal_fractions(0.5, 0.05)[[0, 1, -1]], [0.0, 0.05, 0.5])
    assert len(removal_fractions(0.5, 0.05)) == 11
    with pytest.raises(InvalidRequestError, match="step"):
        removal_fractions(0.5, 0.0)
