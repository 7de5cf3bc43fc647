"""The networks of the classification task: the shared recipes of :mod:`obliviate.core.recipes`
(``cnn``: SmallCNN, ``mlp``: MLP), or a user's own network through a factory
(:mod:`obliviate.core.factory`)."""

from __future__ import annotations

from obliviate.core.recipes import MLP, RECIPES, SmallCNN, build_model

__all__ = ["MLP", "RECIPES", "SmallCNN", "build_model"]
