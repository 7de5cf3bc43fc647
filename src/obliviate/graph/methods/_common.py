"""Pieces shared by the graph methods (kept here, not copied into each)."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from obliviate.core.contracts import UnlearningRequest
from obliviate.graph.adapters import check_graph_model as check_structure
from obliviate.graph.adapters import probe_layers
from obliviate.graph.data import GraphPart

GRAPH_KINDS = frozenset({"edges", "class-edges", "nodes", "class-nodes", "ids"})


def training_recipe(request: UnlearningRequest) -> dict[str, Any]:
    """The scenario's training recipe (epochs, lr, weight_decay, ...), with defaults."""
    defaults = {"epochs": 200, "lr": 0.01, "weight_decay": 0.0}
    return {**defaults, **request.extras.get("training", {})}


def check_graph_model(model: nn.Module, owner: str, part: GraphPart | None = None) -> None:
    """Refuse a model that is not a graph network; with ``part``, also run it once on that
    graph (so that a wrong ``forward`` signature or output shape is reported plainly).

    Any ``nn.Module`` whose ``forward(x, edge_index)`` runs torch-geometric message-passing
    layers and returns one row per node is accepted (:mod:`obliviate.graph.adapters`).

    Raises:
        UnsupportedModelError: naming what is missing.
    """
    check_structure(model, owner)
    if part is not None:
        probe_layers(model, part.x, part.edge_index)


def deleted_endpoints(forget: GraphPart) -> torch.Tensor:
    """Nodes touched by the deletion: endpoints of the deleted edges and the deleted nodes."""
    return torch.unique(torch.cat([forget.pairs.reshape(-1), forget.nodes]))


def node_mask(nodes: torch.Tensor, num_nodes: int) -> torch.Tensor:
    """Boolean mask of ``nodes`` among ``num_nodes``."""
    mask = torch.zeros(num_nodes, dtype=torch.bool, device=nodes.device)
    mask[nodes] = True
    return mask


class Frozen:
    """Context manager that sets ``requires_grad=False`` on parameters and restores it after."""

    def __init__(self, params):
        self.params = list(params)

    def __enter__(self) -> Frozen:
        self.flags = [p.requires_grad for p in self.params]
        for p in self.params:
            p.requires_grad_(False)
        return self

    def __exit__(self, *exc: Any) -> None:
        for p, flag in zip(self.params, self.flags):
            p.requires_grad_(flag)
