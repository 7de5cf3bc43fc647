"""``concept_ablation``: Ablating Concepts in Text-to-Image Diffusion Models (Kumari et al., ICCV 2023).

The concept ``c`` is mapped onto an **anchor** concept ``a``: the model learns to predict,
when prompted with ``c``, what the frozen original predicts for ``a`` on images of ``a``
(the paper's model-based variant),

    L = E_{x_t ~ anchor images, t} || eps_theta(x_t, c, t) - eps*(x_t, a, t) ||^2
        + lambda E || eps_theta(x_t, a, t) - eps ||^2,

the second term (the paper's regularisation on anchor images, weight ``lambda``) keeps the
anchor itself intact. Anchor images are the original's DDIM generations of ``a``.

In Stable Diffusion the paper fine-tunes the cross-attention key/value projections (the
layers that read the prompt); in a class-conditional denoiser the prompt is the class label
and the layers that read it are the conditioning pathway (class embedding and the
projections of the conditioning vector, :data:`obliviate.diffusion.models.CONDITIONING_KEYS`),
which is what is fine-tuned here (``parameters="conditioning"``; ``"all"`` is the paper's
full-weights variant). The anchor is a neighbouring digit, ``(c + 1) mod 10`` unless
``anchor`` is given: digits have no superset concept ("cat" for "Grumpy Cat").
"""

from __future__ import annotations

import torch
from torch import nn

from obliviate.core.contracts import Unlearner, UnlearningRequest
from obliviate.core.errors import InvalidParameterError
from obliviate.core.params import NONE, Interval, Options
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


@register("diffusion", "concept_ablation")
class ConceptAblation(Unlearner):
    """Map the concept onto an anchor concept (see the module docstring).

    Args:
        anchor: the anchor class (default ``(concept + 1) mod num_classes``).
        steps: fine-tuning steps.
        lr: Adam learning rate.
        regularization: ``lambda``, weight of the denoising loss on anchor images.
        parameters: ``"conditioning"`` (the cross-attention analogue) or ``"all"``.
        batch_size, pool_size: noised anchor images per step; generated anchor images.
    """

    needs_retain = False
    needs_training_data = False
    forget_kinds = DIFFUSION_KINDS
    paper_params = {"steps": 400, "lr": 2e-6}
    _parameter_constraints = {
        "anchor": [NONE, Interval(int, 0, None)],
        "steps": [Interval(int, 1, None)],
        "lr": [Interval(float, 0, None, closed="neither")],
        "regularization": [Interval(float, 0, None)],
        "parameters": [Options({"conditioning", "all"})],
        "batch_size": [Interval(int, 1, None)],
        "pool_size": [Interval(int, 1, None)],
    }

    def __init__(self, *, anchor: int | None = None, steps: int = 150, lr: float = 3e-4, regularization: float = 1.0,
                 parameters: str = "conditioning", batch_size: int = 64, pool_size: int = 128):
        self.anchor = anchor
        self.steps = steps
        self.lr = lr
        self.regularization = regularization
        self.parameters = parameters
        self.batch_size = batch_size
        self.pool_size = pool_size

    def _unlearn(self, model: nn.Module, request: UnlearningRequest):
        concept, sampler, scheduler = concept_of(request), sampler_of(request), scheduler_of(request)
        classes = int(request.num_classes or sampler.null_label)
        anchor = (concept + 1) % classes if self.anchor is None else int(self.anchor)
        if anchor == concept or anchor >= classes:
            raise InvalidParameterError(
                f"diffusion/concept_ablation: anchor must be a class in 0..{classes - 1} other than the concept {concept}; got {anchor}"
            )
        teacher = frozen_copy(model)
        pool = generated_pool(teacher, sampler, anchor, self.pool_size, request.seed)
        weight = float(self.regularization)

        def loss(net: nn.Module, batch: tuple) -> torch.Tensor:
            x_t, t, noise = batch[0], batch[1], batch[2]
            with torch.no_grad():
                target = predict_noise(teacher, x_t, t, label_batch(anchor, x_t))
            both = predict_noise(
                net, torch.cat([x_t, x_t]), torch.cat([t, t]),
                torch.cat([label_batch(concept, x_t), label_batch(anchor, x_t)]),
            )
            as_concept, as_anchor = both.chunk(2)
            ablation = nn.functional.mse_loss(as_concept, target)
            return ablation + weight * nn.functional.mse_loss(as_anchor, noise)

        trained = select_parameters(model, self.parameters)
        try:
            history = fit(
                model, PoolBatches(pool, scheduler, steps=self.steps, batch_size=self.batch_size, seed=request.seed),
                loss_fn=loss, epochs=1, lr=self.lr, params=trained, seed=request.seed,
            )
        finally:
            unfreeze(model)
        return model, {"steps": history["steps"], "last_loss": history["last_loss"], "anchor": anchor}
