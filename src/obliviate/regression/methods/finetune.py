"""``finetune``: continue training on the retain data only (catastrophic forgetting).

The baseline of Tarun et al. (ICML 2023, "Deep Regression Unlearning"): the original
model is trained further on the retain set with the L1 loss, hoping that the forget
rows' influence fades. The public code fine-tunes 5 epochs with Adam at ``lr = 1e-3``
(batches of 256 AgeDB images) after 100 epochs of training. By default the epochs here are
the same share, 5% of the scenario's training epochs, at the same rate, on the scenario's
batch size (the built-in data sets have a few hundred to a few thousand rows).
"""

from __future__ import annotations

from typing import ClassVar

from obliviate.core.contracts import Unlearner, UnlearningRequest
from obliviate.core.params import NONE, Interval
from obliviate.core.registry import register
from obliviate.core.training import fit
from obliviate.regression.methods._common import (
    REGRESSION_KINDS,
    TensorBatches,
    budget_batch_size,
    budget_epochs,
    check_regression_model,
    l1_loss,
)

EPOCH_SHARE = 0.05


@register("regression", "finetune")
class Finetune(Unlearner):
    """Fine-tune on retain data with the L1 loss.

    Args:
        epochs: passes over the retain set (default: 5% of the scenario's training epochs).
        lr: Adam learning rate.
        batch_size: batch size (default: the scenario's).
    """

    forget_kinds = REGRESSION_KINDS
    paper_params: ClassVar[dict] = {"epochs": 5, "lr": 1e-3, "batch_size": 256}
    _parameter_constraints = {
        "epochs": [NONE, Interval(int, 1, None)],
        "lr": [Interval(float, 0, None, closed="neither")],
        "batch_size": [NONE, Interval(int, 1, None)],
    }

    def __init__(self, *, epochs: int | None = None, lr: float = 1e-3, batch_size: int | None = None):
        self.epochs = epochs
        self.lr = lr
        self.batch_size = batch_size

    def _unlearn(self, model, request: UnlearningRequest):
        check_regression_model(model, request, "regression/finetune")
        history = fit(
            model,
            TensorBatches(request.retain, batch_size=budget_batch_size(self.batch_size, request), seed=request.seed),
            loss_fn=l1_loss,
            epochs=budget_epochs(self.epochs, request, EPOCH_SHARE),
            lr=self.lr,
            seed=request.seed,
        )
        return model, {"steps": history["steps"]}
