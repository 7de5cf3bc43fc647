"""Small generated graphs shared by the graph tests (imported by ``conftest.py`` and the tests)."""

from __future__ import annotations

import pytest

from obliviate.graph.data import make_csbm
from obliviate.graph.scenario import GraphScenario

EDGE_SEEDS = (0, 1, 2)


def needs_torch_geometric() -> None:
    """Skip the calling test when the ``graph`` extra (torch-geometric) is not installed."""
    pytest.importorskip("torch_geometric", reason="the graph task needs the 'graph' extra (torch-geometric)")


def edge_scenario(seed: int) -> GraphScenario:
    """CSBM (300 nodes, 512 features), GCN link prediction, ``edges:0.1``, 400 steps.

    At this size the original model memorises its training edges (its deleted-edge AUC is
    well above gold's), so there is something to unlearn.
    """
    graph = make_csbm(num_nodes=300, num_features=512, seed=seed)
    return GraphScenario(dataset=graph, forget="edges:0.1", model="gcn", seed=seed, epochs=400)


def tiny_scenario(forget: str, model: str = "gcn") -> GraphScenario:
    """A 120-node CSBM graph with 16 features; original and gold train for 40 steps."""
    graph = make_csbm(num_nodes=120, num_features=16, average_degree=6, feature_signal=0.7, seed=0)
    return GraphScenario(dataset=graph, forget=forget, model=model, seed=0, epochs=40)
