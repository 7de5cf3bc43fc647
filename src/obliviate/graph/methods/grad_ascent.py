"""``grad_ascent``: gradient ascent on the deleted elements' training loss.

A general unlearning baseline used by GNNDelete (Cheng et al., ICLR 2023) among others:
take Adam steps that *increase* the loss the model was trained with, on the deleted
elements only — for link prediction the binary cross-entropy of the deleted edges as
positives, for node classification the cross-entropy of the deleted nodes' labels. Messages
pass over the retained graph (the graph the model will serve). With no retained-data term
it is fast but easily overshoots; keep the steps few.
"""

from __future__ import annotations

import torch
from torch import nn

from obliviate.core.contracts import Unlearner, UnlearningRequest
from obliviate.core.params import Interval
from obliviate.core.registry import register
from obliviate.graph.adapters import decode_pairs
from obliviate.graph.methods._common import GRAPH_KINDS, check_graph_model
from obliviate.graph.training import train_graph


@register("graph", "grad_ascent")
class GradAscent(Unlearner):
    """Gradient ascent on the deleted edges or nodes.

    Args:
        epochs: full-graph Adam steps (default 5).
        lr: learning rate (default 1e-3).
    """

    needs_retain = True  # messages pass over the retained graph
    forget_kinds = GRAPH_KINDS
    _parameter_constraints = {
        "epochs": [Interval(int, 1, None)],
        "lr": [Interval(float, 0, None, closed="neither")],
    }

    def __init__(self, *, epochs: int = 5, lr: float = 1e-3):
        self.epochs = epochs
        self.lr = lr

    def _unlearn(self, model, request: UnlearningRequest):
        check_graph_model(model, "graph/grad_ascent", request.retain)
        forget, retain = request.forget, request.retain
        edge_index = retain.edge_index

        def ascent_loss(net: nn.Module, batch: tuple) -> torch.Tensor:
            x, pairs, nodes, y = batch[0], batch[2], batch[3], batch[4]
            out = net(x, edge_index)
            if forget.objective == "link":
                logits = decode_pairs(net, out, pairs)
                return -nn.functional.binary_cross_entropy_with_logits(logits, torch.ones_like(logits))
            return -nn.functional.cross_entropy(out[nodes], y[nodes])

        history = train_graph(model, forget, epochs=self.epochs, lr=self.lr, seed=request.seed, loss_fn=ascent_loss)
        return model, {"steps": history["steps"]}
