"""Graph unlearning: delete edges or nodes from a trained GNN and audit the result.

:class:`~obliviate.graph.scenario.GraphScenario` bundles a graph (the synthetic CSBM
default, or Cora/CiteSeer from their Planetoid files), a GCN/GAT/GIN recipe, a forget spec
(``edges:``, ``class-edges:``, ``nodes:``, ``class-nodes:``) and a seed. Methods
(``retrain``, ``finetune``, ``grad_ascent``, ``gnndelete``, ``d2dgn``) register under the
task ``graph``. torch-geometric (the ``graph`` extra) is imported only when a model is built.
"""

from __future__ import annotations

from obliviate.graph.data import GraphData, GraphPart, load_graph, load_planetoid, make_csbm
from obliviate.graph.scenario import GraphScenario

__all__ = ["GraphData", "GraphPart", "GraphScenario", "load_graph", "load_planetoid", "make_csbm"]
