"""Regression datasets and regression forget specs.

Built in (no download):

* ``diabetes`` — scikit-learn's diabetes data (442 patients, 10 standardised features;
  target: disease progression one year after baseline, 25-346).
* ``rotated_digits`` — scikit-learn's 1,797 8x8 digit images, each zero-padded to 12x12 and
  rotated about its centre by an angle drawn uniformly from ``[-60, 60]`` degrees (bilinear,
  ``scipy.ndimage.rotate``; one fixed draw per image, the same for every seed). The target
  is that angle in degrees; inputs are ``1x12x12`` images in [0, 1].
* ``sunspots`` — the yearly sunspot numbers 1700-2008 shipped with statsmodels, cut into
  windows: the input is ``window`` consecutive years (``1 x window``, standardised), the
  target the next year's number; each window's time is its target year.

From files: ``california`` — California housing (Géron's ``housing.csv``, 20,640 block
groups), checked by sha256; missing ``total_bedrooms`` are filled with the training median,
``ocean_proximity`` is one-hot encoded, the four count columns are log-transformed, every
feature is standardised with training statistics, and the target is the median house
value in units of $100,000 (so ``range:target<=1.0`` forgets blocks worth at most $100k).

A user's own data: :meth:`RegressionData.from_arrays` (arrays with optional ids, split and
times), :func:`load_table` (a CSV file), :func:`series_windows` (a 1-D series).

Forget specs of the regression task (:func:`parse_regression_forget`):

===========================  ====================================================
``random:<fraction>``        a seeded random fraction of the training rows
``range:target<=q``          every training row whose target is ``<= q`` (also
                             ``<``, ``>=``, ``>``, and ``range:a..b`` for ``a <= y <= b``)
``time:<start>-<end>``       every training row whose time lies in ``[start, end]``
                             (a series' window time; ``time:1900..1950`` also works)
``ids:<file>``               the training rows whose id is listed in the file, one per line
===========================  ====================================================
"""

from __future__ import annotations

import functools
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch
from torch.utils.data import TensorDataset

from obliviate.core.errors import DataError, InvalidForgetSpecError, InvalidRequestError, require_extra
from obliviate.data.checksums import sha256_file, shared_data_dir, verify_files
from obliviate.data.forget import ForgetSpec, check_indices, parse_forget_spec

BUILTIN = ("diabetes", "rotated_digits", "sunspots")
DATASETS = BUILTIN + ("california",)
FORGET_KINDS = frozenset({"random", "range", "time", "ids"})

CALIFORNIA_SOURCE = "the handson-ml2 repository by A. Géron (datasets/housing/housing.csv)"
CALIFORNIA_FILES = {"housing.csv": "8a3727f4cf54ac1a327f69b1d5b4db54c5834ea81c6e4efc0d163300022a685e"}
CALIFORNIA_LOG_COLUMNS = ("total_rooms", "total_bedrooms", "population", "households")

ROTATION_MAX_ANGLE = 60.0
ROTATION_SEED = 20230601  # one fixed draw of angles: the data set is the same for every scenario seed
SUNSPOTS_WINDOW = 12
SERIES_BLOCK = 10
SERIES_TEST_EVERY = 5


@dataclass
class RegressionData:
    """A train/test split of a regression data set as NumPy arrays.

    Attributes:
        name: data set name.
        x_train, x_test: float32 inputs: ``(n, features)`` tables, ``(n, channels, length)``
            series windows or ``(n, channels, height, width)`` images.
        y_train, y_test: float32 scalar targets, shape ``(n,)``.
        ids_train, ids_test: one identifier per row (integers or strings), unique over both
            parts; ``ids:`` forget specs and certificates name rows by them.
        time_train, time_test: a time per row (``time:`` specs), or ``None``.
        target_name: what the target is, for tables and docs.
    """

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    ids_train: np.ndarray
    ids_test: np.ndarray
    time_train: np.ndarray | None = None
    time_test: np.ndarray | None = None
    target_name: str = "target"
    notes: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.x_train = np.ascontiguousarray(self.x_train, dtype=np.float32)
        self.x_test = np.ascontiguousarray(self.x_test, dtype=np.float32)
        self.y_train = np.ascontiguousarray(self.y_train, dtype=np.float32).reshape(-1)
        self.y_test = np.ascontiguousarray(self.y_test, dtype=np.float32).reshape(-1)
        for part in ("train", "test"):
            x, y = getattr(self, f"x_{part}"), getattr(self, f"y_{part}")
            if len(x) != len(y):
                raise DataError(f"{self.name}: {len(x)} {part} inputs but {len(y)} {part} targets")
            ids = getattr(self, f"ids_{part}")
            if ids is None or len(ids) != len(y):
                raise DataError(f"{self.name}: the {part} ids must give one identifier per {part} row")
            times = getattr(self, f"time_{part}")
            if times is not None and len(times) != len(y):
                raise DataError(f"{self.name}: the {part} times must give one time per {part} row")
        if len(self.y_train) < 2:
            raise DataError(f"{self.name}: the training part needs at least two rows; got {len(self.y_train)}")
        if self.x_train.shape[1:] != self.x_test.shape[1:]:
            raise DataError(
                f"{self.name}: train inputs have shape {self.x_train.shape[1:]} but test inputs "
                f"{self.x_test.shape[1:]}; every row needs the same shape"
            )
        for what, values in (("inputs", self.x_train), ("targets", self.y_train), ("test targets", self.y_test)):
            if not np.isfinite(values).all():
                raise DataError(f"{self.name}: the {what} hold NaN or infinite values; fill or drop them first")
        all_ids = np.concatenate([np.asarray(self.ids_train, dtype=object), np.asarray(self.ids_test, dtype=object)])
        if len({str(v) for v in all_ids}) != len(all_ids):
            raise DataError(f"{self.name}: row ids are not unique; give every row its own identifier")

    @property
    def input_shape(self) -> tuple[int, ...]:
        """Shape of one input (without the batch axis)."""
        return tuple(self.x_train.shape[1:])

    @property
    def target_mean(self) -> float:
        """Mean of the training targets."""
        return float(self.y_train.mean())

    @property
    def target_std(self) -> float:
        """Standard deviation of the training targets (1 when they are constant)."""
        std = float(self.y_train.std())
        return std if std > 0 else 1.0

    def train_dataset(self, indices: np.ndarray | None = None) -> TensorDataset:
        """Training rows (optionally a subset) as ``TensorDataset(x, y)`` with ``y`` of shape ``(n, 1)``."""
        return _tensors(self.x_train, self.y_train, indices)

    def test_dataset(self, indices: np.ndarray | None = None) -> TensorDataset:
        """Test rows (optionally a subset) as ``TensorDataset(x, y)`` with ``y`` of shape ``(n, 1)``."""
        return _tensors(self.x_test, self.y_test, indices)

    def fingerprint(self) -> str:
        """sha256 over the arrays, so that caches keyed by it follow the data."""
        import hashlib

        digest = hashlib.sha256()
        for array in (self.x_train, self.y_train, self.x_test, self.y_test):
            digest.update(str(array.shape).encode())
            digest.update(np.ascontiguousarray(array).tobytes())
        for ids in (self.ids_train, self.ids_test):
            digest.update("\n".join(str(v) for v in ids).encode())
        return digest.hexdigest()[:16]

    @classmethod
    def from_arrays(
        cls,
        x: Any,
        y: Any,
        *,
        ids: Sequence[Any] | np.ndarray | None = None,
        split: Sequence[Any] | np.ndarray | None = None,
        times: Sequence[float] | np.ndarray | None = None,
        test_size: float = 0.25,
        seed: int = 0,
        standardize: bool = True,
        name: str = "arrays",
    ) -> RegressionData:
        """A user's own arrays, with their own ids, split and times.

        Args:
            x: inputs, one row per example (``(n, features)``, ``(n, c, length)`` or ``(n, c, h, w)``).
            y: scalar targets, ``n`` values.
            ids: one identifier per row (integers or strings); default ``0..n-1``.
            split: per row ``"train"``/``"test"`` (or booleans, ``True`` = test); default a
                seeded random split with ``test_size`` held out.
            times: per-row times for ``time:`` forget specs (e.g. a window's target date as a number).
            test_size: held-out fraction when ``split`` is not given.
            seed: seeds that split.
            standardize: standardise 2-D (tabular) inputs with training means and deviations.
            name: the data set's name in reports.

        Raises:
            DataError: for mismatched lengths, non-finite values, repeated ids or a bad split.
        """
        x = np.asarray(x, dtype=np.float32)
        y = np.asarray(y, dtype=np.float32).reshape(-1)
        if x.ndim < 2:
            x = x.reshape(-1, 1)
        n = len(y)
        if len(x) != n:
            raise DataError(f"{name}: {len(x)} input rows but {n} targets")
        ids_array = np.arange(n, dtype=np.int64) if ids is None else _as_ids(ids)
        if len(ids_array) != n:
            raise DataError(f"{name}: {len(ids_array)} ids for {n} rows; give one id per row")
        is_test = _split_mask(split, n, test_size=test_size, seed=seed, name=name)
        times_array = None if times is None else np.asarray(times, dtype=np.float64).reshape(-1)
        if times_array is not None and len(times_array) != n:
            raise DataError(f"{name}: {len(times_array)} times for {n} rows; give one time per row")
        x_train, x_test = x[~is_test], x[is_test]
        if standardize and x.ndim == 2:
            x_train, x_test = _standardize(x_train, x_test)
        return cls(
            name=name,
            x_train=x_train,
            y_train=y[~is_test],
            x_test=x_test,
            y_test=y[is_test],
            ids_train=ids_array[~is_test],
            ids_test=ids_array[is_test],
            time_train=None if times_array is None else times_array[~is_test],
            time_test=None if times_array is None else times_array[is_test],
        )


def _tensors(x: np.ndarray, y: np.ndarray, indices: np.ndarray | None) -> TensorDataset:
    if indices is not None:
        x, y = x[indices], y[indices]
    return TensorDataset(
        torch.from_numpy(np.ascontiguousarray(x)), torch.from_numpy(np.ascontiguousarray(y).reshape(-1, 1))
    )


def _as_ids(ids: Sequence[Any] | np.ndarray) -> np.ndarray:
    values = list(np.asarray(ids, dtype=object).reshape(-1))
    if values and all(isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_)) for v in values):
        return np.asarray(values, dtype=np.int64)
    return np.asarray([str(v) for v in values], dtype=object)


def _split_mask(split: Any, n: int, *, test_size: float, seed: int, name: str) -> np.ndarray:
    if split is None:
        if not 0.0 < test_size < 1.0:
            raise DataError(f"{name}: test_size must lie strictly between 0 and 1; got {test_size}")
        count = max(1, int(round(test_size * n)))
        mask = np.zeros(n, dtype=bool)
        mask[np.random.default_rng(seed).choice(n, size=count, replace=False)] = True
        return mask
    values = np.asarray(split).reshape(-1)
    if len(values) != n:
        raise DataError(f"{name}: the split gives {len(values)} values for {n} rows; give one per row")
    if values.dtype == bool:
        mask = values.copy()
    else:
        text = np.asarray([str(v).strip().lower() for v in values])
        unknown = sorted(set(text) - {"train", "test"})
        if unknown:
            raise DataError(f"{name}: split values must be 'train' or 'test'; found {unknown[:5]}")
        mask = text == "test"
    if mask.all() or not mask.any():
        raise DataError(f"{name}: the split must put rows in both 'train' and 'test'")
    return mask


def _standardize(train: np.ndarray, test: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    mean = train.mean(axis=0)
    std = train.std(axis=0)
    std = np.where(std > 0, std, 1.0)
    return ((train - mean) / std).astype(np.float32), ((test - mean) / std).astype(np.float32)


# -- built-in data ---------------------------------------------------------------------
def load_diabetes(*, seed: int = 0, test_size: float = 0.25) -> RegressionData:
    """scikit-learn's diabetes data, split with a seeded split; ids are the row numbers 0-441."""
    from sklearn import datasets

    bunch = datasets.load_diabetes()
    data = RegressionData.from_arrays(
        bunch.data, bunch.target, test_size=test_size, seed=seed, name="diabetes"
    )
    data.target_name = "disease progression after one year"
    return data


def rotated_digits_arrays(max_angle: float = ROTATION_MAX_ANGLE) -> tuple[np.ndarray, np.ndarray]:
    """All 1,797 digits, padded to 12x12 and rotated, with their angles (degrees).

    Returns:
        ``(images, angles)``: ``(1797, 1, 12, 12)`` float32 in [0, 1] and ``1797`` angles
        drawn uniformly from ``[-max_angle, max_angle]`` with a fixed seed (fresh copies of
        arrays computed once per process).
    """
    images, angles = _rotated_digits(float(max_angle))
    return images.copy(), angles.copy()


@functools.lru_cache(maxsize=2)
def _rotated_digits(max_angle: float) -> tuple[np.ndarray, np.ndarray]:
    from scipy import ndimage
    from sklearn import datasets

    images = datasets.load_digits().images / 16.0
    angles = np.random.default_rng(ROTATION_SEED).uniform(-max_angle, max_angle, size=len(images))
    padded = np.pad(images, ((0, 0), (2, 2), (2, 2)))
    rotated = np.stack(
        [ndimage.rotate(image, angle, reshape=False, order=1, mode="constant") for image, angle in zip(padded, angles)]
    )
    return np.clip(rotated, 0.0, 1.0).astype(np.float32)[:, None], angles.astype(np.float32)


def load_rotated_digits(*, seed: int = 0, test_size: float = 0.25) -> RegressionData:
    """Rotated digits (see the module docstring): predict the rotation angle in degrees."""
    images, angles = rotated_digits_arrays()
    data = RegressionData.from_arrays(
        images, angles, test_size=test_size, seed=seed, standardize=False, name="rotated_digits"
    )
    data.target_name = "rotation angle (degrees)"
    return data


def series_windows(
    values: Any, *, window: int, times: Any | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Cut a 1-D series into forecasting windows.

    Window ``i`` has input ``values[i : i + window]`` (shape ``(1, window)``) and target
    ``values[i + window]``; its time is ``times[i + window]`` (default: the index
    ``i + window``).

    Returns:
        ``(x, y, window_times)`` with ``len(values) - window`` rows.

    Raises:
        DataError: for a window below 1 or a series too short for two windows.
    """
    series = np.asarray(values, dtype=np.float64).reshape(-1)
    if isinstance(window, bool) or not isinstance(window, int) or window < 1:
        raise DataError(f"window must be an int >= 1; got {window!r}")
    count = len(series) - window
    if count < 2:
        raise DataError(f"a series of {len(series)} values is too short for windows of {window}")
    stamps = np.arange(len(series), dtype=np.float64) if times is None else np.asarray(times, dtype=np.float64)
    if len(stamps) != len(series):
        raise DataError(f"{len(stamps)} times for a series of {len(series)} values")
    x = np.stack([series[i : i + window] for i in range(count)])[:, None, :]
    return x.astype(np.float32), series[window:].astype(np.float32), stamps[window:]


def block_split(count: int, *, seed: int, block: int = SERIES_BLOCK, every: int = SERIES_TEST_EVERY) -> np.ndarray:
    """Test mask of a series split: consecutive blocks of ``block`` windows, one block in
    ``every`` held out (offset chosen by ``seed``), so that every period of the series has
    held-out windows near it."""
    offset = seed % every
    blocks = np.arange(count) // block
    return (blocks + offset) % every == 0


def from_series(
    values: Any,
    *,
    window: int,
    times: Any | None = None,
    seed: int = 0,
    name: str = "series",
    standardize: bool = True,
) -> RegressionData:
    """Forecasting data from a 1-D series: windows (see :func:`series_windows`) split by
    :func:`block_split`; inputs standardised with the training windows' mean and deviation.
    Ids are the window times."""
    x, y, stamps = series_windows(values, window=window, times=times)
    is_test = block_split(len(y), seed=seed)
    ids = stamps.astype(np.int64) if np.array_equal(stamps, np.round(stamps)) else np.arange(len(y))
    if standardize:
        mean, std = float(x[~is_test].mean()), float(x[~is_test].std()) or 1.0
        x = ((x - mean) / std).astype(np.float32)
    return RegressionData(
        name=name,
        x_train=x[~is_test],
        y_train=y[~is_test],
        x_test=x[is_test],
        y_test=y[is_test],
        ids_train=ids[~is_test],
        ids_test=ids[is_test],
        time_train=stamps[~is_test],
        time_test=stamps[is_test],
    )


def load_sunspots(*, seed: int = 0, window: int = SUNSPOTS_WINDOW) -> RegressionData:
    """Yearly sunspot numbers 1700-2008 (statsmodels) as forecasting windows; ids and times
    are each window's target year.

    Raises:
        MissingDependencyError: when statsmodels is not installed.
    """
    require_extra("statsmodels", "regression")
    from statsmodels.datasets import sunspots

    frame = sunspots.load_pandas().data
    data = from_series(
        frame["SUNACTIVITY"].to_numpy(), window=window, times=frame["YEAR"].to_numpy(), seed=seed, name="sunspots"
    )
    data.target_name = "yearly sunspot number"
    return data


# -- tables ------------------------------------------------------------------------------
def load_table(
    path: str | os.PathLike,
    *,
    target: str,
    id_column: str | None = None,
    split_column: str | None = None,
    time_column: str | None = None,
    drop: Sequence[str] = (),
    log_columns: Sequence[str] = (),
    target_scale: float = 1.0,
    sha256: str | None = None,
    test_size: float = 0.25,
    seed: int = 0,
    name: str | None = None,
) -> RegressionData:
    """A regression data set from a CSV file (a user's own table).

    Text columns are one-hot encoded (categories taken from the whole column); missing
    numbers are filled with the training median; ``log_columns`` are replaced by
    ``log1p``; every feature is standardised with training statistics. Rows with a
    missing target are refused.

    Args:
        path: the CSV file.
        target: the target column.
        id_column: column of row identifiers (default: the row number).
        split_column: column of ``train``/``test`` values (default: a seeded random split).
        time_column: column of numeric times, for ``time:`` forget specs (kept as a feature too).
        drop: columns to leave out.
        log_columns: non-negative count columns to log-transform.
        target_scale: the target is multiplied by this (e.g. ``1e-5`` for units of $100k).
        sha256: expected sha256 of the file, checked when given.
        test_size, seed: the random split when ``split_column`` is not given.
        name: the data set's name (default: the file's stem).

    Raises:
        DataError: a missing file, a failed checksum, an unknown column, or a missing target value.
    """
    import pandas as pd

    path = Path(path)
    if not path.is_file():
        raise DataError(f"table '{path}' does not exist; pass the path of a CSV file")
    if sha256 is not None:
        actual = sha256_file(path)
        if actual != sha256:
            raise DataError(f"'{path}' fails its checksum (sha256 {actual[:12]}…, expected {sha256[:12]}…)")
    frame = pd.read_csv(path)
    named = [target, id_column, split_column, *drop, *log_columns]
    missing = [column for column in named if column is not None and column not in frame.columns]
    if missing:
        raise DataError(f"'{path}' has no column {missing}; its columns are: {', '.join(map(str, frame.columns))}")
    if frame[target].isna().any():
        raise DataError(f"'{path}': {int(frame[target].isna().sum())} rows have no '{target}'; drop or fill them")
    ids = frame[id_column].to_numpy() if id_column else np.arange(len(frame), dtype=np.int64)
    split = frame[split_column].to_numpy() if split_column else None
    times = frame[time_column].to_numpy(dtype=np.float64) if time_column else None
    y = frame[target].to_numpy(dtype=np.float64) * target_scale
    features = frame.drop(columns=[c for c in {target, id_column, split_column, *drop} if c is not None])
    is_test = _split_mask(split, len(frame), test_size=test_size, seed=seed, name=str(path))
    columns = []
    for column in features.columns:
        values = features[column]
        if values.dtype == object or str(values.dtype) in ("category", "string", "bool"):
            categories = sorted(values.dropna().astype(str).unique())
            text = values.astype(str)
            columns.extend((text == category).to_numpy(dtype=np.float64)[:, None] for category in categories)
            continue
        numbers = values.to_numpy(dtype=np.float64)
        median = np.nanmedian(numbers[~is_test]) if np.isfinite(numbers[~is_test]).any() else 0.0
        numbers = np.where(np.isnan(numbers), median, numbers)
        if column in log_columns:
            if (numbers < 0).any():
                raise DataError(f"'{path}': column '{column}' has negative values and cannot be log-transformed")
            numbers = np.log1p(numbers)
        columns.append(numbers[:, None])
    if not columns:
        raise DataError(f"'{path}' has no feature column besides the target")
    x = np.concatenate(columns, axis=1)
    return RegressionData.from_arrays(
        x, y, ids=ids, split=is_test, times=times, standardize=True, name=name or path.stem
    )


def california_folder(path: str | os.PathLike | None = None) -> Path:
    """The California housing folder: ``path``, else ``$OBLIVIATE_DATA_DIR/california-housing``.

    Raises:
        DataError: when neither is given.
    """
    if path is not None:
        folder = Path(path)
        return folder / "california-housing" if (folder / "california-housing").is_dir() else folder
    root = shared_data_dir()
    if root is None:
        raise DataError(
            "California housing needs housing.csv: pass data_dir=FOLDER holding it, or set "
            f"OBLIVIATE_DATA_DIR to a folder with california-housing/housing.csv; get it from {CALIFORNIA_SOURCE}"
        )
    return root / "california-housing"


def load_california(path: str | os.PathLike | None = None, *, seed: int = 0, test_size: float = 0.2) -> RegressionData:
    """California housing (see the module docstring), sha256-checked; ids are the row numbers."""
    folder = verify_files(california_folder(path), CALIFORNIA_FILES, source=CALIFORNIA_SOURCE)
    data = load_table(
        folder / "housing.csv",
        target="median_house_value",
        log_columns=CALIFORNIA_LOG_COLUMNS,
        target_scale=1e-5,
        test_size=test_size,
        seed=seed,
        name="california",
    )
    data.target_name = "median house value ($100k)"
    return data


def load_regression(name: str, *, seed: int = 0, data_dir: str | os.PathLike | None = None) -> RegressionData:
    """Load a regression data set by name (see :data:`DATASETS`)."""
    if name == "diabetes":
        return load_diabetes(seed=seed)
    if name == "rotated_digits":
        return load_rotated_digits(seed=seed)
    if name == "sunspots":
        return load_sunspots(seed=seed)
    if name == "california":
        return load_california(data_dir, seed=seed)
    raise InvalidRequestError(f"unknown regression data set '{name}'; choose one of: {', '.join(DATASETS)}")


# -- forget specs ------------------------------------------------------------------------
_NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
_RANGE_ONE_SIDED = re.compile(rf"^target\s*(<=|>=|<|>)\s*({_NUMBER})$")
_RANGE_BETWEEN = re.compile(rf"^({_NUMBER})\s*\.\.\s*({_NUMBER})$")
_TIME = re.compile(rf"^({_NUMBER})\s*(?:\.\.|-)\s*({_NUMBER})$")


@dataclass(frozen=True)
class Interval:
    """A closed or open interval of target or time values (``None`` = unbounded)."""

    low: float | None
    high: float | None
    low_open: bool = False
    high_open: bool = False

    def contains(self, values: np.ndarray) -> np.ndarray:
        values = np.asarray(values, dtype=np.float64)
        inside = np.ones(values.shape, dtype=bool)
        if self.low is not None:
            inside &= values > self.low if self.low_open else values >= self.low
        if self.high is not None:
            inside &= values < self.high if self.high_open else values <= self.high
        return inside


def parse_regression_forget(text: str | ForgetSpec) -> ForgetSpec:
    """Parse a regression forget spec (see the module docstring) into a ``ForgetSpec``.

    ``range`` and ``time`` specs keep their text as the value (``str(spec)`` round-trips);
    :func:`forget_interval` reads the interval from it.

    Raises:
        InvalidForgetSpecError: naming what is wrong and the accepted forms.
    """
    if isinstance(text, ForgetSpec):
        if text.kind in ("range", "time"):
            forget_interval(text)
        elif text.kind not in FORGET_KINDS:
            raise InvalidForgetSpecError(
                f"forget kind '{text.kind}' is not supported by regression; use one of: {', '.join(sorted(FORGET_KINDS))}"
            )
        return text
    if not isinstance(text, str) or ":" not in text:
        raise InvalidForgetSpecError(
            f"forget spec {text!r} is not of the form 'kind:argument' (e.g. 'random:0.1', "
            "'range:target<=1.0', 'time:1900-1950', 'ids:forget.txt')"
        )
    kind, _, argument = text.partition(":")
    kind, argument = kind.strip(), argument.strip()
    if kind in ("range", "time"):
        spec = ForgetSpec(kind, argument)
        forget_interval(spec)
        return spec
    return parse_forget_spec(text, allowed=FORGET_KINDS)


def forget_interval(spec: ForgetSpec) -> Interval:
    """The interval of a ``range:`` or ``time:`` spec.

    Raises:
        InvalidForgetSpecError: for a malformed argument or an empty interval.
    """
    argument = str(spec.value).replace(" ", "")
    if spec.kind == "range":
        one_sided = _RANGE_ONE_SIDED.match(argument)
        between = _RANGE_BETWEEN.match(argument)
        if one_sided:
            op, q = one_sided.group(1), float(one_sided.group(2))
            if op in ("<=", "<"):
                return Interval(None, q, high_open=op == "<")
            return Interval(q, None, low_open=op == ">")
        if between:
            low, high = float(between.group(1)), float(between.group(2))
            if low > high:
                raise InvalidForgetSpecError(f"range:{spec.value}: the lower bound {low} exceeds the upper {high}")
            return Interval(low, high)
        raise InvalidForgetSpecError(
            f"range:{spec.value} is not understood; write range:target<=q, range:target>=q "
            "(or < and >), or range:a..b for a <= target <= b"
        )
    if spec.kind == "time":
        match = _TIME.match(argument)
        if not match:
            raise InvalidForgetSpecError(
                f"time:{spec.value} is not understood; write time:<start>-<end> (inclusive), e.g. time:1900-1950"
            )
        low, high = float(match.group(1)), float(match.group(2))
        if low > high:
            raise InvalidForgetSpecError(f"time:{spec.value}: the start {low} is after the end {high}")
        return Interval(low, high)
    raise InvalidForgetSpecError(f"forget kind '{spec.kind}' has no interval")


def read_id_values(path: Path) -> list[str]:
    """Identifiers listed in a file, one per line (blank lines and ``#`` comments skipped).

    Raises:
        InvalidForgetSpecError: if the file is missing or not UTF-8 text.
    """
    path = Path(path)
    if not path.is_file():
        raise InvalidForgetSpecError(f"ids file '{path}' does not exist or is not a file; write one id per line")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise InvalidForgetSpecError(f"ids file '{path}' is not UTF-8 text; write one id per line") from None
    return [line.split("#", 1)[0].strip() for line in text.splitlines() if line.split("#", 1)[0].strip()]


def select_regression_forget(spec: ForgetSpec, data: RegressionData, *, seed: int) -> np.ndarray:
    """Indices (into the training part) of the rows a regression forget spec selects.

    Raises:
        InvalidForgetSpecError: nothing or everything selected, unknown or test-set ids, a
            ``time:`` spec on data without times.
    """
    n = len(data.y_train)
    if spec.kind == "random":
        count = max(1, int(round(float(spec.value) * n)))
        indices = np.random.default_rng(seed).choice(n, size=count, replace=False)
    elif spec.kind == "range":
        indices = np.flatnonzero(forget_interval(spec).contains(data.y_train))
        if indices.size == 0:
            lo, hi = float(data.y_train.min()), float(data.y_train.max())
            raise InvalidForgetSpecError(
                f"range:{spec.value} selects no training row: the {data.name} targets lie in [{lo:.4g}, {hi:.4g}]"
            )
    elif spec.kind == "time":
        if data.time_train is None:
            raise InvalidForgetSpecError(
                f"time:{spec.value} needs times, but {data.name} has none; use a series data set or pass times=..."
            )
        indices = np.flatnonzero(forget_interval(spec).contains(data.time_train))
        if indices.size == 0:
            lo, hi = float(np.min(data.time_train)), float(np.max(data.time_train))
            raise InvalidForgetSpecError(
                f"time:{spec.value} selects no training row: {data.name} training times lie in [{lo:.6g}, {hi:.6g}]"
            )
    elif spec.kind == "ids":
        indices = _ids_to_indices(read_id_values(Path(spec.value)), data, Path(spec.value))
    else:
        raise InvalidForgetSpecError(
            f"regression does not support forget kind '{spec.kind}'; use one of: {', '.join(sorted(FORGET_KINDS))}"
        )
    return check_indices(indices, n)


def _ids_to_indices(values: list[str], data: RegressionData, path: Path) -> np.ndarray:
    if not values:
        raise InvalidForgetSpecError(f"ids file '{path}' lists no id")
    position = {str(v): i for i, v in enumerate(data.ids_train)}
    test_ids = {str(v) for v in data.ids_test}
    in_test = [v for v in values if v not in position and v in test_ids]
    if in_test:
        raise InvalidForgetSpecError(
            f"ids {in_test[:5]} in '{path}' are test rows, not training rows; only training rows can be forgotten"
        )
    unknown = [v for v in values if v not in position]
    if unknown:
        raise InvalidForgetSpecError(f"ids {unknown[:5]} in '{path}' are not ids of {data.name}")
    return np.asarray([position[v] for v in values], dtype=np.int64)


def same_distribution_test(spec: ForgetSpec, data: RegressionData) -> tuple[np.ndarray, str]:
    """Test rows drawn from the same distribution as the forget set, and how they were chosen.

    ``range``: test rows whose target lies in the same interval; ``time``: test rows whose
    time lies in the same period (held-out windows of that period); ``random`` and ``ids``:
    every test row.

    Returns:
        ``(indices into the test part, description)``.
    """
    if spec.kind == "range":
        return np.flatnonzero(forget_interval(spec).contains(data.y_test)), f"test rows with target in {spec.value}"
    if spec.kind == "time" and data.time_test is not None:
        return np.flatnonzero(forget_interval(spec).contains(data.time_test)), f"held-out windows with time in {spec.value}"
    return np.arange(len(data.y_test)), "every test row"

