"""Acceptance checks of the regression task, over seeds 0-2 (median), each failing for the
do-nothing control (the original model returned unchanged).

Diabetes, MLP, forget every training row with target >= 200 (about 28% of them): the
gold model has never seen such targets, so its error there is several times the
original's.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import obliviate
from controls import ACCEPTANCE_SEEDS, Identity
from obliviate.regression.models import build_model

RETAIN_TOLERANCE = 0.15


def forget_gap_and_retain_ratio(scenario, model):
    """``|forget_l1 - gold's|`` and ``retain_l1 / original's``."""
    audit = scenario.audit(model)
    gold = scenario.audit(scenario.gold())
    original = scenario.audit(scenario.original())
    return abs(audit["forget_l1"] - gold["forget_l1"]), audit["retain_l1"] / original["retain_l1"]


def run(method, scenarios):
    rows = [forget_gap_and_retain_ratio(s, method.unlearn(s.original(), s.request()).model) for s in scenarios]
    return np.median([r[0] for r in rows]), np.median([r[1] for r in rows]), rows


def passes(candidate, finetune) -> bool:
    gap, ratio, _ = candidate
    return gap < finetune[0] and abs(ratio - 1.0) <= RETAIN_TOLERANCE


@pytest.fixture(scope="module")
def outcomes(diabetes_scenarios):
    methods = {
        "finetune": obliviate.get_method("regression", "finetune")(),
        "blindspot": obliviate.get_method("regression", "blindspot")(),
        "identity": Identity(),
    }
    return {name: run(method, diabetes_scenarios) for name, method in methods.items()}


def test_blindspot_moves_forget_error_to_gold_closer_than_finetune_and_keeps_retain_error(outcomes):
    blindspot, finetune = outcomes["blindspot"], outcomes["finetune"]
    assert passes(blindspot, finetune), f"blindspot {blindspot[:2]} vs finetune {finetune[:2]}"
    # Measured medians: blindspot 25.9 from gold (retain x0.95), finetune 59.4, identity 83.1.
    assert blindspot[0] < 0.6 * finetune[0]


def test_the_do_nothing_control_fails_the_blindspot_check(outcomes):
    assert not passes(outcomes["identity"], outcomes["finetune"])


def test_blindspot_closes_most_of_the_gap_from_original_to_gold(diabetes_scenarios, identity):
    closed = []
    for scenario in diabetes_scenarios:
        request = scenario.request()
        start = scenario.audit(scenario.original())["forget_l1"]
        target = scenario.audit(scenario.gold())["forget_l1"]
        reached = scenario.audit(obliviate.get_method("regression", "blindspot")().unlearn(scenario.original(), request).model)
        control = scenario.audit(identity.unlearn(scenario.original(), request).model)
        closed.append(((reached["forget_l1"] - start) / (target - start), (control["forget_l1"] - start) / (target - start)))
    assert np.median([c[0] for c in closed]) >= 0.5, closed
    assert np.median([c[1] for c in closed]) < 0.5  # the control closes nothing


def overfit_and_random_auc(scenario):
    """mia_auc of an overfit model and of a network whose predictions are unrelated to the data."""
    overfit = scenario.audit(scenario.original())["mia_auc"]
    data = scenario.data
    random_network = build_model("mlp", data.input_shape, target_mean=data.target_mean, target_std=data.target_std, seed=99)
    with torch.no_grad():
        random_network.head.weight.mul_(5.0)  # spread its (meaningless) predictions over the target range
    return overfit, scenario.audit(random_network)["mia_auc"]


def test_membership_attack_tells_members_of_an_overfit_model_and_not_of_random_predictions(tmp_path_factory):
    from obliviate.regression.scenario import RegressionScenario

    cache = tmp_path_factory.getbasetemp() / "regression-models"
    pairs = [
        overfit_and_random_auc(RegressionScenario(dataset="diabetes", forget="random:0.3", seed=s, cache_dir=cache))
        for s in ACCEPTANCE_SEEDS
    ]
    overfit, random = np.median([p[0] for p in pairs]), np.median([p[1] for p in pairs])
    assert overfit > 0.7, pairs  # measured 0.80
    assert abs(random - 0.5) < 0.08, pairs
