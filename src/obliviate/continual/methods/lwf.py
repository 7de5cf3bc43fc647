"""``lwf``: learning without forgetting (Li & Hoiem, ECCV 2016): CE on the new task plus
``lambda * T^2 * KL`` to the outputs of a snapshot taken before the task; a deletion
fine-tunes on the purged buffer (the stream's shared buffer)."""

from __future__ import annotations

from obliviate.continual.methods._common import COMMON_CONSTRAINTS, ContinualUnlearner
from obliviate.core.params import Interval
from obliviate.core.registry import register


@register("continual", "lwf")
class LwF(ContinualUnlearner):
    """Learning without forgetting.

    Args:
        unlearn_epochs, unlearn_lr: fine-tuning on the purged buffer (defaults 20, 5e-3).
        lwf_temperature: distillation temperature (default 2).
        lwf_weight: distillation weight lambda (default 1).
    """

    rule = "lwf"
    _parameter_constraints = {
        **COMMON_CONSTRAINTS,
        "lwf_temperature": [Interval(float, 0, None, closed="neither")],
        "lwf_weight": [Interval(float, 0, None)],
    }

    def __init__(self, *, unlearn_epochs: int = 20, unlearn_lr: float = 5e-3, lwf_temperature: float = 2.0,
                 lwf_weight: float = 1.0):
        self.unlearn_epochs = unlearn_epochs
        self.unlearn_lr = unlearn_lr
        self.lwf_temperature = lwf_temperature
        self.lwf_weight = lwf_weight
