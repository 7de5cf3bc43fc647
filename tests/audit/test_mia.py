"""Membership-inference attacks on synthetic outputs whose answer is known."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import entropy as scipy_entropy
from sklearn.metrics import roc_auc_score

from obliviate.audit.mia import (
    cross_entropy_per_example,
    entropy,
    entropy_svc_mia,
    loss_mia_auc,
    matched_nonmembers,
    membership_auc,
)
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


def test_loss_mia_auc_is_the_auc_of_the_raw_losses_and_the_logistic_form_agrees():
    # Overlapping losses: members have half the mean loss; unequal sides on purpose.
    for seed in range(3):
        rng = np.random.default_rng(20 + seed)
        members, unseen = rng.exponential(0.5, size=400), rng.exponential(1.0, size=150)
        labels = np.r_[np.ones(400), np.zeros(150)]
        reference = roc_auc_score(labels, -np.r_[members, unseen])
        assert 0.6 < reference < 0.75
        assert loss_mia_auc(members, unseen) == pytest.approx(reference, abs=1e-12)
        # Out-of-fold logistic scores pool five fits; measured differences are below 0.01.
        assert loss_mia_auc(members, unseen, attack="logistic", seed=seed) == pytest.approx(reference, abs=0.02)


def test_loss_mia_auc_reads_below_one_half_when_forget_losses_exceed_unseen_ones():
    rng = np.random.default_rng(12)
    assert loss_mia_auc(rng.uniform(1.0, 2.0, size=50), rng.uniform(0.0, 0.5, size=50)) < 0.05


def test_matched_nonmembers_of_one_class_are_every_held_out_example_of_that_class():
    pool = np.array([0, 3, 1, 3, 3, 2, 0])
    assert matched_nonmembers(np.full(10, 3), pool).tolist() == [1, 3, 4]


def test_matched_nonmembers_follow_the_forget_label_mix():
    rng = np.random.default_rng(0)
    pool = rng.integers(0, 4, size=4000)
    forget = np.r_[np.zeros(60), np.ones(30), np.full(10, 2)].astype(int)  # 60/30/10 %, no class 3
    chosen = matched_nonmembers(forget, pool, seed=1)
    shares = np.bincount(pool[chosen], minlength=4) / len(chosen)
    assert shares == pytest.approx([0.6, 0.3, 0.1, 0.0], abs=0.01)
    # As large as class 0 allows: all of it is used.
    assert (pool[chosen] == 0).sum() == (pool == 0).sum()
    assert len(set(chosen.tolist())) == len(chosen)
    assert matched_nonmembers(forget, pool, seed=1).tolist() == chosen.tolist()
    assert matched_nonmembers(np.array([5]), pool).size == 0


def test_loss_mia_auc_refuses_too_few_or_bad_losses():
    with pytest.raises(InvalidRequestError, match="at least two"):
        loss_mia_auc(np.array([0.1]), np.array([0.2, 0.3]))
    with pytest.raises(InvalidRequestError, match="infinite"):
        loss_mia_auc(np.array([0.1, np.inf]), np.array([0.2, 0.3]))
    with pytest.raises(InvalidRequestError, match="non-negative"):
        loss_mia_auc(np.array([0.1, -2.0]), np.array([0.2, 0.3]))
    with pytest.raises(InvalidParameterError, match="folds"):
        loss_mia_auc(np.array([0.1, 0.2]), np.array([0.2, 0.3]), folds=1)
    with pytest.raises(InvalidParameterError, match="attack"):
        loss_mia_auc(np.array([0.1, 0.2]), np.array([0.2, 0.3]), attack="shadow")


def test_nan_outputs_give_nan_membership_scores():
    retain, test, forget = confident_probs(20, seed=30), uncertain_probs(20, seed=31), confident_probs(5, seed=32)
    forget[0] = np.nan
    assert math.isnan(entropy_svc_mia(retain, test, forget))
    assert math.isnan(loss_mia_auc(np.array([0.1, np.nan, 0.2]), np.array([0.2, 0.3, 0.4])))


def _overfit_digits_model(x, y, seed):
    import torch
    from torch.utils.data import TensorDataset

    from obliviate.classification.models import build_model
    from obliviate.core.training import fit

    model = build_model("mlp", (1, 8, 8), 10, seed=seed)
    fit(model, TensorDataset(torch.from_numpy(x), torch.from_numpy(y)), epochs=80, lr=3e-3, batch_size=32, seed=seed)
    return model


def test_membership_auc_rates_a_model_that_never_forgot_a_class_worse_than_gold():
    # 150 noisy training digits: a model memorises them, so training losses sit far below
    # held-out ones. Forget class 3: the original still fits its class-3 training digits
    # (AUC well above 0.5); gold never saw class 3, so its class-3 training and held-out
    # digits are exchangeable (AUC near 0.5). Comparing with held-out digits of every
    # class instead would rate gold as the one that remembers (its class-3 losses are all
    # high) -- the class shift, not membership.
    import torch

    from obliviate.core.training import predict_logits
    from obliviate.data.datasets import load_classification

    originals, golds, shifted = [], [], []
    for seed in range(3):
        data = load_classification("digits", seed=seed)
        rng = np.random.default_rng(seed)
        x, y = data.x_train[:300].copy(), data.y_train[:300].copy()
        x += rng.normal(0, 0.6, size=x.shape).astype(np.float32)
        forget = y == 3
        original = _overfit_digits_model(x, y, seed)
        gold = _overfit_digits_model(x[~forget], y[~forget], seed)

        def probs(model, inputs):
            return torch.softmax(predict_logits(model, torch.from_numpy(inputs)), 1).numpy()

        x_test, y_test = data.x_test + rng.normal(0, 0.6, size=data.x_test.shape).astype(np.float32), data.y_test
        for model, store in ((original, originals), (gold, golds)):
            store.append(membership_auc(probs(model, x[forget]), y[forget], probs(model, x_test), y_test, seed=seed))
        gold_losses = cross_entropy_per_example(probs(gold, x[forget]), y[forget])
        shifted.append(loss_mia_auc(gold_losses, cross_entropy_per_example(probs(gold, x_test), y_test)))
    assert np.median(originals) > 0.7
    assert np.median(golds) == pytest.approx(0.5, abs=0.12)
    assert np.median(originals) - np.median(golds) > 0.15
    assert np.median(shifted) < 0.2  # the class-shift reading the rule avoids
