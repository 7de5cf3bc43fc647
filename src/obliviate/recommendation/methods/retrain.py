"""``retrain``: the gold standard — retrain from scratch on the retained interactions only.

Exact unlearning by definition: the forgotten interactions never touch the new weights.
A fresh model comes from the request's ``model_factory`` (the scenario's
:meth:`~obliviate.recommendation.scenario.RecommendationScenario.new_model`: the built-in
recipe or the user's ``package.module:callable``); without one a copy of the given model is
re-initialised (``reset_parameters`` of every module, same state_dict keys).
It is then trained with forward BPR on the retained pairs with the scenario's recipe
(negatives avoid the retained positives only: gold does not know what was forgotten);
graph models propagate over the retained pairs.
"""

from __future__ import annotations

from typing import ClassVar

from obliviate.core.contracts import Unlearner, UnlearningRequest
from obliviate.core.errors import UnsupportedModelError
from obliviate.core.params import NONE, Interval
from obliviate.core.registry import register
from obliviate.core.training import fresh_model
from obliviate.recommendation.methods._common import (
    RECOMMENDATION_KINDS,
    prepare,
    serving_graph,
    training_recipe,
)
from obliviate.recommendation.training import train_bpr


@register("recommendation", "retrain")
class Retrain(Unlearner):
    """Retrain from scratch on the retained interactions (the gold model).

    Args:
        epochs: passes over the retained pairs (default: the scenario's recipe).
        lr: Adam learning rate (default: the scenario's recipe).
    """

    exact = True
    forget_kinds = RECOMMENDATION_KINDS
    paper_params: ClassVar[dict] = {}
    _parameter_constraints = {
        "epochs": [NONE, Interval(int, 1, None)],
        "lr": [NONE, Interval(float, 0, None, closed="neither")],
    }

    def __init__(self, *, epochs: int | None = None, lr: float | None = None):
        self.epochs = epochs
        self.lr = lr

    def _unlearn(self, model, request: UnlearningRequest):
        num_items = prepare(model, request, "recommendation/retrain")
        recipe = training_recipe(request)
        fresh = fresh_model(model, seed=request.seed, factory=request.model_factory)
        if type(fresh) is not type(model):
            raise UnsupportedModelError(
                f"recommendation/retrain: the model factory builds a {type(fresh).__name__}, the model given is a "
                f"{type(model).__name__}; pass the factory the model was built with"
            )
        history = train_bpr(
            fresh,
            request.retain.pairs,
            num_items=num_items,
            epochs=self.epochs or recipe["epochs"],
            lr=self.lr or recipe["lr"],
            batch_size=recipe["batch_size"],
            reg=recipe["reg"],
            graph=serving_graph(request),
            seed=request.seed,
        )
        return fresh, {"steps": history["steps"]}
