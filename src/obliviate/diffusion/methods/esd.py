"""``esd_x`` and ``esd_u``: Erased Stable Diffusion (Gandikota et al., "Erasing Concepts from
Diffusion Models", ICCV 2023).

The model is fine-tuned so that its conditional prediction for the concept ``c`` follows the
frozen original's prediction *negatively guided* away from ``c``:

    L = E_{x_t, t} || eps_theta(x_t, c, t) - [eps*(x_t, null, t) - eta (eps*(x_t, c, t) - eps*(x_t, null, t))] ||^2

with ``eps*`` the frozen original and ``eta`` the negative-guidance strength (1 in the paper).
ESD needs no training data: its ``x_t`` are the model's own images of ``c``. Here they are
the original's DDIM generations of ``c`` (a pool drawn once), noised to random ``t`` by the
forward process, instead of partial denoising runs at every step -- the same marginals up to
the sampler's error, at a fraction of the cost.

Which weights move is the difference between the two variants. In Stable Diffusion ESD-x
fine-tunes only the cross-attention layers (the only layers that read the prompt) and ESD-u
every other layer. In a class-conditional denoiser the prompt is the class label, and the
layers that read it are the **conditioning pathway**: the class embedding table and the
layers that project the conditioning vector into the network (the FiLM projections of the
built-in denoiser, the ResNet blocks' ``time_emb_proj`` in a diffusers ``UNet2DModel``;
:data:`obliviate.diffusion.models.CONDITIONING_KEYS`). ``esd_x`` fine-tunes that pathway,
``esd_u`` the rest of the network.
"""

from __future__ import annotations

from typing import ClassVar

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


class _ESD(Unlearner):
    """Shared body of ``esd_x`` and ``esd_u``.

    Args:
        steps: fine-tuning steps.
        lr: Adam learning rate.
        negative_guidance: ``eta``, the strength of the guidance away from the concept.
        batch_size: noised images per step.
        pool_size: the original's generations of the concept used as ``x_0``.
    """

    needs_retain = False
    needs_training_data = False
    forget_kinds = DIFFUSION_KINDS
    parameters_trained: ClassVar[str] = "conditioning"
    paper_params: ClassVar[dict] = {"steps": 1000, "lr": 1e-5, "negative_guidance": 1.0}
    _parameter_constraints = {
        "steps": [Interval(int, 1, None)],
        "lr": [Interval(float, 0, None, closed="neither")],
        "negative_guidance": [Interval(float, 0, None)],
        "batch_size": [Interval(int, 1, None)],
        "pool_size": [Interval(int, 1, None)],
    }

    def __init__(self, *, steps: int = 150, lr: float = 3e-4, negative_guidance: float = 1.0,
                 batch_size: int = 64, pool_size: int = 128):
        self.steps = steps
        self.lr = lr
        self.negative_guidance = negative_guidance
        self.batch_size = batch_size
        self.pool_size = pool_size

    def _unlearn(self, model: nn.Module, request: UnlearningRequest):
        concept, sampler, scheduler = concept_of(request), sampler_of(request), scheduler_of(request)
        teacher = frozen_copy(model)
        pool = generated_pool(teacher, sampler, concept, self.pool_size, request.seed)
        eta = float(self.negative_guidance)

        def loss(net: nn.Module, batch: tuple) -> torch.Tensor:
            x_t, t = batch[0], batch[1]
            with torch.no_grad():
                both = predict_noise(
                    teacher, torch.cat([x_t, x_t]), torch.cat([t, t]),
                    torch.cat([label_batch(concept, x_t), label_batch(sampler.null_label, x_t)]),
                )
                conditional, unconditional = both.chunk(2)
                target = unconditional - eta * (conditional - unconditional)
            return nn.functional.mse_loss(predict_noise(net, x_t, t, label_batch(concept, x_t)), target)

        trained = select_parameters(model, self.parameters_trained)
        try:
            history = fit(
                model, PoolBatches(pool, scheduler, steps=self.steps, batch_size=self.batch_size, seed=request.seed),
                loss_fn=loss, epochs=1, lr=self.lr, params=trained, seed=request.seed,
            )
        finally:
            unfreeze(model)
        return model, {"steps": history["steps"], "last_loss": history["last_loss"], "parameters_trained": self.parameters_trained}


@register("diffusion", "esd_x")
class ESDX(_ESD):
    """ESD-x: negative guidance, fine-tuning the conditioning pathway only (Stable
    Diffusion's cross-attention; see the module docstring)."""

    parameters_trained = "conditioning"


@register("diffusion", "esd_u")
class ESDU(_ESD):
    """ESD-u: negative guidance, fine-tuning every layer except the conditioning pathway
    (Stable Diffusion's non-cross-attention layers; see the module docstring)."""

    parameters_trained = "unconditioned"
