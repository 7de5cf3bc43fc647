"""A network the toolkit did not define, importable by every client as ``federated.federated_factories:build``."""

from __future__ import annotations

import torch
from torch import nn


class RawDigitsNet(nn.Module):
    """Digits classifier with raw parameters: no ``reset_parameters()`` can re-draw it."""

    def __init__(self):
        super().__init__()
        self.w1 = nn.Parameter(torch.randn(64, 48) * 0.125)
        self.b1 = nn.Parameter(torch.zeros(48))
        self.w2 = nn.Parameter(torch.randn(48, 10) * 0.15)

    def forward(self, x):
        return torch.relu(x.flatten(1) @ self.w1 + self.b1) @ self.w2


def build() -> nn.Module:
    return RawDigitsNet()
