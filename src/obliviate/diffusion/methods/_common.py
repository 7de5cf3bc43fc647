"""Pieces shared by the diffusion methods: the request's context, the denoising loss, the
teacher copies and the parameter subsets."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from obliviate.core.contracts import UnlearningRequest
from obliviate.core.errors import InvalidRequestError
from obliviate.diffusion.models import (
    CONDITIONING_KEYS,
    conditioning_parameter_names,
    predict_noise,
)
from obliviate.diffusion.sampling import Sampler, noise_scheduler

DIFFUSION_KINDS = frozenset({"concept", "class"})

DEFAULT_TRAINING = {"steps": 800, "lr": 3e-3, "batch_size": 128, "p_uncond": 0.1}


def training_recipe(request: UnlearningRequest) -> dict[str, Any]:
    """The scenario's training recipe (steps, lr, batch_size, p_uncond)."""
    return {**DEFAULT_TRAINING, **request.extras.get("training", {})}


def concept_of(request: UnlearningRequest) -> int:
    """The class to forget.

    Raises:
        InvalidRequestError: when the request names none.
    """
    concept = request.extras.get("concept")
    if concept is None:
        raise InvalidRequestError(
            "a diffusion request names the class to forget in extras['concept']; build it with "
            "DiffusionScenario(forget='concept:3').request()"
        )
    return int(concept)


def sampler_of(request: UnlearningRequest) -> Sampler:
    """The scenario's :class:`~obliviate.diffusion.sampling.Sampler` (schedule, steps, guidance)."""
    sampler = request.extras.get("sampler")
    if sampler is None:
        raise InvalidRequestError("a diffusion request carries its sampler in extras['sampler']; use scenario.request()")
    return sampler


def scheduler_of(request: UnlearningRequest):
    """diffusers' ``DDPMScheduler`` of the scenario (its noise schedule and ``add_noise``)."""
    return noise_scheduler(sampler_of(request).scheduler_config)


def null_label_of(request: UnlearningRequest) -> int:
    """The null label of classifier-free guidance."""
    return int(sampler_of(request).null_label)


def denoising_loss(model: nn.Module, images: torch.Tensor, labels: torch.Tensor, scheduler: Any,
                   null_label: int, p_uncond: float = 0.0) -> torch.Tensor:
    """The DDPM objective (Ho et al., 2020) with label dropout for classifier-free guidance:
    ``E_{t, eps} || eps - eps_theta(sqrt(abar_t) x + sqrt(1 - abar_t) eps, t, y) ||^2``, where
    ``y`` is replaced by the null label with probability ``p_uncond``."""
    noise = torch.randn_like(images)
    t = torch.randint(0, scheduler.config.num_train_timesteps, (images.shape[0],), device=images.device)
    noisy = scheduler.add_noise(images, noise, t)
    if p_uncond > 0:
        drop = torch.rand(labels.shape[0], device=labels.device) < p_uncond
        labels = torch.where(drop, torch.full_like(labels, null_label), labels)
    return nn.functional.mse_loss(predict_noise(model, noisy, t, labels), noise)


def select_parameters(model: nn.Module, which: str, keys: tuple[str, ...] = CONDITIONING_KEYS) -> list[nn.Parameter]:
    """``"conditioning"``: the conditioning pathway; ``"unconditioned"``: everything else;
    ``"all"``: every parameter. The others are frozen (``requires_grad=False``)."""
    named = dict(model.named_parameters())
    if which == "all":
        chosen = set(named)
    else:
        conditioning = set(conditioning_parameter_names(model, keys))
        chosen = conditioning if which == "conditioning" else set(named) - conditioning
    for name, parameter in named.items():
        parameter.requires_grad_(name in chosen)
    return [named[name] for name in named if name in chosen]


def unfreeze(model: nn.Module) -> None:
    """Turn gradients back on for every parameter (after :func:`select_parameters`)."""
    for parameter in model.parameters():
        parameter.requires_grad_(True)


def generated_pool(model: nn.Module, sampler: Sampler, label: int, count: int, seed: int) -> torch.Tensor:
    """``count`` images the model generates for ``label`` (the data-free methods' training inputs)."""
    labels = torch.full((count,), int(label), dtype=torch.long)
    return sampler.generate(model, labels, seed)


def tensors(data: Any) -> tuple[torch.Tensor, torch.Tensor]:
    """Images and labels of a ``TensorDataset``."""
    found = getattr(data, "tensors", None)
    if found is None or len(found) < 2:
        raise InvalidRequestError("diffusion requests hold TensorDataset(images, labels) parts")
    return found[0], found[1]


class PoolBatches:
    """Re-iterable of ``steps`` batches ``(x_t, t, noise, index)``: images of a pool (rows
    picked at random) noised at random timesteps by the forward process
    ``x_t = sqrt(abar_t) x_0 + sqrt(1 - abar_t) eps`` of diffusers' ``DDPMScheduler``."""

    def __init__(self, images: torch.Tensor, scheduler: Any, *, steps: int, batch_size: int, seed: int):
        self.images = images
        self.scheduler = scheduler
        self.steps = steps
        self.batch_size = min(batch_size, max(1, len(images)))
        self.seed = seed

    def __iter__(self):
        generator = torch.Generator().manual_seed(self.seed)
        timesteps = self.scheduler.config.num_train_timesteps
        for _ in range(self.steps):
            index = torch.randint(0, len(self.images), (self.batch_size,), generator=generator)
            x0 = self.images[index]
            noise = torch.randn(x0.shape, generator=generator)
            t = torch.randint(0, timesteps, (self.batch_size,), generator=generator)
            yield self.scheduler.add_noise(x0, noise, t), t, noise, index

    def __len__(self) -> int:
        return self.steps


def label_batch(label: int, like: torch.Tensor) -> torch.Tensor:
    """A batch of the one label ``label`` for the rows of ``like``."""
    return torch.full((like.shape[0],), int(label), dtype=torch.long, device=like.device)
