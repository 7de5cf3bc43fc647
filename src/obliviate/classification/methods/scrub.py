"""``scrub``: SCRUB — a student that moves away from its teacher on forget data only.

Kurmanji, Triantafillou, Hayes and Triantafillou (NeurIPS 2023), "Towards Unbounded
Machine Unlearning". The teacher is the frozen original model; the student starts as a
copy of it. Writing ``d(x) = KL(p_teacher(x) || p_student(x))`` with outputs softened at
temperature ``T``, training alternates

* **max-steps** (an epoch over the forget set):   minimise ``-d(x_f)``  (push away), and
* **min-steps** (an epoch over the retain set):   minimise ``alpha * d(x_r) + gamma * CE(x_r)``
  (stay with the teacher, stay accurate),

for ``epochs`` epochs, with a max-step epoch only in the first ``msteps`` of them (each
followed by its min-step epoch) and min-steps alone afterwards, so that the model ends
on retain-set fidelity. One optimizer carries its state across all steps.

Defaults are the paper's large-scale settings (``T = 4``, ``gamma = 0.99``,
``alpha = 0.001``, two max-step epochs, Adam), shortened for small data to four epochs in
all at the scenario's learning rate 1e-3. The paper's small-scale settings (``T = 2``,
``gamma = 1``, ``alpha = 0.5``, three max-step epochs, ten epochs) are
:attr:`Scrub.paper_params` (``--params paper``); with a retain KL weight as large as 0.5
the MLP kept recognising most of a removed digit class.
"""

from __future__ import annotations

from torch import nn

from obliviate.classification.methods._common import CLASSIFICATION_KINDS, distillation_kl
from obliviate.core.contracts import Unlearner, UnlearningRequest
from obliviate.core.params import Interval
from obliviate.core.registry import register
from obliviate.core.training import fit, frozen_copy, make_loader, make_optimizer


@register("classification", "scrub")
class Scrub(Unlearner):
    """SCRUB: alternate forget-set KL ascent and retain-set distillation.

    Args:
        epochs: total epochs (each has a min-step pass over retain).
        msteps: how many of the first epochs also start with a max-step pass over forget.
        temperature: softmax temperature ``T`` of the KL terms.
        alpha: weight of the retain KL in the min-steps.
        gamma: weight of the retain cross-entropy in the min-steps.
        lr: Adam learning rate.
        batch_size: batch size for both passes.
    """

    forget_kinds = CLASSIFICATION_KINDS
    paper_params = {"temperature": 2.0, "gamma": 1.0, "alpha": 0.5, "msteps": 3, "epochs": 10}
    _parameter_constraints = {
        "epochs": [Interval(int, 1, None)],
        "msteps": [Interval(int, 0, None)],
        "temperature": [Interval(float, 0, None, closed="neither")],
        "alpha": [Interval(float, 0, None)],
        "gamma": [Interval(float, 0, None)],
        "lr": [Interval(float, 0, None, closed="neither")],
        "batch_size": [Interval(int, 1, None)],
    }

    def __init__(
        self,
        *,
        epochs: int = 4,
        msteps: int = 2,
        temperature: float = 4.0,
        alpha: float = 0.001,
        gamma: float = 0.99,
        lr: float = 1e-3,
        batch_size: int = 64,
    ):
        self.epochs = epochs
        self.msteps = msteps
        self.temperature = temperature
        self.alpha = alpha
        self.gamma = gamma
        self.lr = lr
        self.batch_size = batch_size

    def _unlearn(self, model, request: UnlearningRequest):
        teacher = frozen_copy(model)
        temperature = float(self.temperature)
        alpha, gamma = float(self.alpha), float(self.gamma)

        def max_loss(student: nn.Module, batch: tuple):
            inputs = batch[0]
            return -distillation_kl(student(inputs), teacher(inputs), temperature)

        def min_loss(student: nn.Module, batch: tuple):
            inputs, labels = batch[0], batch[1]
            logits = student(inputs)
            return alpha * distillation_kl(logits, teacher(inputs), temperature) + gamma * nn.functional.cross_entropy(
                logits, labels
            )

        optimizer = make_optimizer(model.parameters(), "adam", lr=self.lr)
        forget_batches = make_loader(request.forget, batch_size=self.batch_size, shuffle=True, seed=request.seed + 1)
        retain_batches = make_loader(request.retain, batch_size=self.batch_size, shuffle=True, seed=request.seed)
        max_steps = min_steps = 0
        for epoch in range(self.epochs):
            if epoch < self.msteps:
                max_steps += fit(model, forget_batches, loss_fn=max_loss, epochs=1, optimizer=optimizer)["steps"]
            min_steps += fit(model, retain_batches, loss_fn=min_loss, epochs=1, optimizer=optimizer)["steps"]
        return model, {"max_steps": max_steps, "min_steps": min_steps}
