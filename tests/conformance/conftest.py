"""Fixtures of the conformance suite: a tiny in-memory problem per network, and the full
digits scenario (trained once per session, cached in the session's temporary folder)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
import torch
from torch import nn

from obliviate.classification.models import build_model
from obliviate.classification.scenario import ClassificationScenario
from obliviate.core.contracts import UnlearningRequest
from obliviate.core.training import fit
from obliviate.data.datasets import load_classification
from obliviate.data.forget import parse_forget_spec

TINY_SIZE = 300
TINY_EPOCHS = 15


@dataclass
class TinyProblem:
    """A network trained on 300 digits and a request to forget class 3 from it."""

    model: nn.Module
    request: UnlearningRequest


def _tiny_problem(recipe: str) -> TinyProblem:
    data = load_classification("digits", seed=0)
    x = torch.from_numpy(data.x_train[:TINY_SIZE])
    y = torch.from_numpy(data.y_train[:TINY_SIZE])
    forget_mask = y == 3
    model = build_model(recipe, data.input_shape, data.num_classes, seed=0)
    fit(model, torch.utils.data.TensorDataset(x, y), epochs=TINY_EPOCHS, seed=0)
    request = UnlearningRequest(
        forget=torch.utils.data.TensorDataset(x[forget_mask], y[forget_mask]),
        retain=torch.utils.data.TensorDataset(x[~forget_mask], y[~forget_mask]),
        spec=parse_forget_spec("class:3"),
        num_classes=data.num_classes,
        seed=0,
        # retrain reads the scenario recipe from here; keep it as short as the original's.
        extras={"training": {"epochs": TINY_EPOCHS}, "forget_classes": (3,)},
    )
    return TinyProblem(model=model, request=request)


@pytest.fixture(scope="session", params=["cnn", "mlp"])
def tiny(request) -> TinyProblem:
    """The tiny problem for each network recipe (the CNN has batch norm, the MLP has not)."""
    return _tiny_problem(request.param)


@pytest.fixture(scope="session")
def digits_class3(tmp_path_factory) -> ClassificationScenario:
    """The full digits scenario forgetting class 3 (CNN, seed 0), trained once per session."""
    cache = tmp_path_factory.getbasetemp() / "classification-models"
    scenario = ClassificationScenario(dataset="digits", forget="class:3", model="cnn", seed=0, cache_dir=cache)
    scenario.original()
    scenario.gold()
    return scenario


@pytest.fixture(scope="session")
def digits_class3_seeds(tmp_path_factory) -> list[ClassificationScenario]:
    """The full digits scenario forgetting class 3 at seeds 0, 1 and 2 (trained once per session)."""
    cache = tmp_path_factory.getbasetemp() / "classification-models"
    scenarios = []
    for seed in (0, 1, 2):
        scenario = ClassificationScenario(dataset="digits", forget="class:3", model="cnn", seed=seed, cache_dir=cache)
        scenario.original()
        scenario.gold()
        scenarios.append(scenario)
    return scenarios
