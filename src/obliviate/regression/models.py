"""Small regression networks in plain torch, and model factories.

Every recipe ends in one linear unit whose output is mapped to target units by a fixed
affine map, ``y = target_mean + target_std * head(x)`` (the two numbers are buffers set
from the training targets), so that the networks train well-conditioned while every
prediction, loss and audit figure is in the target's own units.

* ``mlp``: flatten, ``Linear(64)-ReLU-Linear(64)-ReLU-Linear(1)`` for tables (any input).
* ``cnn``: ``Conv(16)-BN-ReLU-Pool, Conv(32)-BN-ReLU-Pool, Linear(64)-ReLU-Linear(1)`` for
  ``(channels, height, width)`` images.
* ``conv1d``: ``Conv1d(16, k=3)-ReLU, Conv1d(16, k=3)-ReLU, Linear(32)-ReLU-Linear(1)`` for
  ``(channels, length)`` windows of a series.

A user's own network enters through a **factory**: a callable with no arguments that
returns a freshly initialised ``nn.Module``, or a ``"package.module:callable"`` string naming
one (resolved by :func:`obliviate.core.factory.load_factory`). The scenario seeds torch
before calling it, so each call gives the same initial weights for the same seed.
"""

from __future__ import annotations

import math
from typing import Callable

import torch
from torch import nn

from obliviate.core.errors import InvalidRequestError, UnsupportedModelError

RECIPES = ("mlp", "cnn", "conv1d")

ModelFactory = Callable[[], nn.Module]


class _TargetScale(nn.Module):
    """Maps a unit-scale output to target units with fixed (buffer) mean and deviation."""

    def __init__(self, target_mean: float, target_std: float):
        super().__init__()
        self.register_buffer("target_mean", torch.tensor(float(target_mean)))
        self.register_buffer("target_std", torch.tensor(float(target_std)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.target_mean + self.target_std * x


class RegressionMLP(nn.Module):
    """Flatten, two ReLU hidden layers, one output unit in target units."""

    def __init__(self, in_features: int, *, hidden: int = 64, target_mean: float = 0.0, target_std: float = 1.0):
        super().__init__()
        self.body = nn.Sequential(
            nn.Flatten(), nn.Linear(in_features, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU()
        )
        self.head = nn.Linear(hidden, 1)
        self.scale = _TargetScale(target_mean, target_std)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.scale(self.head(self.body(x)))


class RegressionCNN(nn.Module):
    """Two convolution blocks (batch norm, ReLU, pooling), a ReLU hidden layer, one output unit."""

    def __init__(
        self, in_channels: int, height: int, width: int, *, target_mean: float = 0.0, target_std: float = 1.0
    ):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, 16, 3, padding=1),
            nn.BatchNorm2d(16),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(16, 32, 3, padding=1),
            nn.BatchNorm2d(32),
            nn.ReLU(),
            nn.MaxPool2d(2),
        )
        flat = 32 * math.floor(height / 4) * math.floor(width / 4)
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(flat, 64), nn.ReLU(), nn.Linear(64, 1))
        self.scale = _TargetScale(target_mean, target_std)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.scale(self.head(self.features(x)))


class Forecaster1D(nn.Module):
    """Two 1-D convolutions over a window, a ReLU hidden layer, one output unit (the next value)."""

    def __init__(self, in_channels: int, length: int, *, target_mean: float = 0.0, target_std: float = 1.0):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv1d(in_channels, 16, 3, padding=1), nn.ReLU(), nn.Conv1d(16, 16, 3, padding=1), nn.ReLU()
        )
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(16 * length, 32), nn.ReLU(), nn.Linear(32, 1))
        self.scale = _TargetScale(target_mean, target_std)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.scale(self.head(self.features(x)))


def default_recipe(input_shape: tuple[int, ...]) -> str:
    """``cnn`` for ``(c, h, w)`` inputs, ``conv1d`` for ``(c, length)``, else ``mlp``."""
    if len(input_shape) == 3:
        return "cnn"
    if len(input_shape) == 2:
        return "conv1d"
    return "mlp"


def build_model(
    recipe: str,
    input_shape: tuple[int, ...],
    *,
    target_mean: float = 0.0,
    target_std: float = 1.0,
    seed: int | None = 0,
) -> nn.Module:
    """A freshly initialised network of a recipe, seeded (the caller's random state is kept);
    ``seed=None`` draws from torch's current random state instead.

    Raises:
        InvalidRequestError: for an unknown recipe or one that does not fit the input shape.
    """
    if recipe not in RECIPES:
        raise InvalidRequestError(f"unknown regression model recipe '{recipe}'; choose one of: {', '.join(RECIPES)}")
    if seed is not None:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            return build_model(recipe, input_shape, target_mean=target_mean, target_std=target_std, seed=None)
    scale = {"target_mean": target_mean, "target_std": target_std}
    if recipe == "mlp":
        return RegressionMLP(int(math.prod(input_shape)), **scale)
    if recipe == "cnn":
        if len(input_shape) != 3:
            raise InvalidRequestError(
                f"recipe 'cnn' needs image inputs (channels, height, width); got shape {input_shape}: use 'mlp'"
            )
        return RegressionCNN(*input_shape, **scale)
    if len(input_shape) != 2:
        raise InvalidRequestError(
            f"recipe 'conv1d' needs series windows (channels, length); got shape {input_shape}: use 'mlp'"
        )
    return Forecaster1D(*input_shape, **scale)


def call_factory(factory: ModelFactory, seed: int) -> nn.Module:
    """``factory()`` with torch seeded by ``seed`` (the caller's random state is kept).

    Raises:
        UnsupportedModelError: when the factory does not build an ``nn.Module``.
    """
    from obliviate.core.factory import build_with

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return build_with(factory)


def predict(model: nn.Module, inputs: torch.Tensor, *, batch_size: int = 2048) -> torch.Tensor:
    """Predictions of a scalar regression model on ``inputs``, as a 1-D CPU float tensor (eval mode).

    Raises:
        UnsupportedModelError: when the model gives more than one output per input.
    """
    from obliviate.core.training import model_device

    device = model_device(model)
    was_training = model.training
    model.eval()
    outs = []
    try:
        with torch.no_grad():
            for start in range(0, len(inputs), batch_size):
                out = model(inputs[start : start + batch_size].to(device))
                if isinstance(out, (tuple, list)):
                    out = out[0]
                if out.numel() != len(inputs[start : start + batch_size]):
                    raise UnsupportedModelError(
                        f"a regression model must give one number per input; got output shape {tuple(out.shape)}"
                    )
                outs.append(out.reshape(-1).float().cpu())
    finally:
        model.train(was_training)
    return torch.cat(outs) if outs else torch.empty(0)
