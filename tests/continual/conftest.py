"""Fixtures of the continual tests: the default digits stream for seeds 0-2 (prefix,
gold and each method run once per session)."""

from __future__ import annotations

import pytest

from obliviate.continual.scenario import ContinualScenario
from obliviate.core.registry import get_method

SEEDS = (0, 1, 2)


class _Runs:
    def __init__(self) -> None:
        self.scenarios = {s: ContinualScenario(seed=s) for s in SEEDS}
        self._results: dict[tuple[str, int], object] = {}

    def result(self, name: str, seed: int, unlearner=None):
        key = (name, seed)
        if key not in self._results:
            sc = self.scenarios[seed]
            method = unlearner if unlearner is not None else get_method("continual", name)()
            self._results[key] = method.unlearn(sc.original(), sc.request())
        return self._results[key]


@pytest.fixture(scope="session")
def continual_runs() -> _Runs:
    return _Runs()
