"""Model recipes of the federated task: the classification networks, described portably.

The networks are the shared recipes of :mod:`obliviate.core.recipes` (``cnn``: SmallCNN,
``mlp``: MLP). A federation sends a recipe as a small JSON-able *model spec*
``{"recipe", "input_shape", "num_classes"}`` so that every client, on any machine, builds
the same architecture and loads the global weights into it.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from obliviate.core.errors import InvalidRequestError
from obliviate.core.recipes import RECIPES, build_model

__all__ = ["RECIPES", "build_model", "model_spec", "build_from_spec", "load_state_into", "state_copy"]


def model_spec(recipe: str, input_shape: tuple[int, ...], num_classes: int) -> dict[str, Any]:
    """A JSON-able description of the network every client builds.

    ``recipe`` is a built-in recipe name (``cnn``, ``mlp``) or a factory
    ``"package.module:callable"`` (:mod:`obliviate.core.factory`) that every client imports
    and calls, so a user's own network trains on every client.

    Raises:
        InvalidRequestError: for an unknown recipe or a factory that cannot be loaded.
    """
    shape = [int(s) for s in input_shape]
    if ":" in recipe:
        from obliviate.core.factory import load_factory

        load_factory(recipe)  # fail here, not inside a client
        return {"factory": recipe, "input_shape": shape, "num_classes": int(num_classes)}
    if recipe not in RECIPES:
        raise InvalidRequestError(
            f"unknown model recipe '{recipe}'; choose one of: {', '.join(RECIPES)}, or a factory 'package.module:callable'"
        )
    return {"recipe": recipe, "input_shape": shape, "num_classes": int(num_classes)}


def build_from_spec(spec: dict[str, Any], *, seed: int = 0) -> nn.Module:
    """Build (seeded) the network a model spec describes."""
    if "factory" in spec:
        from obliviate.core.factory import build_with, load_factory

        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            return build_with(load_factory(spec["factory"]), where=f"the model factory {spec['factory']!r}")
    return build_model(spec["recipe"], tuple(spec["input_shape"]), int(spec["num_classes"]), seed=seed)


def load_state_into(model: nn.Module, state: dict[str, torch.Tensor]) -> nn.Module:
    """Copy ``state`` into ``model`` (strict keys, the model's dtypes and device kept)."""
    current = model.state_dict()
    model.load_state_dict({k: v.to(device=current[k].device, dtype=current[k].dtype) for k, v in state.items()})
    return model


def state_copy(model: nn.Module) -> dict[str, torch.Tensor]:
    """A detached CPU copy of ``model.state_dict()``."""
    return {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
