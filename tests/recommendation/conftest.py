"""Fixtures of the recommendation tests: the built-in synthetic set, trained once per session.

* ``acceptance_scenarios``: the synthetic multi-modal set (300 users, 200 items, VBPR-style
  backbone), 5% of the interactions forgotten, seeds 0, 1, 2, original trained.
* ``tiny``: an 80-user, 60-item synthetic set with short training, for the contract checks
  that run every method twice.
"""

from __future__ import annotations

import pytest

from obliviate.recommendation.data import make_synthetic
from obliviate.recommendation.scenario import RecommendationScenario

SEEDS = (0, 1, 2)


@pytest.fixture(scope="session")
def acceptance_scenarios() -> list[RecommendationScenario]:
    """Synthetic set, VBPR-style, ``interactions:0.05``, one scenario per seed."""
    scenarios = []
    for seed in SEEDS:
        scenario = RecommendationScenario(dataset="synthetic", forget="interactions:0.05", model="vbpr", seed=seed)
        scenario.original()
        scenarios.append(scenario)
    return scenarios


def tiny_scenario(forget: str = "interactions:0.1", model: str = "vbpr", seed: int = 0) -> RecommendationScenario:
    """A small synthetic scenario whose models train in well under a second."""
    data = make_synthetic(num_users=80, num_items=60, mean_interactions=12, seed=seed)
    return RecommendationScenario(dataset=data, forget=forget, model=model, seed=seed, epochs=8)


@pytest.fixture(scope="session", params=["mf", "vbpr", "lightgcn"])
def tiny(request) -> RecommendationScenario:
    """The tiny scenario for each backbone, original trained."""
    scenario = tiny_scenario(model=request.param)
    scenario.original()
    return scenario
