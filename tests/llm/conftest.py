"""Fixtures of the llm tests: the generated-corpus scenarios of seeds 0-2 (their original
models trained once per session, in memory and in a session cache folder)."""

from __future__ import annotations

import pytest

pytest.importorskip("transformers")

from controls import ACCEPTANCE_SEEDS  # noqa: E402
from obliviate.llm.scenario import LLMScenario  # noqa: E402

ACCEPTANCE_FORGET = "fact:1"


@pytest.fixture(scope="session")
def llm_cache(tmp_path_factory):
    return tmp_path_factory.mktemp("llm-cache")


@pytest.fixture(scope="session")
def fact_scenarios(llm_cache) -> list[LLMScenario]:
    """One generated-corpus scenario per acceptance seed, forgetting one fact, originals trained."""
    scenarios = [LLMScenario(forget=ACCEPTANCE_FORGET, seed=seed, epochs=20, cache_dir=llm_cache) for seed in ACCEPTANCE_SEEDS]
    for scenario in scenarios:
        scenario.original()
    return scenarios
