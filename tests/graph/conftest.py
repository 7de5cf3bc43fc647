"""Fixtures of the graph tests: small generated graphs whose models train in seconds.

* ``edge_scenario``: link prediction on a 300-node CSBM graph, 10% of the training edges
  deleted; original and gold trained once per session (see ``graph_fixtures``).
* ``tiny``: a 120-node graph with short training, for the contract checks that run every
  method twice, once with edge deletion and once with node deletion.
"""

from __future__ import annotations

import pytest
from graph_fixtures import edge_scenario as make_edge_scenario
from graph_fixtures import needs_torch_geometric, tiny_scenario

from obliviate.graph.scenario import GraphScenario


@pytest.fixture(scope="session")
def edge_scenario() -> GraphScenario:
    """The edge-deletion scenario with its original and gold models trained."""
    needs_torch_geometric()
    scenario = make_edge_scenario()
    scenario.original()
    scenario.gold()
    return scenario


@pytest.fixture(scope="session", params=["edges:0.1", "nodes:0.1"])
def tiny(request) -> GraphScenario:
    """The tiny scenario for edge deletion (link prediction) and node deletion (classification)."""
    needs_torch_geometric()
    scenario = tiny_scenario(request.param)
    scenario.original()
    return scenario
