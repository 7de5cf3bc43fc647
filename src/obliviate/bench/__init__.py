"""The bench: run unlearning methods against retraining from scratch and report the results.

``run_bench(task, methods=..., seeds=..., options=...)`` returns a report document (see
:mod:`obliviate.report.schema`); ``run_demo(out_dir)`` runs every task's demo
configurations and writes a web page.
"""

from __future__ import annotations

from obliviate.bench.demo import run_demo
from obliviate.bench.runner import run_bench
from obliviate.bench.tasks import DemoConfig, TaskSpec, benchable_tasks, task_spec

__all__ = ["DemoConfig", "TaskSpec", "benchable_tasks", "run_bench", "run_demo", "task_spec"]
