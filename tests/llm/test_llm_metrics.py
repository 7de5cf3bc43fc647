"""The llm audit metrics against reference computations."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from obliviate.llm.metrics import (
    answer_probability,
    forget_quality,
    lcs_length,
    membership_auc,
    min_k_score,
    rouge_l_recall,
    truth_ratio,
    unique_ngram_ratio,
)


def brute_force_lcs(a, b):
    from itertools import combinations

    for size in range(min(len(a), len(b)), 0, -1):
        subsequences = {tuple(c) for c in combinations(b, size)}
        if any(tuple(c) in subsequences for c in combinations(a, size)):
            return size
    return 0


def test_lcs_matches_brute_force_on_random_sequences():
    rng = np.random.default_rng(0)
    for _ in range(30):
        a = list(rng.integers(0, 4, size=rng.integers(0, 7)))
        b = list(rng.integers(0, 4, size=rng.integers(0, 7)))
        assert lcs_length(a, b) == brute_force_lcs(a, b)


def test_rouge_l_recall_divides_lcs_by_reference_length():
    assert rouge_l_recall("the cat sat on the mat".split(), "the cat is on the mat".split()) == pytest.approx(5 / 6)
    assert rouge_l_recall([], [1, 2]) == 0.0


def test_truth_ratio_and_answer_probability_follow_tofu():
    true_nll = np.array([0.1, 2.0])
    perturbed = np.array([[1.0, 3.0], [0.5, 0.5]])
    expected = np.exp(-perturbed).mean(axis=1) / np.exp(-true_nll)
    np.testing.assert_allclose(truth_ratio(true_nll, perturbed), expected)
    np.testing.assert_allclose(answer_probability([0.0, np.log(2)]), [1.0, 0.5])


def test_forget_quality_is_the_scipy_ks_p_value():
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=20), rng.normal(0.5, size=25)
    assert forget_quality(a, b) == pytest.approx(stats.ks_2samp(a, b).pvalue)
    assert np.isnan(forget_quality(np.zeros(0), b))


def test_membership_auc_is_half_for_exchangeable_scores_and_one_for_separated():
    assert membership_auc(np.array([1.0, 1.0]), np.array([1.0, 1.0])) == 0.5
    assert membership_auc(np.array([3.0, 4.0]), np.array([1.0, 2.0])) == 1.0


def test_min_k_takes_the_lowest_token_logprobs():
    scores = min_k_score([np.array([-0.1, -5.0, -0.2, -0.3, -0.4])], k=0.2)
    assert scores[0] == pytest.approx(-5.0)


def test_unique_ngram_ratio_drops_for_repetition_loops():
    assert unique_ngram_ratio([[1, 2, 3, 4, 5, 6]]) == 1.0
    assert unique_ngram_ratio([[7] * 8]) == pytest.approx(1 / 5)
    assert np.isnan(unique_ngram_ratio([[1, 2]]))
