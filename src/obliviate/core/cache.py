"""Train-once model cache shared by every scenario.

A scenario trains its original and gold models once and keeps them as safetensors files
named by a hash of everything that determines the weights (data, forget spec, recipe,
seed), so that a bench of ten methods, or a second bench, does not train them again.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Callable

from torch import nn

from obliviate.core.checkpoint import config_hash, load_into, save_model
from obliviate.core.seeding import seed_everything
from obliviate.core.timing import Stopwatch


def cache_path(cache_dir: str | os.PathLike | None, prefix: str, config: dict[str, Any]) -> Path | None:
    """``cache_dir/<prefix>-<hash of config>.safetensors``, or ``None`` without a cache folder."""
    if cache_dir is None:
        return None
    return Path(cache_dir) / f"{prefix}-{config_hash(config)}.safetensors"


def train_or_load(
    model: nn.Module,
    train: Callable[[nn.Module], Any],
    *,
    path: Path | None,
    config: dict[str, Any],
    seed: int,
) -> float:
    """Load ``model``'s weights from ``path`` if cached, else seed, train and cache them.

    Args:
        model: a freshly built network; filled in place.
        train: ``train(model)`` trains it in place.
        path: the cache file (``None``: always train, never save).
        config: stored beside the weights as metadata.
        seed: seeds everything before training.

    Returns:
        Training seconds: measured now, or as recorded when the cache was written.
    """
    if path is not None and path.is_file():
        metadata = load_into(model, path)
        model.eval()
        return float(metadata.get("seconds", float("nan")))
    seed_everything(seed)
    with Stopwatch() as watch:
        train(model)
    model.eval()
    if path is not None:
        save_model(model, path, {**config, "seconds": watch.seconds})
    return watch.seconds
