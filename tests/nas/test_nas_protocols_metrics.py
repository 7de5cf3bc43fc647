"""LOSO and stratified splits; UF1/UAR/accuracy/confusion against scikit-learn."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, balanced_accuracy_score, f1_score
from sklearn.metrics import confusion_matrix as sk_confusion

from obliviate.core.errors import InvalidParameterError
from obliviate.nas.metrics import accuracy, confusion_matrix, uar, uf1
from obliviate.nas.protocols import loso_splits, stratified_split


def test_loso_never_puts_a_subject_in_both_train_and_test():
    rng = np.random.default_rng(0)
    subjects = rng.choice(["sub01", "sub02", "sub03", "sub11", "sub7"], size=60)
    seen = []
    for subject, train, test in loso_splits(subjects):
        assert set(subjects[test]) == {subject}
        assert subject not in set(subjects[train])
        assert np.intersect1d(train, test).size == 0 and train.size + test.size == subjects.size
        seen.append(subject)
    assert sorted(seen) == sorted(set(subjects))


def test_loso_needs_two_subjects():
    with pytest.raises(InvalidParameterError, match="at least 2 subjects"):
        list(loso_splits(["a", "a"]))


def test_stratified_split_keeps_every_class_in_both_parts():
    labels = np.repeat(np.arange(4), [10, 5, 3, 2])
    rest, part = stratified_split(labels, 0.3, seed=1)
    assert np.intersect1d(rest, part).size == 0 and rest.size + part.size == labels.size
    assert set(labels[rest]) == set(labels[part]) == {0, 1, 2, 3}
    with pytest.raises(InvalidParameterError, match="fraction"):
        stratified_split(labels, 1.5, 0)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_metrics_match_scikit_learn(seed):
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, 5, size=80)
    pred = np.where(rng.random(80) < 0.6, truth, rng.integers(0, 5, size=80))
    assert uf1(truth, pred) == pytest.approx(f1_score(truth, pred, average="macro"), abs=1e-12)
    assert uar(truth, pred) == pytest.approx(balanced_accuracy_score(truth, pred), abs=1e-12)
    assert accuracy(truth, pred) == pytest.approx(accuracy_score(truth, pred), abs=1e-12)
    assert np.array_equal(confusion_matrix(truth, pred, 5), sk_confusion(truth, pred, labels=range(5)))


def test_random_predictions_score_near_chance_and_perfect_ones_score_one():
    rng = np.random.default_rng(0)
    truth = rng.integers(0, 3, size=3000)
    assert uf1(truth, truth) == uar(truth, truth) == 1.0
    assert uar(truth, rng.integers(0, 3, size=3000)) == pytest.approx(1 / 3, abs=0.03)


def test_metrics_reject_mismatched_input():
    with pytest.raises(InvalidParameterError, match="same length"):
        uf1([0, 1], [0])
    with pytest.raises(InvalidParameterError, match="empty"):
        uar([], [])
