"""The result of a valuation: one value per training point, with its provenance and cost.

In the manner of pyDVL's ``ValuationResult``: values are kept in the order of the training
set (``ids[i]`` is the identifier of ``values[i]``); :meth:`ValuationResult.sort` returns a
re-ordered copy. Per-point side outputs (EcoVal's intrinsic and extrinsic parts, TMC's
standard errors, ...) travel in ``extra`` and become columns of :meth:`to_pandas`.
Saving writes JSON (never pickle).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from obliviate.core.errors import DataError

FORMAT_VERSION = 1


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, np.ndarray):
        return [_plain(v) for v in value.tolist()]
    if isinstance(value, np.generic):
        return value.item()
    return value


@dataclass
class ValuationResult:
    """Values of the training points.

    Attributes:
        method: the valuation method's name.
        values: ``(n,)`` float64 values, in training-set order unless sorted.
        ids: ``(n,)`` identifiers of the points.
        model_fits: number of models trained to compute the values.
        seconds: wall time of the computation.
        params: the method's hyper-parameters.
        provenance: data set, utility, package versions, parallel backend, time.
        extra: per-point side outputs, each an ``(n,)`` array in the same order as ``values``.
    """

    method: str
    values: np.ndarray
    ids: np.ndarray
    model_fits: int
    seconds: float
    params: dict[str, Any] = field(default_factory=dict)
    provenance: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, np.ndarray] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.values = np.asarray(self.values, dtype=np.float64)
        self.ids = np.asarray(self.ids)
        if self.values.shape != self.ids.shape or self.values.ndim != 1:
            raise DataError(f"values {self.values.shape} and ids {self.ids.shape} must be 1-D of one length")
        for key, column in list(self.extra.items()):
            column = np.asarray(column)
            if column.shape[:1] != self.values.shape:
                raise DataError(f"extra column '{key}' has {column.shape[:1]} rows, values {self.values.shape}")
            self.extra[key] = column

    def __len__(self) -> int:
        return len(self.values)

    def __getitem__(self, index: int) -> float:
        return float(self.values[index])

    def argsort(self, *, descending: bool = False) -> np.ndarray:
        """Positions that order the values (stable: ties keep training-set order)."""
        order = np.argsort(-self.values if descending else self.values, kind="stable")
        return order

    def sort(self, *, descending: bool = False) -> ValuationResult:
        """A copy ordered by value (lowest first unless ``descending``)."""
        order = self.argsort(descending=descending)
        return replace(
            self,
            values=self.values[order],
            ids=self.ids[order],
            extra={key: column[order] for key, column in self.extra.items()},
        )

    def lowest(self, count: int) -> np.ndarray:
        """Ids of the ``count`` lowest-valued points, lowest first."""
        return self.ids[self.argsort()[:count]]

    def highest(self, count: int) -> np.ndarray:
        """Ids of the ``count`` highest-valued points, highest first."""
        return self.ids[self.argsort(descending=True)[:count]]

    def to_pandas(self) -> Any:
        """A DataFrame indexed by id with a ``value`` column, one column per ``extra`` entry,
        and ``attrs`` holding method, model fits, seconds, params and provenance."""
        import pandas as pd

        columns: dict[str, Any] = {"value": self.values}
        columns.update({key: column for key, column in self.extra.items() if column.ndim == 1})
        frame = pd.DataFrame(columns, index=pd.Index(self.ids, name="id"))
        frame.attrs.update(
            method=self.method,
            model_fits=self.model_fits,
            seconds=self.seconds,
            params=_plain(self.params),
            provenance=_plain(self.provenance),
        )
        return frame

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable document of the whole result."""
        return {
            "format": "obliviate.valuation",
            "version": FORMAT_VERSION,
            "method": self.method,
            "model_fits": int(self.model_fits),
            "seconds": float(self.seconds),
            "params": _plain(self.params),
            "provenance": _plain(self.provenance),
            "ids": _plain(self.ids),
            "values": _plain(self.values),
            "extra": {key: _plain(column) for key, column in self.extra.items()},
        }

    def save(self, path: str | os.PathLike) -> Path:
        """Write the result as JSON (``.json``) or the DataFrame as CSV (``.csv``), atomically."""
        from obliviate.core.checkpoint import atomic_write_text

        path = Path(path)
        if path.suffix == ".csv":
            atomic_write_text(path, self.to_pandas().to_csv())
        else:
            atomic_write_text(path, json.dumps(self.to_dict(), indent=1))
        return path

    @classmethod
    def load(cls, path: str | os.PathLike) -> ValuationResult:
        """Read a result written by :meth:`save` as JSON.

        Raises:
            DataError: for a missing file or one that is not a valuation result.
        """
        path = Path(path)
        try:
            document = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise DataError(f"cannot read valuation result '{path}': {exc}") from exc
        if document.get("format") != "obliviate.valuation":
            raise DataError(f"'{path}' is not an obliviate valuation result (no format marker)")
        return cls(
            method=document["method"],
            values=np.asarray(document["values"], dtype=np.float64),
            ids=np.asarray(document["ids"]),
            model_fits=int(document["model_fits"]),
            seconds=float(document["seconds"]),
            params=document.get("params", {}),
            provenance=document.get("provenance", {}),
            extra={key: np.asarray(column) for key, column in document.get("extra", {}).items()},
        )
