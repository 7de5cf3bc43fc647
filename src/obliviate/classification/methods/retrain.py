"""``retrain``: the gold standard — retrain from scratch on the retain data only.

Exact unlearning by definition: the forget data never touches the new weights. Every
other method is judged by how close it comes to this model and how much faster it is.
The network is re-initialised (same architecture and state_dict keys, new random draw)
and trained with the scenario's training recipe unless ``epochs``/``lr`` override it.
"""

from __future__ import annotations

from obliviate.classification.methods._common import CLASSIFICATION_KINDS, training_recipe
from obliviate.core.contracts import Unlearner, UnlearningRequest
from obliviate.core.params import NONE, Interval
from obliviate.core.registry import register
from obliviate.core.training import fit, fresh_model


@register("classification", "retrain")
class Retrain(Unlearner):
    """Retrain from scratch on the retain set (the gold model).

    Args:
        epochs: training epochs (default: the scenario's recipe).
        lr: learning rate (default: the scenario's recipe).
    """

    exact = True
    forget_kinds = CLASSIFICATION_KINDS
    _parameter_constraints = {
        "epochs": [NONE, Interval(int, 1, None)],
        "lr": [NONE, Interval(float, 0, None, closed="neither")],
    }

    def __init__(self, *, epochs: int | None = None, lr: float | None = None):
        self.epochs = epochs
        self.lr = lr

    def _unlearn(self, model, request: UnlearningRequest):
        recipe = training_recipe(request)
        model = fresh_model(model, seed=request.seed, factory=request.model_factory)
        history = fit(
            model,
            request.retain,
            epochs=self.epochs or recipe["epochs"],
            lr=self.lr or recipe["lr"],
            batch_size=recipe["batch_size"],
            optimizer=recipe["optimizer"],
            weight_decay=recipe["weight_decay"],
            seed=request.seed,
        )
        return model, {"steps": history["steps"]}
