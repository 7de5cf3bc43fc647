"""Users' own models for the diffusion tests, importable as ``diffusion_factories:tiny_unet``,
and the small scenarios the tests share (``make_scenario``)."""

from __future__ import annotations

from obliviate.diffusion.models import tiny_unet as _tiny_unet
from obliviate.diffusion.scenario import DiffusionScenario

# Smaller than the defaults so that the whole folder runs in well under a minute.
TEST_OPTIONS = {"steps": 250, "width": 64, "samples_per_class": 20, "attack_samples": 48}


def make_scenario(seed: int, cache, **options) -> DiffusionScenario:
    return DiffusionScenario(forget="concept:3", seed=seed, cache_dir=cache, **{**TEST_OPTIONS, **options})


def tiny_unet():
    """A randomly initialised diffusers UNet2DModel for 8x8 digits (8 and 16 channels)."""
    return _tiny_unet(10, channels=(8, 16))
