"""``bad_teacher``: distil from a competent teacher on retain data and an incompetent one on forget data.

Chundawat, Tarun, Mandal and Kankanhalli (AAAI 2023), "Can Bad Teaching Induce
Forgetting? Unlearning in Deep Networks Using an Incompetent Teacher". The student starts
as a copy of the trained model. Two frozen teachers: the competent one ``T_s`` is the
original model, the incompetent one ``T_d`` is the same architecture re-initialised at
random. On a mixed set of forget examples (``l_u = 1``) and a fraction of the retain
examples (``l_u = 0``) the student minimises

    L(x) = (1 - l_u) * KL(T_s(x) || S(x)) + l_u * KL(T_d(x) || S(x)),

with the outputs softened at temperature ``T`` (``KL_temperature = 1`` in the paper).
So the student keeps the original's behaviour on retained data and matches an
uninformed network's output on forgotten data, which a membership attack reads as unseen.

Paper settings: 30% of the retain data, one epoch, Adam with ``lr = 1e-4``. On digits a
30% subset is only a few hundred examples, so one epoch at that rate moves the student
very little; the defaults here keep the 30% subset and ``T = 1`` but use the scenario's
rate ``1e-3``, batches of 32 and a few epochs (still a small fraction of retraining).
"""

from __future__ import annotations

import torch
from torch import nn

from obliviate.classification.methods._common import (
    CLASSIFICATION_KINDS,
    distillation_kl,
    flagged_union,
    random_subset,
)
from obliviate.core.contracts import Unlearner, UnlearningRequest
from obliviate.core.params import Interval
from obliviate.core.registry import register
from obliviate.core.training import fit, fresh_model, frozen_copy


@register("classification", "bad_teacher")
class BadTeacher(Unlearner):
    """Competent/incompetent teacher distillation.

    Args:
        retain_fraction: share of the retain set mixed with the forget set, in (0, 1].
        temperature: softmax temperature of the KL terms (``KL_temperature``).
        epochs: passes over the mixed set.
        lr: Adam learning rate.
        batch_size: batch size of the mixed batches.
    """

    forget_kinds = CLASSIFICATION_KINDS
    paper_params = {"retain_fraction": 0.3, "temperature": 1.0, "epochs": 1, "lr": 1e-4, "batch_size": 256}
    _parameter_constraints = {
        "retain_fraction": [Interval(float, 0, 1, closed="right")],
        "temperature": [Interval(float, 0, None, closed="neither")],
        "epochs": [Interval(int, 1, None)],
        "lr": [Interval(float, 0, None, closed="neither")],
        "batch_size": [Interval(int, 1, None)],
    }

    def __init__(
        self,
        *,
        retain_fraction: float = 0.3,
        temperature: float = 1.0,
        epochs: int = 3,
        lr: float = 1e-3,
        batch_size: int = 32,
    ):
        self.retain_fraction = retain_fraction
        self.temperature = temperature
        self.epochs = epochs
        self.lr = lr
        self.batch_size = batch_size

    def _unlearn(self, model, request: UnlearningRequest):
        competent = frozen_copy(model)
        incompetent = frozen_copy(fresh_model(model, seed=request.seed + 1, factory=request.model_factory))
        retain_part = random_subset(request.retain, self.retain_fraction, seed=request.seed)
        data = flagged_union(request.forget, retain_part)
        temperature = float(self.temperature)

        def loss_fn(student: nn.Module, batch: tuple):
            inputs, _, is_forget = batch
            with torch.no_grad():
                teacher_logits = torch.where(is_forget[:, None], incompetent(inputs), competent(inputs))
            return distillation_kl(student(inputs), teacher_logits, temperature)

        history = fit(
            model, data, loss_fn=loss_fn, epochs=self.epochs, lr=self.lr, batch_size=self.batch_size, seed=request.seed
        )
        return model, {"steps": history["steps"], "retain_used": len(retain_part)}
