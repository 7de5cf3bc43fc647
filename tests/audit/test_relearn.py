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
