"""Divergence metrics checked against scipy, against the published code's torch expression,
and on cases whose answers are known exactly."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from scipy.spatial.distance import jensenshannon
from scipy.special import rel_entr
from scipy.stats import entropy as scipy_entropy

from obliviate.audit.divergence import activation_distance, js_divergence, kl_divergence, zrf_score
from obliviate.core.errors import InvalidParameterError


def random_probs(rows: int, classes: int, seed: int) -> np.ndarray:
    logits = np.random.default_rng(seed).normal(scale=2.0, size=(rows, classes))
    return torch.softmax(torch.from_numpy(logits), dim=1).numpy()


def published_jsdiv(p: np.ndarray, q: np.ndarray) -> float:
    """The Bad Teacher repository's JSDiv expression, evaluated with torch in float64."""
    p_t, q_t = torch.from_numpy(p), torch.from_numpy(q)
    m = (p_t + q_t) / 2
    with pytest.warns(UserWarning, match="reduction"):  # torch warns about 'mean' on kl_div
        value = 0.5 * F.kl_div(torch.log(p_t), m) + 0.5 * F.kl_div(torch.log(q_t), m)
    return float(value)


def test_kl_divergence_matches_scipy_rel_entr_and_entropy():
    p, q = random_probs(50, 7, seed=1), random_probs(50, 7, seed=2)
    ours = kl_divergence(p, q)
    np.testing.assert_allclose(ours, rel_entr(p, q).sum(axis=1), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(ours, scipy_entropy(p, q, axis=1), rtol=1e-12, atol=1e-14)


def test_kl_divergence_of_a_distribution_with_itself_is_zero():
    p = random_probs(10, 4, seed=3)
    np.testing.assert_allclose(kl_divergence(p, p), 0.0, atol=1e-15)


def test_kl_divergence_treats_zero_mass_in_p_as_contributing_nothing():
    # KL([1, 0] || [0.5, 0.5]) = 1 * log(1 / 0.5) = log 2 exactly.
    assert float(kl_divergence(np.array([1.0, 0.0]), np.array([0.5, 0.5]))) == pytest.approx(math.log(2), abs=1e-15)


def test_js_divergence_is_the_square_of_scipy_jensenshannon_distance():
    p, q = random_probs(40, 10, seed=4), random_probs(40, 10, seed=5)
    expected = np.mean(jensenshannon(p, q, axis=1) ** 2)
    assert js_divergence(p, q) == pytest.approx(expected, rel=1e-10)


def test_js_divergence_handles_zeros_like_scipy():
    p = np.array([[1.0, 0.0, 0.0], [0.5, 0.5, 0.0]])
    q = np.array([[0.0, 1.0, 0.0], [0.5, 0.0, 0.5]])
    expected = np.mean(jensenshannon(p, q, axis=1) ** 2)
    assert js_divergence(p, q) == pytest.approx(expected, rel=1e-12)
    # Disjoint one-hot answers reach the upper bound log 2.
    assert js_divergence(p[:1], q[:1]) == pytest.approx(math.log(2), abs=1e-15)


def test_js_divergence_is_symmetric_and_zero_on_identical_inputs():
    p, q = random_probs(20, 5, seed=6), random_probs(20, 5, seed=7)
    assert js_divergence(p, q) == pytest.approx(js_divergence(q, p), rel=1e-14)
    assert js_divergence(p, p) == pytest.approx(0.0, abs=1e-15)


def test_respai_js_reproduces_the_published_torch_expression():
    p, q = random_probs(64, 10, seed=8), random_probs(64, 10, seed=9)
    assert js_divergence(p, q, compat="respai") == pytest.approx(published_jsdiv(p, q), rel=1e-12)


def test_respai_js_is_reverse_kl_divided_by_the_number_of_classes():
    # The published variant averages KL(m || p)/2 + KL(m || q)/2 over rows AND classes.
    p, q = random_probs(30, 6, seed=10), random_probs(30, 6, seed=11)
    m = (p + q) / 2
    reverse = 0.5 * rel_entr(m, p).sum(axis=1) + 0.5 * rel_entr(m, q).sum(axis=1)
    assert js_divergence(p, q, compat="respai") == pytest.approx(reverse.mean() / 6, rel=1e-12)
    # ... and so it differs from the textbook value (by more than a factor 3 here).
    assert js_divergence(p, q) > 3 * js_divergence(p, q, compat="respai")


def test_respai_js_is_infinite_where_the_published_code_is():
    p = np.array([[0.0, 1.0]])
    q = np.array([[0.1, 0.9]])
    assert published_jsdiv(p, q) == math.inf
    assert js_divergence(p, q, compat="respai") == math.inf


def test_zrf_is_one_minus_mean_js_and_respai_matches_published_unlearning_score():
    model, incompetent = random_probs(25, 10, seed=12), random_probs(25, 10, seed=13)
    assert zrf_score(model, incompetent) == pytest.approx(1 - js_divergence(model, incompetent), rel=1e-14)
    # UnLearningScore: 1 - JSDiv over the concatenated forget-set outputs (one call, no batching).
    assert zrf_score(model, incompetent, compat="respai") == pytest.approx(
        1 - published_jsdiv(model, incompetent), rel=1e-12
    )
    assert zrf_score(model, model) == pytest.approx(1.0, abs=1e-15)
    one_hot_a, one_hot_b = np.eye(3)[[0, 1]], np.eye(3)[[1, 2]]
    assert zrf_score(one_hot_a, one_hot_b) == pytest.approx(1 - math.log(2), abs=1e-15)


def test_activation_distance_on_a_hand_computed_case():
    p = np.array([[1.0, 0.0, 0.0], [0.5, 0.5, 0.0]])
    q = np.array([[0.0, 1.0, 0.0], [0.5, 0.5, 0.0]])
    # Row 1: ||(1, -1, 0)|| = sqrt 2; row 2: 0. Mean: sqrt(2) / 2.
    assert activation_distance(p, q) == pytest.approx(math.sqrt(2) / 2, abs=1e-15)
    p3 = np.array([[0.6, 0.3, 0.1]])
    q3 = np.array([[0.2, 0.5, 0.3]])
    # sqrt(0.4^2 + 0.2^2 + 0.2^2) = sqrt(0.24)
    assert activation_distance(p3, q3) == pytest.approx(math.sqrt(0.24), rel=1e-12)


def test_divergences_refuse_mismatched_shapes_logits_and_unknown_compat():
    p = random_probs(4, 3, seed=14)
    with pytest.raises(InvalidParameterError, match="equal shapes"):
        js_divergence(p, p[:3])
    with pytest.raises(InvalidParameterError, match="not logits"):
        activation_distance(np.log(p), p)
    with pytest.raises(InvalidParameterError, match="sum to 1"):
        js_divergence(p * 2, p)
    with pytest.raises(InvalidParameterError, match="compat"):
        js_divergence(p, p, compat="paper")
    with pytest.raises(InvalidParameterError, match="non-empty"):
        kl_divergence(np.empty((0, 3)), np.empty((0, 3)))


def test_nan_outputs_of_a_diverged_model_give_nan_not_an_error_or_a_number():
    p, q = random_probs(5, 3, seed=15), random_probs(5, 3, seed=16)
    p[2] = np.nan
    assert math.isnan(js_divergence(p, q))
    assert math.isnan(js_divergence(p, q, compat="respai"))
    assert math.isnan(activation_distance(p, q))
    assert math.isnan(zrf_score(p, q))
    kl = kl_divergence(p, q)
    assert np.isnan(kl[2]) and np.isfinite(np.delete(kl, 2)).all()
