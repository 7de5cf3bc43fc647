"""Acceptance over 3 seeds on the built-in stand-ins (digits; digits-motion clips), with controls.

digits and digits-motion stand in for facial-expression data (see :mod:`obliviate.nas.data`).
Checks (median over seeds): the searched, retrained network beats chance by a wide margin while
random predictions (the do-nothing control) do not; its reported figures equal scikit-learn's on
its own predictions; the search never receives a test image (hold-out) or a test subject (LOSO);
on clips, dynamic images beat the order-blind mean frame.
"""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import balanced_accuracy_score, f1_score

from controls import ACCEPTANCE_SEEDS, median_over
from obliviate.nas import pipeline
from obliviate.nas.data import load_digits_images, make_digits_motion
from obliviate.nas.pipeline import holdout_indices, run_holdout, run_loso

TINY = dict(
    epochs=6,
    search_epochs=2,
    channels=4,
    batch_size=32,
    search_batch_size=128,
    latency_repeats=3,
    controls=False,
)


@pytest.fixture(scope="module")
def small_digits():
    data = load_digits_images()
    keep = np.sort(np.random.default_rng(0).permutation(data.labels.size)[:320])
    return data.subset(keep)


@pytest.fixture(scope="module")
def holdout_runs(small_digits):
    return [run_holdout(small_digits, seed=seed, **TINY) for seed in ACCEPTANCE_SEEDS]


def test_searched_network_beats_chance_by_a_wide_margin_and_random_predictions_do_not(
    holdout_runs, small_digits
):
    chance = median_over(run["chance"] for run in holdout_runs)
    searched = median_over(run["models"]["searched"]["accuracy"] for run in holdout_runs)
    assert searched > chance + 0.5, (searched, chance)
    # control: random predictions on the same test split fail the same check
    rng = np.random.default_rng(0)
    control = []
    for run in holdout_runs:
        _, test = holdout_indices(small_digits, 0.25, run["seed"])
        control.append(float(np.mean(rng.integers(0, 10, test.size) == small_digits.labels[test])))
    assert not median_over(control) > chance + 0.5
    for run in holdout_runs:
        for row in run["models"].values():
            assert row["parameters"] > 0 and row["flops"] > 0 and row["latency_ms"] > 0


def test_reported_metrics_equal_scikit_learn_on_the_confusion_matrix(holdout_runs):
    for run in holdout_runs:
        for row in run["models"].values():
            matrix = np.asarray(row["confusion"])
            truth = np.repeat(np.arange(matrix.shape[0]), matrix.sum(1))
            pred = np.concatenate(
                [np.repeat(np.arange(matrix.shape[1]), matrix[i]) for i in range(matrix.shape[0])]
            )
            assert row["uf1"] == pytest.approx(f1_score(truth, pred, average="macro"), abs=1e-12)
            assert row["uar"] == pytest.approx(balanced_accuracy_score(truth, pred), abs=1e-12)
            assert row["accuracy"] == pytest.approx(np.trace(matrix) / matrix.sum(), abs=1e-12)


def test_search_never_receives_the_test_split(small_digits, monkeypatch):
    seen = []
    original = pipeline._search

    def spy(data, indices, **kwargs):
        seen.append(np.asarray(indices).copy())
        return original(data, indices, **kwargs)

    monkeypatch.setattr(pipeline, "_search", spy)
    run_holdout(
        small_digits, seed=0, epochs=1, search_epochs=1, channels=4, latency_repeats=1, controls=False
    )
    train, test = holdout_indices(small_digits, 0.25, 0)
    assert (
        len(seen) == 1 and np.intersect1d(seen[0], test).size == 0 and np.array_equal(np.sort(seen[0]), train)
    )


def test_loso_search_never_sees_the_test_subject_and_dynamic_images_beat_mean_frames(monkeypatch):
    clips = make_digits_motion(subjects=3, clips_per_class=6, size=12, seed=0)
    seen = []
    original = pipeline._search

    def spy(data, indices, **kwargs):
        seen.append(set(data.subjects[indices].tolist()))
        return original(data, indices, **kwargs)

    monkeypatch.setattr(pipeline, "_search", spy)
    report = run_loso(clips, seed=0, epochs=8, search_epochs=1, channels=4, batch_size=16, latency_repeats=1)
    assert [f["subject"] for f in report["folds"]] == ["s00", "s01", "s02"]
    for subjects, fold in zip(seen, report["folds"]):
        assert fold["subject"] not in subjects and len(subjects) == 2
    models = report["models"]
    assert models["hand_cnn"]["uf1"] > models["hand_cnn_mean_frames"]["uf1"] + 0.2
    assert models["searched"]["uar"] > report["chance"] + 0.1
