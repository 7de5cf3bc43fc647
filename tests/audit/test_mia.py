"""Membership-inference attacks on synthetic outputs whose answer is known."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import entropy as scipy_entropy
from sklearn.metrics import roc_auc_score

from obliviate.audit.mia import cross_entropy_per_example, entropy, entropy_svc_mia, loss_mia_auc
from obliviate.core.errors import InvalidParameterError, InvalidRequestError

CLASSES = 10


def confident_probs(rows: int, seed: int) -> np.ndarray:
    """Rows putting 0.9-0.99 on one class: low entropy, like a model on its training data."""
    rng = np.random.default_rng(seed)
    top = rng.uniform(0.9, 0.99, size=rows)
    probs = np.repeat(((1 - top) / (CLASSES - 1))[:, None], CLASSES, axis=1)
    probs[np.arange(rows), rng.integers(0, CLASSES, size=rows)] = top
    return probs


def uncertain_probs(rows: int, seed: int) -> np.ndarray:
    """Rows drawn from a flat Dirichlet(5): high entropy, like a model on unseen data."""
    return np.random.default_rng(seed).dirichlet(np.full(CLASSES, 5.0), size=rows)


def test_entropy_matches_scipy_stats_entropy():
    probs = np.vstack([uncertain_probs(20, seed=0), confident_probs(5, seed=1), np.eye(CLASSES)[:2]])
    np.testing.assert_allclose(entropy(probs), scipy_entropy(probs, axis=1), rtol=1e-12, atol=1e-15)
    assert entropy(np.full(4, 0.25)) == pytest.approx(math.log(4), abs=1e-15)


def test_cross_entropy_per_example_is_minus_log_of_the_label_probability():
    probs = np.array([[0.7, 0.2, 0.1], [0.25, 0.25, 0.5]])
    np.testing.assert_allclose(
        cross_entropy_per_example(probs, np.array([0, 2])), [-math.log(0.7), -math.log(0.5)], rtol=1e-14
    )
    with pytest.raises(InvalidParameterError, match="labels must lie"):
        cross_entropy_per_example(probs, np.array([0, 3]))
    with pytest.raises(InvalidParameterError, match="n labels"):
        cross_entropy_per_example(probs, np.array([0]))


@pytest.mark.parametrize("compat", [None, "respai"])
def test_entropy_mia_calls_confident_forget_outputs_members_and_uncertain_ones_not(compat):
    retain, test = confident_probs(300, seed=2), uncertain_probs(300, seed=3)
    # Tolerance 0.05: the two entropy ranges do not overlap, so only SVC boundary effects remain.
    remembered = entropy_svc_mia(retain, test, confident_probs(200, seed=4), compat=compat)
    forgotten = entropy_svc_mia(retain, test, uncertain_probs(200, seed=5), compat=compat)
    assert remembered >= 0.95
    assert forgotten <= 0.05


def test_entropy_mia_is_deterministic_for_a_seed_and_refuses_empty_sets():
    retain, test = confident_probs(100, seed=6), uncertain_probs(80, seed=7)
    forget = np.vstack([confident_probs(30, seed=8), uncertain_probs(30, seed=9)])
    first = entropy_svc_mia(retain, test, forget, seed=3, max_per_side=50)
    assert first == entropy_svc_mia(retain, test, forget, seed=3, max_per_side=50)
    assert first == pytest.approx(0.5, abs=0.05)
    with pytest.raises(InvalidRequestError, match="non-empty"):
        entropy_svc_mia(retain, test[:0], forget)
    with pytest.raises(InvalidParameterError, match="compat"):
        entropy_svc_mia(retain, test, forget, compat="paper")


def test_loss_mia_auc_is_near_one_for_separable_losses():
    rng = np.random.default_rng(10)
    members, unseen = rng.uniform(0.0, 0.1, size=200), rng.uniform(1.0, 2.0, size=200)
    assert loss_mia_auc(members, unseen) >= 0.99


def test_loss_mia_auc_is_near_one_half_for_identical_distributions():
    rng = np.random.default_rng(11)
    members, unseen = rng.exponential(1.0, size=1000), rng.exponential(1.0, size=1000)
    # Standard error of a null AUC with 1000 per side is about 0.013; allow ~4.5 of them.
    assert loss_mia_auc(members, unseen, seed=1) == pytest.approx(0.5, abs=0.06)


def test_loss_mia_auc_agrees_with_roc_auc_of_the_raw_losses():
    # Overlapping losses: members have half the mean loss. With equal sides the balanced
    # sample keeps every loss, so the reference is the AUC of -loss over the same rows.
    for seed in range(3):
        rng = np.random.default_rng(20 + seed)
        members, unseen = rng.exponential(0.5, size=400), rng.exponential(1.0, size=400)
        labels = np.r_[np.ones(400), np.zeros(400)]
        reference = roc_auc_score(labels, -np.r_[members, unseen])
        assert 0.6 < reference < 0.75
        # Out-of-fold logistic scores pool five fits; measured differences are below 0.006.
        assert loss_mia_auc(members, unseen, seed=seed) == pytest.approx(reference, abs=0.01)


def test_loss_mia_auc_refuses_too_few_or_bad_losses():
    with pytest.raises(InvalidRequestError, match="at least two"):
        loss_mia_auc(np.array([0.1]), np.array([0.2, 0.3]))
    with pytest.raises(InvalidRequestError, match="infinite"):
        loss_mia_auc(np.array([0.1, np.inf]), np.array([0.2, 0.3]))
    with pytest.raises(InvalidRequestError, match="non-negative"):
        loss_mia_auc(np.array([0.1, -2.0]), np.array([0.2, 0.3]))
    with pytest.raises(InvalidParameterError, match="folds"):
        loss_mia_auc(np.array([0.1, 0.2]), np.array([0.2, 0.3]), folds=1)


def test_nan_outputs_give_nan_membership_scores():
    retain, test, forget = confident_probs(20, seed=30), uncertain_probs(20, seed=31), confident_probs(5, seed=32)
    forget[0] = np.nan
    assert math.isnan(entropy_svc_mia(retain, test, forget))
    assert math.isnan(loss_mia_auc(np.array([0.1, np.nan, 0.2]), np.array([0.2, 0.3, 0.4])))
