"""Data for valuation: a training set with ids, a validation set for the utility, a test set.

Built in (shipped with scikit-learn, no download): ``breast_cancer`` (569 rows, 30
features, 2 classes), ``wine`` (178 rows, 13 features, 3 classes), ``digits`` (1,797 rows,
64 features, 10 classes). From files: ``adult`` (UCI Adult census income, the original
``adult.data`` / ``adult.test`` whose sha256 is checked; ``$OBLIVIATE_DATA_DIR/uci-adult``
by default) and any CSV with a label column (:func:`load_csv`).

Every loader returns a :class:`ValuationData`: a seeded, stratified split into ``train``
(the points to value), ``valid`` (the utility's held-out scoring set) and ``test`` (used
only by the evaluation protocols, e.g. point-removal curves). Features are standardised
with training statistics; categorical columns are one-hot encoded. The training-set size
is kept small by default because every valuation method refits a model many times;
``n_train`` chooses another size (a subsample of the rows).

Label noise for the noisy-label detection protocol is added with
:meth:`ValuationData.with_label_noise` (training labels only; validation and test stay clean).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from obliviate.core.errors import DataError, InvalidRequestError

BUILTIN = ("breast_cancer", "wine", "digits")
DATASETS = BUILTIN + ("adult",)

# Default sizes (train, validation, test) per data set; the rest of the rows is unused.
DEFAULT_SIZES: dict[str, tuple[int, int, int]] = {
    "breast_cancer": (300, 100, 169),
    "wine": (100, 38, 40),
    "digits": (400, 200, 500),
    "adult": (500, 200, 1000),
}

@dataclass(frozen=True)
class TrainSet:
    """The points to value: features, labels and the user's identifiers.

    Attributes:
        x: ``(n, d)`` float64 features.
        y: ``(n,)`` labels (integers or strings).
        ids: ``(n,)`` identifiers, unique (default ``0..n-1``).
        name: a label for reports and provenance.
    """

    x: np.ndarray
    y: np.ndarray
    ids: np.ndarray = field(default=None)  # type: ignore[assignment]
    name: str = "train"

    def __post_init__(self) -> None:
        x = _as_features(self.x, "x")
        y = np.asarray(self.y)
        if y.ndim != 1 or len(y) != len(x):
            raise DataError(f"train labels must be one label per row of x: x has {len(x)} rows, y has shape {y.shape}")
        if len(x) < 2:
            raise DataError(f"a training set needs at least 2 points to value; got {len(x)}")
        ids = np.arange(len(x)) if self.ids is None else np.asarray(self.ids)
        if ids.shape != (len(x),):
            raise DataError(f"ids must give one identifier per row: {len(x)} rows, ids of shape {ids.shape}")
        if len(np.unique(ids)) != len(ids):
            raise DataError("ids must be unique; give one distinct identifier per training row")
        object.__setattr__(self, "x", x)
        object.__setattr__(self, "y", y)
        object.__setattr__(self, "ids", ids)

    def __len__(self) -> int:
        return len(self.y)

    @classmethod
    def from_pandas(cls, frame: Any, target: str, *, id_column: str | None = None, name: str = "train") -> TrainSet:
        """A training set from a numeric pandas DataFrame holding a label column.

        Args:
            frame: the DataFrame (encode categorical columns first, e.g. ``pandas.get_dummies``).
            target: the label column.
            id_column: a column of identifiers (default: the frame's index).
            name: label for reports.

        Raises:
            DataError: for a missing column or non-numeric features.
        """
        if target not in frame.columns:
            raise DataError(f"label column '{target}' is not in the frame; its columns are: {', '.join(map(str, frame.columns))}")
        features = frame.drop(columns=[target] + ([id_column] if id_column else []))
        ids = frame[id_column].to_numpy() if id_column else frame.index.to_numpy()
        return cls(features.to_numpy(), frame[target].to_numpy(), ids, name)


@dataclass(frozen=True)
class ValuationData:
    """A data set split for valuation.

    Attributes:
        name: data set name.
        train: the points to value.
        x_valid, y_valid: held-out data the utility scores models on.
        x_test, y_test: held-out data for the evaluation protocols only.
        classes: every label, sorted.
        feature_names: one name per feature column.
        noisy: boolean mask of training points whose label was flipped (``None`` if clean).
        info: where the data came from (file checksums, sizes, seed).
    """

    name: str
    train: TrainSet
    x_valid: np.ndarray
    y_valid: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    classes: np.ndarray
    feature_names: tuple[str, ...] = ()
    noisy: np.ndarray | None = None
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    def with_label_noise(self, fraction: float, *, seed: int = 0) -> ValuationData:
        """A copy whose training labels are flipped on ``fraction`` of the points.

        ``round(fraction * n)`` training points are drawn without replacement; each gets a
        label drawn uniformly from the other classes (the protocol of Ghorbani and Zou 2019
        and Kwon and Zou 2023). Validation and test labels are unchanged.

        Raises:
            InvalidRequestError: for a fraction outside ``[0, 0.5]``.
        """
        y_noisy, noisy = flip_labels(self.train.y, fraction, self.classes, seed=seed)
        train = replace(self.train, y=y_noisy)
        info = {**self.info, "label_noise": float(fraction), "noise_seed": int(seed)}
        return replace(self, train=train, noisy=noisy, info=info)


def flip_labels(y: np.ndarray, fraction: float, classes: np.ndarray, *, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Flip ``round(fraction * len(y))`` labels, each to a different class drawn uniformly.

    Returns:
        ``(noisy labels, boolean mask of flipped points)``.

    Raises:
        InvalidRequestError: for a fraction outside ``[0, 0.5]`` or fewer than 2 classes.
    """
    if not 0.0 <= float(fraction) <= 0.5:
        raise InvalidRequestError(f"label-noise fraction must lie in [0, 0.5]; got {fraction}")
    classes = np.asarray(classes)
    if len(classes) < 2:
        raise InvalidRequestError("label noise needs at least 2 classes")
    rng = np.random.default_rng(seed)
    y = np.asarray(y)
    count = int(round(float(fraction) * len(y)))
    chosen = rng.choice(len(y), size=count, replace=False)
    noisy_y = y.copy()
    for index in chosen:
        others = classes[classes != y[index]]
        noisy_y[index] = others[rng.integers(len(others))]
    mask = np.zeros(len(y), dtype=bool)
    mask[chosen] = True
    return noisy_y, mask


def _as_features(x: Any, what: str) -> np.ndarray:
    try:
        array = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise DataError(
            f"{what} must be numeric; encode categorical columns first (e.g. pandas.get_dummies): {exc}"
        ) from exc
    if array.ndim != 2:
        raise DataError(f"{what} must be a 2-D array (rows x features); got shape {array.shape}")
    if not np.isfinite(array).all():
        raise DataError(f"{what} holds NaN or infinite values; impute or drop them first")
    return array


def _split_sizes(name: str, total: int, n_train: int | None, n_valid: int | None, n_test: int | None) -> tuple[int, int, int]:
    default_train, default_valid, default_test = DEFAULT_SIZES.get(name, (None, None, None))
    if default_train is None:
        default_train, default_valid = int(total * 0.5), int(total * 0.2)
        default_test = total - default_train - default_valid
    sizes = (
        default_train if n_train is None else int(n_train),
        default_valid if n_valid is None else int(n_valid),
        default_test if n_test is None else int(n_test),
    )
    if min(sizes) < 2:
        raise InvalidRequestError(f"{name}: train, validation and test sizes must each be at least 2; got {sizes}")
    if sum(sizes) > total:
        raise InvalidRequestError(
            f"{name}: train + validation + test = {sum(sizes)} rows requested but only {total} are available; "
            "pass smaller n_train / n_valid / n_test"
        )
    return sizes


def _stratified_take(y: np.ndarray, sizes: tuple[int, ...], rng: np.random.Generator) -> list[np.ndarray]:
    """Disjoint, stratified index sets of the given sizes, drawn with ``rng``."""
    from sklearn.model_selection import train_test_split

    remaining = np.arange(len(y))
    parts = []
    for size in sizes:
        if size >= len(remaining):
            parts.append(remaining)
            remaining = remaining[:0]
            continue
        labels = y[remaining]
        counts = np.unique(labels, return_counts=True)[1]
        stratify = labels if counts.min() >= 2 and size >= len(counts) and len(remaining) - size >= len(counts) else None
        taken, remaining = train_test_split(
            remaining, train_size=size, random_state=int(rng.integers(2**31 - 1)), stratify=stratify
        )
        parts.append(np.sort(taken))
    return parts


def _assemble(
    name: str,
    x: np.ndarray,
    y: np.ndarray,
    parts: list[np.ndarray],
    *,
    feature_names: tuple[str, ...],
    info: dict[str, Any],
    x_test: np.ndarray | None = None,
    y_test: np.ndarray | None = None,
) -> ValuationData:
    train_idx, valid_idx = parts[0], parts[1]
    x_train = x[train_idx]
    mean = x_train.mean(axis=0)
    std = x_train.std(axis=0)
    std[std < 1e-12] = 1.0
    if x_test is None:
        x_test, y_test = x[parts[2]], y[parts[2]]

    def scale(values: np.ndarray) -> np.ndarray:
        return (values - mean) / std

    classes = np.unique(np.concatenate([y[train_idx], y[valid_idx], y_test]))
    return ValuationData(
        name=name,
        train=TrainSet(scale(x_train), y[train_idx], train_idx, name),
        x_valid=scale(x[valid_idx]),
        y_valid=y[valid_idx],
        x_test=scale(x_test),
        y_test=np.asarray(y_test),
        classes=classes,
        feature_names=feature_names,
        info={**info, "n_train": len(train_idx), "n_valid": len(valid_idx), "n_test": len(y_test)},
    )


def load_builtin(
    name: str,
    *,
    seed: int = 0,
    n_train: int | None = None,
    n_valid: int | None = None,
    n_test: int | None = None,
) -> ValuationData:
    """Load ``breast_cancer``, ``wine`` or ``digits`` (shipped with scikit-learn).

    Training ids are row numbers in scikit-learn's copy of the data set.

    Raises:
        InvalidRequestError: for an unknown name or sizes that do not fit.
    """
    from sklearn import datasets

    loaders = {
        "breast_cancer": datasets.load_breast_cancer,
        "wine": datasets.load_wine,
        "digits": datasets.load_digits,
    }
    if name not in loaders:
        raise InvalidRequestError(f"unknown built-in data set '{name}'; choose one of: {', '.join(BUILTIN)}")
    bunch = loaders[name]()
    x = np.asarray(bunch.data, dtype=np.float64)
    y = np.asarray(bunch.target, dtype=np.int64)
    sizes = _split_sizes(name, len(y), n_train, n_valid, n_test)
    parts = _stratified_take(y, sizes, np.random.default_rng(seed))
    names = tuple(str(f) for f in getattr(bunch, "feature_names", [f"x{i}" for i in range(x.shape[1])]))
    return _assemble(name, x, y, parts, feature_names=names, info={"source": "scikit-learn", "seed": seed})


def load_adult(
    data_dir: str | os.PathLike | None = None,
    *,
    seed: int = 0,
    n_train: int | None = None,
    n_valid: int | None = None,
    n_test: int | None = None,
) -> ValuationData:
    """Load UCI Adult (``adult.data`` for train/validation, ``adult.test`` for test), subsampled.

    Rows with a missing value are dropped (30,162 and 15,060 rows remain); the label is
    ``income >50K`` (1) against ``<=50K`` (0); the 8 categorical columns are one-hot
    encoded on the union of both files. ``n_train`` / ``n_valid`` rows are drawn
    (stratified, seeded) from ``adult.data`` and ``n_test`` from ``adult.test``; training
    ids are 0-based row numbers of the complete rows of ``adult.data``.

    Args:
        data_dir: folder with ``adult.data`` and ``adult.test`` (default
            ``$OBLIVIATE_DATA_DIR/uci-adult``).

    Raises:
        DataError: when the folder is not given and ``OBLIVIATE_DATA_DIR`` is unset, or a file
            is missing or fails its sha256 check.
    """
    import pandas as pd

    from obliviate.data.tabular import ADULT_FILES, adult_folder
    from obliviate.data.tabular import load_adult as load_adult_table

    folder = adult_folder(data_dir)
    # Rows with a missing value ("?") are dropped; both files' rows keep their order.
    train_frame = load_adult_table(folder, split="train").frame.dropna().reset_index(drop=True)
    test_frame = load_adult_table(folder, split="test").frame.dropna().reset_index(drop=True)
    both = pd.concat([train_frame, test_frame], keys=["train", "test"])
    labels = (both.pop("income") == ">50K").astype(np.int64)
    encoded = pd.get_dummies(both, dtype=np.float64)
    x_all = encoded.loc["train"].to_numpy(dtype=np.float64)
    y_all = labels.loc["train"].to_numpy()
    x_test_all = encoded.loc["test"].to_numpy(dtype=np.float64)
    y_test_all = labels.loc["test"].to_numpy()
    # The test rows come from adult.test, so only train + validation must fit in adult.data.
    sizes = _split_sizes("adult", len(y_all), n_train, n_valid, 2)
    test_size = DEFAULT_SIZES["adult"][2] if n_test is None else int(n_test)
    if not 2 <= test_size <= len(y_test_all):
        raise InvalidRequestError(f"adult: n_test must lie in [2, {len(y_test_all)}]; got {test_size}")
    rng = np.random.default_rng(seed)
    train_idx, valid_idx = _stratified_take(y_all, sizes[:2], rng)
    (test_idx,) = _stratified_take(y_test_all, (test_size,), rng)
    info = {
        "source": str(folder),
        "sha256": dict(ADULT_FILES),  # checked by obliviate.data.tabular.load_adult
        "seed": seed,
        "rows_complete": {"adult.data": len(y_all), "adult.test": len(y_test_all)},
    }
    return _assemble(
        "adult",
        x_all,
        y_all,
        [train_idx, valid_idx],
        feature_names=tuple(encoded.columns),
        info=info,
        x_test=x_test_all[test_idx],
        y_test=y_test_all[test_idx],
    )


def load_csv(
    path: str | os.PathLike,
    target: str,
    *,
    id_column: str | None = None,
    seed: int = 0,
    n_train: int | None = None,
    n_valid: int | None = None,
    n_test: int | None = None,
) -> ValuationData:
    """Load a CSV with a header and a label column, split it into train/validation/test.

    Numeric columns are used as they are, other columns are one-hot encoded; rows with a
    missing value are dropped. Default sizes: 50% train, 20% validation, 30% test.

    Args:
        path: the CSV file.
        target: the label column.
        id_column: a column of training-point identifiers (default: the row number in the file).

    Raises:
        DataError: for a missing file or column, or a file with too few rows.
    """
    import pandas as pd

    path = Path(path)
    if not path.is_file():
        raise DataError(f"CSV file '{path}' does not exist")
    frame = pd.read_csv(path).dropna()
    for column in [target] + ([id_column] if id_column else []):
        if column not in frame.columns:
            raise DataError(f"column '{column}' is not in '{path}'; its columns are: {', '.join(map(str, frame.columns))}")
    ids = frame.pop(id_column).to_numpy() if id_column else frame.index.to_numpy()
    y = frame.pop(target).to_numpy()
    encoded = pd.get_dummies(frame, dtype=np.float64)
    x = encoded.to_numpy(dtype=np.float64)
    sizes = _split_sizes(path.stem, len(y), n_train, n_valid, n_test)
    parts = _stratified_take(y, sizes, np.random.default_rng(seed))
    data = _assemble(
        path.stem, x, y, parts, feature_names=tuple(map(str, encoded.columns)), info={"source": str(path), "seed": seed}
    )
    return replace(data, train=replace(data.train, ids=ids[parts[0]]))


def load(name: str, *, seed: int = 0, data_dir: str | os.PathLike | None = None, **sizes: int | None) -> ValuationData:
    """Load a data set by name: one of :data:`BUILTIN` or ``adult``.

    Raises:
        InvalidRequestError: for an unknown name.
    """
    if name in BUILTIN:
        return load_builtin(name, seed=seed, **sizes)
    if name == "adult":
        return load_adult(data_dir, seed=seed, **sizes)
    raise InvalidRequestError(f"unknown data set '{name}'; choose one of: {', '.join(DATASETS)} (or use load_csv)")
