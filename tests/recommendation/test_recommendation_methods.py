"""The common contract on every registered recommendation method, and a user's own model."""

from __future__ import annotations

import inspect

import pytest
import torch

import obliviate
from conftest import tiny_scenario
from obliviate.core.checkpoint import state_sha256
from obliviate.core.contracts import UnlearningRequest, UnlearningResult
from obliviate.core.errors import InvalidParameterError, InvalidRequestError, UnsupportedModelError
from obliviate.recommendation.scenario import RecommendationScenario

TASK = "recommendation"
METHODS = obliviate.methods(TASK)
INVALID_CANDIDATES = (-1, -0.5, 0, 0.0, 10**9 * -1, "invalid")


def snapshot(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {key: value.detach().clone() for key, value in model.state_dict().items()}


def identical(left: dict, right: dict) -> bool:
    return left.keys() == right.keys() and all(torch.equal(left[k], right[k]) for k in left)


def test_registry_lists_the_recommendation_methods():
    assert set(METHODS) == {"retrain", "finetune", "neggrad", "reverse_bpr", "mmrecun"}
    assert METHODS[0] == "retrain"


@pytest.mark.parametrize("name", METHODS)
def test_hyper_parameters_are_keyword_only_declared_and_beside_the_papers(name):
    cls = obliviate.get_method(TASK, name)
    assert cls.__doc__ and inspect.getmodule(cls).__doc__
    params = [p for p in inspect.signature(cls.__init__).parameters.values() if p.name != "self"]
    assert all(p.kind is inspect.Parameter.KEYWORD_ONLY for p in params)
    assert {p.name for p in params} == set(cls._parameter_constraints)
    assert isinstance(cls.paper_params, dict) and set(cls.paper_params) <= set(cls._parameter_constraints)
    cls()._validate_params()
    assert cls.forget_kinds >= {"interactions", "users", "items", "ids"}


@pytest.fixture(scope="module")
def runs(tiny) -> dict:
    request = tiny.request()
    before = snapshot(tiny.original())
    out = {}
    for name in METHODS:
        first = obliviate.get_method(TASK, name)().unlearn(tiny.original(), request)
        second = obliviate.get_method(TASK, name)().unlearn(tiny.original(), request)
        out[name] = (first, second)
    out["_before"] = before
    return out


@pytest.mark.parametrize("name", METHODS)
def test_a_method_returns_a_new_model_of_the_same_type_and_keys_and_leaves_the_input_alone(name, tiny, runs):
    first, second = runs[name]
    original = tiny.original()
    assert isinstance(first, UnlearningResult) and first.model is not original
    assert type(first.model) is type(original)
    assert list(first.model.state_dict()) == list(original.state_dict())
    assert not first.model.training and first.seconds > 0
    assert identical(runs["_before"], snapshot(original))
    assert identical(snapshot(first.model), snapshot(second.model)), "same seed, same weights"
    assert not identical(snapshot(first.model), snapshot(original)), "the method changed nothing"
    assert all(torch.isfinite(v).all() for v in first.model.state_dict().values())


@pytest.mark.parametrize("name", METHODS)
def test_an_invalid_hyper_parameter_raises_an_error_naming_it(name, tiny):
    cls = obliviate.get_method(TASK, name)
    for param, constraints in cls._parameter_constraints.items():
        bad = next(c for c in INVALID_CANDIDATES if not any(rule.accepts(c) for rule in constraints))
        with pytest.raises(InvalidParameterError, match=f"'{param}'"):
            cls(**{param: bad}).unlearn(tiny.original(), tiny.request())


@pytest.mark.parametrize("name", METHODS)
def test_a_request_without_retain_data_is_refused_when_the_method_needs_it(name, tiny):
    full = tiny.request()
    request = UnlearningRequest(forget=full.forget, retain=None, validation=full.validation, spec=full.spec,
                                seed=0, extras=full.extras)
    method = obliviate.get_method(TASK, name)()
    if method.needs_retain:
        with pytest.raises(InvalidRequestError, match="retain"):
            method.unlearn(tiny.original(), request)
    else:
        assert isinstance(method.unlearn(tiny.original(), request), UnlearningResult)


def test_requests_of_another_task_and_models_that_are_not_modules_are_refused(tiny):
    request = tiny.request()
    bad = UnlearningRequest(forget=torch.zeros(3, 2), retain=request.retain, spec=request.spec, extras=request.extras)
    with pytest.raises(InvalidRequestError, match="InteractionSet"):
        obliviate.get_method(TASK, "mmrecun")().unlearn(tiny.original(), bad)
    with pytest.raises(UnsupportedModelError):
        obliviate.get_method(TASK, "mmrecun")().unlearn("not a model", request)


def test_retrain_with_the_scenarios_factory_is_the_gold_model(tiny):
    result = obliviate.get_method(TASK, "retrain")().unlearn(tiny.original(), tiny.request())
    assert state_sha256(result.model) == state_sha256(tiny.gold())


class UserRecommender(torch.nn.Module):
    """A model the toolkit did not define: forward(users, items) only, its own layout."""

    def __init__(self, data):
        super().__init__()
        self.num_items = data.num_items
        self.users = torch.nn.Embedding(data.num_users, 8)
        self.items = torch.nn.Embedding(data.num_items, 8)
        torch.nn.init.normal_(self.users.weight, std=0.1)
        torch.nn.init.normal_(self.items.weight, std=0.1)

    def forward(self, users, items):
        u = self.users(users)
        return (u.unsqueeze(1) * self.items(items)).sum(-1) if items.dim() == 2 else (u * self.items(items)).sum(-1)


def make_user_model(data):
    return UserRecommender(data)


def test_a_users_own_model_from_a_factory_is_trained_unlearned_and_audited():
    base = tiny_scenario()
    scenario = RecommendationScenario(dataset=base.data, forget="interactions:0.1", model=make_user_model, seed=0, epochs=8)
    original = scenario.original()
    assert isinstance(original, UserRecommender)
    request = scenario.request()
    for name in ("retrain", "mmrecun"):
        result = obliviate.get_method(TASK, name)().unlearn(original, request)
        assert isinstance(result.model, UserRecommender)
        audit = scenario.audit(result.model, original=original)
        assert 0.0 <= audit["recall@20"] <= 1.0 and 0.0 <= audit["forget_hit@20"] <= 1.0
    # The same factory named as "package.module:callable" (this test module is importable).
    by_name = RecommendationScenario(dataset=base.data, model=f"{__name__}:make_user_model", epochs=2)
    assert isinstance(by_name.new_model(), UserRecommender)
    missing = RecommendationScenario(dataset=base.data, model="no_such_package.models:make", epochs=2)
    with pytest.raises(InvalidRequestError, match="cannot import"):
        missing.new_model()
