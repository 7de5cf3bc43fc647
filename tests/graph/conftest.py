"""Fixtures of the graph tests: small generated graphs whose models train in seconds.

* ``edge_scenarios``: link prediction on a 300-node CSBM graph, 10% of the training edges
  deleted, at seeds 0-2; original and gold trained once per session (see ``graph_fixtures``).
* ``tiny``: a 120-node graph with short training, for the contract checks that run every
  method twice, once with edge deletion and once with node deletion.
"""

from __future__ import annotations

import pytest
from graph_fixtures import EDGE_SEEDS, needs_torch_geometric, tiny_scenario
from graph_fixtures import edge_scenario as make_edge_scenario

from obliviate.graph.scenario import GraphScenario


@pytest.fixture(scope="session")
def edge_scenarios() -> list[GraphScenario]:
    """The edge-deletion scenario at seeds 0, 1 and 2, original and gold trained."""
    needs_torch_geometric()
    scenarios = []
    for seed in EDGE_SEEDS:
        scenario = make_edge_scenario(seed)
        scenario.original()
        scenario.gold()
        scenarios.append(scenario)
    return scenarios


@pytest.fixture(scope="session", params=["edges:0.1", "nodes:0.1"])
def tiny(request) -> GraphScenario:
    """The tiny scenario for edge deletion (link prediction) and node deletion (classification)."""
    needs_torch_geometric()
    scenario = tiny_scenario(request.param)
    scenario.original()
    return scenario
