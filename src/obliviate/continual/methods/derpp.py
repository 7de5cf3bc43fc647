"""``der++``: dark experience replay (Buzzega et al., NeurIPS 2020): CE on the new task plus
``alpha * MSE`` to the logits stored with buffer samples and ``beta * CE`` on buffer samples;
a deletion fine-tunes on the purged buffer."""

from __future__ import annotations

from obliviate.continual.methods._common import COMMON_CONSTRAINTS, ContinualUnlearner
from obliviate.core.params import Interval
from obliviate.core.registry import register


@register("continual", "der++")
class DERpp(ContinualUnlearner):
    """Dark experience replay++.

    Args:
        unlearn_epochs, unlearn_lr: fine-tuning on the purged buffer (defaults 20, 5e-3).
        derpp_alpha: logit-replay weight (default 0.1).
        derpp_beta: label-replay weight (default 0.5).
    """

    rule = "der++"
    _parameter_constraints = {
        **COMMON_CONSTRAINTS,
        "derpp_alpha": [Interval(float, 0, None)],
        "derpp_beta": [Interval(float, 0, None)],
    }

    def __init__(self, *, unlearn_epochs: int = 20, unlearn_lr: float = 5e-3, derpp_alpha: float = 0.1,
                 derpp_beta: float = 0.5):
        self.unlearn_epochs = unlearn_epochs
        self.unlearn_lr = unlearn_lr
        self.derpp_alpha = derpp_alpha
        self.derpp_beta = derpp_beta
