"""Small classification networks written in plain torch, shared by every task that
classifies images or feature vectors (classification, federated, continual).

``cnn``: two 3x3 convolutions with batch normalisation, max pooling and a linear head,
for ``(channels, height, width)`` images. ``mlp``: two hidden layers for flat inputs (or
flattened images). Both are small enough to train in seconds on one CPU core.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from obliviate.core.errors import InvalidRequestError

RECIPES = ("cnn", "mlp")


class SmallCNN(nn.Module):
    """Conv(16m)-BN-ReLU-Pool, Conv(32m)-BN-ReLU-Pool, then Linear(128)-ReLU-Linear(classes),
    with ``m = width_multiplier`` (1 by default: 16 and 32 channels)."""

    def __init__(self, in_channels: int, height: int, width: int, num_classes: int, width_multiplier: int = 1):
        super().__init__()
        c1, c2 = 16 * width_multiplier, 32 * width_multiplier
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, c1, 3, padding=1),
            nn.BatchNorm2d(c1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(c1, c2, 3, padding=1),
            nn.BatchNorm2d(c2),
            nn.ReLU(),
            nn.MaxPool2d(2),
        )
        flat = c2 * math.floor(height / 4) * math.floor(width / 4)
        self.classifier = nn.Sequential(nn.Flatten(), nn.Linear(flat, 128), nn.ReLU(), nn.Linear(128, num_classes))

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """Penultimate activations (input of the last linear layer)."""
        return self.classifier[:-1](self.features(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x))


class MLP(nn.Module):
    """Flatten, Linear(hidden)-ReLU, Linear(hidden)-ReLU, Linear(classes)."""

    def __init__(self, in_features: int, num_classes: int, hidden: int = 128):
        super().__init__()
        self.body = nn.Sequential(
            nn.Flatten(), nn.Linear(in_features, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU()
        )
        self.head = nn.Linear(hidden, num_classes)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """Penultimate activations."""
        return self.body(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(x))


def build_model(recipe: str, input_shape: tuple[int, ...], num_classes: int, *, seed: int = 0) -> nn.Module:
    """Build a freshly initialised network from a recipe name, seeded.

    Raises:
        InvalidRequestError: for an unknown recipe, or ``cnn`` on non-image inputs.
    """
    state = torch.random.get_rng_state()
    torch.manual_seed(seed)
    try:
        if recipe == "cnn":
            if len(input_shape) != 3:
                raise InvalidRequestError(
                    f"recipe 'cnn' needs image inputs (channels, height, width); got shape {input_shape}: use 'mlp'"
                )
            return SmallCNN(*input_shape, num_classes)
        if recipe == "mlp":
            return MLP(int(math.prod(input_shape)), num_classes)
    finally:
        torch.random.set_rng_state(state)
    raise InvalidRequestError(f"unknown model recipe '{recipe}'; choose one of: {', '.join(RECIPES)}")
