"""Operation streams: ``learn:0-1,learn:2-3,unlearn:2-3,unlearn:ids:forget.txt``."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from obliviate.core.errors import DataError, InvalidRequestError

DEFAULT_STREAM = "learn:0-1,learn:2-3,learn:4-5,unlearn:2-3,learn:6-7"


@dataclass(frozen=True)
class Operation:
    """One step of a stream.

    Attributes:
        kind: ``"learn"`` or ``"unlearn"``.
        classes: the classes learned or forgotten (empty for a sample deletion).
        ids_file: for ``unlearn:ids:<file>``, a text file of training-set positions.
    """

    kind: str
    classes: tuple[int, ...] = ()
    ids_file: str | None = None

    def __str__(self) -> str:
        if self.ids_file is not None:
            return f"unlearn:ids:{self.ids_file}"
        lo, hi = min(self.classes), max(self.classes)
        body = str(lo) if lo == hi and len(self.classes) == 1 else (
            f"{lo}-{hi}" if list(self.classes) == list(range(lo, hi + 1)) else "+".join(map(str, self.classes))
        )
        return f"{self.kind}:{body}"


def _classes(text: str, op: str) -> tuple[int, ...]:
    out: list[int] = []
    try:
        for part in text.split("+"):
            if "-" in part:
                lo, hi = (int(v) for v in part.split("-", 1))
                if hi < lo:
                    raise ValueError
                out.extend(range(lo, hi + 1))
            else:
                out.append(int(part))
    except ValueError:
        raise InvalidRequestError(
            f"stream operation '{op}': '{text}' is not a class range; write e.g. 'learn:0-1' or 'learn:0+5'"
        ) from None
    return tuple(sorted(set(out)))


def parse_stream(stream: str | list[Operation] | tuple[Operation, ...], num_classes: int | None = None) -> tuple[Operation, ...]:
    """Parse a comma-separated stream; classes are checked against ``num_classes``.

    Raises:
        InvalidRequestError: a malformed operation, an unknown class, or a class learned twice.
    """
    if not isinstance(stream, str):
        return tuple(stream)
    ops: list[Operation] = []
    learned: set[int] = set()
    for raw in (s.strip() for s in stream.split(",")):
        if not raw:
            continue
        kind, _, rest = raw.partition(":")
        if kind not in ("learn", "unlearn") or not rest:
            raise InvalidRequestError(
                f"stream operation '{raw}': write 'learn:<classes>', 'unlearn:<classes>' or 'unlearn:ids:<file>'"
            )
        if kind == "unlearn" and rest.startswith("ids:"):
            ops.append(Operation("unlearn", (), rest[4:]))
            continue
        classes = _classes(rest, raw)
        if num_classes is not None and (min(classes) < 0 or max(classes) >= num_classes):
            raise InvalidRequestError(f"stream operation '{raw}': classes must lie in 0..{num_classes - 1}")
        if kind == "learn":
            if learned & set(classes):
                raise InvalidRequestError(f"stream operation '{raw}': classes {sorted(learned & set(classes))} were learned already")
            learned |= set(classes)
        elif not set(classes) <= learned:
            raise InvalidRequestError(
                f"stream operation '{raw}': classes {sorted(set(classes) - learned)} are unlearned before being learned"
            )
        ops.append(Operation(kind, classes))
    if not any(op.kind == "learn" for op in ops):
        raise InvalidRequestError("the stream learns nothing; start it with e.g. 'learn:0-1'")
    return tuple(ops)


def default_stream(num_classes: int) -> str:
    """The built-in stream for ``num_classes`` classes: :data:`DEFAULT_STREAM` for ten (or at
    least eight) classes; otherwise two classes per task with the second task unlearned after
    the third is learned (at the end with fewer tasks).

    Raises:
        InvalidRequestError: fewer than four classes (write the stream yourself).
    """
    if num_classes >= 8:
        return DEFAULT_STREAM
    if num_classes < 4:
        raise InvalidRequestError(f"the data has {num_classes} classes; write the stream yourself, e.g. 'learn:0,learn:1,unlearn:1'")
    tasks = [f"{lo}-{lo + 1}" if lo + 1 < num_classes else f"{lo}" for lo in range(0, num_classes, 2)]
    ops = [f"learn:{t}" for t in tasks]
    ops.insert(min(3, len(ops)), f"unlearn:{tasks[1]}")
    return ",".join(ops)


def parse_forget(spec: str, num_classes: int | None = None) -> Operation:
    """An unlearning step written as a forget spec: ``class:2-3`` (or ``2-3``,
    ``unlearn:2-3``) for classes, ``ids:<file>`` for samples.

    Raises:
        InvalidRequestError: a malformed spec or a class outside ``0..num_classes-1``.
    """
    text = str(spec).strip()
    for prefix in ("unlearn:", "classes:", "class:"):
        if text.startswith(prefix):
            text = text[len(prefix):]
            break
    if text.startswith("ids:"):
        if not text[4:]:
            raise InvalidRequestError(f"forget spec '{spec}': name the ids file, e.g. 'ids:forget.txt'")
        return Operation("unlearn", (), text[4:])
    classes = _classes(text, f"unlearn:{text}")
    if num_classes is not None and (min(classes) < 0 or max(classes) >= num_classes):
        raise InvalidRequestError(f"forget spec '{spec}': classes must lie in 0..{num_classes - 1}")
    return Operation("unlearn", classes)


def read_ids(path: str | Path, n_train: int) -> np.ndarray:
    """Training-set positions listed one per line in ``path`` (``#`` comments allowed).

    Raises:
        DataError: the file is missing or holds a value that is not a valid position.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"ids file '{path}' does not exist; write one training-set position per line")
    values = []
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        try:
            values.append(int(line))
        except ValueError:
            raise DataError(f"ids file '{path}': '{line}' is not an integer position") from None
    ids = np.unique(np.asarray(values, dtype=np.int64))
    if len(ids) == 0 or ids.min() < 0 or ids.max() >= n_train:
        raise DataError(f"ids file '{path}': positions must be in 0..{n_train - 1} and at least one must be given")
    return ids
