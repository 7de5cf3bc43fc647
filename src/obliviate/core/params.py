"""Declared hyper-parameter constraints, checked in one place.

In the manner of scikit-learn's ``_parameter_constraints``: each unlearner declares,
for every keyword-only hyper-parameter, the values it accepts; :func:`validate_params`
checks them all and raises one error naming the parameter, what is allowed and what
was received.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from typing import Any, Iterable

from obliviate.core.errors import InvalidParameterError


@dataclass(frozen=True)
class Interval:
    """A numeric range. ``kind`` is ``int`` or ``float`` (``float`` also admits ints)."""

    kind: type
    low: float | None
    high: float | None
    closed: str = "both"  # "both", "left", "right", "neither"

    def accepts(self, value: Any) -> bool:
        if isinstance(value, bool):
            return False
        if self.kind is int and not isinstance(value, numbers.Integral):
            return False
        if self.kind is float and not isinstance(value, numbers.Real):
            return False
        if isinstance(value, float) and not math.isfinite(value):
            return False  # NaN compares false with every bound; infinity is never a usable setting
        low_ok = self.low is None or (
            value >= self.low if self.closed in ("both", "left") else value > self.low
        )
        high_ok = self.high is None or (
            value <= self.high if self.closed in ("both", "right") else value < self.high
        )
        return low_ok and high_ok

    def __str__(self) -> str:
        left = "[" if self.closed in ("both", "left") else "("
        right = "]" if self.closed in ("both", "right") else ")"
        low = "-inf" if self.low is None else self.low
        high = "inf" if self.high is None else self.high
        return f"{self.kind.__name__} in {left}{low}, {high}{right}"


@dataclass(frozen=True)
class Options:
    """A finite set of allowed values."""

    values: frozenset

    def __init__(self, values: Iterable[Any]):
        object.__setattr__(self, "values", frozenset(values))

    def accepts(self, value: Any) -> bool:
        try:
            return value in self.values
        except TypeError:
            return False

    def __str__(self) -> str:
        return "one of " + ", ".join(repr(v) for v in sorted(self.values, key=repr))


@dataclass(frozen=True)
class InstanceOf:
    """Any instance of the given type(s)."""

    types: tuple

    def __init__(self, *types: type):
        object.__setattr__(self, "types", types)

    def accepts(self, value: Any) -> bool:
        return isinstance(value, self.types) and not (
            isinstance(value, bool) and bool not in self.types
        )

    def __str__(self) -> str:
        return "an instance of " + " or ".join(t.__name__ for t in self.types)


class _NoneConstraint:
    def accepts(self, value: Any) -> bool:
        return value is None

    def __str__(self) -> str:
        return "None"


NONE = _NoneConstraint()


def validate_params(constraints: dict[str, list], params: dict[str, Any], owner: str) -> None:
    """Check every parameter against its declared constraints.

    Args:
        constraints: parameter name -> list of accepted constraints (any one suffices).
        params: parameter name -> value received.
        owner: name used in the error message (e.g. ``"classification/ssd"``).

    Raises:
        InvalidParameterError: naming the parameter, the accepted values and the value given.
    """
    for name, value in params.items():
        allowed = constraints.get(name)
        if allowed is None:
            continue
        if not any(c.accepts(value) for c in allowed):
            accepted = " or ".join(str(c) for c in allowed)
            raise InvalidParameterError(
                f"{owner}: parameter '{name}' must be {accepted}; got {value!r}"
            )
