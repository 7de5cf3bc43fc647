"""The common contract, checked on every registered classification method.

In the manner of scikit-learn's ``test_common.py``: each check is parametrised over
``obliviate.methods("classification")``, so a new method is checked as soon as it is
registered. Checks 1-5 run on a tiny problem (300 digits, each network recipe); check 6
runs the full digits scenario forgetting class 3.
"""

from __future__ import annotations

import inspect

import pytest
import torch

import obliviate
from contract_checks import invalid_value, snapshot, states_identical
from obliviate.core.contracts import Unlearner, UnlearningRequest, UnlearningResult
from obliviate.core.errors import InvalidParameterError, InvalidRequestError
from obliviate.core.training import accuracy

TASK = "classification"
METHODS = obliviate.methods(TASK)

# Methods measured to fall short of check 6 with their defaults (digits, class 3, median of
# seeds 0-2). The reason states the measured values; strict=True turns a pass into a failure.
FALLS_SHORT_ON_DIGITS = {
    "finetune": (
        "fine-tuning on retain data for 5 epochs leaves class 3 recognisable "
        "(measured forget accuracy 0.82, 0.70, 0.77 at seeds 0-2)"
    ),
}


def make(name: str, **params) -> Unlearner:
    return obliviate.get_method(TASK, name)(**params)


def parameter_cases() -> list:
    cases = []
    for name in METHODS:
        cls = obliviate.get_method(TASK, name)
        for param in cls._parameter_constraints:
            cases.append(pytest.param(name, param, id=f"{name}-{param}"))
    return cases


@pytest.fixture(scope="session")
def run_store() -> dict:
    return {}


def two_runs(store: dict, name: str, tiny) -> tuple[dict, UnlearningResult, UnlearningResult]:
    """Run a method twice with the same seed on a tiny problem (once per session)."""
    key = (name, id(tiny))
    if key not in store:
        before = snapshot(tiny.model)
        first = make(name).unlearn(tiny.model, tiny.request)
        second = make(name).unlearn(tiny.model, tiny.request)
        store[key] = (before, first, second)
    return store[key]


def test_registry_lists_the_classification_methods():
    assert {"retrain", "finetune", "neggrad", "random_label", "bad_teacher", "unsir", "ssd", "scrub"} <= set(METHODS)
    assert METHODS[0] == "retrain"


@pytest.mark.parametrize("name", METHODS)
def test_hyper_parameters_are_keyword_only_declared_and_stored_unchanged(name):
    cls = obliviate.get_method(TASK, name)
    assert cls.name == name and cls.task == TASK
    assert cls.__doc__ and inspect.getmodule(cls).__doc__, "the class and its module need docstrings"
    signature = inspect.signature(cls.__init__)
    params = [p for p in signature.parameters.values() if p.name != "self"]
    assert all(p.kind is inspect.Parameter.KEYWORD_ONLY for p in params)
    assert {p.name for p in params} == set(cls._parameter_constraints), "every parameter needs a constraint"
    method = cls()
    method._validate_params()  # the defaults satisfy their own constraints
    assert method.get_params() == {p.name: p.default for p in params}
    assert cls.forget_kinds >= {"class", "random"}


@pytest.mark.parametrize("name", METHODS)
def test_returns_a_result_holding_a_new_model_of_the_same_type_and_keys(name, tiny, run_store):
    _, result, _ = two_runs(run_store, name, tiny)
    assert isinstance(result, UnlearningResult)
    assert type(result.model) is type(tiny.model)
    assert result.model is not tiny.model
    assert list(result.model.state_dict()) == list(tiny.model.state_dict())
    assert not result.model.training
    assert result.seconds > 0
    assert isinstance(result.info, dict)
    assert all(torch.isfinite(v).all() for v in result.model.state_dict().values() if v.is_floating_point())


@pytest.mark.parametrize("name", METHODS)
def test_leaves_the_input_model_bit_identical(name, tiny, run_store):
    before, _, _ = two_runs(run_store, name, tiny)
    assert states_identical(before, snapshot(tiny.model))


@pytest.mark.parametrize("name", METHODS)
def test_same_seed_gives_identical_weights(name, tiny, run_store):
    _, first, second = two_runs(run_store, name, tiny)
    assert states_identical(snapshot(first.model), snapshot(second.model))
    # ... and the method did change the weights.
    assert not states_identical(snapshot(first.model), snapshot(tiny.model))


@pytest.mark.parametrize(("name", "param"), parameter_cases())
def test_invalid_hyper_parameter_raises_an_error_naming_it(name, param, tiny):
    cls = obliviate.get_method(TASK, name)
    bad = invalid_value(cls._parameter_constraints[param])
    with pytest.raises(InvalidParameterError, match=f"'{param}'"):
        cls(**{param: bad})  # refused when the method is built, before any data is touched
    method = cls().set_params(**{param: bad})
    with pytest.raises(InvalidParameterError, match=f"'{param}'"):
        method.unlearn(tiny.model, tiny.request)


@pytest.mark.parametrize("name", METHODS)
def test_an_unknown_or_non_finite_parameter_is_refused_when_built(name):
    cls = obliviate.get_method(TASK, name)
    with pytest.raises(InvalidParameterError, match="no parameter 'colour'.*its parameters are"):
        cls(colour=1)
    floats = [p for p, allowed in cls._parameter_constraints.items() if any(c.accepts(0.5) for c in allowed)]
    for param in floats:
        for bad in (float("nan"), float("inf")):
            with pytest.raises(InvalidParameterError, match=f"'{param}'"):
                cls(**{param: bad})


@pytest.mark.parametrize("name", METHODS)
def test_request_without_retain_data_is_refused_when_the_method_needs_it(name, tiny):
    request = UnlearningRequest(
        forget=tiny.request.forget,
        retain=None,
        spec=tiny.request.spec,
        num_classes=tiny.request.num_classes,
        seed=0,
        extras=tiny.request.extras,
    )
    method = make(name)
    if method.needs_retain:
        with pytest.raises(InvalidRequestError, match="retain"):
            method.unlearn(tiny.model, request)
    else:
        assert isinstance(method.unlearn(tiny.model, request), UnlearningResult)


def full_scenario_cases() -> list:
    cases = []
    for name in METHODS:
        marks = ()
        if name in FALLS_SHORT_ON_DIGITS:
            marks = pytest.mark.xfail(strict=True, reason=FALLS_SHORT_ON_DIGITS[name])
        cases.append(pytest.param(name, marks=marks))
    return cases


CLASS_FORGET_BOUND = 0.15
"""Forget accuracy at or below this counts as forgotten: 1.5x chance on ten classes, since
a student copying a near-uniform teacher (bad_teacher) lands near chance, not at gold's 0."""

RETAIN_TOLERANCE = 0.05


def class3_acceptance(model, scenario) -> tuple[float, float]:
    """``(forget accuracy, |retain accuracy - original's|)`` of a model on a class-3 scenario."""
    request = scenario.request()
    retain_gap = abs(accuracy(model, request.retain) - accuracy(scenario.original(), request.retain))
    return accuracy(model, request.forget), retain_gap


def passes_class3(unlearner, scenarios, median) -> tuple[bool, str]:
    figures = [class3_acceptance(unlearner.unlearn(s.original(), s.request()).model, s) for s in scenarios]
    forget, retain_gap = median(f for f, _ in figures), median(g for _, g in figures)
    detail = f"median forget accuracy {forget:.3f}, median retain gap {retain_gap:.3f} ({figures})"
    return forget <= CLASS_FORGET_BOUND and retain_gap <= RETAIN_TOLERANCE, detail


@pytest.mark.parametrize("name", full_scenario_cases())
def test_forgets_digit_class_3_and_keeps_retain_accuracy(name, digits_class3_seeds, median):
    """Median over seeds 0-2: forget accuracy <= 0.15 and retain accuracy within 0.05 of the original's."""
    ok, detail = passes_class3(make(name), digits_class3_seeds, median)
    assert ok, detail


def test_the_identity_control_fails_the_class_forgetting_check(identity, digits_class3_seeds, median):
    ok, detail = passes_class3(identity, digits_class3_seeds, median)
    assert not ok, detail
