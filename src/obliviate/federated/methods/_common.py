"""Pieces shared by the federated methods (kept here, not copied into each)."""

from __future__ import annotations

from torch import nn

from obliviate.federated.engine import FederationOutcome
from obliviate.federated.models import load_state_into, state_copy

FEDERATED_KINDS = frozenset({"client"})


def adopt(model: nn.Module, outcome: FederationOutcome) -> dict[str, float]:
    """Load a federation run's final weights into ``model``; return its timings for ``info``."""
    load_state_into(model, outcome.state)
    return outcome.info()


def rounds_on_retained(
    model: nn.Module, federation, *, rounds: int, seed: int, training: dict | None = None
) -> dict[str, float]:
    """Run ``rounds`` of FedAvg over the retained clients, starting from ``model``'s weights,
    and load the result into ``model``; returns the run's timings for ``info``."""
    extra = {"training": training} if training is not None else {}
    outcome = federation.run(
        participants=federation.retain_clients,
        rounds=rounds,
        initial_state=state_copy(model),
        seed=seed,
        **extra,
    )
    return adopt(model, outcome)


def ascent_on_leaving_clients(
    model: nn.Module, federation, *, seed: int, ascent: dict
) -> dict[str, float]:
    """Gradient ascent run by the leaving clients on their own nodes (one Flower round of
    ``train`` messages with ``objective="ascent"``, see ``flower_app._ascend``), starting
    from ``model``'s weights; several leaving clients' results are averaged (FedAvg
    weights). The server never reads their data. Loads the result into ``model`` and
    returns the run's timings, with ``ascent_seconds`` = the leaving clients' compute."""
    outcome = federation.run(
        participants=list(federation.forget_clients),
        rounds=1,
        initial_state=state_copy(model),
        seed=seed,
        training={"objective": "ascent", **ascent},
    )
    info = adopt(model, outcome)
    return {"ascent_seconds": info["compute_seconds"], "ascent_flower_seconds": info["flower_seconds"],
            "ascent_messaging_seconds": info["messaging_seconds"], "ascent_steps": info.get("ascent_steps", 0.0)}
