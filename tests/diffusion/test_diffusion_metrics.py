"""The audit's formulas against direct computations and their defining cases."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from obliviate.core.errors import InvalidParameterError
from obliviate.diffusion.metrics import (
    concealment_score,
    concept_confidence,
    concept_retrieval,
    curve_mean,
    kid,
    psi_star,
)


def kid_by_loops(x: np.ndarray, y: np.ndarray) -> float:
    d = x.shape[1]

    def k(a, b):
        return (float(a @ b) / d + 1) ** 3

    m, n = len(x), len(y)
    xx = sum(k(x[i], x[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    yy = sum(k(y[i], y[j]) for i in range(n) for j in range(n) if i != j) / (n * (n - 1))
    xy = sum(k(x[i], y[j]) for i in range(m) for j in range(n)) / (m * n)
    return xx + yy - 2 * xy


def test_kid_matches_the_unbiased_mmd_written_as_loops():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(12, 4)), rng.normal(0.5, 1.0, size=(12, 4))
    assert kid(x, y, subsets=1, subset_size=12) == pytest.approx(kid_by_loops(x, y), rel=1e-9)


def test_kid_is_near_zero_for_one_distribution_and_grows_with_a_shift():
    rng = np.random.default_rng(1)
    same = kid(rng.normal(size=(400, 8)), rng.normal(size=(400, 8)))
    shifted = kid(rng.normal(size=(400, 8)), rng.normal(1.0, 1.0, size=(400, 8)))
    assert abs(same) < 0.05
    assert shifted > 1.0
    assert math.isnan(kid(np.zeros((1, 3)), np.zeros((5, 3))))


def test_crs_is_zero_for_a_model_that_draws_the_originals_images_and_respai_falls_as_cosine_grows():
    torch.manual_seed(0)
    original, unlearned = torch.randn(20, 6), torch.randn(20, 6)
    assert concept_retrieval(original, original, original) == pytest.approx(0.0, abs=1e-6)
    at_original = concept_retrieval(original, original, unlearned)
    at_unlearned = concept_retrieval(unlearned, original, unlearned)
    assert at_original > 0 > at_unlearned
    assert at_original == pytest.approx(-at_unlearned, abs=1e-6)
    closer = 0.8 * original + 0.2 * unlearned
    assert concept_retrieval(closer, original, unlearned) > concept_retrieval(unlearned, original, unlearned)
    assert concept_retrieval(closer, original, unlearned, compat="respai") < concept_retrieval(
        unlearned, original, unlearned, compat="respai"
    )
    with pytest.raises(InvalidParameterError, match="compat"):
        concept_retrieval(original, original, unlearned, compat="textbook")


def test_concealment_of_gold_against_itself_is_zero_and_psi_star_is_where_ccs_passes_one_half():
    psi = np.linspace(0, 1, 11)
    gold = psi**2
    assert concealment_score(psi, gold, gold) == 0.0
    assert concealment_score(psi, np.ones(11), gold) == pytest.approx(1 - curve_mean(psi, gold))
    assert psi_star(psi, gold) == pytest.approx(0.8)
    assert math.isnan(psi_star(psi, np.zeros(11)))
    probabilities = torch.tensor([[0.2, 0.8], [0.6, 0.4]])
    assert concept_confidence(probabilities, 1) == pytest.approx(0.6)
