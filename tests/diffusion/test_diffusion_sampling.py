"""The partial-diffusion pipeline: its end points are the two models' own samplers."""

from __future__ import annotations

import pytest
import torch

from obliviate.diffusion.models import build_denoiser
from obliviate.diffusion.sampling import Sampler, partial_diffusion
from obliviate.diffusion.scenario import SCHEDULER_CONFIG

# Batched continuations multiply matrices of other sizes than a single run: equal up to float rounding.
TOLERANCE = 1e-5


@pytest.fixture(scope="module")
def two_models():
    return build_denoiser(width=32, seed=1), build_denoiser(width=32, seed=2)


@pytest.mark.parametrize("eta", [0.0, 1.0])
def test_psi_zero_is_the_unlearned_sampler_and_psi_one_the_originals(two_models, eta):
    original, unlearned = two_models
    sampler = Sampler(scheduler_config=dict(SCHEDULER_CONFIG), steps=8, guidance_scale=2.0, eta=eta)
    labels = torch.full((6,), 3, dtype=torch.long)
    attack = partial_diffusion(original, unlearned, sampler, labels, seed=11)
    assert sorted(attack) == list(range(9))
    assert torch.allclose(attack[0], sampler.generate(unlearned, labels, seed=11), atol=TOLERANCE)
    assert torch.allclose(attack[8], sampler.generate(original, labels, seed=11), atol=TOLERANCE)
    # A split in between is neither, and another seed gives other images.
    assert not torch.allclose(attack[4], attack[0], atol=1e-3)
    assert not torch.allclose(attack[4], attack[8], atol=1e-3)
    assert not torch.allclose(sampler.generate(original, labels, seed=12), attack[8], atol=1e-3)


def test_the_same_seed_gives_the_same_images(two_models):
    original, _ = two_models
    sampler = Sampler(scheduler_config=dict(SCHEDULER_CONFIG), steps=5)
    labels = torch.arange(4)
    assert torch.equal(sampler.generate(original, labels, seed=3), sampler.generate(original, labels, seed=3))


def test_partial_diffusion_with_the_original_on_both_sides_is_the_original_at_every_split(two_models):
    original, _ = two_models
    sampler = Sampler(scheduler_config=dict(SCHEDULER_CONFIG), steps=6, eta=1.0)
    labels = torch.full((4,), 2, dtype=torch.long)
    attack = partial_diffusion(original, original, sampler, labels, seed=5)
    for k in attack:
        assert torch.allclose(attack[k], attack[6], atol=TOLERANCE)
