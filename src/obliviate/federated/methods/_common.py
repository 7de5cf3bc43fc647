"""Pieces shared by the federated methods (kept here, not copied into each)."""

from __future__ import annotations

from torch import nn

from obliviate.federated.engine import FederationOutcome
from obliviate.federated.models import load_state_into

FEDERATED_KINDS = frozenset({"client"})


def adopt(model: nn.Module, outcome: FederationOutcome) -> dict[str, float]:
    """Load a federation run's final weights into ``model``; return its timings for ``info``."""
    load_state_into(model, outcome.state)
    return outcome.info()
