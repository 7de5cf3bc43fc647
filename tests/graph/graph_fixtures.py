"""Small generated graphs shared by the graph tests (imported by ``conftest.py`` and the tests)."""

from __future__ import annotations

import pytest
import torch

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


# -- models and data the toolkit did not define --------------------------------------------

USER_FEATURES = 128


def plain_graphsage():
    """A plain ``torch_geometric.nn.GraphSAGE`` (link prediction embeddings), built untrained;
    named as the factory ``"graph_fixtures:plain_graphsage"``."""
    from torch_geometric.nn import GraphSAGE

    return GraphSAGE(USER_FEATURES, 32, num_layers=2, out_channels=32)


class TwoSage(torch.nn.Module):
    """A tiny user-defined classifier: two ``SAGEConv`` layers, ReLU between them."""

    def __init__(self, in_features: int = 16, classes: int = 4):
        from torch_geometric.nn import SAGEConv

        super().__init__()
        self.first = SAGEConv(in_features, 32)
        self.second = SAGEConv(32, classes)

    def forward(self, x, edge_index):
        return self.second(torch.relu(self.first(x, edge_index)), edge_index)


def pyg_data(graph, **attributes):
    """The graph as a user holds it: a PyG ``Data`` whose ``edge_index`` lists both directions."""
    from torch_geometric.data import Data

    from obliviate.graph.structure import to_message_passing

    return Data(x=graph.x, edge_index=to_message_passing(graph.pairs), y=graph.y, **attributes)


def user_edge_scenario(seed: int, model="graph_fixtures:plain_graphsage") -> GraphScenario:
    """A plain GraphSAGE (via its factory string) on a PyG ``Data`` of a 300-node CSBM graph,
    ``edges:0.1``, 300 steps: the original memorises its training edges."""
    graph = make_csbm(num_nodes=300, num_features=USER_FEATURES, seed=seed)
    return GraphScenario(dataset=pyg_data(graph), forget="edges:0.1", model=model, seed=seed, epochs=300)
