"""Fixtures of the classification method tests: a tiny in-memory problem per network and
the digits scenarios (trained once per session, cached in the session's temporary folder)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
import torch
from torch import nn
from torch.utils.data import TensorDataset

from obliviate.classification.models import build_model
from obliviate.classification.scenario import ClassificationScenario
from obliviate.core.contracts import UnlearningRequest
from obliviate.core.training import fit
from obliviate.data.datasets import load_classification
from obliviate.data.forget import parse_forget_spec


@dataclass
class TinyProblem:
    """A network trained on 300 digits and a request to forget class 3 from it."""

    model: nn.Module
    request: UnlearningRequest


@pytest.fixture(scope="session", params=["cnn", "mlp"])
def tiny(request) -> TinyProblem:
    """The tiny problem for each network recipe (the CNN has batch norm, the MLP has not)."""
    data = load_classification("digits", seed=0)
    x, y = torch.from_numpy(data.x_train[:300]), torch.from_numpy(data.y_train[:300])
    model = build_model(request.param, data.input_shape, data.num_classes, seed=0)
    fit(model, TensorDataset(x, y), epochs=15, seed=0)
    forget = y == 3
    unlearning_request = UnlearningRequest(
        forget=TensorDataset(x[forget], y[forget]),
        retain=TensorDataset(x[~forget], y[~forget]),
        spec=parse_forget_spec("class:3"),
        num_classes=data.num_classes,
        seed=0,
        extras={"training": {"epochs": 15}, "forget_classes": (3,)},
    )
    return TinyProblem(model=model, request=unlearning_request)


@pytest.fixture(scope="session")
def digits_scenario(tmp_path_factory):
    """``digits_scenario(spec)``: the full digits CNN scenario (seed 0) with its models trained.

    Models are cached under the session's base temporary folder, which the conformance
    suite shares, so the original model is trained once per session.
    """
    cache = tmp_path_factory.getbasetemp() / "classification-models"
    scenarios: dict[str, ClassificationScenario] = {}

    def build(spec: str) -> ClassificationScenario:
        if spec not in scenarios:
            scenario = ClassificationScenario(dataset="digits", forget=spec, model="cnn", seed=0, cache_dir=cache)
            scenario.original()
            scenario.gold()
            scenarios[spec] = scenario
        return scenarios[spec]

    return build


@pytest.fixture(scope="session")
def digits_random_seeds(tmp_path_factory) -> list[ClassificationScenario]:
    """The digits scenario forgetting a random 10% at seeds 0, 1 and 2 (trained once per session)."""
    cache = tmp_path_factory.getbasetemp() / "classification-models"
    return [
        ClassificationScenario(dataset="digits", forget="random:0.1", model="cnn", seed=seed, cache_dir=cache)
        for seed in (0, 1, 2)
    ]
