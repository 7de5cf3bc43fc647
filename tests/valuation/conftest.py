"""Tiny, seeded fixtures for the valuation tests (each builds in milliseconds)."""

from __future__ import annotations

import os

import numpy as np
import pytest

os.environ.setdefault("OMP_NUM_THREADS", "1")

from obliviate.valuation import TrainSet, Utility  # noqa: E402


def blobs(n: int, *, seed: int, classes: int = 2, spread: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """``n`` points from ``classes`` Gaussian blobs in 2-D, labels 0..classes-1."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % classes
    centres = np.array([[2.0 * np.cos(2 * np.pi * c / classes), 2.0 * np.sin(2 * np.pi * c / classes)] for c in range(classes)])
    x = centres[y] + spread * rng.normal(size=(n, 2))
    return x, y


@pytest.fixture
def tiny_game() -> tuple[TrainSet, Utility]:
    """Six training points (one mislabelled) and 30 validation points: 64 subsets in all."""
    x, y = blobs(6, seed=3)
    y = y.copy()
    y[5] = 1 - y[5]
    x_valid, y_valid = blobs(30, seed=4)
    return TrainSet(x, y), Utility(x_valid, y_valid)
