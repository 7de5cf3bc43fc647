"""Relearn time on a tiny separable problem."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.utils.data import TensorDataset

from obliviate.audit.relearn import relearn_steps
from obliviate.core.checkpoint import state_sha256
from obliviate.core.errors import InvalidParameterError, InvalidRequestError
from obliviate.core.training import accuracy, fit


def separable_data(n: int = 64, seed: int = 0) -> TensorDataset:
    """Two Gaussian blobs at (+2, +2) and (-2, -2): linearly separable with a wide margin."""
    generator = torch.Generator().manual_seed(seed)
    labels = torch.arange(n) % 2
    centres = torch.where(labels[:, None] == 1, 2.0, -2.0).expand(n, 2)
    inputs = centres + 0.5 * torch.randn(n, 2, generator=generator)
    return TensorDataset(inputs, labels)


def linear_model(seed: int) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Linear(2, 2)


def test_a_model_already_at_the_target_needs_zero_steps():
    data = separable_data()
    model = linear_model(0)
    fit(model, data, epochs=10, lr=0.05, batch_size=16, seed=0)
    assert accuracy(model, data) == 1.0
    assert relearn_steps(model, data, target_accuracy=1.0) == 0


def test_an_untrained_model_reaches_the_target_within_a_bounded_number_of_steps():
    data = separable_data()
    model = linear_model(1)
    # Start from the exact opposite of the solution (accuracy 0), far from the target.
    with torch.no_grad():
        model.weight.copy_(torch.tensor([[1.0, 1.0], [-1.0, -1.0]]))
        model.bias.zero_()
    assert accuracy(model, data) == 0.0
    before = state_sha256(model)
    steps = relearn_steps(model, data, target_accuracy=1.0, lr=0.05, batch_size=16, check_every=1)
    # Adam at lr 0.05 moves each weight by at most ~0.05 a step and must flip its sign
    # (measured: 21 steps), so it can neither be instant nor take hundreds of steps.
    assert 5 <= steps <= 60
    assert state_sha256(model) == before, "relearn_steps must not modify the model it probes"
    assert steps == relearn_steps(model, data, target_accuracy=1.0, lr=0.05, batch_size=16, check_every=1)


def test_relearn_steps_stops_at_max_steps_when_the_target_is_out_of_reach():
    data = separable_data()
    model = linear_model(2)
    with torch.no_grad():
        model.weight.copy_(torch.tensor([[1.0, 1.0], [-1.0, -1.0]]))
        model.bias.zero_()
    # Far too small a learning rate to flip the decision in 7 steps.
    assert relearn_steps(model, data, target_accuracy=1.0, lr=1e-6, max_steps=7, check_every=3) == 7


def test_relearn_steps_refuses_an_empty_forget_set_and_bad_arguments():
    model = linear_model(3)
    empty = TensorDataset(torch.empty(0, 2), torch.empty(0, dtype=torch.long))
    with pytest.raises(InvalidRequestError, match="non-empty"):
        relearn_steps(model, empty, target_accuracy=0.5)
    data = separable_data(8)
    with pytest.raises(InvalidParameterError, match="target_accuracy"):
        relearn_steps(model, data, target_accuracy=1.5)
    with pytest.raises(InvalidParameterError, match="check_every"):
        relearn_steps(model, data, target_accuracy=0.5, check_every=0)


def test_the_probe_mixes_held_out_forgotten_and_retained_examples():
    from obliviate.audit.relearn import relearn_sets

    forget = TensorDataset(torch.zeros(10, 2), torch.full((10,), 3))
    retain = TensorDataset(torch.ones(40, 2), torch.arange(40) % 3)
    heldout = TensorDataset(torch.zeros(6, 2), torch.full((6,), 3))
    others = TensorDataset(torch.ones(30, 2), torch.arange(30) % 3)
    sets = relearn_sets(forget, retain, heldout_forget=heldout, heldout_retain=others, seed=0)
    assert len(sets.relearn) == 20 and (sets.relearn.tensors[1] == 3).sum() == 10
    assert len(sets.probe) == 12 and (sets.probe.tensors[1] == 3).sum() == 6
    # Without held-out data the forget set is halved: one half relearns, the other probes.
    halves = relearn_sets(forget, retain, seed=0)
    assert len(halves.relearn) == 10 and len(halves.probe) == 5
    with pytest.raises(InvalidRequestError, match="at least two"):
        relearn_sets(TensorDataset(torch.zeros(1, 2), torch.tensor([3])), retain)


@pytest.fixture(scope="module")
def digits_class3_scenarios(tmp_path_factory):
    from obliviate.classification.scenario import ClassificationScenario

    cache = tmp_path_factory.getbasetemp() / "classification-models"
    return [
        ClassificationScenario(dataset="digits", forget="class:3", model="cnn", seed=seed, cache_dir=cache)
        for seed in range(3)
    ]


def _masked(model: nn.Module, label: int, offset: float = 15.0) -> nn.Module:
    """The original with the forgotten class's output bias pushed down: forget accuracy 0,
    every feature intact -- concealment, not unlearning."""
    import copy

    masked = copy.deepcopy(model)
    last = [m for m in masked.modules() if isinstance(m, nn.Linear)][-1]
    with torch.no_grad():
        last.bias[label] -= offset
    return masked


def test_a_concealing_model_relearns_much_faster_than_gold_and_a_random_network_does_not(
    digits_class3_scenarios,
):
    import numpy as np

    from obliviate.audit.relearn import CONCEALMENT_RATIO

    concealed, random_net, original = [], [], []
    for scenario in digits_class3_scenarios:
        masked = _masked(scenario.original(), 3)
        assert accuracy(masked, scenario.request().forget) == 0.0  # it looks forgotten
        gold_steps = scenario.relearn_audit(scenario.gold())["relearn_steps"]
        figures = scenario.relearn_audit(masked)
        assert gold_steps > 0
        concealed.append(figures["relearn_steps"] / gold_steps)
        random_net.append(figures["relearn_random_steps"] / gold_steps)
        original.append(scenario.relearn_audit(scenario.original())["relearn_steps"])
    # Measured (seeds 0-2): masked 0.17-0.44 of gold's time; a random network 2.6-8.6x gold's.
    assert np.median(concealed) < CONCEALMENT_RATIO
    assert np.median(random_net) > 1.5
    assert max(original) == 0  # the original is already at the target
