"""How the bench runner and the demo learn about a task.

Each task package exposes ``bench_spec() -> TaskSpec`` in its ``scenario`` module. The
runner only needs a way to build a scenario for a seed, the metric columns to summarise,
and the quick configurations the demo runs. Task packages are imported lazily so heavy
optional dependencies load only when the task is used.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any, Callable

from obliviate.core.errors import InvalidRequestError
from obliviate.core.registry import TASKS


@dataclass(frozen=True)
class DemoConfig:
    """One quick bench run shown in the demo report.

    Attributes:
        title: section heading, e.g. ``"digits, forget class 3"``.
        options: keyword arguments for ``TaskSpec.make_scenario`` (dataset, forget, ...).
        methods: method names (``retrain`` is always run as gold).
        seeds: number of seeds.
        method_params: per-method hyper-parameter overrides for speed.
    """

    title: str
    options: dict[str, Any]
    methods: tuple[str, ...]
    seeds: int = 1
    method_params: dict[str, dict[str, Any]] = field(default_factory=dict)


@dataclass(frozen=True)
class TaskSpec:
    """What the runner needs to bench a task.

    Attributes:
        task: task name (one of :data:`obliviate.core.registry.TASKS`).
        make_scenario: ``make_scenario(seed=..., **options) -> Scenario``.
        metrics: the audit metrics summarised in tables, in display order.
        higher_is_better: metrics where larger is better (others: closer to gold is better).
        demo: quick configurations for ``make demo`` (whole task section well under 2 minutes).
        default_options: option defaults shown by the CLI.
        count_flops: count FLOPs by default when this task is benched (the CLI's
            ``--flops/--no-flops`` overrides it).
        user_data_option: the scenario option that takes a user's data file
            (``obliviate forget --data``): ``"table"`` for tabular tasks, ``"dataset"`` where
            the scenario reads the file itself (a graph ``.npz``).
        quick_options: options merged into the demo configuration under ``--quick``
            (smoke tests), e.g. ``{"epochs": 3}``; empty when the task is already fast.
    """

    task: str
    make_scenario: Callable[..., Any]
    metrics: tuple[str, ...]
    higher_is_better: frozenset[str] = frozenset()
    demo: tuple[DemoConfig, ...] = ()
    default_options: dict[str, Any] = field(default_factory=dict)
    quick_options: dict[str, Any] = field(default_factory=dict)
    count_flops: bool = False
    user_data_option: str = "table"


_SPEC_MODULES = {task: f"obliviate.{task}.scenario" for task in TASKS}


def task_spec(task: str) -> TaskSpec:
    """The :class:`TaskSpec` of ``task``.

    Raises:
        InvalidRequestError: for a task that does not exist or has no bench support yet.
    """
    if task not in _SPEC_MODULES:
        raise InvalidRequestError(f"unknown task '{task}'; choose one of: {', '.join(TASKS)}")
    try:
        module = importlib.import_module(_SPEC_MODULES[task])
    except ModuleNotFoundError as exc:
        if exc.name and _SPEC_MODULES[task].startswith(exc.name):
            raise InvalidRequestError(f"task '{task}' has no bench support in this version") from None
        raise
    factory = getattr(module, "bench_spec", None)
    if factory is None:
        raise InvalidRequestError(f"task '{task}' has no bench support in this version")
    return factory()


def benchable_tasks() -> list[str]:
    """Tasks whose package provides a ``bench_spec``."""
    names = []
    for task in TASKS:
        try:
            task_spec(task)
        except InvalidRequestError:
            continue
        names.append(task)
    return names
