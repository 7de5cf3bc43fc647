"""``er``: experience replay (Chaudhry et al., 2019): CE on the new task and on a buffer batch; a deletion fine-tunes on the purged buffer."""

from __future__ import annotations

from obliviate.continual.methods._common import COMMON_CONSTRAINTS, ContinualUnlearner
from obliviate.core.registry import register


@register("continual", "er")
class ER(ContinualUnlearner):
    """Baseline ``er``.

    Args:
        unlearn_epochs: fine-tuning steps on the purged buffer, in passes of the forget-set size (default 20).
        unlearn_lr: Adam learning rate of that fine-tuning (default 5e-3).
    """

    rule = "er"
    _parameter_constraints = dict(COMMON_CONSTRAINTS)

    def __init__(self, *, unlearn_epochs: int = 20, unlearn_lr: float = 5e-3):
        self.unlearn_epochs = unlearn_epochs
        self.unlearn_lr = unlearn_lr
