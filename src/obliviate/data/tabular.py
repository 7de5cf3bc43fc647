"""Mixed-type tables as pandas DataFrames: UCI Adult from its original files, and built-in sets.

Every loader returns a :class:`TabularData`: the frame, which columns are categorical, the
target column and whether predicting it is classification or regression.

* ``adult``: UCI Adult census income (Becker & Kohavi, 1996; UCI Machine Learning
  Repository, DOI 10.24432/C5XW20, CC BY 4.0). Read from ``adult.data`` (32,561 rows) and
  ``adult.test`` (16,281 rows) after checking their sha256; ``?`` becomes a missing value
  (``NaN``) and the test file's trailing periods on the labels are removed.
* ``wine``, ``breast_cancer``, ``diabetes``: shipped with scikit-learn (no download). The
  classification targets are categorical columns of class names; diabetes' target is the
  numeric disease progression, and its ``sex`` feature is categorical.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from obliviate.core.errors import DataError, InvalidRequestError
from obliviate.data.checksums import shared_data_dir, verify_files

ADULT_SOURCE = "the UCI Machine Learning Repository, https://archive.ics.uci.edu/dataset/2/adult"
ADULT_FILES = {
    "adult.data": "5b00264637dbfec36bdeaab5676b0b309ff9eb788d63554ca0a249491c86603d",
    "adult.test": "a2a9044bc167a35b2361efbabec64e89d69ce82d9790d2980119aac5fd7e9c05",
}
ADULT_COLUMNS = (
    "age", "workclass", "fnlwgt", "education", "education-num", "marital-status", "occupation",
    "relationship", "race", "sex", "capital-gain", "capital-loss", "hours-per-week",
    "native-country", "income",
)  # fmt: skip
ADULT_CATEGORICAL = (
    "workclass", "education", "marital-status", "occupation", "relationship", "race", "sex",
    "native-country", "income",
)  # fmt: skip
ADULT_ROWS = {"train": 32561, "test": 16281}

BUILTIN_TABLES = ("wine", "breast_cancer", "diabetes")
TABLES = ("adult",) + BUILTIN_TABLES


@dataclass
class TabularData:
    """A table with the roles of its columns.

    Attributes:
        name: data set name.
        frame: the rows; categorical columns hold their original labels.
        categorical: names of the categorical columns (the target included when it is one).
        target: the column a model predicts in machine-learning efficacy tests.
        target_type: ``"class"`` or ``"regr"``.
    """

    name: str
    frame: pd.DataFrame
    categorical: list[str] = field(default_factory=list)
    target: str | None = None
    target_type: str = "class"

    @property
    def numeric(self) -> list[str]:
        """Names of the columns that are not categorical."""
        return [c for c in self.frame.columns if c not in self.categorical]


def adult_folder(path: str | os.PathLike | None = None) -> Path:
    """Resolve the Adult folder: ``path``, else ``$OBLIVIATE_DATA_DIR/uci-adult``.

    Raises:
        DataError: when neither is given.
    """
    if path is not None:
        return Path(path)
    root = shared_data_dir()
    if root is None:
        raise DataError(
            "UCI Adult needs its files: pass data_dir=FOLDER holding adult.data and adult.test, "
            f"or set OBLIVIATE_DATA_DIR to a folder with uci-adult/ in it; get them from {ADULT_SOURCE}"
        )
    return root / "uci-adult"


def _read_adult(path: Path, *, skip_first_line: bool) -> pd.DataFrame:
    frame = pd.read_csv(
        path,
        header=None,
        names=list(ADULT_COLUMNS),
        skipinitialspace=True,
        na_values="?",
        skiprows=1 if skip_first_line else 0,
        skip_blank_lines=True,
    )
    frame["income"] = frame["income"].str.rstrip(".")
    return frame


def load_adult(data_dir: str | os.PathLike | None = None, *, split: str = "train") -> TabularData:
    """UCI Adult, checked against its sha256 checksums.

    Args:
        data_dir: folder holding ``adult.data`` and ``adult.test`` (default
            ``$OBLIVIATE_DATA_DIR/uci-adult``).
        split: ``"train"`` (32,561 rows), ``"test"`` (16,281 rows) or ``"all"`` (both, in that order).

    Raises:
        DataError: a file is missing, fails its checksum, or does not have the published row count.
        InvalidRequestError: for an unknown split.
    """
    if split not in ("train", "test", "all"):
        raise InvalidRequestError(f"unknown Adult split {split!r}; choose 'train', 'test' or 'all'")
    folder = verify_files(adult_folder(data_dir), ADULT_FILES, source=ADULT_SOURCE)
    parts = []
    if split in ("train", "all"):
        parts.append(("train", _read_adult(folder / "adult.data", skip_first_line=False)))
    if split in ("test", "all"):
        parts.append(("test", _read_adult(folder / "adult.test", skip_first_line=True)))
    for part, frame in parts:
        if len(frame) != ADULT_ROWS[part]:
            raise DataError(
                f"Adult {part} file has {len(frame)} rows, expected {ADULT_ROWS[part]}; "
                f"download it again from {ADULT_SOURCE}"
            )
    frame = pd.concat([p[1] for p in parts], ignore_index=True)
    return TabularData("adult", frame, list(ADULT_CATEGORICAL), "income", "class")


def load_builtin_table(name: str) -> TabularData:
    """A data set shipped with scikit-learn as a DataFrame.

    ``wine`` (178 rows, 13 numeric features, 3 cultivars), ``breast_cancer`` (569 rows, 30
    numeric features, malignant/benign) and ``diabetes`` (442 rows, 10 features in their
    original units, numeric target).

    Raises:
        InvalidRequestError: for an unknown name.
    """
    from sklearn import datasets

    if name in ("wine", "breast_cancer"):
        bunch = datasets.load_wine() if name == "wine" else datasets.load_breast_cancer()
        frame = pd.DataFrame(bunch.data, columns=[str(c) for c in bunch.feature_names])
        frame["target"] = np.asarray(bunch.target_names)[bunch.target]
        return TabularData(name, frame, ["target"], "target", "class")
    if name == "diabetes":
        bunch = datasets.load_diabetes(scaled=False)
        frame = pd.DataFrame(bunch.data, columns=[str(c) for c in bunch.feature_names])
        frame["sex"] = frame["sex"].astype(int)
        frame["target"] = bunch.target
        return TabularData(name, frame, ["sex"], "target", "regr")
    raise InvalidRequestError(f"unknown built-in table {name!r}; choose one of: {', '.join(BUILTIN_TABLES)}")


def load_table(name: str, *, data_dir: str | os.PathLike | None = None) -> TabularData:
    """Load a table by name (see :data:`TABLES`); ``adult`` reads its training file."""
    if name == "adult":
        return load_adult(data_dir)
    if name in BUILTIN_TABLES:
        return load_builtin_table(name)
    raise InvalidRequestError(f"unknown table {name!r}; choose one of: {', '.join(TABLES)}")
