"""``finetune``: continue training on the retain data only (catastrophic forgetting).

The simplest approximate baseline (Golatkar et al., CVPR 2020; Warnecke et al., NDSS 2023
call it "fine-tuning"): a few epochs of ordinary training on the retain set, hoping the
forget set's influence fades. It often leaves forgotten classes partly recognisable.
"""

from __future__ import annotations

from obliviate.classification.methods._common import CLASSIFICATION_KINDS
from obliviate.core.contracts import Unlearner, UnlearningRequest
from obliviate.core.params import Interval
from obliviate.core.registry import register
from obliviate.core.training import fit


@register("classification", "finetune")
class Finetune(Unlearner):
    """Fine-tune on retain data.

    Args:
        epochs: passes over the retain set (default 5).
        lr: Adam learning rate (default 1e-3).
        batch_size: batch size (default 64).
    """

    forget_kinds = CLASSIFICATION_KINDS
    _parameter_constraints = {
        "epochs": [Interval(int, 1, None)],
        "lr": [Interval(float, 0, None, closed="neither")],
        "batch_size": [Interval(int, 1, None)],
    }

    def __init__(self, *, epochs: int = 5, lr: float = 1e-3, batch_size: int = 64):
        self.epochs = epochs
        self.lr = lr
        self.batch_size = batch_size

    def _unlearn(self, model, request: UnlearningRequest):
        history = fit(model, request.retain, epochs=self.epochs, lr=self.lr, batch_size=self.batch_size, seed=request.seed)
        return model, {"steps": history["steps"]}
