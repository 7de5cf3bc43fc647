"""Fixtures of the diffusion tests: small digits scenarios forgetting concept 3 at seeds 0-2
(original, gold and detector trained once per session, cached in the session's temporary folder)."""

from __future__ import annotations

import pytest

from controls import ACCEPTANCE_SEEDS
from obliviate.diffusion.scenario import DiffusionScenario

# Smaller than the defaults so that the whole folder runs in well under a minute.
TEST_OPTIONS = {"steps": 250, "width": 64, "samples_per_class": 20, "attack_samples": 48}


def make_scenario(seed: int, cache, **options) -> DiffusionScenario:
    return DiffusionScenario(forget="concept:3", seed=seed, cache_dir=cache, **{**TEST_OPTIONS, **options})


@pytest.fixture(scope="session")
def diffusion_cache(tmp_path_factory):
    return tmp_path_factory.getbasetemp() / "diffusion-models"


@pytest.fixture(scope="session")
def digit_scenarios(diffusion_cache) -> list[DiffusionScenario]:
    """Concept 3 at seeds 0, 1 and 2, with original, gold and detector trained."""
    scenarios = []
    for seed in ACCEPTANCE_SEEDS:
        scenario = make_scenario(seed, diffusion_cache)
        scenario.original()
        scenario.gold()
        scenario.detector()
        scenarios.append(scenario)
    return scenarios
