"""Fixtures of the regression tests: the diabetes scenarios (original and gold trained once
per session) and a tiny in-memory problem for the contract checks."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
import torch
from torch import nn
from torch.utils.data import TensorDataset

from controls import ACCEPTANCE_SEEDS
from obliviate.core.contracts import UnlearningRequest
from obliviate.core.training import fit
from obliviate.data.regression import load_diabetes, parse_regression_forget
from obliviate.regression.methods._common import l1_loss
from obliviate.regression.models import build_model
from obliviate.regression.scenario import RegressionScenario

ACCEPTANCE_FORGET = "range:target>=200"


@dataclass
class TinyProblem:
    """An MLP trained on 120 diabetes rows and a request to forget those with target >= 200."""

    model: nn.Module
    request: UnlearningRequest


@pytest.fixture(scope="session")
def tiny() -> TinyProblem:
    data = load_diabetes(seed=0)
    x = torch.from_numpy(data.x_train[:120])
    y = torch.from_numpy(data.y_train[:120]).reshape(-1, 1)

    def factory() -> nn.Module:
        return build_model("mlp", data.input_shape, target_mean=data.target_mean, target_std=data.target_std, seed=None)

    torch.manual_seed(0)
    model = factory()
    fit(model, TensorDataset(x, y), loss_fn=l1_loss, epochs=20, batch_size=32, seed=0)
    forget = (y >= 200).reshape(-1)
    request = UnlearningRequest(
        forget=TensorDataset(x[forget], y[forget]),
        retain=TensorDataset(x[~forget], y[~forget]),
        spec=parse_regression_forget(ACCEPTANCE_FORGET),
        seed=0,
        extras={"training": {"epochs": 20, "batch_size": 32}},
        model_factory=factory,
    )
    return TinyProblem(model=model, request=request)


@pytest.fixture(scope="session")
def diabetes_scenarios(tmp_path_factory) -> list[RegressionScenario]:
    """The diabetes MLP scenario forgetting every target >= 200, at seeds 0, 1 and 2."""
    cache = tmp_path_factory.getbasetemp() / "regression-models"
    scenarios = []
    for seed in ACCEPTANCE_SEEDS:
        scenario = RegressionScenario(dataset="diabetes", forget=ACCEPTANCE_FORGET, seed=seed, cache_dir=cache)
        scenario.original()
        scenario.gold()
        scenarios.append(scenario)
    return scenarios
