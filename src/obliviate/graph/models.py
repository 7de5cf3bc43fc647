"""Graph networks: GCN, GAT, GIN or GraphSAGE encoders with a node-classification or link-prediction use.

One class, :class:`GraphNet`, stacks ``num_layers`` message-passing layers from
torch-geometric (``GCNConv``: Kipf & Welling, ICLR 2017; ``GATConv``: Veličković et al.,
ICLR 2018; ``GINConv``: Xu et al., ICLR 2019; ``SAGEConv``: Hamilton, Ying & Leskovec,
NeurIPS 2017) with ReLU between them. Its output is one vector per node:

* **node classification**: the last layer has ``num_classes`` outputs, read as logits;
* **link prediction**: the last layer gives node embeddings ``z`` and the decoder scores a
  pair by the inner product ``z_u . z_v`` (a logit; GAE, Kipf & Welling 2016).

Every layer is followed by a **deletion operator** (GNNDelete, Cheng et al., ICLR 2023): a
square weight that replaces ``h_i`` by ``h_i W`` for the nodes flagged in the buffer
``deletion_mask`` and leaves the others alone, applied by a forward hook on the layer
(:class:`~obliviate.graph.adapters.OperatorHook`). The weights start as the identity and
the mask starts empty, so the operators change nothing and cost nothing until the
``gnndelete`` method sets them. Any other PyG model works with every method too
(:mod:`obliviate.graph.adapters`); this class is only the built-in recipes.
"""

from __future__ import annotations

from functools import partial
from typing import Callable

import torch
from torch import nn

from obliviate.core.errors import InvalidRequestError, require_extra
from obliviate.graph.adapters import DeletionOperator, OperatorHook

ENCODERS = ("gcn", "gat", "gin", "sage")

__all__ = ["ENCODERS", "DeletionOperator", "GraphNet", "build_model", "recipe_factory"]


class GraphNet(nn.Module):
    """A stack of GCN, GAT, GIN or GraphSAGE layers with a deletion operator after each.

    Args:
        encoder: ``"gcn"``, ``"gat"``, ``"gin"`` or ``"sage"``.
        in_features: node feature width.
        hidden: width of the hidden layers.
        out_features: output width (classes, or the embedding size for link prediction).
        num_nodes: nodes of the graph (size of the deletion mask).
        num_layers: message-passing layers (at least 1).
        dropout: dropout rate on each layer's input while training.
        heads: attention heads of hidden GAT layers (their outputs are concatenated).
    """

    def __init__(
        self,
        encoder: str,
        in_features: int,
        hidden: int,
        out_features: int,
        num_nodes: int,
        *,
        num_layers: int = 2,
        dropout: float = 0.0,
        heads: int = 4,
    ):
        super().__init__()
        if encoder not in ENCODERS:
            raise InvalidRequestError(f"unknown graph encoder '{encoder}'; choose one of: {', '.join(ENCODERS)}")
        if num_layers < 1:
            raise InvalidRequestError(f"num_layers must be at least 1; got {num_layers}")
        pyg_nn = require_extra("torch_geometric.nn", "graph")
        self.encoder = encoder
        self.dropout = dropout
        widths = [in_features] + [hidden] * (num_layers - 1) + [out_features]
        self.convs = nn.ModuleList(
            _conv(pyg_nn, encoder, widths[i], widths[i + 1], last=i == num_layers - 1, heads=heads)
            for i in range(num_layers)
        )
        self.deletion = nn.ModuleList(DeletionOperator(width) for width in widths[1:])
        self.register_buffer("deletion_mask", torch.zeros(num_layers, num_nodes, dtype=torch.bool))
        for layer, conv in enumerate(self.convs):
            conv.register_forward_hook(OperatorHook(self, layer))

    @property
    def num_layers(self) -> int:
        """Number of message-passing layers."""
        return len(self.convs)

    def reset_parameters(self) -> None:
        """Clear the deletion mask (the layers and operators reset themselves)."""
        self.deletion_mask.zero_()

    def deletion_slot(self, layer: int) -> tuple[DeletionOperator, torch.Tensor]:
        """The deletion operator after layer ``layer`` and its node mask."""
        return self.deletion[layer], self.deletion_mask[layer]

    def forward(
        self, x: torch.Tensor, edge_index: torch.Tensor, *, return_all: bool = False
    ) -> torch.Tensor | list[torch.Tensor]:
        """Node outputs of the last layer, or with ``return_all`` every layer's output.

        Layer outputs are taken after the deletion operator and before the ReLU.

        Raises:
            InvalidRequestError: if a deletion mask is set for a graph of another size.
        """
        outputs = []
        h = x
        for layer, conv in enumerate(self.convs):
            if self.dropout > 0:
                h = nn.functional.dropout(h, p=self.dropout, training=self.training)
            h = conv(h, edge_index)
            outputs.append(h)
            if layer < self.num_layers - 1:
                h = torch.relu(h)
        return outputs if return_all else h

    @staticmethod
    def decode(z: torch.Tensor, pairs: torch.Tensor) -> torch.Tensor:
        """Link logits ``z_u . z_v`` of the ``(2, k)`` node pairs."""
        return (z[pairs[0]] * z[pairs[1]]).sum(dim=-1)


def _conv(pyg_nn, encoder: str, width_in: int, width_out: int, *, last: bool, heads: int) -> nn.Module:
    if encoder == "gcn":
        return pyg_nn.GCNConv(width_in, width_out)
    if encoder == "gat":
        if last or width_out % heads:
            return pyg_nn.GATConv(width_in, width_out, heads=1)
        return pyg_nn.GATConv(width_in, width_out // heads, heads=heads)
    if encoder == "sage":
        return pyg_nn.SAGEConv(width_in, width_out)
    mlp = nn.Sequential(nn.Linear(width_in, width_out), nn.ReLU(), nn.Linear(width_out, width_out))
    return pyg_nn.GINConv(mlp)


def build_model(
    encoder: str,
    *,
    in_features: int,
    out_features: int,
    num_nodes: int,
    hidden: int = 64,
    num_layers: int = 2,
    dropout: float = 0.0,
    seed: int | None = 0,
) -> GraphNet:
    """A freshly initialised :class:`GraphNet`, seeded (the global RNG state is restored).

    With ``seed=None`` the current global RNG draws the weights (what a factory called by
    :func:`obliviate.core.training.fresh_model` under its own seed needs).

    Raises:
        InvalidRequestError: for an unknown encoder.
        MissingDependencyError: when torch-geometric is not installed.
    """
    def build() -> GraphNet:
        return GraphNet(
            encoder, in_features, hidden, out_features, num_nodes, num_layers=num_layers, dropout=dropout
        )

    if seed is None:
        return build()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return build()


def recipe_factory(
    encoder: str,
    *,
    in_features: int,
    out_features: int,
    num_nodes: int,
    hidden: int = 64,
    num_layers: int = 2,
    dropout: float = 0.0,
) -> Callable[[], GraphNet]:
    """A zero-argument factory of untrained :class:`GraphNet` s of one recipe (drawn from the
    global RNG, which the caller seeds); what a scenario hands to methods as ``model_factory``.

    Raises:
        InvalidRequestError: for an unknown encoder.
    """
    if encoder not in ENCODERS:
        raise InvalidRequestError(f"unknown graph encoder '{encoder}'; choose one of: {', '.join(ENCODERS)}")
    return partial(
        build_model,
        encoder,
        in_features=in_features,
        out_features=out_features,
        num_nodes=num_nodes,
        hidden=hidden,
        num_layers=num_layers,
        dropout=dropout,
        seed=None,
    )
