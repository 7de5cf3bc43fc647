"""Declared hyper-parameter constraints and the errors they raise."""

from __future__ import annotations

import math

import numpy as np
import pytest

from obliviate.core.errors import InvalidParameterError
from obliviate.core.params import NONE, InstanceOf, Interval, Options, validate_params


@pytest.mark.parametrize(
    "constraint, accepted, refused",
    [
        (Interval(int, 1, None), [1, 5, np.int64(3)], [0, -1, 2.0, True, "3", None]),
        (Interval(float, 0, 1, closed="neither"), [0.5, 1e-9, np.float32(0.25)], [0, 1, 1.0, 0.0, math.nan, False]),
        (Interval(float, 0, None, closed="neither"), [3, 2.5], [0, -1e-9, math.nan, True]),
        (Interval(float, 0, 1, closed="left"), [0.0, 0.999], [1.0, -0.1]),
        (Interval(float, 0, 1, closed="right"), [1.0, 0.5], [0.0]),
        (Options({"adam", "sgd"}), ["adam", "sgd"], ["Adam", None, ["adam"]]),
        (InstanceOf(int), [3], [True, 3.0]),
        (InstanceOf(bool), [True], [1]),
        (NONE, [None], [0, ""]),
    ],
)
def test_constraints_accept_exactly_their_values(constraint, accepted, refused):
    assert all(constraint.accepts(value) for value in accepted)
    assert not any(constraint.accepts(value) for value in refused)


def test_interval_error_names_parameter_range_and_value():
    constraints = {"epochs": [Interval(int, 1, None)]}
    with pytest.raises(InvalidParameterError) as info:
        validate_params(constraints, {"epochs": 0}, "classification/finetune")
    assert str(info.value) == "classification/finetune: parameter 'epochs' must be int in [1, inf]; got 0"


def test_a_bool_is_not_accepted_as_an_int():
    with pytest.raises(InvalidParameterError, match=r"parameter 'epochs' must be int in \[1, inf\]; got True"):
        validate_params({"epochs": [Interval(int, 1, None)]}, {"epochs": True}, "m")


def test_options_error_names_parameter_allowed_values_and_value():
    with pytest.raises(InvalidParameterError) as info:
        validate_params({"optimizer": [Options({"sgd", "adam"})]}, {"optimizer": "rmsprop"}, "m")
    assert str(info.value) == "m: parameter 'optimizer' must be one of 'adam', 'sgd'; got 'rmsprop'"


def test_any_listed_constraint_suffices_and_the_error_lists_all_of_them():
    constraints = {"max_steps": [Interval(int, 1, None), NONE]}
    validate_params(constraints, {"max_steps": None}, "m")
    validate_params(constraints, {"max_steps": 10}, "m")
    with pytest.raises(InvalidParameterError, match=r"must be int in \[1, inf\] or None; got -2"):
        validate_params(constraints, {"max_steps": -2}, "m")


def test_parameters_without_constraints_are_not_checked():
    validate_params({}, {"anything": object()}, "m")


def test_interval_bounds_are_printed_with_their_closedness():
    assert str(Interval(float, 0, 1, closed="neither")) == "float in (0, 1)"
    assert str(Interval(float, None, 0, closed="right")) == "float in (-inf, 0]"
    assert str(Interval(int, 1, None)) == "int in [1, inf]"
