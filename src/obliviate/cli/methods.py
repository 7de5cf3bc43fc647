"""``obliviate methods``: list the registered unlearning methods and their tags."""

from __future__ import annotations

import json
from typing import Any

import typer

from obliviate.cli._common import catch_user_errors, one_line, stdout_console

EPILOG = """Examples:

  obliviate methods classification

  obliviate methods --json"""


def describe_methods(task: str) -> list[dict[str, Any]]:
    """One dict per registered method of ``task``: name, tags and a one-line description."""
    from obliviate.core.registry import get_method
    from obliviate.core.registry import methods as registered

    rows = []
    for name in registered(task):
        cls = get_method(task, name)
        doc = (cls.__doc__ or "").strip().splitlines()
        rows.append(
            {
                "task": task,
                "method": name,
                "exact": bool(cls.exact),
                "needs_retain": bool(cls.needs_retain),
                "needs_training_data": bool(cls.needs_training_data),
                "forget_kinds": sorted(cls.forget_kinds),
                "parameters": parameter_table(cls),
                "description": one_line(doc[0]) if doc else "",
            }
        )
    return rows


def parameter_table(cls: type) -> list[dict[str, Any]]:
    """Each hyper-parameter of a method: its default, the values it accepts and the paper's setting."""
    import inspect

    signature = inspect.signature(inspect.unwrap(cls.__init__))
    paper = getattr(cls, "paper_params", {}) or {}
    rows = []
    for name in cls._param_names():
        default = signature.parameters[name].default
        allowed = cls._parameter_constraints.get(name)
        row = {
            "name": name,
            "default": None if default is inspect.Parameter.empty else default,
            "accepts": " or ".join(str(c) for c in allowed) if allowed else "any",
        }
        if name in paper:
            row["paper"] = paper[name]
        rows.append(row)
    return rows


@catch_user_errors
def list_methods(
    task: str | None = typer.Argument(None, help="Task whose methods to list (default: every task)."),
    json_output: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """List unlearning methods with their tags (exact, needs retain data, forget kinds, parameters)."""
    from rich.table import Table

    from obliviate.core.errors import ObliviateError
    from obliviate.core.registry import TASKS

    rows: list[dict[str, Any]] = []
    unavailable: dict[str, str] = {}
    for name in [task] if task else list(TASKS):
        try:
            rows.extend(describe_methods(name))
        except (ObliviateError, ImportError) as exc:
            # Listing every task: one task whose package cannot load must not hide the others.
            if task and not isinstance(exc, ImportError):
                raise
            if task:
                raise ObliviateError(f"the methods of task '{name}' cannot be loaded: {exc}") from exc
            unavailable[name] = one_line(f"{type(exc).__name__}: {exc}")
    if json_output:
        typer.echo(json.dumps(rows, indent=2))
        return
    table = Table(title="unlearning methods", header_style="bold")
    if task and not rows:
        stdout_console().print(f"task '{task}' has no methods in this version", markup=False, highlight=False)
        return
    columns = (["task"] if not task else []) + ["method", "exact", "needs", "forget kinds", "description"]
    for column in columns:
        table.add_column(column, no_wrap=column in ("task", "method"), overflow="fold")
    for row in rows:
        needs = [label for key, label in (("needs_retain", "retain"), ("needs_training_data", "training")) if row[key]]
        cells = [row["method"], "yes" if row["exact"] else "no", ", ".join(needs) or "—",
                 ", ".join(row["forget_kinds"]) or "any", row["description"]]
        table.add_row(*(([row["task"]] if not task else []) + cells))
    console = stdout_console()
    console.print(table)
    if task:
        console.print("parameters (default, accepted values, the paper's setting where it differs):", markup=False)
        for row in rows:
            console.print(f"  {row['method']}:", markup=False, highlight=False)
            for p in row["parameters"] or [{"name": "(none)", "default": "", "accepts": ""}]:
                paper = f"  [paper: {p['paper']!r}]" if "paper" in p else ""
                line = f"    {p['name']} = {p['default']!r}  {p['accepts']}{paper}" if p["accepts"] else "    (none)"
                console.print(line, markup=False, highlight=False)
    for name, reason in unavailable.items():
        console.print(f"{name}: unavailable ({reason})", markup=False, highlight=False)
