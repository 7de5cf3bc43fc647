"""``retrain``: the gold standard — retrain from scratch on the retain data only.

Exact unlearning by definition: the forget rows never touch the new weights. The fresh
network comes from the request's ``model_factory`` (the scenario's recipe builder or the
user's own factory; :func:`obliviate.core.training.fresh_model`), never from the trained weights, and
is trained with the scenario's recipe (Adam on the L1 loss, as in Tarun et al., ICML 2023)
unless ``epochs``/``lr`` override it.
"""

from __future__ import annotations

from typing import ClassVar

from obliviate.core.contracts import Unlearner, UnlearningRequest
from obliviate.core.params import NONE, Interval
from obliviate.core.registry import register
from obliviate.core.training import fit, fresh_model
from obliviate.regression.methods._common import (
    REGRESSION_KINDS,
    TensorBatches,
    check_regression_model,
    l1_loss,
    training_recipe,
)


@register("regression", "retrain")
class Retrain(Unlearner):
    """Retrain from scratch on the retain set (the gold model).

    Args:
        epochs: training epochs (default: the scenario's recipe).
        lr: learning rate (default: the scenario's recipe).
    """

    exact = True
    forget_kinds = REGRESSION_KINDS
    # The public code trains 100 epochs with Adam at lr 0.01 (batches of 256, L1 loss).
    paper_params: ClassVar[dict] = {"epochs": 100, "lr": 0.01}
    _parameter_constraints = {
        "epochs": [NONE, Interval(int, 1, None)],
        "lr": [NONE, Interval(float, 0, None, closed="neither")],
    }

    def __init__(self, *, epochs: int | None = None, lr: float | None = None):
        self.epochs = epochs
        self.lr = lr

    def _unlearn(self, model, request: UnlearningRequest):
        check_regression_model(model, request, "regression/retrain")
        recipe = training_recipe(request)
        network = fresh_model(model, seed=request.seed, factory=request.model_factory)
        history = fit(
            network,
            TensorBatches(request.retain, batch_size=recipe["batch_size"], seed=request.seed),
            loss_fn=l1_loss,
            epochs=self.epochs or recipe["epochs"],
            lr=self.lr or recipe["lr"],
            optimizer=recipe["optimizer"],
            weight_decay=recipe["weight_decay"],
            seed=request.seed,
        )
        return network, {"steps": history["steps"], "fresh_model": "factory" if request.model_factory is not None else "reset_parameters"}
