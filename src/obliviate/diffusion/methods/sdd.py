"""``sdd``: Safe self-Distillation Diffusion (Kim et al., "Towards Safe Self-Distillation of
Internet-Scale Text-to-Image Diffusion Models", 2023).

The model distils its own *unconditional* prediction into its prediction for the concept:

    L = E_{x_t, t} || eps_theta(x_t, c, t) - sg[eps_EMA(x_t, null, t)] ||^2,

where ``eps_EMA`` is an exponential moving average of the student (decay ``ema_decay``;
the paper uses 0.999) and ``sg`` stops gradients. The paper's ``x_t`` come from the
student's own sampler prompted with ``c``; here they are the original's DDIM generations of
``c`` (a pool drawn once) noised to random ``t`` by the forward process, for speed.

In Stable Diffusion SDD fine-tunes the cross-attention layers; in a class-conditional
denoiser the layers that read the prompt (the class label) are the conditioning pathway
(:data:`obliviate.diffusion.models.CONDITIONING_KEYS`), which is what is fine-tuned.
"""

from __future__ import annotations

import torch
from torch import nn

from obliviate.core.contracts import Unlearner, UnlearningRequest
from obliviate.core.params import Interval
from obliviate.core.registry import register
from obliviate.core.training import fit, frozen_copy
from obliviate.diffusion.methods._common import (
    DIFFUSION_KINDS,
    PoolBatches,
    concept_of,
    generated_pool,
    label_batch,
    predict_noise,
    sampler_of,
    scheduler_of,
    select_parameters,
    unfreeze,
)


@register("diffusion", "sdd")
class SDD(Unlearner):
    """Self-distillation of the unconditional prediction into the concept's (see the module docstring).

    Args:
        steps: fine-tuning steps.
        lr: Adam learning rate.
        ema_decay: decay of the EMA teacher.
        batch_size, pool_size: noised images per step; generated images of the concept.
    """

    needs_retain = False
    needs_training_data = False
    forget_kinds = DIFFUSION_KINDS
    paper_params = {"steps": 1500, "lr": 1e-5, "ema_decay": 0.999}
    _parameter_constraints = {
        "steps": [Interval(int, 1, None)],
        "lr": [Interval(float, 0, None, closed="neither")],
        "ema_decay": [Interval(float, 0, 1, closed="left")],
        "batch_size": [Interval(int, 1, None)],
        "pool_size": [Interval(int, 1, None)],
    }

    def __init__(self, *, steps: int = 150, lr: float = 1e-3, ema_decay: float = 0.99, batch_size: int = 64,
                 pool_size: int = 128):
        self.steps = steps
        self.lr = lr
        self.ema_decay = ema_decay
        self.batch_size = batch_size
        self.pool_size = pool_size

    def _unlearn(self, model: nn.Module, request: UnlearningRequest):
        concept, sampler, scheduler = concept_of(request), sampler_of(request), scheduler_of(request)
        teacher = frozen_copy(model)
        pool = generated_pool(teacher, sampler, concept, self.pool_size, request.seed)
        decay = float(self.ema_decay)
        student = dict(model.named_parameters())
        shadow = dict(teacher.named_parameters())

        def loss(net: nn.Module, batch: tuple) -> torch.Tensor:
            x_t, t = batch[0], batch[1]
            with torch.no_grad():
                target = predict_noise(teacher, x_t, t, label_batch(sampler.null_label, x_t))
            return nn.functional.mse_loss(predict_noise(net, x_t, t, label_batch(concept, x_t)), target)

        @torch.no_grad()
        def update_teacher(net: nn.Module) -> None:
            for name, parameter in shadow.items():
                parameter.mul_(decay).add_(student[name].detach(), alpha=1 - decay)

        trained = select_parameters(model, "conditioning")
        try:
            history = fit(
                model, PoolBatches(pool, scheduler, steps=self.steps, batch_size=self.batch_size, seed=request.seed),
                loss_fn=loss, epochs=1, lr=self.lr, params=trained, seed=request.seed, after_step=update_teacher,
            )
        finally:
            unfreeze(model)
        return model, {"steps": history["steps"], "last_loss": history["last_loss"]}
