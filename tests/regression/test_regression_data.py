"""Regression data: built-in loaders, a user's arrays and tables, and the regression forget specs."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from obliviate.core.errors import DataError, InvalidForgetSpecError
from obliviate.data.checksums import sha256_file
from obliviate.data.regression import (
    CALIFORNIA_FILES,
    RegressionData,
    block_split,
    forget_interval,
    from_series,
    load_california,
    load_diabetes,
    load_rotated_digits,
    load_table,
    parse_regression_forget,
    rotated_digits_arrays,
    same_distribution_test,
    select_regression_forget,
    series_windows,
)

DATA_DIR = os.environ.get("OBLIVIATE_DATA_DIR")
needs_data = pytest.mark.skipif(DATA_DIR is None, reason="needs OBLIVIATE_DATA_DIR (the shared real data sets)")


@pytest.mark.parametrize(
    ("text", "inside", "outside"),
    [
        ("range:target<=1.0", [1.0, -5.0], [1.01]),
        ("range:target<1", [0.99], [1.0]),
        ("range:target>=30", [30.0, 60.0], [29.9]),
        ("range:target>2.5e1", [25.1], [25.0]),
        ("range:10..20", [10.0, 20.0], [9.9, 20.1]),
        ("time:1900-1950", [1900.0, 1950.0], [1899.0, 1951.0]),
        ("time:-5..5", [-5.0, 5.0], [-6.0]),
    ],
)
def test_range_and_time_specs_parse_to_the_stated_interval(text, inside, outside):
    spec = parse_regression_forget(text)
    assert str(spec) == text
    interval = forget_interval(spec)
    assert interval.contains(np.array(inside)).all()
    assert not interval.contains(np.array(outside)).any()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("range:y<=3", "range:target<=q"),
        ("range:5..1", "exceeds"),
        ("time:1950-1900", "after the end"),
        ("time:soon", "time:<start>-<end>"),
        ("class:3", "not supported"),
        ("random:1.5", "between 0 and 1"),
        ("nothing", "kind:argument"),
    ],
)
def test_bad_specs_raise_an_error_that_says_the_accepted_form(text, message):
    with pytest.raises(InvalidForgetSpecError, match=message):
        parse_regression_forget(text)


def toy(n: int = 40, **kwargs) -> RegressionData:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, 3))
    y = np.arange(n, dtype=float)
    return RegressionData.from_arrays(x, y, **kwargs)


def test_selection_follows_the_spec_on_the_training_rows():
    data = toy(times=np.arange(40) + 2000.0, seed=1)
    chosen = select_regression_forget(parse_regression_forget("range:target<=9"), data, seed=0)
    assert set(data.y_train[chosen]) == {v for v in data.y_train if v <= 9}
    chosen = select_regression_forget(parse_regression_forget("time:2010-2019"), data, seed=0)
    assert set(data.time_train[chosen]) == {t for t in data.time_train if 2010 <= t <= 2019}
    chosen = select_regression_forget(parse_regression_forget("random:0.25"), data, seed=3)
    assert len(chosen) == round(0.25 * len(data.y_train))
    with pytest.raises(InvalidForgetSpecError, match="selects no training row"):
        select_regression_forget(parse_regression_forget("range:target>=1000"), data, seed=0)
    with pytest.raises(InvalidForgetSpecError, match="needs times"):
        select_regression_forget(parse_regression_forget("time:1-2"), toy(), seed=0)


def test_ids_specs_name_the_users_own_ids(tmp_path: Path):
    ids = [f"patient-{i:03d}" for i in range(40)]
    split = ["test" if i % 4 == 0 else "train" for i in range(40)]
    data = toy(ids=ids, split=split)
    assert list(data.ids_test) == [ids[i] for i in range(0, 40, 4)]
    wanted = tmp_path / "forget.txt"
    wanted.write_text("# to forget\npatient-001\npatient-002\n\npatient-007\n")
    chosen = select_regression_forget(parse_regression_forget(f"ids:{wanted}"), data, seed=0)
    assert sorted(data.ids_train[chosen]) == ["patient-001", "patient-002", "patient-007"]
    wanted.write_text("patient-004\n")
    with pytest.raises(InvalidForgetSpecError, match="test rows"):
        select_regression_forget(parse_regression_forget(f"ids:{wanted}"), data, seed=0)
    wanted.write_text("patient-999\n")
    with pytest.raises(InvalidForgetSpecError, match="not ids of"):
        select_regression_forget(parse_regression_forget(f"ids:{wanted}"), data, seed=0)


def test_same_distribution_non_members_match_the_forget_range_or_period():
    data = toy(times=np.arange(40) + 2000.0, seed=2)
    rows, _ = same_distribution_test(parse_regression_forget("range:target>=30"), data)
    assert (data.y_test[rows] >= 30).all() and rows.size == (data.y_test >= 30).sum()
    rows, _ = same_distribution_test(parse_regression_forget("time:2000-2009"), data)
    assert ((data.time_test[rows] >= 2000) & (data.time_test[rows] <= 2009)).all()
    rows, _ = same_distribution_test(parse_regression_forget("random:0.1"), data)
    assert rows.size == len(data.y_test)


def test_bad_arrays_are_refused_with_the_fix():
    with pytest.raises(DataError, match="not unique"):
        toy(ids=[1] * 40)
    with pytest.raises(DataError, match="'train' or 'test'"):
        toy(split=["train"] * 39 + ["holdout"])
    with pytest.raises(DataError, match="both"):
        toy(split=["train"] * 40)
    with pytest.raises(DataError, match="NaN"):
        RegressionData.from_arrays(np.full((10, 2), np.nan), np.arange(10.0))


def test_a_csv_table_gets_one_hot_categories_imputed_gaps_and_a_checksum(tmp_path: Path):
    table = tmp_path / "houses.csv"
    rows = ["id,rooms,kind,price"] + [
        f"h{i},{'' if i == 3 else i % 7 + 1},{['flat', 'house', 'villa'][i % 3]},{100 + 10 * i}" for i in range(30)
    ]
    table.write_text("\n".join(rows) + "\n")
    data = load_table(table, target="price", id_column="id", target_scale=0.01, seed=0)
    assert data.input_shape == (4,)  # rooms + three one-hot columns
    assert np.isfinite(data.x_train).all() and np.isfinite(data.x_test).all()
    assert sorted(np.concatenate([data.y_train, data.y_test]).tolist()) == pytest.approx([1 + 0.1 * i for i in range(30)])
    assert set(data.ids_train) | set(data.ids_test) == {f"h{i}" for i in range(30)}
    with pytest.raises(DataError, match="checksum"):
        load_table(table, target="price", sha256="0" * 64)
    with pytest.raises(DataError, match="no column"):
        load_table(table, target="value")


def test_rotated_digits_targets_are_the_rotation_angles():
    images, angles = rotated_digits_arrays()
    assert images.shape == (1797, 1, 12, 12) and angles.shape == (1797,)
    assert angles.min() >= -60 and angles.max() <= 60
    assert 0.0 <= images.min() and images.max() <= 1.0
    # The same fixed draw for every scenario seed: only the split changes.
    a, b = load_rotated_digits(seed=0), load_rotated_digits(seed=1)
    assert sorted(a.ids_train.tolist() + a.ids_test.tolist()) == list(range(1797))
    assert not np.array_equal(a.ids_test, b.ids_test)
    np.testing.assert_allclose(np.sort(np.concatenate([a.y_train, a.y_test])), np.sort(angles))


def test_series_windows_take_the_next_value_as_target_and_block_split_spreads_test_blocks():
    x, y, times = series_windows(np.arange(20.0), window=4, times=np.arange(20) + 1900)
    assert x.shape == (16, 1, 4) and y.tolist() == list(range(4, 20)) and times[0] == 1904
    np.testing.assert_array_equal(x[3, 0], [3, 4, 5, 6])
    mask = block_split(300, seed=0)
    assert 0.15 < mask.mean() < 0.25
    assert all(mask[start : start + 50].any() for start in range(0, 300, 50))
    data = from_series(np.sin(np.arange(120) / 5.0), window=8, seed=1)
    assert data.time_train is not None and len(data.y_train) + len(data.y_test) == 112


def test_sunspots_windows_are_yearly_with_the_target_year_as_id():
    pytest.importorskip("statsmodels", reason="sunspots ship with statsmodels")
    from obliviate.data.regression import load_sunspots

    data = load_sunspots(seed=0)
    assert len(data.y_train) + len(data.y_test) == 309 - 12
    assert data.time_train.min() >= 1712 and data.time_test.max() <= 2008
    rows, _ = same_distribution_test(parse_regression_forget("time:1900-1950"), data)
    assert rows.size >= 2  # held-out windows of the forgotten period exist


def test_diabetes_ids_are_the_row_numbers():
    data = load_diabetes(seed=0)
    assert sorted(data.ids_train.tolist() + data.ids_test.tolist()) == list(range(442))
    assert abs(float(data.x_train.mean())) < 1e-5


@needs_data
def test_california_is_checked_cleaned_and_in_units_of_100k():
    data = load_california(DATA_DIR, seed=0)
    assert len(data.y_train) + len(data.y_test) == 20640
    assert data.input_shape == (13,)  # 8 numeric + 5 ocean_proximity categories
    assert np.isfinite(data.x_train).all()
    assert 0.14 < data.y_train.min() < 0.16 and data.y_train.max() == pytest.approx(5.00001)


@needs_data
def test_an_altered_california_file_fails_its_checksum(tmp_path: Path):
    source = Path(DATA_DIR) / "california-housing" / "housing.csv"
    copy = tmp_path / "housing.csv"
    shutil.copy(source, copy)
    with copy.open("ab") as handle:
        handle.write(b"\n")
    assert sha256_file(copy) != CALIFORNIA_FILES["housing.csv"]
    with pytest.raises(DataError, match="checksum"):
        load_california(tmp_path)
