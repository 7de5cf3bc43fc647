"""The one training loop: it learns, it is deterministic, and its helpers do what they say."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.utils.data import TensorDataset

from obliviate.core.checkpoint import state_sha256
from obliviate.core.errors import InvalidParameterError
from obliviate.core.training import (
    accuracy,
    dataset_labels,
    fit,
    make_optimizer,
    predict_logits,
    reinitialize,
)


def separable(n: int = 96) -> TensorDataset:
    """Three well-separated Gaussian blobs in the plane (class = blob)."""
    generator = torch.Generator().manual_seed(0)
    labels = torch.arange(n) % 3
    centres = torch.tensor([[3.0, 0.0], [-3.0, 0.0], [0.0, 3.0]])[labels]
    return TensorDataset(centres + 0.5 * torch.randn(n, 2, generator=generator), labels)


def mlp(seed: int) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 3))


def test_fit_reduces_the_loss_and_learns_a_separable_problem():
    data = separable()
    model = mlp(0)
    start = accuracy(model, data)
    history = fit(model, data, epochs=15, lr=0.02, batch_size=16, seed=0)
    assert history["steps"] == 15 * 6
    assert len(history["epoch_losses"]) == 15
    assert history["epoch_losses"][-1] < 0.1 * history["epoch_losses"][0]
    assert accuracy(model, data) == 1.0 > start
    assert not model.training


def test_same_seed_gives_bit_identical_weights_and_another_seed_does_not():
    data = separable()
    runs = []
    for shuffle_seed in (0, 0, 1):
        model = mlp(0)
        fit(model, data, epochs=3, lr=0.01, batch_size=16, seed=shuffle_seed)
        runs.append(state_sha256(model))
    assert runs[0] == runs[1]
    assert runs[0] != runs[2]


def test_max_steps_stops_training_early():
    history = fit(mlp(0), separable(), epochs=50, batch_size=16, max_steps=7)
    assert history["steps"] == 7


def test_after_step_and_params_restrict_what_changes():
    data = separable()
    model = mlp(0)
    first_layer = model[0].weight.detach().clone()
    calls = []
    fit(model, data, epochs=1, batch_size=32, params=model[2].parameters(), after_step=lambda m: calls.append(1))
    assert torch.equal(model[0].weight, first_layer)
    assert len(calls) == 3


def test_fit_accepts_an_iterable_of_batches_and_a_ready_optimizer():
    data = separable(30)
    batches = [(data.tensors[0][i : i + 10], data.tensors[1][i : i + 10]) for i in range(0, 30, 10)]
    model = mlp(0)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    assert fit(model, batches, epochs=2, optimizer=optimizer)["steps"] == 6


def test_reinitialize_changes_weights_keeps_keys_and_is_seeded():
    trained = mlp(0)
    fit(trained, separable(), epochs=2, batch_size=16)
    keys, before = list(trained.state_dict()), state_sha256(trained)
    rng_state = torch.random.get_rng_state()
    reinitialize(trained, seed=5)
    assert torch.equal(torch.random.get_rng_state(), rng_state), "the caller's random state is untouched"
    assert list(trained.state_dict()) == keys
    assert state_sha256(trained) != before
    assert state_sha256(trained) == state_sha256(reinitialize(mlp(1), seed=5))


def test_reinitialize_resets_batchnorm_running_statistics():
    net = nn.Sequential(nn.Linear(2, 2), nn.BatchNorm1d(2))
    net.train()
    net(torch.randn(8, 2) + 5)
    reinitialize(net, seed=0)
    assert torch.equal(net[1].running_mean, torch.zeros(2))
    assert int(net[1].num_batches_tracked) == 0


def test_predict_logits_and_labels_come_back_in_data_order():
    data = separable(30)
    model = mlp(0)
    logits = predict_logits(model, data, batch_size=7)
    with torch.no_grad():
        expected = model(data.tensors[0])
    torch.testing.assert_close(logits, expected)
    torch.testing.assert_close(predict_logits(model, data.tensors[0], batch_size=4), expected)
    assert torch.equal(dataset_labels(data), data.tensors[1])


def test_accuracy_of_an_empty_set_is_nan_and_unknown_optimizers_are_refused():
    empty = TensorDataset(torch.empty(0, 2), torch.empty(0, dtype=torch.long))
    assert torch.isnan(torch.tensor(accuracy(mlp(0), empty)))
    with pytest.raises(InvalidParameterError, match="optimizer must be one of adam, sgd, adamw; got 'rmsprop'"):
        make_optimizer(mlp(0).parameters(), "rmsprop")


class RawMLP(nn.Module):
    """A classifier holding its weights as raw parameters (no reset_parameters)."""

    def __init__(self):
        super().__init__()
        self.w1 = nn.Parameter(torch.randn(4, 8) * 0.5)
        self.w2 = nn.Parameter(torch.randn(8, 3) * 0.5)

    def forward(self, x):
        return torch.relu(x @ self.w1) @ self.w2


def test_reinitialize_refuses_raw_parameters_naming_them():
    from obliviate.core.errors import UnsupportedModelError

    with pytest.raises(UnsupportedModelError, match=r"w1, w2.*factory"):
        reinitialize(RawMLP(), seed=0)


def test_reinitialize_covers_multihead_attention_weights():
    attention = nn.MultiheadAttention(8, 2)
    before = attention.in_proj_weight.detach().clone()
    reinitialize(attention, seed=3)
    assert not torch.equal(before, attention.in_proj_weight)


def test_fresh_model_uses_the_factory_seeded_and_checks_the_architecture():
    from obliviate.core.errors import UnsupportedModelError
    from obliviate.core.training import fresh_model

    trained = RawMLP()
    first, second = fresh_model(trained, seed=4, factory=RawMLP), fresh_model(trained, seed=4, factory=RawMLP)
    assert state_sha256(first) == state_sha256(second) != state_sha256(trained)
    with pytest.raises(UnsupportedModelError, match="state_dict differs"):
        fresh_model(trained, seed=0, factory=lambda: nn.Linear(4, 3))
