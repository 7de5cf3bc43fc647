"""Helpers shared by the command modules: the error boundary and option parsing.

The CLI is a thin layer: it parses text into Python values and calls the API. Every
error raised on purpose by obliviate (:class:`ObliviateError`) is turned here into one
line on stderr and exit code 2; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import contextlib
import functools
import sys
from typing import Any, Callable, Iterator, TypeVar

import typer

from obliviate.core.errors import InvalidParameterError, InvalidRequestError, ObliviateError

EXIT_BAD_INPUT = 2

F = TypeVar("F", bound=Callable[..., Any])


def one_line(text: str) -> str:
    """``text`` with every run of whitespace (newlines included) collapsed to one space."""
    return " ".join(str(text).split())


def fail(message: str) -> None:
    """Print ``error: message`` as one line on stderr and exit with code 2."""
    typer.echo(f"error: {one_line(message)}", err=True)
    raise typer.Exit(code=EXIT_BAD_INPUT)


@contextlib.contextmanager
def user_errors() -> Iterator[None]:
    """Turn an :class:`ObliviateError` into one line on stderr and exit code 2."""
    try:
        yield
    except ObliviateError as exc:
        fail(str(exc) or type(exc).__name__)


def catch_user_errors(function: F) -> F:
    """Decorator form of :func:`user_errors` for a command function."""

    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with user_errors():
            return function(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def parse_value(text: str) -> Any:
    """A ``--set`` value: ``true``/``false``, ``none``/``null``, an int, a float, else the text.

    Quotes around the text keep it a string (``"3"`` stays the string ``3``).
    """
    stripped = text.strip()
    if len(stripped) >= 2 and stripped[0] == stripped[-1] and stripped[0] in "'\"":
        return stripped[1:-1]
    lowered = stripped.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    if lowered in ("none", "null"):
        return None
    for kind in (int, float):
        try:
            return kind(stripped)
        except ValueError:
            continue
    return stripped


def parse_method_params(assignments: list[str] | None) -> dict[str, dict[str, Any]]:
    """``["finetune.epochs=3", "ssd.alpha=10"]`` -> ``{"finetune": {"epochs": 3}, "ssd": {"alpha": 10}}``.

    Raises:
        InvalidParameterError: for an assignment not of the form ``METHOD.PARAM=VALUE``.
    """
    params: dict[str, dict[str, Any]] = {}
    for assignment in assignments or []:
        key, equals, value = assignment.partition("=")
        method, dot, name = key.strip().partition(".")
        if not equals or not dot or not method or not name:
            raise InvalidParameterError(
                f"bad --set {assignment!r}: expected METHOD.PARAM=VALUE, e.g. --set finetune.epochs=3"
            )
        params.setdefault(method, {})[name] = parse_value(value)
    return params


def parse_options(assignments: list[str] | None) -> dict[str, Any]:
    """``["rounds=5", "edge_scope=local"]`` -> ``{"rounds": 5, "edge_scope": "local"}``.

    Raises:
        InvalidRequestError: for an assignment not of the form ``KEY=VALUE``.
    """
    options: dict[str, Any] = {}
    for assignment in assignments or []:
        key, equals, value = assignment.partition("=")
        if not equals or not key.strip():
            raise InvalidRequestError(f"bad --option {assignment!r}: expected KEY=VALUE, e.g. --option rounds=5")
        options[key.strip()] = parse_value(value)
    return options


def parse_params(assignments: list[str] | None, method: str) -> dict[str, Any]:
    """``--set`` for a single method: ``PARAM=VALUE`` (or ``METHOD.PARAM=VALUE`` naming ``method``).

    Raises:
        InvalidParameterError: for a malformed assignment or one naming another method.
    """
    params: dict[str, Any] = {}
    for assignment in assignments or []:
        key, equals, value = assignment.partition("=")
        key = key.strip()
        if "." in key:
            prefix, _, key = key.partition(".")
            if prefix != method:
                raise InvalidParameterError(
                    f"bad --set {assignment!r}: it names method '{prefix}' but the method is '{method}'"
                )
        if not equals or not key:
            raise InvalidParameterError(f"bad --set {assignment!r}: expected PARAM=VALUE, e.g. --set epochs=3")
        params[key] = parse_value(value)
    return params


def scenario_options(
    task: str,
    forget_spec: str,
    *,
    option: list[str] | None,
    model: str | None,
    factory: str | None,
    dataset: str | None,
    data: Any,
    data_fields: dict[str, Any],
) -> dict[str, Any]:
    """The scenario options of ``forget`` and ``audit``: ``--option`` pairs, the forget spec,
    a built-in data set or the user's file (under the task's ``user_data_option``, with the
    given ``data_fields`` such as ``label_column``), and a recipe or factory.

    Raises:
        typer.Exit: (via :func:`fail`) for both ``--model`` and ``--factory``.
    """
    if model is not None and factory is not None:
        fail("give either --model (a built-in recipe) or --factory (your network), not both")
    options: dict[str, Any] = {**parse_options(option), "forget": forget_spec}
    if dataset is not None:
        options["dataset"] = dataset
    if model is not None or factory is not None:
        options["model"] = factory or model
    if data is not None:
        from obliviate.bench.tasks import task_spec

        options[task_spec(task).user_data_option] = str(data)
        options.update({key: value for key, value in data_fields.items() if value is not None})
    return options


def parse_seeds(text: str) -> int | list[int]:
    """``"3"`` -> 3 (seeds 0, 1, 2); ``"0,4,7"`` -> ``[0, 4, 7]``.

    Raises:
        InvalidRequestError: for anything else.
    """
    parts = [part.strip() for part in text.split(",") if part.strip()]
    try:
        values = [int(part) for part in parts]
    except ValueError:
        values = []
    if not values:
        raise InvalidRequestError(f"bad --seeds {text!r}: give a count (3) or a list of seeds (0,4,7)")
    return values[0] if len(values) == 1 and "," not in text else values


def parse_list(text: str | None) -> list[str] | None:
    """``"a, b"`` -> ``["a", "b"]``; ``None`` stays ``None``."""
    if text is None:
        return None
    return [part.strip() for part in text.split(",") if part.strip()]


def stderr_console():
    """A rich console on stderr (keeps stdout clean for ``--json``)."""
    from rich.console import Console

    return Console(stderr=True)


def stdout_console():
    """A rich console on stdout."""
    from rich.console import Console

    return Console(file=sys.stdout)
