"""``finetune``: continue forward-BPR training on the retained interactions only.

The usual baseline (e.g. in MMRecUN's comparison): the forgotten interactions are no
longer shown, so their influence fades only as far as the retained data overwrites it.
Negatives avoid the retained positives (a forgotten item may be drawn as a negative, as it
would be for gold); graph models propagate over the retained pairs.
"""

from __future__ import annotations

from typing import ClassVar

from obliviate.core.contracts import Unlearner, UnlearningRequest
from obliviate.core.params import NONE, Interval
from obliviate.core.registry import register
from obliviate.recommendation.methods._common import (
    RECOMMENDATION_KINDS,
    prepare,
    serving_graph,
    training_recipe,
)
from obliviate.recommendation.training import train_bpr


@register("recommendation", "finetune")
class Finetune(Unlearner):
    """Forward BPR on the retained pairs, starting from the trained model.

    Args:
        epochs: passes over the retained pairs (default 4).
        lr: Adam learning rate (default: the scenario's recipe).
    """

    forget_kinds = RECOMMENDATION_KINDS
    paper_params: ClassVar[dict] = {}
    _parameter_constraints = {
        "epochs": [Interval(int, 1, None)],
        "lr": [NONE, Interval(float, 0, None, closed="neither")],
    }

    def __init__(self, *, epochs: int = 4, lr: float | None = None):
        self.epochs = epochs
        self.lr = lr

    def _unlearn(self, model, request: UnlearningRequest):
        num_items = prepare(model, request, "recommendation/finetune")
        recipe = training_recipe(request)
        history = train_bpr(
            model,
            request.retain.pairs,
            num_items=num_items,
            epochs=self.epochs,
            lr=self.lr or recipe["lr"],
            batch_size=recipe["batch_size"],
            reg=recipe["reg"],
            graph=serving_graph(request),
            seed=request.seed,
        )
        return model, {"steps": history["steps"]}
