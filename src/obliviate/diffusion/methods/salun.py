"""``salun``: Saliency Unlearning (Fan et al., "SalUn: Empowering Machine Unlearning via
Gradient-based Weight Saliency", ICLR 2024), in its form for conditional diffusion models.

1. **Saliency mask.** ``m = 1[|grad_theta l_MSE(theta; D_f)| >= gamma]``, the gradient of the
   denoising loss on the forget images with their own label, thresholded at its
   ``sparsity`` quantile over all weights (the paper keeps the top 50%).
2. **Random-label fine-tuning of the salient weights.** With ``c'`` a random label other
   than ``c``,

       L = E_{(x, c) in D_f, t, eps} || eps_theta(x_t, c, t) - sg[eps_theta(x_t, c', t)] ||^2
           + beta l_MSE(theta; D_r),

   updating only the weights where ``m = 1`` (gradients are multiplied by the mask).

SalUn is not tied to the prompt layers: its mask is computed over every weight, so in a
class-conditional denoiser it covers the conditioning pathway and the rest of the network
alike. It needs the forget images and retain data.
"""

from __future__ import annotations

import torch
from torch import nn

from obliviate.core.contracts import Unlearner, UnlearningRequest
from obliviate.core.params import Interval
from obliviate.core.registry import register
from obliviate.core.training import fit
from obliviate.diffusion.methods._common import (
    DIFFUSION_KINDS,
    concept_of,
    denoising_loss,
    null_label_of,
    predict_noise,
    scheduler_of,
    tensors,
)


class _ForgetRetainBatches:
    """``steps`` batches ``(forget images, retain images, retain labels)``, seeded."""

    def __init__(self, forget: torch.Tensor, retain: tuple[torch.Tensor, torch.Tensor], *, steps: int, batch_size: int, seed: int):
        self.forget, self.retain = forget, retain
        self.steps, self.batch_size, self.seed = steps, batch_size, seed

    def __iter__(self):
        generator = torch.Generator().manual_seed(self.seed)
        for _ in range(self.steps):
            f = torch.randint(0, len(self.forget), (min(self.batch_size, len(self.forget)),), generator=generator)
            r = torch.randint(0, len(self.retain[1]), (self.batch_size,), generator=generator)
            yield self.forget[f], self.retain[0][r], self.retain[1][r]

    def __len__(self) -> int:
        return self.steps


@register("diffusion", "salun")
class SalUn(Unlearner):
    """Saliency-masked random-label fine-tuning (see the module docstring).

    Args:
        steps: fine-tuning steps.
        lr: Adam learning rate.
        sparsity: the quantile of ``|gradient|`` below which weights are frozen (0.5 in the paper).
        retain_weight: ``beta``, weight of the denoising loss on retain data.
        batch_size: images per step (of each part).
    """

    needs_retain = True
    forget_kinds = DIFFUSION_KINDS
    paper_params = {"steps": 1000, "lr": 1e-5, "sparsity": 0.5, "retain_weight": 1.0}
    _parameter_constraints = {
        "steps": [Interval(int, 1, None)],
        "lr": [Interval(float, 0, None, closed="neither")],
        "sparsity": [Interval(float, 0, 1, closed="left")],
        "retain_weight": [Interval(float, 0, None)],
        "batch_size": [Interval(int, 1, None)],
    }

    def __init__(self, *, steps: int = 150, lr: float = 1e-3, sparsity: float = 0.5, retain_weight: float = 1.0,
                 batch_size: int = 64):
        self.steps = steps
        self.lr = lr
        self.sparsity = sparsity
        self.retain_weight = retain_weight
        self.batch_size = batch_size

    def saliency_mask(self, model: nn.Module, request: UnlearningRequest) -> dict[str, torch.Tensor]:
        """``{name: 0/1 mask}``: weights whose forget-loss gradient magnitude reaches the ``sparsity`` quantile."""
        scheduler, null_label = scheduler_of(request), null_label_of(request)
        images, labels = tensors(request.forget)
        model.zero_grad(set_to_none=True)
        model.train()
        denoising_loss(model, images, labels, scheduler, null_label).backward()
        gradients = {name: p.grad.detach().abs() for name, p in model.named_parameters() if p.grad is not None}
        model.zero_grad(set_to_none=True)
        flat = torch.cat([g.reshape(-1) for g in gradients.values()])
        threshold = torch.quantile(flat[torch.randperm(flat.numel())[: 1_000_000]], float(self.sparsity))
        return {name: (g >= threshold).to(g.dtype) for name, g in gradients.items()}

    def _unlearn(self, model: nn.Module, request: UnlearningRequest):
        concept, scheduler, null_label = concept_of(request), scheduler_of(request), null_label_of(request)
        classes = int(request.num_classes or null_label)
        mask = self.saliency_mask(model, request)
        forget_images, _ = tensors(request.forget)
        retain = tensors(request.retain)
        weight = float(self.retain_weight)
        generator = torch.Generator().manual_seed(request.seed)

        def loss(net: nn.Module, batch: tuple) -> torch.Tensor:
            x0, retain_x, retain_y = batch
            noise = torch.randn_like(x0)
            t = torch.randint(0, scheduler.config.num_train_timesteps, (x0.shape[0],), device=x0.device)
            x_t = scheduler.add_noise(x0, noise, t)
            shift = torch.randint(1, classes, (x0.shape[0],), generator=generator).to(x0.device)
            random_labels = (concept + shift) % classes
            with torch.no_grad():
                target = predict_noise(net, x_t, t, random_labels)
            own = torch.full_like(random_labels, concept)
            forget_term = nn.functional.mse_loss(predict_noise(net, x_t, t, own), target)
            return forget_term + weight * denoising_loss(net, retain_x, retain_y, scheduler, null_label)

        handles = [
            parameter.register_hook(lambda grad, m=mask[name]: grad * m)
            for name, parameter in model.named_parameters() if name in mask
        ]
        try:
            history = fit(
                model,
                _ForgetRetainBatches(forget_images, retain, steps=self.steps, batch_size=self.batch_size, seed=request.seed),
                loss_fn=loss, epochs=1, lr=self.lr, params=[p for n, p in model.named_parameters() if n in mask],
                seed=request.seed,
            )
        finally:
            for handle in handles:
                handle.remove()
        kept = float(sum(m.sum() for m in mask.values()) / sum(m.numel() for m in mask.values()))
        return model, {"steps": history["steps"], "last_loss": history["last_loss"], "salient_fraction": kept}
