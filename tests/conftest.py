"""Fixtures shared by every task's tests: the do-nothing control of the acceptance checks."""

from __future__ import annotations

from typing import Callable, Iterable

import pytest

from controls import Identity, median_over


@pytest.fixture
def identity() -> Identity:
    """An instance of the do-nothing control unlearner."""
    return Identity()


@pytest.fixture
def median() -> Callable[[Iterable[float]], float]:
    """:func:`controls.median_over`, for tests in folders without an ``__init__``."""
    return median_over
