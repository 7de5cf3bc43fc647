"""The report: one versioned JSON document for every task.

A report holds the raw audit figures of every run (seed x method) and a summary table
with one row per method. Everything a table, plot or web page shows is read from this
document; nothing is recomputed when rendering.

Layout of ``obliviate.report/1``::

    {
      "schema": "obliviate.report/1",
      "task": "classification",
      "title": "digits, forget class 3" | null,
      "created": "2026-11-26T10:00:00+00:00",
      "options": {...},              # keyword arguments given to the task's make_scenario
      "seeds": [0, 1, 2],
      "methods": ["finetune", ...],  # benched methods (retrain is the gold row)
      "params": {"retrain": {...}, "finetune": {...}},   # every hyper-parameter used
      "metrics": ["forget_accuracy", ...],               # audit metrics, display order
      "higher_is_better": ["retain_accuracy", ...],
      "flags": {"count_flops": false, "relearn": false},
      "environment": {"python": ..., "packages": {...}, "device": ..., ...},
      "runs": [
        {"seed": 0, "method": "finetune", "role": "method", "status": "ok",
         "reason": null, "metrics": {...}, "seconds": 0.4, "speedup": 5.1,
         "flops": null, "info": {...}},
        ...
      ],
      "summary": [
        {"method": "original", "role": "reference", "runs": 3, "skipped": null,
         "forget_accuracy": {"mean": 0.99, "std": 0.01}, ...,
         "gap_to_gold": {"forget_accuracy": {"mean": 0.98, "std": 0.01}, ...}},
        {"method": "gold", "role": "gold", ..., "seconds": {...}, "speedup": {...}},
        {"method": "finetune", "role": "method", ...}
      ],
      "notes": ["..."]
    }

Summary statistics are over seeds: ``mean`` and the sample standard deviation
(``ddof=1``; 0 for a single seed) of the finite values, and ``n``, how many seeds gave a
finite value (a metric that was not applicable or NaN on a seed is left out, never read
as 0; with ``n`` = 0 both are null). ``gap_to_gold`` of a metric is the mean and standard
deviation over seeds of ``value(method, seed) - value(gold, seed)``. ``speedup`` is
``gold_seconds / method_seconds`` per seed, with both times measured in the same run.
Numbers that are not finite (NaN, infinity) are stored as ``null``.
"""

from __future__ import annotations

import json
import math
import numbers
import os
from pathlib import Path
from typing import Any

from obliviate.core.checkpoint import atomic_write_text
from obliviate.core.errors import DataError

SCHEMA = "obliviate.report/1"

ROLES = ("reference", "gold", "method")
GOLD_ROW = "gold"
ORIGINAL_ROW = "original"
COST_KEYS = ("seconds", "speedup", "flops")
ROW_FIELDS = frozenset({"method", "role", "runs", "skipped", "gap_to_gold"})

_TOP_LEVEL: dict[str, type | tuple[type, ...]] = {
    "schema": str,
    "task": str,
    "title": (str, type(None)),
    "created": str,
    "options": dict,
    "seeds": list,
    "methods": list,
    "params": dict,
    "metrics": list,
    "higher_is_better": list,
    "flags": dict,
    "environment": dict,
    "runs": list,
    "summary": list,
    "notes": list,
}

_RUN_FIELDS: dict[str, type | tuple[type, ...]] = {
    "seed": int,
    "method": str,
    "role": str,
    "status": str,
    "reason": (str, type(None)),
    "metrics": dict,
    "seconds": (int, float, type(None)),
    "speedup": (int, float, type(None)),
    "flops": (int, float, type(None)),
    "info": dict,
}


class ReportSchemaError(DataError):
    """A report document does not follow the ``obliviate.report/1`` schema."""


def jsonable(value: Any) -> Any:
    """Convert ``value`` to plain JSON types.

    NumPy and torch scalars become Python numbers, tuples and sets become lists, paths
    become strings, and non-finite floats become ``None`` (JSON has no NaN). Anything
    else that JSON cannot hold is stored as its ``str``.
    """
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        number = float(value)
        return number if math.isfinite(number) else None
    if isinstance(value, dict):
        return {str(key): jsonable(item) for key, item in value.items()}
    if isinstance(value, (set, frozenset)):
        return [jsonable(item) for item in sorted(value, key=repr)]
    if isinstance(value, (list, tuple)):
        return [jsonable(item) for item in value]
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    # NumPy arrays and torch tensors both offer tolist(); scalars give a plain number.
    tolist = getattr(value, "tolist", None)
    if callable(tolist):
        return jsonable(tolist())
    return str(value)


def _is_number_or_null(value: Any) -> bool:
    if value is None:
        return True
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _fail(where: str, message: str) -> None:
    raise ReportSchemaError(f"report does not follow {SCHEMA}: {where}: {message}")


def _check_type(where: str, value: Any, expected: type | tuple[type, ...]) -> None:
    allowed = expected if isinstance(expected, tuple) else (expected,)
    # bool is a subclass of int in Python, but true/false is never a count or a measurement.
    if isinstance(value, bool) and bool not in allowed:
        _fail(where, f"expected {_type_names(allowed)}, got a boolean ({value!r})")
    if not isinstance(value, allowed):
        _fail(where, f"expected {_type_names(allowed)}, got {type(value).__name__} ({value!r:.60})")


def _type_names(types: tuple[type, ...]) -> str:
    return " or ".join("null" if t is type(None) else t.__name__ for t in types)


def _check_stat(where: str, stat: Any) -> None:
    if not isinstance(stat, dict) or set(stat) - {"n"} != {"mean", "std"}:
        _fail(where, f"expected {{'mean': number, 'std': number, 'n': count}}, got {stat!r:.80}")
    if "n" in stat and (isinstance(stat["n"], bool) or not isinstance(stat["n"], int) or stat["n"] < 0):
        _fail(f"{where}.n", f"expected a count of finite values, got {stat['n']!r}")
    if stat.get("n") == 0 and stat["mean"] is not None:
        _fail(f"{where}.mean", "a statistic over no finite value must be null")
    for key in ("mean", "std"):
        if not _is_number_or_null(stat[key]):
            _fail(f"{where}.{key}", f"expected a finite number or null, got {stat[key]!r}")
    if stat["std"] is not None and stat["std"] < 0:
        _fail(f"{where}.std", f"a standard deviation cannot be negative ({stat['std']})")


def validate_report(report: Any) -> dict[str, Any]:
    """Check that ``report`` follows the ``obliviate.report/1`` schema.

    Checks the top-level fields and their types, every run record, and every summary
    row (``{"mean", "std"}`` statistics for each metric and cost, a ``gold`` row, runs
    that name known methods and seeds).

    Args:
        report: the decoded JSON document.

    Returns:
        ``report`` itself, so that ``validate_report(json.load(f))`` reads naturally.

    Raises:
        ReportSchemaError: naming the first field that does not match and why.
    """
    if not isinstance(report, dict):
        _fail("document", f"expected a JSON object, got {type(report).__name__}")
    if report.get("schema") != SCHEMA:
        _fail("schema", f"expected {SCHEMA!r}, got {report.get('schema')!r}; was it written by another version?")
    for key, expected in _TOP_LEVEL.items():
        if key not in report:
            _fail(key, "missing field")
        _check_type(key, report[key], expected)
    for index, seed in enumerate(report["seeds"]):
        _check_type(f"seeds[{index}]", seed, int)
    for key in ("methods", "metrics", "higher_is_better", "notes"):
        for index, item in enumerate(report[key]):
            _check_type(f"{key}[{index}]", item, str)
    known_rows = {ORIGINAL_ROW, GOLD_ROW, *report["methods"]}
    seeds = set(report["seeds"])

    for index, run in enumerate(report["runs"]):
        where = f"runs[{index}]"
        _check_type(where, run, dict)
        for key, expected in _RUN_FIELDS.items():
            if key not in run:
                _fail(f"{where}.{key}", "missing field")
            _check_type(f"{where}.{key}", run[key], expected)
        if run["method"] not in known_rows:
            _fail(f"{where}.method", f"{run['method']!r} is not original, gold or one of the listed methods")
        if run["seed"] not in seeds:
            _fail(f"{where}.seed", f"seed {run['seed']} is not listed in 'seeds'")
        if run["role"] not in ROLES:
            _fail(f"{where}.role", f"expected one of {ROLES}, got {run['role']!r}")
        if run["status"] not in ("ok", "skipped"):
            _fail(f"{where}.status", f"expected 'ok' or 'skipped', got {run['status']!r}")
        if run["status"] == "skipped" and not run["reason"]:
            _fail(f"{where}.reason", "a skipped run must say why")
        for name, value in run["metrics"].items():
            if not _is_number_or_null(value):
                _fail(f"{where}.metrics.{name}", f"expected a finite number or null, got {value!r:.60}")
        for key in COST_KEYS:
            if not _is_number_or_null(run[key]):
                _fail(f"{where}.{key}", f"expected a finite number or null, got {run[key]!r}")

    names = []
    for index, row in enumerate(report["summary"]):
        where = f"summary[{index}]"
        _check_type(where, row, dict)
        for key in ("method", "role", "runs"):
            if key not in row:
                _fail(f"{where}.{key}", "missing field")
        _check_type(f"{where}.method", row["method"], str)
        _check_type(f"{where}.runs", row["runs"], int)
        where = f"summary[{row['method']!r}]"
        if row["method"] not in known_rows:
            _fail(f"{where}.method", "not original, gold or one of the listed methods")
        if row["role"] not in ROLES:
            _fail(f"{where}.role", f"expected one of {ROLES}, got {row['role']!r}")
        _check_type(f"{where}.skipped", row.get("skipped"), (str, type(None)))
        names.append(row["method"])
        for key, stat in row.items():
            if key in ROW_FIELDS:
                continue
            _check_stat(f"{where}.{key}", stat)
        gaps = row.get("gap_to_gold", {})
        _check_type(f"{where}.gap_to_gold", gaps, dict)
        for key, stat in gaps.items():
            _check_stat(f"{where}.gap_to_gold.{key}", stat)
        if row["runs"] > 0:
            for metric in report["metrics"]:
                if metric not in row:
                    _fail(f"{where}.{metric}", "missing statistic for a listed metric")
            if row["role"] != "reference":
                for key in ("seconds", "speedup"):
                    if key not in row:
                        _fail(f"{where}.{key}", "missing statistic")
    if GOLD_ROW not in names:
        _fail("summary", "no 'gold' row (retraining from scratch is the reference of every report)")
    if len(set(names)) != len(names):
        _fail("summary", "a method has more than one row")
    return report


def dumps_report(report: dict[str, Any]) -> str:
    """The report as indented JSON text (validated first)."""
    validate_report(report)
    return json.dumps(report, indent=2, allow_nan=False) + "\n"


def write_report(report: dict[str, Any], path: str | os.PathLike) -> Path:
    """Validate ``report`` and write it as JSON to ``path`` atomically."""
    path = Path(path)
    atomic_write_text(path, dumps_report(report))
    return path


def load_report(path: str | os.PathLike) -> dict[str, Any]:
    """Read and validate a report written by :func:`write_report`.

    Raises:
        DataError: if the file is missing or not JSON.
        ReportSchemaError: if it does not follow the schema.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"report '{path}' does not exist; write one with `obliviate bench ... --out DIR`")
    try:
        report = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise DataError(f"'{path}' is not valid JSON: {exc}") from exc
    return validate_report(report)


def summary_row(report: dict[str, Any], method: str) -> dict[str, Any]:
    """The summary row of ``method`` (``"gold"``, ``"original"`` or a method name).

    Raises:
        ReportSchemaError: if the report has no such row.
    """
    for row in report["summary"]:
        if row["method"] == method:
            return row
    raise ReportSchemaError(
        f"the report has no summary row '{method}'; rows: {', '.join(r['method'] for r in report['summary'])}"
    )
