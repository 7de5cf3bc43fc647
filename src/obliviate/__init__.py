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

from obliviate.core.contracts import Unlearner, UnlearningRequest, UnlearningResult
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
