"""Checking a pair of tables and encoding their columns the same way.

A :class:`TableCodec` is built from the real table (and optionally the synthetic one, so
that categories seen only in the synthetic data get codes too). Categorical columns become
integer codes over the union of categories (sorted, missing values last); numeric columns
stay floats. Generators use the same codec to map their samples back to the user's values.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable, Sequence

import numpy as np
import pandas as pd

from obliviate.core.errors import InvalidRequestError


def _sorted_categories(values: Iterable[Any]) -> list[Any]:
    present = [v for v in pd.unique(pd.Series(list(values), dtype=object)) if not _is_missing(v)]
    try:
        ordered = sorted(present)
    except TypeError:  # mixed types: order by their text
        ordered = sorted(present, key=lambda v: (type(v).__name__, str(v)))
    return ordered


def _is_missing(value: Any) -> bool:
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def as_frame(table: Any, what: str) -> pd.DataFrame:
    """``table`` as a DataFrame with string column names, or a typed error saying what it must be."""
    if isinstance(table, pd.DataFrame):
        frame = table
    elif isinstance(table, np.ndarray) and table.ndim == 2:
        frame = pd.DataFrame(table)
    else:
        raise InvalidRequestError(
            f"{what} must be a pandas DataFrame (or a 2-D NumPy array); got {type(table).__name__}"
        )
    frame = frame.copy()
    frame.columns = [str(c) for c in frame.columns]
    if frame.columns.duplicated().any():
        duplicated = sorted(set(frame.columns[frame.columns.duplicated()]))
        raise InvalidRequestError(f"{what} has duplicated column names {duplicated}; rename them")
    return frame.reset_index(drop=True)


@dataclass
class TableCodec:
    """How the columns of a table are read and written.

    Attributes:
        columns: column names, in the real table's order.
        categorical: names of the categorical columns.
        categories: per categorical column, its categories in code order (a missing value,
            when present, is the last category and decodes to ``NaN``).
        integer: numeric columns whose values are all integers in the real table (generators
            round their samples for these).
        bounds: per numeric column, the real table's (min, max).
    """

    columns: list[str]
    categorical: list[str]
    categories: dict[str, list[Any]] = field(default_factory=dict)
    integer: list[str] = field(default_factory=list)
    bounds: dict[str, tuple[float, float]] = field(default_factory=dict)
    dtypes: dict[str, Any] = field(default_factory=dict)

    @property
    def numeric(self) -> list[str]:
        """Numeric column names, in table order."""
        return [c for c in self.columns if c not in self.categorical]

    @classmethod
    def from_frames(
        cls,
        real: pd.DataFrame,
        categorical: Sequence[str] = (),
        others: Sequence[pd.DataFrame] = (),
        *,
        allow_missing_numeric: bool = False,
    ) -> TableCodec:
        """Build the codec of ``real``; categories also collect those of ``others``.

        Raises:
            InvalidRequestError: an unknown categorical name, a non-numeric column not listed
                as categorical, or missing values in a numeric column.
        """
        columns = list(real.columns)
        categorical = [str(c) for c in categorical]
        unknown = [c for c in categorical if c not in columns]
        if unknown:
            raise InvalidRequestError(
                f"categorical columns {unknown} are not in the table; its columns are {columns}"
            )
        ordered_categorical = [c for c in columns if c in set(categorical)]
        codec = cls(columns, ordered_categorical)
        for column in columns:
            codec.dtypes[column] = real[column].dtype
            if column in codec.categorical:
                pooled = pd.concat([real[column].astype(object)] + [o[column].astype(object) for o in others])
                values = pooled.unique()
                categories = _sorted_categories(values)
                if pooled.isna().any():
                    categories.append(np.nan)
                codec.categories[column] = categories
                continue
            series = real[column]
            if not pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series):
                raise InvalidRequestError(
                    f"column {column!r} is not numeric (dtype {series.dtype}); list it in categorical "
                    f"(e.g. --categorical {column}) or convert it to numbers"
                )
            if series.isna().any() and not allow_missing_numeric:
                raise InvalidRequestError(
                    f"numeric column {column!r} has {int(series.isna().sum())} missing values; "
                    "impute or drop them first (missing values are allowed in categorical columns)"
                )
            values = series.to_numpy(dtype=float)
            finite = values[np.isfinite(values)]
            if finite.size == 0:
                raise InvalidRequestError(f"numeric column {column!r} has no finite values")
            codec.bounds[column] = (float(finite.min()), float(finite.max()))
            if np.all(np.equal(np.mod(finite, 1), 0)):
                codec.integer.append(column)
        return codec

    def check_columns(self, frame: pd.DataFrame, what: str) -> pd.DataFrame:
        """``frame`` with its columns in codec order.

        Raises:
            InvalidRequestError: when columns are missing, extra, or a numeric column is not numeric.
        """
        missing = [c for c in self.columns if c not in frame.columns]
        extra = [c for c in frame.columns if c not in self.columns]
        if missing or extra:
            raise InvalidRequestError(
                f"{what} must have the real table's columns: missing {missing}, unexpected {extra}"
            )
        frame = frame[self.columns]
        for column in self.numeric:
            if not pd.api.types.is_numeric_dtype(frame[column]) or pd.api.types.is_bool_dtype(frame[column]):
                raise InvalidRequestError(
                    f"column {column!r} of {what} is not numeric (dtype {frame[column].dtype}) although it "
                    "is numeric in the real table"
                )
            if frame[column].isna().any():
                raise InvalidRequestError(
                    f"numeric column {column!r} of {what} has missing values; impute or drop them first"
                )
        return frame

    def codes(self, frame: pd.DataFrame, column: str) -> np.ndarray:
        """Integer codes of a categorical column (``-1`` for a value the codec does not know)."""
        categories = self.categories[column]
        lookup: dict[Any, int] = {}
        missing_code = -1
        for index, value in enumerate(categories):
            if _is_missing(value):
                missing_code = index
            else:
                lookup[value] = index
        series = frame[column]
        mapped = series.map(lookup)
        codes = mapped.to_numpy(dtype=float, na_value=np.nan)
        result = np.where(np.isnan(codes), -1, codes).astype(np.int64)
        if missing_code >= 0:
            result[series.isna().to_numpy()] = missing_code
        return result

    def numeric_matrix(self, frame: pd.DataFrame, columns: Sequence[str] | None = None) -> np.ndarray:
        """The numeric columns as a float64 ``(n, p)`` matrix."""
        columns = self.numeric if columns is None else list(columns)
        if not columns:
            return np.zeros((len(frame), 0))
        return frame[columns].to_numpy(dtype=np.float64)

    def code_matrix(self, frame: pd.DataFrame, columns: Sequence[str] | None = None) -> np.ndarray:
        """The categorical columns as an int64 ``(n, q)`` matrix of codes."""
        columns = self.categorical if columns is None else list(columns)
        if not columns:
            return np.zeros((len(frame), 0), dtype=np.int64)
        return np.column_stack([self.codes(frame, c) for c in columns])

    def decode(self, numeric: np.ndarray, codes: np.ndarray) -> pd.DataFrame:
        """A DataFrame in the user's values from a numeric matrix and a code matrix.

        Integer columns are rounded, numeric columns keep the real dtype where it is safe.
        """
        data: dict[str, Any] = {}
        numeric_columns = self.numeric
        for index, column in enumerate(numeric_columns):
            values = np.asarray(numeric[:, index], dtype=np.float64)
            if column in self.integer:
                values = np.round(values)
                if pd.api.types.is_integer_dtype(self.dtypes.get(column)):
                    data[column] = values.astype(self.dtypes[column])
                    continue
            data[column] = values
        for index, column in enumerate(self.categorical):
            categories = np.empty(len(self.categories[column]), dtype=object)
            categories[:] = self.categories[column]
            data[column] = pd.Series(categories[np.asarray(codes[:, index], dtype=np.int64)], dtype=object)
            original = self.dtypes.get(column)
            if original is not None and pd.api.types.is_numeric_dtype(original):
                converted = pd.to_numeric(data[column], errors="coerce")
                if pd.api.types.is_integer_dtype(original) and not converted.isna().any():
                    converted = converted.astype(original)
                data[column] = converted
        return pd.DataFrame({c: data[c] for c in self.columns})
