"""The same ServerApp and ClientApp on Flower's deployment engine: a SuperLink and two
SuperNodes started as real processes on 127.0.0.1, then stopped."""

from __future__ import annotations

import os

import torch

from obliviate.federated import FederatedScenario
from obliviate.federated.deploy import descendants
from obliviate.federated.models import state_copy


def test_deployment_engine_gives_the_simulation_result_and_leaves_no_process():
    scenario = FederatedScenario(dataset="digits", clients=2, forget="client:0", model="mlp", rounds=1, seed=0)
    federation = scenario.federation
    start = state_copy(scenario.new_model())
    before = set(descendants(os.getpid()))
    deployed = federation.run(participants=[0, 1], rounds=1, initial_state=start, engine="deployment")
    assert set(descendants(os.getpid())) <= before  # SuperLink, SuperNodes and their helpers are gone
    simulated = federation.run(participants=[0, 1], rounds=1, initial_state=start)
    for name, value in simulated.state.items():
        assert torch.equal(deployed.state[name], value), name
    assert deployed.round_seconds and deployed.compute_seconds[0] > 0
