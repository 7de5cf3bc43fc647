"""Users' own models for the diffusion tests, importable as ``diffusion_factories:tiny_unet``."""

from __future__ import annotations

from obliviate.diffusion.models import tiny_unet as _tiny_unet


def tiny_unet():
    """A randomly initialised diffusers UNet2DModel for 8x8 digits (8 and 16 channels)."""
    return _tiny_unet(10, channels=(8, 16))
