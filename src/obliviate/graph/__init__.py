"""Graph unlearning: delete edges or nodes from a trained GNN and audit the result.

:class:`~obliviate.graph.scenario.GraphScenario` bundles a graph (the synthetic CSBM
default, Cora/CiteSeer from their Planetoid files, or your own PyG ``Data`` / ``.npz`` with
your split and ids), a model (a GCN/GAT/GIN/GraphSAGE recipe or your own factory), a forget
spec (``edges:``, ``class-edges:``, ``nodes:``, ``class-nodes:``, ``ids:``) and a seed.
Methods (``retrain``, ``finetune``, ``grad_ascent``, ``gnndelete``, ``d2dgn``) register under
the task ``graph`` and work on any PyG model whose ``forward`` takes ``(x, edge_index)``
(:mod:`obliviate.graph.adapters`). torch-geometric (the ``graph`` extra) is imported only
when a model is built.
"""

from __future__ import annotations

from obliviate.graph.adapters import load_graph_weights, restore_deletion_operators
from obliviate.graph.data import (
    GraphData,
    GraphPart,
    from_pyg,
    graph_from_arrays,
    load_graph,
    load_graph_npz,
    load_planetoid,
    make_csbm,
)
from obliviate.graph.scenario import GraphScenario

__all__ = [
    "GraphData",
    "GraphPart",
    "GraphScenario",
    "from_pyg",
    "graph_from_arrays",
    "load_graph",
    "load_graph_npz",
    "load_graph_weights",
    "load_planetoid",
    "make_csbm",
    "restore_deletion_operators",
]
