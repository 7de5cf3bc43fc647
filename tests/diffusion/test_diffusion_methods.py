"""The method contract on the diffusion task: copies, keys, determinism, parameter subsets, errors."""

from __future__ import annotations

import pytest
import torch

import obliviate
from obliviate.core.errors import InvalidParameterError, InvalidRequestError, UnsupportedModelError
from obliviate.diffusion.models import conditioning_parameter_names

METHODS = ("retrain", "esd_x", "esd_u", "concept_ablation", "sdd", "salun")
FAST = {"steps": 5}


def snapshot(model):
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def test_every_method_is_registered():
    assert set(METHODS) <= set(obliviate.methods("diffusion"))


@pytest.mark.parametrize("name", METHODS)
def test_a_method_works_on_a_copy_keeps_the_keys_and_repeats_with_the_seed(digit_scenarios, name):
    scenario = digit_scenarios[0]
    original, request = scenario.original(), scenario.request()
    before = snapshot(original)
    method = obliviate.get_method("diffusion", name)(**FAST)
    first, second = method.unlearn(original, request), method.unlearn(original, request)
    after = snapshot(original)
    assert all(torch.equal(before[k], after[k]) for k in before)
    assert type(first.model) is type(original) and first.model.state_dict().keys() == before.keys()
    assert all(torch.equal(first.model.state_dict()[k], second.model.state_dict()[k]) for k in before)
    assert any(not torch.equal(first.model.state_dict()[k], before[k]) for k in before)
    assert first.seconds > 0


@pytest.mark.parametrize(("name", "moved"), [("esd_x", "conditioning"), ("esd_u", "unconditioned"), ("sdd", "conditioning"), ("concept_ablation", "conditioning")])
def test_each_method_moves_only_its_part_of_the_network(digit_scenarios, name, moved):
    scenario = digit_scenarios[0]
    original = scenario.original()
    result = obliviate.get_method("diffusion", name)(**FAST).unlearn(original, scenario.request())
    conditioning = set(conditioning_parameter_names(original))
    changed = {k for k, v in result.model.named_parameters() if not torch.equal(v, dict(original.named_parameters())[k])}
    assert changed
    if moved == "conditioning":
        assert changed <= conditioning
    else:
        assert not changed & conditioning


def test_salun_updates_only_its_salient_half(digit_scenarios):
    scenario = digit_scenarios[0]
    original = scenario.original()
    result = obliviate.get_method("diffusion", "salun")(steps=5, sparsity=0.5).unlearn(original, scenario.request())
    assert result.info["salient_fraction"] == pytest.approx(0.5, abs=0.05)
    total = sum(p.numel() for p in original.parameters())
    moved = sum(int((a != b).sum()) for a, b in zip(result.model.parameters(), original.parameters(), strict=True))
    assert moved <= 0.55 * total


def test_retrain_reproduces_the_scenarios_gold_model(diffusion_cache):
    from diffusion_factories import make_scenario

    scenario = make_scenario(7, diffusion_cache, steps=20)
    retrained = obliviate.get_method("diffusion", "retrain")().unlearn(scenario.original(), scenario.request()).model
    gold = scenario.gold()
    assert all(torch.equal(a, b) for a, b in zip(retrained.state_dict().values(), gold.state_dict().values(), strict=True))


def test_bad_hyper_parameters_and_requests_are_refused_with_the_fix(digit_scenarios):
    with pytest.raises(InvalidParameterError, match="steps"):
        obliviate.get_method("diffusion", "esd_x")(steps=0)
    with pytest.raises(InvalidParameterError, match="parameters"):
        obliviate.get_method("diffusion", "concept_ablation")(parameters="attention")
    scenario = digit_scenarios[0]
    with pytest.raises(InvalidParameterError, match="anchor"):
        obliviate.get_method("diffusion", "concept_ablation")(anchor=3, steps=2).unlearn(scenario.original(), scenario.request())
    request = scenario.request()
    request.extras = {}
    with pytest.raises(InvalidRequestError, match="concept"):
        obliviate.get_method("diffusion", "esd_x")(steps=2).unlearn(scenario.original(), request)
    with pytest.raises(UnsupportedModelError, match="conditioning"):
        conditioning_parameter_names(torch.nn.Linear(2, 2))


def test_bad_scenario_options_are_refused():
    from obliviate.core.errors import InvalidForgetSpecError
    from obliviate.diffusion.scenario import DiffusionScenario

    with pytest.raises(InvalidForgetSpecError):
        DiffusionScenario(forget="concept:3,4")
    with pytest.raises(InvalidForgetSpecError):
        DiffusionScenario(forget="random:0.1")
    with pytest.raises(InvalidRequestError, match="crs_compat"):
        DiffusionScenario(crs_compat="paper")
    with pytest.raises(InvalidRequestError, match="denoiser"):
        DiffusionScenario(model="resnet")


def test_the_concept_detector_recognises_real_held_out_digits(digit_scenarios):
    from obliviate.core.training import accuracy

    for scenario in digit_scenarios:
        assert accuracy(scenario.detector(), scenario.data.test_dataset()) >= 0.9
