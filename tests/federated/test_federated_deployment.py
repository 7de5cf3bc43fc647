"""The same ServerApp and ClientApp on Flower's deployment engine: a SuperLink and two
SuperNodes started as real processes on 127.0.0.1, then stopped; every node keeps only its
own shard, named by its node config."""

from __future__ import annotations

import dataclasses
import os
from types import SimpleNamespace

import pytest
import torch

from obliviate.core.errors import DataError
from obliviate.federated import FederatedScenario
from obliviate.federated.data import SHARD_PATTERN, read_shard
from obliviate.federated.deploy import descendants, provision_node_data
from obliviate.federated.engine import FederationError, FederationPlan
from obliviate.federated.flower_app import _shard_dir
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


def test_every_node_gets_a_folder_holding_only_its_own_shard(tmp_path):
    scenario = FederatedScenario(dataset="digits", clients=3, forget="client:0", model="mlp", rounds=1, seed=0)
    plan = FederationPlan(mode="fedavg", num_clients=3, participants=[0, 1, 2], rounds=1, model={}, training={},
                          seed=0, shard_dir=str(scenario.shard_dir), initial="", output="", summary="")
    folders = provision_node_data(plan, tmp_path / "nodes")
    for client, folder in folders.items():
        assert [p.name for p in folder.iterdir()] == [SHARD_PATTERN.format(client)]
        assert torch.equal(read_shard(folder, client).tensors[1], scenario.client_data(client).tensors[1])
    with pytest.raises(DataError, match="client 0's shard"):
        provision_node_data(dataclasses.replace(plan, shard_dir=str(tmp_path / "elsewhere")), tmp_path / "more")


def test_a_node_that_does_not_know_where_its_data_is_says_how_to_start_it():
    node = SimpleNamespace(node_config={"partition-id": 0, "num-partitions": 2})
    with pytest.raises(FederationError, match="shard-dir="):
        _shard_dir(node, {"model": {}, "training": {}, "seed": 0})
    assert _shard_dir(SimpleNamespace(node_config={"shard-dir": "/data/mine"}), {"shard_dir": "/server/path"}) == "/data/mine"


def test_simulated_nodes_read_their_own_staged_shard_named_by_a_data_set_not_a_path(tmp_path, monkeypatch):
    from obliviate.federated import engine

    monkeypatch.setenv(engine.NODE_DATA_VARIABLE, str(tmp_path / "nodes"))
    scenario = FederatedScenario(dataset="digits", clients=3, forget="client:0", model="mlp", rounds=1, seed=0)
    plan = FederationPlan(mode="fedavg", num_clients=3, participants=[1, 2], rounds=1, model={}, training={},
                          seed=0, shard_dir=str(scenario.shard_dir), initial="", output="", summary="")
    name = engine.stage_simulated_nodes(plan)
    assert "/" not in name and not (tmp_path / "nodes" / "node-0000").exists()  # client 0 does not take part
    for client in (1, 2):
        folder = engine.node_folder(tmp_path / "nodes", client) / name
        assert [p.name for p in folder.iterdir()] == [SHARD_PATTERN.format(client)]
        node = SimpleNamespace(node_config={"partition-id": client, "num-partitions": 3})
        assert _shard_dir(node, {"data": name}) == str(folder)
        assert torch.equal(read_shard(_shard_dir(node, {"data": name}), client).tensors[0],
                           scenario.client_data(client).tensors[0])
    engine._remove_staged()
    assert not (engine.node_folder(tmp_path / "nodes", 1) / name).exists()
