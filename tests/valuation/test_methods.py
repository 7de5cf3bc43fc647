"""Every registered method under the common contract, and each baseline's own behaviour."""

from __future__ import annotations

import numpy as np
import pytest

from obliviate.core.errors import InvalidParameterError, InvalidRequestError, RegistryError
from obliviate.valuation import (
    DataOOB,
    LeaveOneOut,
    TrainSet,
    Utility,
    ValuationResult,
    get_valuation,
    load_builtin,
    noisy_label_detection,
    register_valuation,
    valuation_methods,
)
from obliviate.valuation.experiment import ALL_METHODS
from obliviate.valuation.methods.random import RandomValuation

from .conftest import blobs

CHEAP = {"tmc_shapley": {"n_permutations": 3}, "data_oob": {"n_estimators": 10}, "ecoval": {"n_bundles": 10}}


@pytest.fixture(scope="module")
def small():
    x, y = blobs(24, seed=0)
    x_valid, y_valid = blobs(20, seed=1)
    return TrainSet(x, y, ids=[f"row-{i}" for i in range(24)]), Utility(x_valid, y_valid)


def test_all_methods_are_registered():
    assert set(ALL_METHODS) <= set(valuation_methods())


@pytest.mark.parametrize("name", ALL_METHODS)
def test_every_method_returns_one_value_per_point_with_provenance(name, small):
    train, utility = small
    method = get_valuation(name)(seed=0, **CHEAP.get(name, {}))
    result = method.fit(train, utility)
    assert isinstance(result, ValuationResult)
    assert result.values.shape == (24,) and np.isfinite(result.values).all()
    assert list(result.ids) == list(train.ids)
    assert result.method == name
    assert result.provenance["train"]["n"] == 24
    assert result.provenance["versions"]["obliviate"]
    assert result.model_fits >= 0
    assert result.seconds >= 0
    # Same seed, same values.
    again = get_valuation(name)(seed=0, **CHEAP.get(name, {})).fit(train, utility)
    np.testing.assert_array_equal(result.values, again.values)


@pytest.mark.parametrize("name", ALL_METHODS)
def test_every_method_rejects_an_unknown_parameter_and_bad_inputs(name, small):
    train, utility = small
    cls = get_valuation(name)
    with pytest.raises(TypeError):
        cls(not_a_parameter=1)
    with pytest.raises(InvalidParameterError, match="seed"):
        cls(seed=-1).fit(train, utility)
    with pytest.raises(InvalidRequestError, match="TrainSet"):
        cls().fit((train.x, train.y), utility)
    with pytest.raises(InvalidRequestError, match="features"):
        cls().fit(TrainSet(np.hstack([train.x, train.x]), train.y), utility)


def test_leave_one_out_is_the_drop_in_validation_score(small):
    train, utility = small
    result = LeaveOneOut().fit(train, utility)
    assert result.model_fits == len(train) + 1
    everyone = np.arange(len(train))
    full = utility.evaluate(train.x, train.y)[0]
    for i in (0, 7):
        rest = np.delete(everyone, i)
        assert result.values[i] == pytest.approx(full - utility.evaluate(train.x[rest], train.y[rest])[0])


def test_data_oob_values_are_out_of_bag_accuracies_and_find_noise():
    data = load_builtin("breast_cancer", seed=0).with_label_noise(0.1, seed=0)
    utility = Utility(data.x_valid, data.y_valid)
    result = DataOOB(n_estimators=40, seed=0).fit(data.train, utility)
    assert result.model_fits == 40
    assert np.all((result.values >= 0) & (result.values <= 1))
    assert result.extra["oob_count"].min() > 0
    scores = noisy_label_detection(result, data.noisy)
    assert scores["precision_at_noise"] > 0.5


def test_registering_a_taken_name_raises_unless_forced():
    with pytest.raises(RegistryError, match="already registered"):

        @register_valuation("random")
        class Other(RandomValuation):
            pass

    with pytest.raises(RegistryError, match="unknown valuation method 'nope'"):
        get_valuation("nope")
