"""A user's own classification data: a CSV or Parquet table, or a ``.npz`` of arrays.

The user's split and identifiers are used as given:

* **Table** (``.csv``; ``.parquet`` with pyarrow installed): one row per example, a label
  column, optionally an id column (the identifiers forget requests name) and a split
  column whose values are ``train`` or ``test``; every other column is a numeric feature.
  A separate test table (same columns) may be given instead of a split column.
* **Arrays** (``.npz``, read without pickle): ``x`` (``n x ...``, images keep their shape),
  ``y`` (``n``), optionally ``ids`` and ``split`` (strings ``train``/``test``).

Rows whose split is ``test`` are never trained on; they are the held-out data of the audit
(the membership attack's non-members). Nothing is standardised unless asked
(``standardize=True`` uses the training rows' mean and standard deviation). Labels that are
not ``0..C-1`` are mapped to it in sorted order and the mapping is kept.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

import numpy as np

from obliviate.core.errors import DataError, InvalidRequestError
from obliviate.data.datasets import ClassificationData

SPLIT_VALUES = ("train", "test")


def file_sha256(*paths: str | os.PathLike | None) -> str:
    """sha256 over the bytes of the given files, in order (``None`` entries skipped)."""
    digest = hashlib.sha256()
    for path in paths:
        if path is None:
            continue
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


def _read_frame(path: Path) -> Any:
    import pandas as pd

    if not path.is_file():
        raise DataError(f"data file '{path}' does not exist")
    suffix = path.suffix.lower()
    try:
        if suffix == ".csv":
            return pd.read_csv(path)
        if suffix == ".parquet":
            try:
                import pyarrow  # noqa: F401
            except ImportError:
                raise DataError(
                    f"reading '{path}' needs pyarrow (pip install pyarrow), or save the table as CSV"
                ) from None
            return pd.read_parquet(path)
    except (OSError, ValueError) as exc:
        raise DataError(f"cannot read '{path}': {' '.join(str(exc).split())}") from None
    raise DataError(f"'{path}': unsupported format '{suffix}'; use .csv, .parquet or .npz")


def _column(frame: Any, name: str | None, what: str, path: Path) -> Any:
    if name is None:
        return None
    if name not in frame.columns:
        raise DataError(f"'{path}' has no {what} column '{name}'; its columns are: {', '.join(map(str, frame.columns))}")
    return frame[name].to_numpy()


def _split_mask(values: np.ndarray, path: Path) -> np.ndarray:
    text = np.array([str(v).strip().lower() for v in values])
    bad = sorted(set(text) - set(SPLIT_VALUES))
    if bad:
        raise DataError(f"'{path}': split values must be 'train' or 'test'; found {bad[:5]}")
    return text == "test"


def _from_frame(frame: Any, path: Path, label: str, id_column: str | None, split: str | None) -> dict[str, Any]:
    y = _column(frame, label, "label", path)
    ids = _column(frame, id_column, "id", path)
    test = _split_mask(_column(frame, split, "split", path), path) if split else None
    features = [c for c in frame.columns if c not in {label, id_column, split}]
    if not features:
        raise DataError(f"'{path}' has no feature column besides the label, id and split columns")
    non_numeric = [str(c) for c in features if not np.issubdtype(frame[c].dtype, np.number)]
    if non_numeric:
        raise DataError(
            f"'{path}': feature columns must be numeric; {', '.join(non_numeric[:5])} are not "
            "(encode them, or name them as the id/split column)"
        )
    x = frame[features].to_numpy(dtype=np.float32)
    return {"x": x, "y": y, "ids": ids, "test": test}


def _from_npz(path: Path) -> dict[str, Any]:
    try:
        with np.load(path, allow_pickle=False) as arrays:
            content = {key: arrays[key] for key in arrays.files}
    except (OSError, ValueError) as exc:
        raise DataError(f"cannot read '{path}' as a .npz of plain arrays: {' '.join(str(exc).split())}") from None
    for key in ("x", "y"):
        if key not in content:
            raise DataError(f"'{path}' must hold arrays 'x' and 'y' (optionally 'ids' and 'split'); it has {sorted(content)}")
    test = _split_mask(content["split"], path) if "split" in content else None
    return {"x": content["x"].astype(np.float32), "y": content["y"], "ids": content.get("ids"), "test": test}


def _load(path: Path, label: str | None, id_column: str | None, split: str | None) -> dict[str, Any]:
    if path.suffix.lower() == ".npz":
        return _from_npz(path)
    if label is None:
        raise InvalidRequestError(f"'{path}' is a table: name its label column (--label-column)")
    return _from_frame(_read_frame(path), path, label, id_column, split)


def load_table(
    path: str | os.PathLike,
    *,
    label_column: str | None = None,
    id_column: str | None = None,
    split_column: str | None = None,
    test: str | os.PathLike | None = None,
    standardize: bool = False,
) -> ClassificationData:
    """Load a user's classification data with their split and ids (see the module docstring).

    Args:
        path: ``.csv``, ``.parquet`` or ``.npz``.
        label_column, id_column, split_column: column names (tables).
        test: a separate held-out file in the same format (instead of a split column).
        standardize: standardise features with the training rows' statistics.

    Raises:
        DataError: unreadable file, missing columns, non-numeric features, non-finite
            values, duplicate ids, or no held-out rows.
        InvalidRequestError: both a split column and a test file, or a table without a label column.
    """
    path = Path(path)
    parts = _load(path, label_column, id_column, split_column)
    if test is not None:
        if parts["test"] is not None:
            raise InvalidRequestError("give either a split column or a test file, not both")
        held = _load(Path(test), label_column, id_column, None)
        n_train = len(parts["y"])
        if held["x"].shape[1:] != parts["x"].shape[1:]:
            raise DataError(f"the test file's features have shape {held['x'].shape[1:]}, the training file's {parts['x'].shape[1:]}")
        ids = None
        if (parts["ids"] is None) != (held["ids"] is None):
            raise DataError("give the id column in both the training and the test file, or in neither")
        if parts["ids"] is not None:
            ids = np.concatenate([parts["ids"].astype(str), held["ids"].astype(str)])
        parts = {
            "x": np.concatenate([parts["x"], held["x"]]),
            "y": np.concatenate([parts["y"], held["y"]]),
            "ids": ids,
            "test": np.r_[np.zeros(n_train, dtype=bool), np.ones(len(held["y"]), dtype=bool)],
        }
    if parts["test"] is None or not parts["test"].any():
        raise DataError(
            f"'{path}' names no held-out rows: add a split column with 'test' rows (--split-column) or a "
            "test file (--test); the audit compares forgotten rows with rows the model never saw"
        )
    x, y, test_mask = parts["x"], parts["y"], parts["test"]
    if len(x) != len(y):
        raise DataError(f"'{path}': {len(x)} feature rows but {len(y)} labels")
    if not np.isfinite(x).all():
        raise DataError(f"'{path}' holds missing or non-finite feature values; fill or drop those rows first")
    values = np.unique(y)
    classes = None
    if not (np.issubdtype(values.dtype, np.integer) and values.min() >= 0 and np.array_equal(values, np.arange(len(values)))):
        classes = values.tolist()
        y = np.searchsorted(values, y)
    y = np.asarray(y, dtype=np.int64)
    ids = np.arange(len(y)) if parts["ids"] is None else np.asarray(parts["ids"]).astype(str)
    if len(np.unique(ids)) != len(ids):
        raise DataError(f"'{path}': the id column holds duplicate values; each row needs its own id")
    x_train, x_test = x[~test_mask], x[test_mask]
    if standardize:
        flat = x_train.reshape(len(x_train), -1)
        mean, std = flat.mean(axis=0), flat.std(axis=0) + 1e-8
        x_train = ((flat - mean) / std).reshape(x_train.shape).astype(np.float32)
        x_test = ((x_test.reshape(len(x_test), -1) - mean) / std).reshape(x_test.shape).astype(np.float32)
    return ClassificationData(
        name=path.name,
        x_train=np.ascontiguousarray(x_train),
        y_train=y[~test_mask],
        x_test=np.ascontiguousarray(x_test),
        y_test=y[test_mask],
        num_classes=int(max(y.max() + 1, len(values))),
        ids_train=ids[~test_mask].astype(str),
        ids_test=ids[test_mask].astype(str),
        classes=classes,
        digest=file_sha256(path, test),
    )


def select_by_ids(requested: list[str], data: ClassificationData) -> np.ndarray:
    """Training positions of the rows whose user ids are ``requested``.

    Raises:
        InvalidRequestError: for an id that belongs to a held-out row (never trained on, so
            nothing to forget) or that is unknown.
    """
    from obliviate.core.errors import InvalidForgetSpecError

    position = {value: i for i, value in enumerate(data.ids_train.tolist())}
    held_out = set(data.ids_test.tolist()) if data.ids_test is not None else set()
    chosen, missing, in_test = [], [], []
    for value in requested:
        if value in position:
            chosen.append(position[value])
        elif value in held_out:
            in_test.append(value)
        else:
            missing.append(value)
    if in_test:
        raise InvalidForgetSpecError(
            f"ids {in_test[:5]} belong to held-out (test) rows, which the model was never trained on"
        )
    if missing:
        raise InvalidForgetSpecError(f"ids {missing[:5]} are not in the data's id column")
    if not chosen:
        raise InvalidForgetSpecError("the ids file names no row")
    return np.array(sorted(set(chosen)), dtype=np.int64)
