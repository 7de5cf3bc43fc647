"""``retrain``: the gold standard — retrain from scratch on the graph left after the deletion.

Exact unlearning by definition: the deleted edges or nodes never touch the new weights.
The network is built afresh by the request's ``model_factory`` (the scenario's recipe or the
user's own factory), or without one re-initialised from a copy (same architecture and
state_dict keys, new random draw, the deletion operators back to the identity), and trained with the scenario's recipe on the
retained training edges (link prediction) or retained labelled nodes (node
classification), passing messages over the retained graph only.
"""

from __future__ import annotations

from obliviate.core.contracts import Unlearner, UnlearningRequest
from obliviate.core.params import NONE, Interval
from obliviate.core.registry import register
from obliviate.graph.adapters import fresh_graph_model
from obliviate.graph.methods._common import GRAPH_KINDS, check_graph_model, training_recipe
from obliviate.graph.training import train_graph


@register("graph", "retrain")
class Retrain(Unlearner):
    """Retrain from scratch on the retained graph (the gold model).

    Args:
        epochs: training steps (default: the scenario's recipe).
        lr: learning rate (default: the scenario's recipe).
    """

    exact = True
    forget_kinds = GRAPH_KINDS
    _parameter_constraints = {
        "epochs": [NONE, Interval(int, 1, None)],
        "lr": [NONE, Interval(float, 0, None, closed="neither")],
    }

    def __init__(self, *, epochs: int | None = None, lr: float | None = None):
        self.epochs = epochs
        self.lr = lr

    def _unlearn(self, model, request: UnlearningRequest):
        check_graph_model(model, "graph/retrain")
        recipe = training_recipe(request)
        model = fresh_graph_model(model, seed=request.seed, factory=request.model_factory)
        history = train_graph(
            model,
            request.retain,
            epochs=self.epochs or recipe["epochs"],
            lr=self.lr or recipe["lr"],
            weight_decay=recipe["weight_decay"],
            seed=request.seed,
        )
        fresh = "factory" if request.model_factory is not None else "reset_parameters"
        return model, {"steps": history["steps"], "fresh_model": fresh}
