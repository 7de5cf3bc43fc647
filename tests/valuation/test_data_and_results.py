"""Loaders, label noise, the utility's degenerate subsets, and the result object."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from obliviate.core.errors import DataError, InvalidRequestError, UnsupportedModelError
from obliviate.data.checksums import shared_data_dir
from obliviate.valuation import (
    EcoVal,
    TrainSet,
    Utility,
    ValuationResult,
    flip_labels,
    load_adult,
    load_builtin,
    load_csv,
)

from .conftest import blobs


@pytest.mark.parametrize("name,features,classes", [("breast_cancer", 30, 2), ("wine", 13, 3), ("digits", 64, 10)])
def test_builtin_loaders_give_disjoint_standardised_splits(name, features, classes):
    data = load_builtin(name, seed=0)
    assert data.train.x.shape[1] == features and data.num_classes == classes
    np.testing.assert_allclose(data.train.x.mean(axis=0), 0.0, atol=1e-9)
    assert len(set(data.train.ids.tolist())) == len(data.train)
    small = load_builtin(name, seed=1, n_train=50, n_valid=20, n_test=20)
    assert len(small.train) == 50 and len(small.y_valid) == 20 and len(small.y_test) == 20
    with pytest.raises(InvalidRequestError, match="available"):
        load_builtin(name, n_train=10_000)


def test_flip_labels_flips_exactly_the_fraction_to_other_classes():
    y = np.arange(200) % 4
    noisy, mask = flip_labels(y, 0.1, np.arange(4), seed=0)
    assert mask.sum() == 20
    assert np.all(noisy[mask] != y[mask]) and np.all(noisy[~mask] == y[~mask])
    with pytest.raises(InvalidRequestError, match=r"\[0, 0.5\]"):
        flip_labels(y, 0.7, np.arange(4))


def test_csv_loader_encodes_categories_and_keeps_user_ids(tmp_path):
    import pandas as pd

    x, y = blobs(60, seed=0)
    frame = pd.DataFrame({"a": x[:, 0], "b": x[:, 1], "colour": np.where(y == 1, "red", "blue"), "label": y,
                          "customer": [f"c{i}" for i in range(60)]})
    path = tmp_path / "table.csv"
    frame.to_csv(path, index=False)
    data = load_csv(path, "label", id_column="customer", n_train=30, n_valid=12, n_test=18)
    assert data.train.x.shape == (30, 4)  # a, b and two one-hot columns
    assert all(str(i).startswith("c") for i in data.train.ids)
    with pytest.raises(DataError, match="'price' is not in"):
        load_csv(path, "price")


def test_trainset_rejects_bad_input_with_a_fix():
    with pytest.raises(DataError, match="NaN"):
        TrainSet(np.array([[0.0], [np.nan]]), np.array([0, 1]))
    with pytest.raises(DataError, match="unique"):
        TrainSet(np.zeros((2, 1)), np.array([0, 1]), ids=[1, 1])
    with pytest.raises(DataError, match="get_dummies"):
        TrainSet(np.array([["a"], ["b"]]), np.array([0, 1]))


def test_utility_scores_degenerate_subsets_without_fitting():
    x_valid = np.zeros((4, 2))
    utility = Utility(x_valid, np.array([0, 0, 0, 1]), classes=np.array([0, 1]))
    assert utility.evaluate(np.zeros((0, 2)), np.zeros(0, dtype=int)) == (0.5, 0)
    assert utility.evaluate(np.zeros((3, 2)), np.array([0, 0, 0])) == (0.75, 0)
    with pytest.raises(UnsupportedModelError, match="fit"):
        Utility(x_valid, np.array([0, 0, 0, 1]), model=object())


def test_result_sorts_exports_and_round_trips_through_json(tmp_path):
    x, y = blobs(30, seed=0)
    x_valid, y_valid = blobs(20, seed=1)
    result = EcoVal(n_bundles=8, seed=0).fit(TrainSet(x, y, ids=np.arange(100, 130)), Utility(x_valid, y_valid))
    ordered = result.sort()
    assert np.all(np.diff(ordered.values) >= 0)
    assert ordered.ids[0] == result.lowest(1)[0] and result.highest(1)[0] == result.sort(descending=True).ids[0]
    frame = result.to_pandas()
    assert list(frame.index) == list(range(100, 130))
    assert {"value", "intrinsic", "extrinsic", "cluster"} <= set(frame.columns)
    # At most one fit per bundle plus the full-data fit (single-class bundles need none).
    assert frame.attrs["model_fits"] == result.model_fits <= 9
    path = result.save(tmp_path / "values.json")
    assert json.loads(path.read_text())["format"] == "obliviate.valuation"
    loaded = ValuationResult.load(path)
    np.testing.assert_array_equal(loaded.values, result.values)
    np.testing.assert_array_equal(loaded.ids, result.ids)
    assert loaded.provenance["production_function"]["form"].startswith("log Y")
    assert (tmp_path / "values.csv") == result.save(tmp_path / "values.csv")
    with pytest.raises(DataError, match="not an obliviate valuation result"):
        (tmp_path / "other.json").write_text("{}")
        ValuationResult.load(tmp_path / "other.json")


def test_adult_loader_needs_its_files_and_says_where_they_go(tmp_path, monkeypatch):
    monkeypatch.delenv("OBLIVIATE_DATA_DIR", raising=False)
    with pytest.raises(DataError, match="OBLIVIATE_DATA_DIR"):
        load_adult()
    with pytest.raises(DataError, match="adult.data"):
        load_adult(tmp_path)


@pytest.mark.data
@pytest.mark.skipif(shared_data_dir() is None, reason="set OBLIVIATE_DATA_DIR to the shared data folder to test UCI Adult")
def test_adult_loader_checks_sha256_and_subsamples(tmp_path):
    folder = shared_data_dir() / "uci-adult"
    data = load_adult(folder, seed=0, n_train=200, n_valid=50, n_test=300)
    assert len(data.train) == 200 and len(data.y_test) == 300
    assert data.info["rows_complete"] == {"adult.data": 30162, "adult.test": 15060}
    assert data.train.x.shape[1] > 90 and set(data.classes.tolist()) == {0, 1}
    assert 0.15 < data.train.y.mean() < 0.35
    corrupt = tmp_path / "uci-adult"
    corrupt.mkdir()
    for name in ("adult.data", "adult.test"):
        shutil.copy(folder / name, corrupt / name)
    with open(corrupt / "adult.test", "ab") as handle:
        handle.write(b"x")
    with pytest.raises(DataError, match="fails its checksum"):
        load_adult(corrupt)
