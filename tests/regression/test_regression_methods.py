"""The common contract on every registered regression method, plus method-specific behaviour.

Checks in the manner of the classification conformance suite, on a tiny problem (an MLP
trained on 120 diabetes rows; forget every target >= 200)."""

from __future__ import annotations

import inspect

import pytest
import torch
from torch import nn

import obliviate
from obliviate.core.contracts import UnlearningRequest, UnlearningResult
from obliviate.core.errors import InvalidParameterError, InvalidRequestError, UnsupportedModelError
from obliviate.regression.methods.blindspot import attention_distance, attention_map, attention_modules

TASK = "regression"
METHODS = obliviate.methods(TASK)
INVALID_CANDIDATES = (-1, -0.5, 0, 0.0, 1.5, 10**9, "invalid")


def snapshot(model):
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def identical(left, right) -> bool:
    return left.keys() == right.keys() and all(torch.equal(left[k], right[k]) for k in left)


@pytest.fixture(scope="module")
def runs(tiny) -> dict:
    store = {}
    for name in METHODS:
        before = snapshot(tiny.model)
        cls = obliviate.get_method(TASK, name)
        store[name] = (before, cls().unlearn(tiny.model, tiny.request), cls().unlearn(tiny.model, tiny.request))
    return store


def test_registry_lists_the_regression_methods():
    assert set(METHODS) == {"retrain", "finetune", "neggrad", "gaussian", "blindspot"}
    assert METHODS[0] == "retrain"


@pytest.mark.parametrize("name", METHODS)
def test_parameters_are_keyword_only_declared_and_the_paper_settings_are_valid(name, tiny):
    cls = obliviate.get_method(TASK, name)
    assert cls.__doc__ and inspect.getmodule(cls).__doc__
    params = [p for p in inspect.signature(cls.__init__).parameters.values() if p.name != "self"]
    assert all(p.kind is inspect.Parameter.KEYWORD_ONLY for p in params)
    assert {p.name for p in params} == set(cls._parameter_constraints)
    assert cls.forget_kinds >= {"random", "range", "time", "ids"}
    assert isinstance(cls.paper_params, dict) and set(cls.paper_params) <= {p.name for p in params}
    cls(**cls.paper_params)._validate_params()
    cls()._validate_params()


@pytest.mark.parametrize("name", METHODS)
def test_result_is_a_new_model_of_the_same_type_and_keys_and_the_input_is_untouched(name, tiny, runs):
    before, first, second = runs[name]
    assert isinstance(first, UnlearningResult) and first.seconds > 0
    assert type(first.model) is type(tiny.model) and first.model is not tiny.model
    assert list(first.model.state_dict()) == list(tiny.model.state_dict())
    assert not first.model.training
    assert identical(before, snapshot(tiny.model))
    assert identical(snapshot(first.model), snapshot(second.model)), "same seed, same weights"
    assert not identical(snapshot(first.model), before), "the method changed nothing"


@pytest.mark.parametrize("name", METHODS)
def test_an_invalid_parameter_raises_an_error_naming_it(name, tiny):
    cls = obliviate.get_method(TASK, name)
    for param, constraints in cls._parameter_constraints.items():
        bad = next(v for v in INVALID_CANDIDATES if not any(c.accepts(v) for c in constraints))
        with pytest.raises(InvalidParameterError, match=f"'{param}'"):
            cls(**{param: bad}).unlearn(tiny.model, tiny.request)


@pytest.mark.parametrize("name", METHODS)
def test_a_request_without_retain_data_is_refused(name, tiny):
    request = UnlearningRequest(forget=tiny.request.forget, retain=None, spec=tiny.request.spec, seed=0)
    with pytest.raises(InvalidRequestError, match="retain"):
        obliviate.get_method(TASK, name)().unlearn(tiny.model, request)


def test_a_model_with_several_outputs_per_input_is_refused(tiny):
    wide = nn.Sequential(nn.Flatten(), nn.Linear(10, 3))
    with pytest.raises(UnsupportedModelError, match="one output per input"):
        obliviate.get_method(TASK, "finetune")().unlearn(wide, tiny.request)


class Scaled(nn.Module):
    """A model with a raw parameter that no reset_parameters() covers."""

    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(10, 1)
        self.gain = nn.Parameter(torch.tensor(3.0))

    def forward(self, x):
        return self.gain * self.linear(x)


@pytest.mark.parametrize("name", ["retrain", "blindspot"])
def test_fresh_networks_come_from_the_factory_never_from_the_trained_weights(name, tiny):
    calls = []

    def factory():
        calls.append(1)
        return Scaled()

    torch.manual_seed(0)
    model = Scaled()
    with torch.no_grad():
        model.gain.fill_(7.0)
    request = UnlearningRequest(
        forget=tiny.request.forget, retain=tiny.request.retain, spec=tiny.request.spec, seed=0,
        extras=tiny.request.extras, model_factory=factory,
    )
    result = obliviate.get_method(TASK, name)().unlearn(model, request)
    assert calls, "the factory was not called"
    if name == "retrain":
        assert abs(float(result.model.gain.detach()) - 7.0) > 1.0  # started from the factory's 3.0, not the trained 7.0
    without = UnlearningRequest(forget=request.forget, retain=request.retain, spec=request.spec, seed=0)
    with pytest.raises(UnsupportedModelError, match="factory"):
        obliviate.get_method(TASK, name)().unlearn(model, without)


def test_blindspot_attention_maps_are_unit_rows_and_the_distance_is_zero_between_equals():
    activations = torch.randn(4, 8, 5, 5)
    maps = attention_map(activations)
    assert maps.shape == (4, 25)
    assert torch.allclose(maps.norm(dim=1), torch.ones(4))
    assert torch.allclose(maps, attention_map(3.0 * activations), atol=1e-6)  # scale-free
    assert attention_distance(activations, activations) == 0
    assert attention_map(torch.randn(4, 16)).shape == (4, 16)  # fully connected: features are positions
    assert attention_distance(torch.randn(4, 16), torch.randn(4, 16)) > 0


def test_blindspot_reads_the_activation_modules_and_leaves_no_hook_behind(tiny, runs):
    assert len(attention_modules(tiny.model)) == 2  # the two ReLUs of the MLP
    _, result, _ = runs["blindspot"]
    assert result.info["attention_layers"] == 2 and result.info["fresh_model"] == "factory"
    assert all(not module._forward_hooks for module in result.model.modules())
    with pytest.raises(UnsupportedModelError, match="no module named"):
        obliviate.get_method(TASK, "blindspot")(layers=("nope",)).unlearn(tiny.model, tiny.request)


def test_blindspot_attention_term_changes_the_result(tiny, runs):
    _, with_attention, _ = runs["blindspot"]
    without = obliviate.get_method(TASK, "blindspot")(attention_weight=0.0).unlearn(tiny.model, tiny.request)
    assert without.info["attention_layers"] == 0
    assert not identical(snapshot(with_attention.model), snapshot(without.model))


def test_gaussian_draws_forget_targets_from_the_training_target_distribution(tiny, runs):
    _, result, _ = runs["gaussian"]
    targets = torch.cat([tiny.request.forget.tensors[1], tiny.request.retain.tensors[1]])
    assert result.info["target_mean"] == pytest.approx(float(targets.mean()), rel=1e-5)
    assert result.info["target_std"] == pytest.approx(float(targets.std()), rel=1e-5)


def test_neggrad_ascent_is_capped_so_pure_ascent_stays_finite(tiny):
    result = obliviate.get_method(TASK, "neggrad")(alpha=0.0, epochs=30).unlearn(tiny.model, tiny.request)
    x, y = tiny.request.forget.tensors
    with torch.no_grad():
        error = (result.model(x) - y).abs().mean()
    retain_mean = tiny.request.retain.tensors[1].mean()
    cap = (y - retain_mean).abs().mean()
    assert torch.isfinite(error)
    assert error < 3 * cap, (float(error), float(cap))  # without the cap the error grows with every step


def test_a_model_returning_a_tuple_of_output_and_activations_is_accepted(tiny):
    class TupleModel(nn.Module):
        def __init__(self):
            super().__init__()
            self.hidden = nn.Sequential(nn.Linear(10, 16), nn.ReLU())
            self.out = nn.Linear(16, 1)

        def forward(self, x):
            h = self.hidden(x)
            return self.out(h) * 50 + 150, h

    torch.manual_seed(0)
    model = TupleModel()
    request = UnlearningRequest(
        forget=tiny.request.forget, retain=tiny.request.retain, spec=tiny.request.spec, seed=0,
        extras=tiny.request.extras, model_factory=TupleModel,
    )
    result = obliviate.get_method(TASK, "blindspot")().unlearn(model, request)
    assert type(result.model) is TupleModel
    assert isinstance(result.model(tiny.request.forget.tensors[0][:2]), tuple)
