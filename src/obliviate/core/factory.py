"""Model factories: how a user tells the toolkit to build *their* untrained network.

A factory is a callable that takes no argument and returns a freshly initialised
``torch.nn.Module``. It is given either as a Python callable or as a string
``"package.module:callable"`` naming one on the import path (a file of the current folder
counts: ``mynet:build`` imports ``mynet.py``). Wherever a fresh model is needed --
``retrain``, an incompetent teacher, a relearn probe, a federated client -- the toolkit calls
the factory instead of re-initialising a copy, so that architectures whose parameters no
``reset_parameters()`` covers are still trained from scratch.
"""

from __future__ import annotations

import importlib
import os
import sys
from typing import Any, Callable

from torch import nn

from obliviate.core.errors import InvalidRequestError, UnsupportedModelError

Factory = Callable[[], nn.Module]


def load_factory(spec: str | Factory) -> Factory:
    """Resolve ``"package.module:callable"`` (or pass a callable through).

    Raises:
        InvalidRequestError: for a malformed spec, a module that cannot be imported, a
            missing attribute or one that is not callable.
    """
    if callable(spec):
        return spec
    if not isinstance(spec, str) or spec.count(":") != 1 or not all(part.strip() for part in spec.split(":")):
        raise InvalidRequestError(
            f"a model factory is given as 'package.module:callable' (e.g. mynet:build); got {spec!r}"
        )
    module_name, attribute = (part.strip() for part in spec.split(":"))
    if os.getcwd() not in sys.path and "" not in sys.path:
        sys.path.insert(0, os.getcwd())  # a user's own module in the current folder
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise InvalidRequestError(
            f"cannot import the factory's module '{module_name}' ({exc}); run from the folder that holds "
            f"{module_name.replace('.', '/')}.py or install its package"
        ) from None
    factory: Any = module
    for part in attribute.split("."):
        if not hasattr(factory, part):
            raise InvalidRequestError(f"module '{module_name}' has no attribute '{attribute}' (the factory {spec!r})")
        factory = getattr(factory, part)
    if not callable(factory):
        raise InvalidRequestError(f"the factory {spec!r} is not callable")
    return factory


def build_with(factory: Factory, *, where: str = "the model factory") -> nn.Module:
    """Call ``factory()`` and check it built a ``torch.nn.Module``.

    Raises:
        UnsupportedModelError: when it returns anything else or fails with a TypeError
            (it must take no argument).
    """
    try:
        model = factory()
    except TypeError as exc:
        raise UnsupportedModelError(f"{where} must take no argument and build the untrained network: {exc}") from None
    if not isinstance(model, nn.Module):
        raise UnsupportedModelError(f"{where} returned {type(model).__name__}, not a torch.nn.Module")
    return model


def factory_name(spec: str | Factory) -> str:
    """A readable, recordable name of a factory: the spec string, or ``module:qualname``."""
    if isinstance(spec, str):
        return spec
    module = getattr(spec, "__module__", None) or "?"
    return f"{module}:{getattr(spec, '__qualname__', type(spec).__name__)}"
