"""Tables as DataFrames: UCI Adult from its checksummed files, and scikit-learn's built-in sets."""

from __future__ import annotations

import shutil

import pytest

from obliviate.core.errors import DataError, InvalidRequestError
from obliviate.data.checksums import shared_data_dir
from obliviate.data.tabular import ADULT_CATEGORICAL, load_adult, load_builtin_table, load_table


@pytest.fixture(scope="module")
def adult_dir():
    root = shared_data_dir()
    if root is None:
        pytest.skip("OBLIVIATE_DATA_DIR is not set: point it at the shared data folder to test UCI Adult")
    return root / "uci-adult"


@pytest.mark.data
def test_adult_has_the_published_rows_labels_and_missing_values(adult_dir):
    train = load_adult(adult_dir)
    assert train.frame.shape == (32561, 15)
    assert train.frame["income"].value_counts().to_dict() == {"<=50K": 24720, ">50K": 7841}
    assert int(train.frame["workclass"].isna().sum()) == 1836  # '?' is a missing value
    assert train.categorical == list(ADULT_CATEGORICAL) and train.target == "income"
    test = load_adult(adult_dir, split="test")
    assert test.frame.shape == (16281, 15)
    assert set(test.frame["income"]) == {"<=50K", ">50K"}  # the trailing periods are gone
    assert len(load_adult(adult_dir, split="all").frame) == 32561 + 16281


@pytest.mark.data
def test_adult_names_a_missing_or_altered_file(adult_dir, tmp_path):
    with pytest.raises(DataError, match="adult.data"):
        load_adult(tmp_path)
    shutil.copy(adult_dir / "adult.data", tmp_path / "adult.data")
    (tmp_path / "adult.test").write_text("altered\n")
    with pytest.raises(DataError, match="fails its checksum"):
        load_adult(tmp_path)


def test_adult_without_a_folder_says_where_to_put_the_files(monkeypatch):
    monkeypatch.delenv("OBLIVIATE_DATA_DIR", raising=False)
    with pytest.raises(DataError, match="OBLIVIATE_DATA_DIR"):
        load_adult()
    with pytest.raises(InvalidRequestError, match="split"):
        load_adult(split="validation")


@pytest.mark.parametrize(
    "name, shape, categorical, target_type",
    [("wine", (178, 14), ["target"], "class"), ("breast_cancer", (569, 31), ["target"], "class"),
     ("diabetes", (442, 11), ["sex"], "regr")],
)  # fmt: skip
def test_built_in_tables_are_dataframes_with_column_roles(name, shape, categorical, target_type):
    data = load_table(name)
    assert data.frame.shape == shape
    assert data.categorical == categorical and data.target == "target" and data.target_type == target_type
    assert not data.frame.isna().any().any()
    assert set(data.numeric) == set(data.frame.columns) - set(categorical)


def test_class_targets_hold_class_names_and_unknown_names_are_refused():
    assert set(load_builtin_table("breast_cancer").frame["target"]) == {"malignant", "benign"}
    with pytest.raises(InvalidRequestError, match="unknown table"):
        load_table("iris")
