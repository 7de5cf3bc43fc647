"""Datasets: built-in ones from scikit-learn, and MNIST from checksummed IDX files."""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

import numpy as np
import pytest

from obliviate.core.errors import DataError, InvalidRequestError
from obliviate.data.checksums import sha256_file, shared_data_dir, verify_files
from obliviate.data.datasets import (
    MNIST_TEST_FILES,
    load_builtin,
    load_classification,
    load_mnist,
    load_mnist_test,
    mnist_folder,
    read_idx,
)

# Images per digit 0-9 in the MNIST test set (LeCun, Cortes, Burges).
MNIST_TEST_LABEL_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


@pytest.fixture(scope="module")
def mnist_dir() -> Path:
    root = shared_data_dir()
    if root is None:
        pytest.skip("OBLIVIATE_DATA_DIR is not set: point it at the shared data folder to test MNIST")
    return root / "mnist-test"


def test_digits_are_8x8_images_in_the_unit_interval_with_a_stratified_split():
    data = load_builtin("digits", seed=0)
    assert data.input_shape == (1, 8, 8) and data.is_image
    assert len(data.x_train) + len(data.x_test) == 1797
    assert len(data.x_test) == 450  # ceil(0.25 * 1797)
    assert data.x_train.dtype == np.float32 and data.y_train.dtype == np.int64
    assert data.x_train.min() == 0.0 and data.x_train.max() == 1.0
    assert data.num_classes == 10
    # Stratified: every class keeps its share of the test set within one example.
    shares = np.bincount(data.y_test, minlength=10) / np.bincount(np.r_[data.y_train, data.y_test])
    np.testing.assert_allclose(shares, 0.25, atol=0.02)


@pytest.mark.parametrize("name, features, classes, rows", [("wine", 13, 3, 178), ("breast_cancer", 30, 2, 569)])
def test_tabular_sets_are_standardised_with_training_statistics(name, features, classes, rows):
    data = load_builtin(name, seed=1)
    assert data.input_shape == (features,) and not data.is_image
    assert len(data.x_train) + len(data.x_test) == rows
    assert data.num_classes == classes
    np.testing.assert_allclose(data.x_train.mean(axis=0), 0.0, atol=1e-5)
    np.testing.assert_allclose(data.x_train.std(axis=0), 1.0, atol=1e-4)
    # The test part uses the training statistics, so its moments are near, not at, 0 and 1.
    assert np.abs(data.x_test.mean(axis=0)).max() < 0.6


def test_the_split_depends_only_on_the_seed():
    first, again, other = (load_builtin("wine", seed=s) for s in (3, 3, 4))
    assert np.array_equal(first.x_train, again.x_train) and np.array_equal(first.y_test, again.y_test)
    assert not np.array_equal(first.x_train, other.x_train)


def test_datasets_become_tensor_datasets_of_the_right_size():
    data = load_builtin("digits")
    assert len(data.train_dataset()) == len(data.x_train)
    x, y = data.train_dataset(np.array([0, 5]))[1]
    assert tuple(x.shape) == (1, 8, 8) and int(y) == int(data.y_train[5])
    assert len(data.test_dataset()) == 450


def test_unknown_dataset_names_list_the_options():
    with pytest.raises(InvalidRequestError, match="unknown dataset 'cifar10'; choose one of: digits, wine, breast_cancer, mnist"):
        load_classification("cifar10")
    with pytest.raises(InvalidRequestError, match="choose one of: digits, wine, breast_cancer"):
        load_builtin("iris")


@pytest.mark.data
def test_mnist_test_set_has_ten_thousand_images_with_the_known_label_counts(mnist_dir):
    images, labels = load_mnist_test(mnist_dir)
    assert images.shape == (10000, 28, 28) and images.dtype == np.uint8
    assert np.bincount(labels, minlength=10).tolist() == MNIST_TEST_LABEL_COUNTS
    assert images.max() == 255 and images.min() == 0


@pytest.mark.data
def test_mnist_loads_from_the_data_dir_variable_and_splits_80_20(mnist_dir):
    data = load_classification("mnist", seed=0)  # resolves $OBLIVIATE_DATA_DIR/mnist-test
    assert mnist_folder() == mnist_dir
    assert data.input_shape == (1, 28, 28)
    assert (len(data.x_train), len(data.x_test)) == (8000, 2000)
    assert 0.0 <= data.x_train.min() and data.x_train.max() <= 1.0


@pytest.mark.data
def test_a_tampered_mnist_file_fails_its_checksum_naming_the_file(mnist_dir, tmp_path):
    for name in MNIST_TEST_FILES:
        shutil.copy(mnist_dir / name, tmp_path / name)
    target = tmp_path / "t10k-labels-idx1-ubyte.gz"
    target.chmod(0o644)
    raw = bytearray(target.read_bytes())
    raw[100] ^= 0x01
    target.write_bytes(bytes(raw))
    with pytest.raises(DataError, match=r"t10k-labels-idx1-ubyte\.gz' fails its checksum.*download it again"):
        load_mnist(tmp_path)


def test_a_missing_mnist_folder_says_which_files_to_download(tmp_path):
    with pytest.raises(DataError) as info:
        load_mnist_test(tmp_path / "nowhere")
    message = str(info.value)
    assert "does not exist" in message
    assert "t10k-images-idx3-ubyte.gz" in message and "t10k-labels-idx1-ubyte.gz" in message
    assert "MNIST" in message


def test_missing_files_are_named_before_any_checksum_is_computed(tmp_path):
    (tmp_path / "t10k-images-idx3-ubyte.gz").write_bytes(b"")  # present but wrong
    with pytest.raises(DataError, match="missing data file '.*t10k-labels-idx1-ubyte.gz'; get it from MNIST"):
        verify_files(tmp_path, MNIST_TEST_FILES, source="MNIST")
    (tmp_path / "t10k-images-idx3-ubyte.gz").unlink()
    with pytest.raises(DataError, match="missing data files .*images.*labels.*; get them from MNIST"):
        verify_files(tmp_path, MNIST_TEST_FILES, source="MNIST")


def test_mnist_without_a_path_or_data_dir_says_how_to_provide_one(monkeypatch):
    monkeypatch.delenv("OBLIVIATE_DATA_DIR", raising=False)
    with pytest.raises(DataError, match="set OBLIVIATE_DATA_DIR"):
        load_mnist()


def write_idx(path: Path, array: np.ndarray, *, compress: bool) -> None:
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    blob = header + array.astype(np.uint8).tobytes()
    path.write_bytes(gzip.compress(blob) if compress else blob)


@pytest.mark.parametrize("compress", [False, True])
def test_read_idx_round_trips_a_hand_written_file(tmp_path, compress):
    array = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    path = tmp_path / ("a.idx.gz" if compress else "a.idx")
    write_idx(path, array, compress=compress)
    assert np.array_equal(read_idx(path), array)


def test_read_idx_refuses_wrong_headers_truncated_data_and_broken_gzip(tmp_path):
    bad_type = tmp_path / "float.idx"
    bad_type.write_bytes(bytes([0, 0, 0x0D, 1, 0, 0, 0, 1]) + b"\x00" * 4)
    with pytest.raises(DataError, match="not an unsigned-byte IDX file"):
        read_idx(bad_type)
    short = tmp_path / "short.idx"
    write_idx(short, np.zeros((4, 4), dtype=np.uint8), compress=False)
    short.write_bytes(short.read_bytes()[:-3])
    with pytest.raises(DataError, match="holds 13 values but its header announces 16"):
        read_idx(short)
    broken = tmp_path / "broken.idx.gz"
    broken.write_bytes(b"not gzip at all")
    with pytest.raises(DataError, match="cannot read IDX file"):
        read_idx(broken)


def test_sha256_file_matches_hashlib(tmp_path):
    import hashlib

    path = tmp_path / "blob"
    path.write_bytes(b"x" * 3_000_000)  # spans several read chunks
    assert sha256_file(path, chunk=1 << 20) == hashlib.sha256(b"x" * 3_000_000).hexdigest()
