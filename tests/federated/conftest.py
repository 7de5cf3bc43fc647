"""Shared fixtures of the federated tests: one trained federation per session, and a check
that every process the tests started (Ray, Flower) is gone at the end."""

from __future__ import annotations

import os

import pytest

pytest.importorskip("flwr", reason="the federated task needs obliviate[federated] (flwr[simulation])")

from obliviate.federated import FederatedScenario  # noqa: E402
from obliviate.federated.deploy import descendants  # noqa: E402
from obliviate.federated.engine import stop_federation  # noqa: E402

FLOWER_WORDS = ("ray", "flwr", "flower", "raylet", "gcs_server", "supervise")


def _command(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            return handle.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def flower_processes() -> list[str]:
    """Command lines of live Ray/Flower processes started from this test process."""
    return [
        cmd for pid in descendants(os.getpid()) if (cmd := _command(pid)) and any(w in cmd for w in FLOWER_WORDS)
    ]


@pytest.fixture(scope="session", autouse=True)
def no_processes_left_behind():
    """After the session, stop the federation service and the Ray head, then check that
    no Ray or Flower process started by the tests is still running."""
    yield
    stop_federation()
    left = flower_processes()
    assert not left, f"processes left running after the federated tests: {left}"


@pytest.fixture(scope="session")
def backdoor_scenario(tmp_path_factory) -> FederatedScenario:
    """Digits, 10 clients (Dirichlet 0.5), client 0 plants a backdoor; trained once."""
    scenario = FederatedScenario(
        dataset="digits", clients=10, forget="client:0", backdoor=True, seed=0,
        cache_dir=tmp_path_factory.mktemp("federated-cache"),
    )
    scenario.original()
    scenario.gold()
    return scenario


@pytest.fixture(scope="session")
def backdoor_scenarios(backdoor_scenario, tmp_path_factory) -> list[FederatedScenario]:
    """The backdoor federation at seeds 0, 1 and 2 (seed 0 is ``backdoor_scenario``)."""
    scenarios = [backdoor_scenario]
    for seed in (1, 2):
        scenario = FederatedScenario(
            dataset="digits", clients=10, forget="client:0", backdoor=True, seed=seed,
            cache_dir=tmp_path_factory.mktemp(f"federated-cache-{seed}"),
        )
        scenario.original()
        scenario.gold()
        scenarios.append(scenario)
    return scenarios
