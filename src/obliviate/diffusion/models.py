"""The built-in denoiser and the adapter that lets a user's diffusers ``UNet2DModel`` drop in.

Every denoiser is called as ``model(sample, timestep, class_labels=labels)`` and returns the
predicted noise (a tensor, or an object with ``.sample`` as diffusers' models return), for
images ``(batch, channels, height, width)``. Labels ``0..num_classes-1`` name a class; the
label ``num_classes`` is the null label of classifier-free guidance (Ho & Salimans, 2022),
which is why a diffusers ``UNet2DModel`` for this task is built with
``num_class_embeds=num_classes + 1``.

The **conditioning pathway** is where the class reaches the network: the class embedding
table and the layers that read the conditioning vector. It plays the part that the
cross-attention layers play in a text-to-image model (the only layers that read the
prompt): ESD-x, concept ablation and SDD fine-tune it, ESD-u the rest of the network
(:func:`conditioning_parameter_names`).
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn

from obliviate.core.errors import UnsupportedModelError

CONDITIONING_KEYS = ("class_embedding", "cond_proj", "time_emb_proj")
"""Parameter-name fragments of the conditioning pathway: the class embedding table (both
models), the FiLM projections of :class:`DigitDenoiser` (``cond_proj``) and the ResNet
blocks' projections of the time+class embedding in diffusers' ``UNet2DModel``
(``time_emb_proj``)."""


def timestep_embedding(timesteps: torch.Tensor, dim: int, max_period: float = 10000.0) -> torch.Tensor:
    """Sinusoidal embedding of integer timesteps (Vaswani et al., 2017; as in DDPM), ``(batch, dim)``."""
    half = dim // 2
    freqs = torch.exp(-math.log(max_period) * torch.arange(half, dtype=torch.float32, device=timesteps.device) / half)
    args = timesteps.float()[:, None] * freqs[None]
    return torch.cat([torch.cos(args), torch.sin(args)], dim=1)


EMBEDDING_STD = 0.02
"""Initial scale of the class embedding rows. Small, so that the row of a class the model
never trained on (the forgotten class, in the gold model) stays close to "no class
information" instead of a random direction that guidance would amplify."""


class _FiLMBlock(nn.Module):
    """Pre-norm residual MLP block whose hidden units are scaled and shifted by the conditioning vector."""

    def __init__(self, width: int):
        super().__init__()
        self.norm = nn.LayerNorm(width)
        self.fc1 = nn.Linear(width, width)
        self.cond_proj = nn.Linear(width, 2 * width)
        self.fc2 = nn.Linear(width, width)

    def forward(self, h: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        scale, shift = self.cond_proj(cond).chunk(2, dim=1)
        z = nn.functional.silu(self.fc1(self.norm(h)) * (1 + scale) + shift)
        return h + self.fc2(z)


class DigitDenoiser(nn.Module):
    """A small class-conditional noise predictor for 8x8 images, fast on one CPU core.

    ``cond = time_mlp(sinusoid(t)) + class_embedding(y)`` (the way ``UNet2DModel`` adds its
    class embedding to the time embedding); the flattened image goes through
    ``blocks`` residual MLP blocks modulated by ``cond`` (FiLM, Perez et al., 2018) and out
    as a noise prediction of the input's shape.

    Args:
        num_classes: number of classes; the embedding has one row more, the null label.
        image_shape: ``(channels, height, width)``.
        width: hidden width.
        blocks: number of residual blocks.
    """

    def __init__(self, num_classes: int = 10, image_shape: tuple[int, int, int] = (1, 8, 8), width: int = 128, blocks: int = 3):
        super().__init__()
        self.num_classes = num_classes
        self.image_shape = tuple(image_shape)
        features = int(math.prod(image_shape))
        self.time_dim = 64
        self.time_mlp = nn.Sequential(nn.Linear(self.time_dim, width), nn.SiLU(), nn.Linear(width, width))
        self.class_embedding = nn.Embedding(num_classes + 1, width)
        nn.init.normal_(self.class_embedding.weight, std=EMBEDDING_STD)
        self.inp = nn.Linear(features, width)
        self.blocks = nn.ModuleList(_FiLMBlock(width) for _ in range(blocks))
        self.out_norm = nn.LayerNorm(width)
        self.out = nn.Linear(width, features)

    def forward(self, sample: torch.Tensor, timestep: torch.Tensor | int, class_labels: torch.Tensor | None = None) -> torch.Tensor:
        batch = sample.shape[0]
        t = torch.as_tensor(timestep, device=sample.device)
        if t.dim() == 0:
            t = t.expand(batch)
        if class_labels is None:
            class_labels = torch.full((batch,), self.num_classes, dtype=torch.long, device=sample.device)
        cond = nn.functional.silu(self.time_mlp(timestep_embedding(t, self.time_dim)) + self.class_embedding(class_labels))
        h = self.inp(sample.reshape(batch, -1))
        for block in self.blocks:
            h = block(h, cond)
        return self.out(self.out_norm(h)).reshape(sample.shape)


def build_denoiser(*, num_classes: int = 10, image_shape: tuple[int, int, int] = (1, 8, 8), width: int = 128,
                   blocks: int = 3, seed: int | None = None) -> DigitDenoiser:
    """A freshly initialised :class:`DigitDenoiser`, seeded when ``seed`` is given."""
    if seed is None:
        return DigitDenoiser(num_classes, image_shape, width, blocks)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return DigitDenoiser(num_classes, image_shape, width, blocks)


def tiny_unet(num_classes: int = 10, *, sample_size: int = 8, channels: tuple[int, ...] = (16, 32)) -> nn.Module:
    """A small diffusers ``UNet2DModel`` for 8x8 one-channel images with a class embedding
    (``num_class_embeds = num_classes + 1`` for the null label): an example of a user's own model.

    Raises:
        MissingDependencyError: without ``obliviate[diffusion]``.
    """
    from obliviate.core.errors import require_extra

    diffusers = require_extra("diffusers", "diffusion")
    return diffusers.UNet2DModel(
        sample_size=sample_size,
        in_channels=1,
        out_channels=1,
        layers_per_block=1,
        block_out_channels=channels,
        down_block_types=("DownBlock2D",) * len(channels),
        up_block_types=("UpBlock2D",) * len(channels),
        norm_num_groups=min(8, channels[0]),
        num_class_embeds=num_classes + 1,
    )


def predict_noise(model: nn.Module, sample: torch.Tensor, timestep: torch.Tensor | int, labels: torch.Tensor) -> torch.Tensor:
    """The noise ``model`` predicts for ``sample`` at ``timestep`` given class ``labels``.

    Works for :class:`DigitDenoiser` and any diffusers-style model taking
    ``(sample, timestep, class_labels=...)`` and returning a tensor, a tuple or an object
    with ``.sample``.

    Raises:
        UnsupportedModelError: the model does not take ``class_labels`` or returns
            something of the wrong shape.
    """
    try:
        out: Any = model(sample, timestep, class_labels=labels)
    except TypeError as exc:
        raise UnsupportedModelError(
            f"{type(model).__name__} must be callable as model(sample, timestep, class_labels=labels) "
            f"(a diffusers UNet2DModel built with num_class_embeds=num_classes+1 is): {exc}"
        ) from None
    if hasattr(out, "sample"):
        out = out.sample
    elif isinstance(out, (tuple, list)):
        out = out[0]
    if not isinstance(out, torch.Tensor) or out.shape != sample.shape:
        shape = getattr(out, "shape", None)
        raise UnsupportedModelError(
            f"{type(model).__name__} returned {type(out).__name__} of shape {shape}; a noise prediction of "
            f"the input's shape {tuple(sample.shape)} is needed"
        )
    return out


def guided_noise(model: nn.Module, sample: torch.Tensor, timestep: torch.Tensor | int, labels: torch.Tensor,
                 null_label: int, guidance_scale: float) -> torch.Tensor:
    """Classifier-free guidance (Ho & Salimans, 2022):
    ``eps = eps(x, null) + w * (eps(x, y) - eps(x, null))`` with ``w = guidance_scale``
    (``w = 1``: the conditional prediction alone). One batched call."""
    if guidance_scale == 1.0:
        return predict_noise(model, sample, timestep, labels)
    null = torch.full_like(labels, null_label)
    both = predict_noise(model, torch.cat([sample, sample]), timestep, torch.cat([labels, null]))
    conditional, unconditional = both.chunk(2)
    return unconditional + guidance_scale * (conditional - unconditional)


def conditioning_parameter_names(model: nn.Module, keys: tuple[str, ...] = CONDITIONING_KEYS) -> list[str]:
    """Names of the parameters on the conditioning pathway (see the module docstring).

    Raises:
        UnsupportedModelError: when no parameter name contains any of ``keys``.
    """
    names = [name for name, _ in model.named_parameters() if any(key in name for key in keys)]
    if not names:
        raise UnsupportedModelError(
            f"{type(model).__name__} has no parameter whose name contains {', '.join(keys)}: the conditioning "
            "pathway (class embedding and the layers reading it) cannot be found; pass conditioning_keys=(...)"
        )
    return names

