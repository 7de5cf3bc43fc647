"""Fixtures of the diffusion tests: small digits scenarios forgetting concept 3 at seeds 0-2
(original, gold and detector trained once per session, cached in the session's temporary folder)."""

from __future__ import annotations

import pytest
from diffusion_factories import TEST_OPTIONS, make_scenario  # noqa: F401 (shared with the tests)

from controls import ACCEPTANCE_SEEDS
from obliviate.diffusion.scenario import DiffusionScenario


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
