"""``finetune``: continue training on the graph left after the deletion.

The simplest approximate baseline (the "fine-tuning" baseline of the unlearning
literature; GNNDelete's and D2DGN's comparisons include retraining-style baselines of this
kind): a few full-graph steps of the ordinary training loss on the retained edges or
nodes, passing messages over the retained graph, hoping the deleted elements fade.
"""

from __future__ import annotations

from obliviate.core.contracts import Unlearner, UnlearningRequest
from obliviate.core.params import NONE, Interval
from obliviate.core.registry import register
from obliviate.graph.methods._common import GRAPH_KINDS, check_graph_model, training_recipe
from obliviate.graph.training import train_graph


@register("graph", "finetune")
class Finetune(Unlearner):
    """Fine-tune on the retained graph.

    Args:
        epochs: full-graph Adam steps (default 30).
        lr: learning rate (default: the scenario's recipe).
    """

    forget_kinds = GRAPH_KINDS
    _parameter_constraints = {
        "epochs": [Interval(int, 1, None)],
        "lr": [NONE, Interval(float, 0, None, closed="neither")],
    }

    def __init__(self, *, epochs: int = 30, lr: float | None = None):
        self.epochs = epochs
        self.lr = lr

    def _unlearn(self, model, request: UnlearningRequest):
        check_graph_model(model, "graph/finetune", request.retain)
        recipe = training_recipe(request)
        history = train_graph(
            model,
            request.retain,
            epochs=self.epochs,
            lr=self.lr or recipe["lr"],
            weight_decay=recipe["weight_decay"],
            seed=request.seed,
        )
        return model, {"steps": history["steps"]}
