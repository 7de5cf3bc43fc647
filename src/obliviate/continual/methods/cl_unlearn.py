"""``cl_unlearn``: continual learning and unlearning in one framework.

Chatterjee et al., "A unified framework for continual learning and machine unlearning"
(public code ``respailab/CLMUL``, ``models/ocdnet.py``): new tasks with cross-entropy, replay
from a fixed buffer and controlled distillation from an EMA teacher; a deletion drives the
forgotten samples towards a randomly initialised (incompetent) teacher by KL while replay
and distillation keep the rest; forgotten samples are purged from the buffer and never
re-enter it. Formulas in :mod:`obliviate.continual.engine`. The published code's
contrastive (CRD, SupCon) and rotation terms are not implemented.
"""

from __future__ import annotations

from obliviate.continual.methods._common import COMMON_CONSTRAINTS, ContinualUnlearner
from obliviate.core.params import InstanceOf, Interval
from obliviate.core.registry import register


@register("continual", "cl_unlearn")
class CLUnlearn(ContinualUnlearner):
    """Replay + EMA-teacher distillation; unlearning by KL to a bad teacher.

    Args:
        unlearn_epochs: passes over the forget samples (default 20).
        unlearn_lr: Adam learning rate of the unlearning step (default 5e-3).
        replay_weight: weight of the confidence-weighted logit MSE to the EMA teacher (0.1, as CLMUL).
        ema_p: probability of an EMA update after each step (0.7, as CLMUL).
        forget_weight: weight of the KL to the bad teacher (default 1).
        reset_teacher: after a deletion, reset the EMA teacher to the unlearned weights
            (default ``True``; the published code keeps EMA-updating the old teacher, which
            still knows the forgotten data: ``paper_params``).
    """

    rule = "cl"
    _parameter_constraints = {
        **COMMON_CONSTRAINTS,
        "replay_weight": [Interval(float, 0, None)],
        "ema_p": [Interval(float, 0, 1)],
        "forget_weight": [Interval(float, 0, None, closed="neither")],
        "reset_teacher": [InstanceOf(bool)],
    }
    paper_params = {"reset_teacher": False}

    def __init__(self, *, unlearn_epochs: int = 20, unlearn_lr: float = 5e-3, replay_weight: float = 0.1,
                 ema_p: float = 0.7, forget_weight: float = 1.0, reset_teacher: bool = True):
        self.unlearn_epochs = unlearn_epochs
        self.unlearn_lr = unlearn_lr
        self.replay_weight = replay_weight
        self.ema_p = ema_p
        self.forget_weight = forget_weight
        self.reset_teacher = reset_teacher
