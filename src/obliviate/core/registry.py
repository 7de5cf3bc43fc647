"""Method registry: ``@register(task, name)`` and look-ups by task.

The CLI and the bench runner only see what is registered here. Registering a name that
is already taken raises, unless ``force=True`` is given (in the manner of Opacus'
accountant registry). Task packages are imported lazily the first time their methods
are listed, so heavy optional dependencies load only when that task is used.
"""

from __future__ import annotations

import importlib
from typing import Callable, TypeVar

from obliviate.core.errors import InvalidRequestError, RegistryError

TASKS: tuple[str, ...] = (
    "classification",
    "regression",
    "graph",
    "recommendation",
    "federated",
    "continual",
    "llm",
    "diffusion",
)

# Module that registers a task's methods when imported.
_TASK_MODULES: dict[str, str] = {task: f"obliviate.{task}.methods" for task in TASKS}

_METHODS: dict[str, dict[str, type]] = {}
_loaded: set[str] = set()

T = TypeVar("T", bound=type)


def _check_task(task: str) -> None:
    if task not in TASKS:
        raise InvalidRequestError(
            f"unknown task '{task}'; choose one of: {', '.join(TASKS)}"
        )


def register(task: str, name: str, *, force: bool = False) -> Callable[[T], T]:
    """Class decorator registering an unlearner under ``(task, name)``.

    Sets ``cls.task`` and ``cls.name``.

    Raises:
        RegistryError: if the name is taken for this task and ``force`` is false.
    """
    _check_task(task)

    def decorator(cls: T) -> T:
        table = _METHODS.setdefault(task, {})
        if name in table and table[name] is not cls and not force:
            raise RegistryError(
                f"method '{name}' is already registered for task '{task}' "
                f"(by {table[name].__module__}.{table[name].__qualname__}); "
                "pick another name or pass force=True to replace it"
            )
        cls.task = task
        cls.name = name
        table[name] = cls
        return cls

    return decorator


def _load(task: str) -> None:
    if task in _loaded:
        return
    module = _TASK_MODULES[task]
    try:
        importlib.import_module(module)
    except ModuleNotFoundError as exc:
        # The task package itself does not exist (yet): it has no methods.
        if exc.name is None or not module.startswith(exc.name):
            raise
    _loaded.add(task)


def methods(task: str) -> list[str]:
    """Names of the methods registered for ``task``, sorted, with ``retrain`` first."""
    _check_task(task)
    _load(task)
    names = sorted(_METHODS.get(task, {}))
    if "retrain" in names:
        names.remove("retrain")
        names.insert(0, "retrain")
    return names


def get_method(task: str, name: str) -> type:
    """The unlearner class registered as ``name`` for ``task``.

    Raises:
        RegistryError: naming the methods that exist for the task.
    """
    _check_task(task)
    _load(task)
    try:
        return _METHODS[task][name]
    except KeyError:
        known = ", ".join(methods(task)) or "none"
        raise RegistryError(
            f"no method '{name}' for task '{task}'; registered methods: {known}"
        ) from None
