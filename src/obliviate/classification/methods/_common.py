"""Pieces shared by the classification methods (kept here, not copied into each)."""

from __future__ import annotations

from typing import Any

from obliviate.core.contracts import UnlearningRequest

CLASSIFICATION_KINDS = frozenset({"random", "class", "ids"})


def training_recipe(request: UnlearningRequest) -> dict[str, Any]:
    """The scenario's training recipe (epochs, lr, batch_size, optimizer, weight_decay)."""
    defaults = {"epochs": 20, "lr": 1e-3, "batch_size": 64, "optimizer": "adam", "weight_decay": 0.0}
    return {**defaults, **request.extras.get("training", {})}
