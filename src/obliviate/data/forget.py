"""Forget specs: what to forget, as a short string and a typed object.

Grammar: ``kind:argument``. The argument type depends on the kind:

====================  ==============================  ===========================
kind                  argument                        example
====================  ==============================  ===========================
random, edges, nodes,  a fraction in (0, 1)           ``random:0.1``
users, items
class, client,         comma-separated non-negative   ``class:3``, ``client:0,1``
concept, class-edges,  integers
class-nodes
ids                    path of a text file, one       ``ids:forget.txt``
                       integer identifier per line
subclass, facts        a name                         ``facts:forget01``
====================  ==============================  ===========================

Tasks decide which kinds they accept; :func:`select_classification_forget` resolves
the kinds of the classification task to training-set indices.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Union

import numpy as np

from obliviate.core.errors import InvalidForgetSpecError

FRACTION_KINDS = frozenset({"random", "edges", "nodes", "users", "items"})
INTEGER_KINDS = frozenset({"class", "client", "concept", "class-edges", "class-nodes"})
FILE_KINDS = frozenset({"ids"})
NAME_KINDS = frozenset({"subclass", "facts"})
KINDS = FRACTION_KINDS | INTEGER_KINDS | FILE_KINDS | NAME_KINDS


@dataclass(frozen=True)
class ForgetSpec:
    """A parsed forget spec.

    Attributes:
        kind: e.g. ``"class"``.
        value: a float (fraction kinds), a tuple of ints (integer kinds), a ``Path``
            (``ids``) or a string (name kinds).
    """

    kind: str
    value: Union[float, tuple[int, ...], Path, str]

    def __str__(self) -> str:
        if isinstance(self.value, tuple):
            return f"{self.kind}:{','.join(str(v) for v in self.value)}"
        return f"{self.kind}:{self.value}"


def parse_forget_spec(text: str | ForgetSpec, *, allowed: frozenset[str] | set[str] | None = None) -> ForgetSpec:
    """Parse ``"kind:argument"`` into a :class:`ForgetSpec`.

    Args:
        text: the spec string (a ``ForgetSpec`` passes through after the ``allowed`` check).
        allowed: kinds the caller's task supports (default: every known kind).

    Raises:
        InvalidForgetSpecError: naming what is wrong and the accepted form.
    """
    if isinstance(text, ForgetSpec):
        spec = text
    else:
        if not isinstance(text, str) or ":" not in text:
            raise InvalidForgetSpecError(
                f"forget spec {text!r} is not of the form 'kind:argument' "
                "(e.g. 'class:3', 'random:0.1', 'ids:forget.txt')"
            )
        kind, _, arg = text.partition(":")
        kind, arg = kind.strip(), arg.strip()
        if kind not in KINDS:
            raise InvalidForgetSpecError(
                f"unknown forget kind '{kind}' in {text!r}; known kinds: {', '.join(sorted(KINDS))}"
            )
        if not arg:
            raise InvalidForgetSpecError(f"forget spec {text!r} has no argument after ':'")
        spec = ForgetSpec(kind, _parse_value(kind, arg, text))
    if allowed is not None and spec.kind not in allowed:
        raise InvalidForgetSpecError(
            f"forget kind '{spec.kind}' is not supported here; use one of: {', '.join(sorted(allowed))}"
        )
    return spec


def _parse_value(kind: str, arg: str, text: str):
    if kind in FRACTION_KINDS:
        try:
            fraction = float(arg)
        except ValueError:
            raise InvalidForgetSpecError(
                f"'{kind}' takes a fraction in (0, 1), e.g. '{kind}:0.1'; got {arg!r}"
            ) from None
        if not 0.0 < fraction < 1.0:
            raise InvalidForgetSpecError(
                f"'{kind}' fraction must lie strictly between 0 and 1; got {fraction} in {text!r}"
            )
        return fraction
    if kind in INTEGER_KINDS:
        try:
            values = tuple(int(part) for part in arg.split(","))
        except ValueError:
            raise InvalidForgetSpecError(
                f"'{kind}' takes comma-separated integers, e.g. '{kind}:3' or '{kind}:0,1'; got {arg!r}"
            ) from None
        if any(v < 0 for v in values):
            raise InvalidForgetSpecError(f"'{kind}' values must be non-negative; got {arg!r}")
        if len(set(values)) != len(values):
            raise InvalidForgetSpecError(f"'{kind}' lists a value twice: {arg!r}")
        return values
    if kind in FILE_KINDS:
        return Path(arg)
    return arg


def read_id_values(path: Path) -> list[str]:
    """The identifiers of an ids file as text, one per line (blank lines and ``#`` comments
    skipped): the values of a user's id column.

    Raises:
        InvalidForgetSpecError: if the file is missing or not UTF-8 text.
    """
    path = Path(path)
    if not path.is_file():
        raise InvalidForgetSpecError(f"ids file '{path}' does not exist or is not a file; write one identifier per line")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise InvalidForgetSpecError(f"ids file '{path}' is not UTF-8 text; write one identifier per line") from None
    return [line.split("#", 1)[0].strip() for line in text.splitlines() if line.split("#", 1)[0].strip()]


def read_ids_file(path: Path) -> np.ndarray:
    """Read one integer identifier per line (blank lines and ``#`` comments skipped).

    Range, duplicates and emptiness are checked later, by :func:`check_indices`.

    Raises:
        InvalidForgetSpecError: if the file is missing, not text, or a line is not an integer.
    """
    path = Path(path)
    if not path.is_file():
        raise InvalidForgetSpecError(
            f"ids file '{path}' does not exist or is not a file; write one identifier per line"
        )
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise InvalidForgetSpecError(
            f"ids file '{path}' is not UTF-8 text; write one integer identifier per line"
        ) from None
    ids = []
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        try:
            ids.append(int(line))
        except ValueError:
            raise InvalidForgetSpecError(
                f"ids file '{path}', line {number}: {line!r} is not an integer identifier"
            ) from None
    return np.asarray(ids, dtype=np.int64)


def check_indices(indices: np.ndarray, size: int, *, what: str = "training set") -> np.ndarray:
    """Validate forget indices against a set of ``size`` items; returns them sorted.

    Raises:
        InvalidForgetSpecError: if empty, out of range, duplicated, or the whole set.
    """
    raw = np.asarray(indices)
    if raw.dtype == bool:
        raise InvalidForgetSpecError(
            "forget indices were given as a boolean mask; pass the indices (numpy.flatnonzero(mask))"
        )
    if raw.ndim > 1:
        raise InvalidForgetSpecError(f"forget indices must be one-dimensional; got shape {raw.shape}")
    if raw.size and not np.issubdtype(raw.dtype, np.integer):
        numeric = np.issubdtype(raw.dtype, np.number)
        if not numeric or not np.array_equal(raw, np.round(raw)):
            raise InvalidForgetSpecError(f"forget indices must be integers; got values of dtype {raw.dtype}")
    indices = raw.astype(np.int64).reshape(-1)
    if indices.size == 0:
        raise InvalidForgetSpecError(f"the forget set is empty: nothing in the {what} matches")
    if indices.min() < 0 or indices.max() >= size:
        bad = indices[(indices < 0) | (indices >= size)][:5].tolist()
        raise InvalidForgetSpecError(
            f"forget ids {bad} are out of range: the {what} has ids 0..{size - 1}"
        )
    unique, counts = np.unique(indices, return_counts=True)
    if (counts > 1).any():
        raise InvalidForgetSpecError(
            f"forget ids are duplicated: {unique[counts > 1][:5].tolist()}; list each id once"
        )
    if unique.size >= size:
        raise InvalidForgetSpecError(
            f"the forget set is the whole {what}: nothing would be left to retain"
        )
    return unique


def select_classification_forget(spec: ForgetSpec, labels: np.ndarray, *, seed: int) -> np.ndarray:
    """Indices of the training examples a classification forget spec selects.

    ``random:f`` draws ``round(f * n)`` examples uniformly (seeded); ``class:k[,k]`` takes
    every example of those classes; ``ids:file`` reads the indices.

    Raises:
        InvalidForgetSpecError: for a class absent from the labels, bad ids, or an empty
            or total forget set.
    """
    labels = np.asarray(labels)
    n = labels.shape[0]
    if spec.kind == "random":
        count = max(1, int(round(float(spec.value) * n)))
        rng = np.random.default_rng(seed)
        indices = rng.choice(n, size=count, replace=False)
    elif spec.kind == "class":
        present = set(np.unique(labels).tolist())
        missing = [k for k in spec.value if k not in present]
        if missing:
            raise InvalidForgetSpecError(
                f"class {missing} is absent from the training labels; classes present: {sorted(present)}"
            )
        indices = np.flatnonzero(np.isin(labels, list(spec.value)))
    elif spec.kind == "ids":
        indices = read_ids_file(Path(spec.value))
    else:
        raise InvalidForgetSpecError(
            f"classification does not support forget kind '{spec.kind}'; use random, class or ids"
        )
    return check_indices(indices, n)
