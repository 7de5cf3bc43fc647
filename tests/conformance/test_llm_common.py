"""The common contract, checked on every registered llm method.

Parametrised over ``obliviate.methods("llm")`` (a new method is checked as soon as it is
registered), on a tiny generated corpus (6 entities, 2 attributes, GPT-2 trained 40 epochs, so it knows the fact):
declared keyword-only hyper-parameters, a new model of the same type and keys, the input
model left bit-identical, identical weights for the same seed, bad hyper-parameters refused
when built and when run, a request without retain questions refused where a method needs
them. Also: the llm training loop on accelerate gives the weights of the plain loop.
"""

from __future__ import annotations

import inspect

import pytest
import torch

pytest.importorskip("transformers")

import obliviate  # noqa: E402
from contract_checks import invalid_value, snapshot, states_identical  # noqa: E402
from obliviate.core.contracts import UnlearningRequest, UnlearningResult  # noqa: E402
from obliviate.core.errors import InvalidParameterError, InvalidRequestError  # noqa: E402
from obliviate.llm.scenario import LLMScenario  # noqa: E402

TASK = "llm"
METHODS = obliviate.methods(TASK)
QUICK = {"retrain": {"epochs": 2}, "grad_ascent": {"steps": 3}, "grad_diff": {"steps": 3}, "npo": {"steps": 3},
         "idk": {"steps": 3}, "answer_swap": {"max_rounds": 2, "steps_per_round": 2},
         "unstar": {"max_rounds": 2, "steps_per_round": 2}}


def make(name: str, **params):
    return obliviate.get_method(TASK, name)(**{**QUICK.get(name, {}), **params})


@pytest.fixture(scope="module")
def tiny_llm():
    scenario = LLMScenario(entities=6, holdout=3, attributes=2, epochs=40, n_embd=64, seed=0)
    model = scenario.original()
    assert scenario.exact_matches(model)["forget_em"] == 1.0, "the tiny model must know the fact to forget"
    return scenario, model, scenario.request()


@pytest.fixture(scope="module")
def llm_runs(tiny_llm) -> dict:
    """Each method run twice with the same seed on the tiny problem, and the input's weights before."""
    _, model, request = tiny_llm
    before = snapshot(model)
    return {name: (before, make(name).unlearn(model, request), make(name).unlearn(model, request)) for name in METHODS}


def test_registry_lists_the_llm_methods():
    assert {"retrain", "grad_ascent", "grad_diff", "npo", "idk", "answer_swap", "unstar"} <= set(METHODS)
    assert METHODS[0] == "retrain"
    assert set(QUICK) >= set(METHODS), "give a new method a quick setting here"


@pytest.mark.parametrize("name", METHODS)
def test_llm_hyper_parameters_are_keyword_only_declared_and_stored_unchanged(name):
    cls = obliviate.get_method(TASK, name)
    assert cls.name == name and cls.task == TASK
    assert cls.__doc__ and inspect.getmodule(cls).__doc__, "the class and its module need docstrings"
    params = [p for p in inspect.signature(cls.__init__).parameters.values() if p.name != "self"]
    assert all(p.kind is inspect.Parameter.KEYWORD_ONLY for p in params)
    assert {p.name for p in params} == set(cls._parameter_constraints), "every parameter needs a constraint"
    method = cls()
    method._validate_params()
    assert method.get_params() == {p.name: p.default for p in params}
    assert "fact" in cls.forget_kinds


@pytest.mark.parametrize("name", METHODS)
def test_llm_result_holds_a_new_model_of_the_same_type_and_keys(name, tiny_llm, llm_runs):
    _, model, _ = tiny_llm
    _, result, _ = llm_runs[name]
    assert isinstance(result, UnlearningResult)
    assert type(result.model) is type(model) and result.model is not model
    assert list(result.model.state_dict()) == list(model.state_dict())
    assert not result.model.training and result.seconds > 0
    assert all(v.isfinite().all() for v in result.model.state_dict().values() if v.is_floating_point())


@pytest.mark.parametrize("name", METHODS)
def test_llm_method_leaves_the_input_bit_identical_and_repeats_exactly(name, tiny_llm, llm_runs):
    _, model, _ = tiny_llm
    before, first, second = llm_runs[name]
    assert states_identical(before, snapshot(model))
    assert states_identical(snapshot(first.model), snapshot(second.model))
    assert not states_identical(snapshot(first.model), before), "the method did not change the weights"


def parameter_cases() -> list:
    return [pytest.param(name, param, id=f"{name}-{param}")
            for name in METHODS for param in obliviate.get_method(TASK, name)._parameter_constraints]


@pytest.mark.parametrize(("name", "param"), parameter_cases())
def test_llm_invalid_hyper_parameter_raises_an_error_naming_it(name, param, tiny_llm):
    _, model, request = tiny_llm
    cls = obliviate.get_method(TASK, name)
    bad = invalid_value(cls._parameter_constraints[param])
    with pytest.raises(InvalidParameterError, match=f"'{param}'"):
        cls(**{param: bad})
    with pytest.raises(InvalidParameterError, match=f"'{param}'"):
        cls().set_params(**{param: bad}).unlearn(model, request)


@pytest.mark.parametrize("name", METHODS)
def test_llm_unknown_or_non_finite_parameter_is_refused_when_built(name):
    cls = obliviate.get_method(TASK, name)
    with pytest.raises(InvalidParameterError, match="no parameter 'colour'"):
        cls(colour=1)
    for param, allowed in cls._parameter_constraints.items():
        if any(c.accepts(0.5) for c in allowed):
            for bad in (float("nan"), float("inf")):
                with pytest.raises(InvalidParameterError, match=f"'{param}'"):
                    cls(**{param: bad})


@pytest.mark.parametrize("name", METHODS)
def test_llm_request_without_retain_is_refused_when_the_method_needs_it(name, tiny_llm):
    _, model, request = tiny_llm
    bare = UnlearningRequest(forget=request.forget, retain=None, spec=request.spec, seed=0,
                             extras=request.extras, model_factory=request.model_factory)
    method = make(name)
    if method.needs_retain:
        with pytest.raises(InvalidRequestError, match="retain"):
            method.unlearn(model, bare)
    else:
        assert isinstance(method.unlearn(model, bare), UnlearningResult)


def test_training_through_accelerate_gives_the_plain_loops_weights(tiny_llm):
    pytest.importorskip("accelerate")
    from obliviate.llm.methods._common import Cycled, batches
    from obliviate.llm.models import lm_loss
    from obliviate.llm.training import describe, lm_fit

    scenario, model, request = tiny_llm
    tokenizer = request.extras["tokenizer"]
    runs = {}
    for backend in (True, False):
        net = scenario.new_model()  # never handed to accelerate before
        net.load_state_dict(model.state_dict())
        stream = batches(tokenizer, request.retain, request, batch_size=8, seed=3)
        history = lm_fit(net, Cycled(4, stream), loss_fn=lm_loss, lr=1e-3, seed=3, use_accelerate=backend)
        runs[history["backend"]] = (snapshot(net), history["steps"])
        assert "_is_accelerate_prepared" not in net.__dict__ and "forward" not in net.__dict__
    assert set(runs) == {"accelerate", "torch"}
    assert runs["accelerate"][1] == runs["torch"][1] == 4
    assert states_identical(runs["accelerate"][0], runs["torch"][0])
    assert not states_identical(runs["torch"][0], snapshot(model))
    assert describe()["backend"] == "accelerate" and describe()["processes"] == 1


class _NoCache(torch.nn.Module):
    """A causal LM whose forward takes no key/value cache (as some user models do)."""

    def __init__(self, inner):
        super().__init__()
        self.inner, self.config = inner, inner.config

    def forward(self, input_ids, attention_mask=None, position_ids=None, **_):
        return self.inner(input_ids=input_ids, attention_mask=attention_mask, position_ids=position_ids, use_cache=False)


class _ReturnsNoCache(_NoCache):
    """Takes a cache argument but never returns one."""

    def forward(self, input_ids, attention_mask=None, position_ids=None, cache=None, use_cache=None, **_):
        return super().forward(input_ids, attention_mask, position_ids)


def test_greedy_answers_with_the_key_value_cache_equal_the_full_recomputation(tiny_llm):
    from obliviate.llm.models import _cache_argument, greedy_answers

    scenario, model, _ = tiny_llm
    assert _cache_argument(model) in ("cache", "past_key_values")  # the cached path is the one taken
    assert _cache_argument(_NoCache(model)) is None and _cache_argument(_ReturnsNoCache(model)) == "cache"
    questions = [i.question for i in scenario.corpus.items] + [i.question for i in scenario.corpus.holdout]
    for stop in (True, False):
        plain = greedy_answers(model, scenario.tokenizer, questions, max_new_tokens=20, stop_at_eos=stop, use_cache=False)
        assert greedy_answers(model, scenario.tokenizer, questions, max_new_tokens=20, stop_at_eos=stop) == plain
        for wrapper in (_NoCache, _ReturnsNoCache):
            assert greedy_answers(wrapper(model), scenario.tokenizer, questions, max_new_tokens=20, stop_at_eos=stop) == plain
    assert any(len(row) > 1 for row in plain)


def test_each_process_gets_an_equal_share_of_the_batches():
    from obliviate.llm.training import _Shard

    batches = list(range(7))
    shares = [list(_Shard(batches, index, 3)) for index in range(3)]
    assert shares == [[0, 3], [1, 4], [2, 5]] and all(len(_Shard(batches, i, 3)) == 2 for i in range(3))
    assert [list(_Shard([0, 1], i, 4)) for i in range(4)] == [[0, 1]] * 4  # fewer batches than processes
