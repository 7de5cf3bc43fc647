"""EcoVal: determinism, its parts, and the noisy-label acceptance check against random values."""

from __future__ import annotations

import joblib
import numpy as np
import pytest

from obliviate.core.errors import InvalidParameterError
from obliviate.valuation import EcoVal, RandomValuation, Utility, load_builtin, noisy_label_detection
from obliviate.valuation.methods.ecoval import cluster_points, fit_production_function

MARGIN_F1 = 0.3


def _noisy(name: str, seed: int, **sizes):
    data = load_builtin(name, seed=seed, **sizes).with_label_noise(0.1, seed=seed)
    return data, Utility(data.x_valid, data.y_valid, classes=data.classes)


def beats_random(method_scores: list[dict], random_scores: list[dict]) -> bool:
    """The acceptance check: over the seeds, the median noisy-label F1 exceeds random values'
    by MARGIN_F1 and the median precision at the noise rate is at least three times the rate."""
    f1 = np.median([s["noisy_f1"] for s in method_scores])
    f1_random = np.median([s["noisy_f1"] for s in random_scores])
    precision = np.median([s["precision_at_noise"] for s in method_scores])
    rate = method_scores[0]["noise_rate"]
    return bool(f1 >= f1_random + MARGIN_F1 and precision >= 3 * rate)


def test_ecoval_detects_noisy_labels_better_than_random_over_three_seeds_and_random_fails():
    ecoval_scores, random_scores, control_scores = [], [], []
    for seed in range(3):
        data, utility = _noisy("breast_cancer", seed)
        ecoval = EcoVal(seed=seed).fit(data.train, utility)
        ecoval_scores.append(noisy_label_detection(ecoval, data.noisy))
        random_scores.append(noisy_label_detection(RandomValuation(seed=seed).fit(data.train, utility), data.noisy))
        control_scores.append(noisy_label_detection(RandomValuation(seed=seed + 100).fit(data.train, utility), data.noisy))
        # Cheap next to Monte Carlo Shapley: M + 1 fits, M = max(40, 2K') for K' <= n / 5 clusters.
        assert ecoval.model_fits == 2 * ecoval.provenance["n_clusters"] + 1 <= 121
    assert beats_random(ecoval_scores, random_scores)
    # The do-nothing control (other random values) must fail the same check.
    assert not beats_random(control_scores, random_scores)


def test_ecoval_is_deterministic_for_a_seed_and_backend_independent():
    data, utility = _noisy("wine", 0)
    first = EcoVal(seed=7).fit(data.train, utility)
    second = EcoVal(seed=7).fit(data.train, utility)
    np.testing.assert_array_equal(first.values, second.values)
    np.testing.assert_array_equal(first.extra["cluster"], second.extra["cluster"])
    with joblib.parallel_config(backend="threading", n_jobs=2):
        threaded = EcoVal(seed=7).fit(data.train, utility)
    assert threaded.provenance["parallel"]["backend"] == "ThreadingBackend"
    np.testing.assert_array_equal(first.values, threaded.values)
    other = EcoVal(seed=8).fit(data.train, utility)
    assert not np.array_equal(first.values, other.values)


def test_ecoval_value_is_extrinsic_plus_intrinsic_and_sums_to_the_cluster_payments():
    data, utility = _noisy("wine", 1)
    result = EcoVal(seed=1).fit(data.train, utility)
    np.testing.assert_allclose(result.values, result.extra["extrinsic"] + result.extra["intrinsic"])
    # The intrinsic part redistributes value (it sums to zero); the total is the sum of cluster values.
    assert result.extra["intrinsic"].sum() == pytest.approx(0.0, abs=1e-9)
    assert result.values.sum() == pytest.approx(sum(result.provenance["cluster_values"]), abs=1e-9)
    # Members of one cluster share one extrinsic value.
    clusters = result.extra["cluster"]
    for cluster in np.unique(clusters):
        assert np.ptp(result.extra["extrinsic"][clusters == cluster]) == pytest.approx(0.0, abs=1e-12)
    production = result.provenance["production_function"]
    assert len(production["elasticities"]) == result.provenance["n_clusters"]
    assert result.model_fits == result.provenance["n_bundles"] + 1


def test_clusters_hold_one_label_each_and_at_least_the_minimum_size():
    data = load_builtin("digits", seed=0, n_train=120, n_valid=30, n_test=30)
    labels = cluster_points(data.train.x, data.train.y, 30, min_size=3, seed=0)
    sizes = np.bincount(labels)
    for cluster in np.unique(labels):
        assert len(np.unique(data.train.y[labels == cluster])) == 1
    assert sizes.min() >= 3 and 10 <= len(sizes) <= 30
    assert np.bincount(cluster_points(data.train.x, data.train.y, 30, min_size=1, seed=0)).min() < 3


def test_production_function_fit_recovers_known_elasticities():
    rng = np.random.default_rng(0)
    inputs = rng.uniform(0, 1, size=(200, 3))
    beta = np.array([0.3, -0.2, 0.05])
    output = np.exp(-0.4 + np.log1p(inputs) @ beta)
    fitted = fit_production_function(inputs, output, ridge=0.0)
    np.testing.assert_allclose(fitted["beta"], beta, atol=1e-6)
    assert fitted["log_A"] == pytest.approx(-0.4, abs=1e-6)
    assert fitted["r2"] == pytest.approx(1.0, abs=1e-9)


def test_ecoval_rejects_a_bad_parameter_naming_it():
    data, utility = _noisy("wine", 0)
    with pytest.raises(InvalidParameterError, match="n_bundles"):
        EcoVal(n_bundles=1).fit(data.train, utility)
    with pytest.raises(InvalidParameterError, match="intrinsic_score"):
        EcoVal(intrinsic_score="loss").fit(data.train, utility)
