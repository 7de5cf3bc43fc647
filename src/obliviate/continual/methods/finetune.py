"""``finetune``: naive sequential training (CE on the new task only); a deletion fine-tunes on the purged buffer."""

from __future__ import annotations

from obliviate.continual.methods._common import COMMON_CONSTRAINTS, ContinualUnlearner
from obliviate.core.registry import register


@register("continual", "finetune")
class Finetune(ContinualUnlearner):
    """Baseline ``finetune``.

    Args:
        unlearn_epochs: fine-tuning steps on the purged buffer, in passes of the forget-set size (default 20).
        unlearn_lr: Adam learning rate of that fine-tuning (default 5e-3).
    """

    rule = "finetune"
    _parameter_constraints = dict(COMMON_CONSTRAINTS)

    def __init__(self, *, unlearn_epochs: int = 20, unlearn_lr: float = 5e-3):
        self.unlearn_epochs = unlearn_epochs
        self.unlearn_lr = unlearn_lr
