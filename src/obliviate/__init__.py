"""obliviate: make trained models forget data on request, prove it, and value data.

Quick use::

    import obliviate
    from obliviate.classification import ClassificationScenario

    scenario = ClassificationScenario(dataset="digits", forget="class:3")
    method = obliviate.get_method("classification", "bad_teacher")()
    result = method.unlearn(scenario.original(), scenario.request())
    print(scenario.audit(result.model, gold=scenario.gold()))
"""

from __future__ import annotations

from typing import Any

from obliviate.core.errors import (
    DataError,
    InvalidForgetSpecError,
    InvalidParameterError,
    InvalidRequestError,
    MissingDependencyError,
    ObliviateError,
    RegistryError,
    UnsupportedModelError,
)
from obliviate.core.registry import TASKS, get_method, methods, register

__version__ = "0.1.0"

_LAZY = {"Unlearner", "UnlearningRequest", "UnlearningResult"}


def __getattr__(name: str) -> Any:
    """The contracts import torch: load them on first use, so that ``obliviate --help``
    and other light commands start fast."""
    if name in _LAZY:
        from obliviate.core import contracts

        return getattr(contracts, name)
    raise AttributeError(f"module 'obliviate' has no attribute {name!r}")

__all__ = [
    "TASKS",
    "DataError",
    "InvalidForgetSpecError",
    "InvalidParameterError",
    "InvalidRequestError",
    "MissingDependencyError",
    "ObliviateError",
    "RegistryError",
    "Unlearner",
    "UnlearningRequest",
    "UnlearningResult",
    "UnsupportedModelError",
    "__version__",
    "get_method",
    "methods",
    "register",
]
