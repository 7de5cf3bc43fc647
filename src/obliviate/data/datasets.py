"""Classification datasets: built-in ones that ship with scikit-learn, and MNIST from IDX files.

Built-in data needs no download: ``digits`` (1,797 8x8 grey images, as 1x8x8 tensors in
[0, 1]), ``wine`` and ``breast_cancer`` (tabular, standardised with training statistics).
``mnist`` reads the MNIST test set (10,000 images) from IDX files whose sha256 is
checked; it is split into a training and a test part here.
"""

from __future__ import annotations

import gzip
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import TensorDataset

from obliviate.core.errors import DataError, InvalidRequestError
from obliviate.data.checksums import shared_data_dir, verify_files

BUILTIN = ("digits", "wine", "breast_cancer")
DATASETS = BUILTIN + ("mnist",)

MNIST_SOURCE = "the MNIST database (yann.lecun.com/exdb/mnist or a mirror)"
MNIST_TEST_FILES = {
    "t10k-images-idx3-ubyte.gz": "9fe7630f90c0e670227960a294637bc2e78a29d724810e24204eb342c9f033a1",
    "t10k-labels-idx1-ubyte.gz": "2c54c993d38068b3c3adb720a5cdee07065a066a7b36e7d1df720548d6359eba",
}


@dataclass
class ClassificationData:
    """A train/test split of a classification dataset as NumPy arrays.

    Attributes:
        name: dataset name.
        x_train, x_test: float32 inputs; images are ``(n, channels, height, width)``.
        y_train, y_test: int64 labels in ``0..num_classes-1``.
        num_classes: number of classes.
        ids_train, ids_test: the user's own identifiers of each row (``None`` for built-in
            data, whose identifiers are training-set positions).
        classes: the user's label values, in the order of the integer labels (``None``
            when the labels were already ``0..C-1``).
        digest: sha256 of the source file(s), recorded in certificates (``None`` for
            built-in data).
    """

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    num_classes: int
    ids_train: np.ndarray | None = None
    ids_test: np.ndarray | None = None
    classes: list | None = None
    digest: str | None = None

    @property
    def input_shape(self) -> tuple[int, ...]:
        """Shape of one input (without the batch axis)."""
        return tuple(self.x_train.shape[1:])

    @property
    def is_image(self) -> bool:
        """True when inputs are ``(channels, height, width)`` images."""
        return len(self.input_shape) == 3

    def train_dataset(self, indices: np.ndarray | None = None) -> TensorDataset:
        """Training examples (optionally a subset) as a ``TensorDataset(x, y)``."""
        x, y = self.x_train, self.y_train
        if indices is not None:
            x, y = x[indices], y[indices]
        return TensorDataset(torch.from_numpy(np.ascontiguousarray(x)), torch.from_numpy(np.ascontiguousarray(y)))

    def test_dataset(self) -> TensorDataset:
        """Test examples as a ``TensorDataset(x, y)``."""
        return TensorDataset(torch.from_numpy(self.x_test), torch.from_numpy(self.y_test))


def _split(x: np.ndarray, y: np.ndarray, test_size: float, seed: int) -> tuple[np.ndarray, ...]:
    from sklearn.model_selection import train_test_split

    return train_test_split(x, y, test_size=test_size, random_state=seed, stratify=y)


def load_builtin(name: str, *, seed: int = 0, test_size: float = 0.25) -> ClassificationData:
    """Load a dataset that ships with scikit-learn, split with a stratified, seeded split.

    Args:
        name: ``"digits"``, ``"wine"`` or ``"breast_cancer"``.
        seed: seeds the split.
        test_size: fraction held out for testing.

    Raises:
        InvalidRequestError: for an unknown name.
    """
    from sklearn import datasets

    if name == "digits":
        bunch = datasets.load_digits()
        x = (bunch.images / 16.0).astype(np.float32)[:, None, :, :]
    elif name == "wine":
        bunch = datasets.load_wine()
        x = bunch.data.astype(np.float32)
    elif name == "breast_cancer":
        bunch = datasets.load_breast_cancer()
        x = bunch.data.astype(np.float32)
    else:
        raise InvalidRequestError(f"unknown built-in dataset '{name}'; choose one of: {', '.join(BUILTIN)}")
    y = bunch.target.astype(np.int64)
    x_train, x_test, y_train, y_test = _split(x, y, test_size, seed)
    if x.ndim == 2:
        mean, std = x_train.mean(axis=0), x_train.std(axis=0) + 1e-8
        x_train, x_test = (x_train - mean) / std, (x_test - mean) / std
    return ClassificationData(
        name, x_train.astype(np.float32), y_train, x_test.astype(np.float32), y_test, int(y.max()) + 1
    )


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read an IDX file (optionally gzip-compressed) into a NumPy array.

    Format (LeCun et al.): two zero bytes, a type code (0x08 = unsigned byte), the number of
    dimensions, then each dimension as a big-endian int32, then the data.

    Raises:
        DataError: if the file cannot be read or its header is not a valid unsigned-byte IDX
            header matching the data that follows.
    """
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as handle:
            raw = handle.read()
    except (OSError, EOFError) as exc:  # missing, unreadable, or a damaged gzip stream
        raise DataError(f"cannot read IDX file '{path}': {exc}") from exc
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08:
        raise DataError(f"'{path}' is not an unsigned-byte IDX file")
    ndim = raw[3]
    shape = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    offset = 4 + 4 * ndim
    expected = int(np.prod(shape))
    data = np.frombuffer(raw, dtype=np.uint8, offset=offset)
    if data.size != expected:
        raise DataError(f"'{path}' holds {data.size} values but its header announces {expected}")
    return data.reshape(shape)


def mnist_folder(path: str | os.PathLike | None = None) -> Path:
    """Resolve the MNIST folder: ``path``, else ``$OBLIVIATE_DATA_DIR/mnist-test``.

    Raises:
        DataError: when neither is given.
    """
    if path is not None:
        return Path(path)
    root = shared_data_dir()
    if root is None:
        raise DataError(
            "MNIST needs its IDX files: pass data_dir=FOLDER holding t10k-images-idx3-ubyte.gz and "
            f"t10k-labels-idx1-ubyte.gz, or set OBLIVIATE_DATA_DIR; get them from {MNIST_SOURCE}"
        )
    return root / "mnist-test"


def load_mnist_test(path: str | os.PathLike | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The 10,000 MNIST test images (uint8, 28x28) and labels, after checking sha256."""
    folder = verify_files(mnist_folder(path), MNIST_TEST_FILES, source=MNIST_SOURCE)
    images = read_idx(folder / "t10k-images-idx3-ubyte.gz")
    labels = read_idx(folder / "t10k-labels-idx1-ubyte.gz")
    if images.shape != (10000, 28, 28) or labels.shape != (10000,):
        raise DataError(f"unexpected MNIST shapes {images.shape} and {labels.shape}")
    return images, labels.astype(np.int64)


def load_mnist(path: str | os.PathLike | None = None, *, seed: int = 0, test_size: float = 0.2) -> ClassificationData:
    """MNIST test set split into training and test parts, images as 1x28x28 in [0, 1]."""
    images, labels = load_mnist_test(path)
    x = (images.astype(np.float32) / 255.0)[:, None, :, :]
    x_train, x_test, y_train, y_test = _split(x, labels, test_size, seed)
    return ClassificationData("mnist", x_train, y_train, x_test, y_test, 10)


def load_classification(name: str, *, seed: int = 0, data_dir: str | os.PathLike | None = None) -> ClassificationData:
    """Load a classification dataset by name (see :data:`DATASETS`)."""
    if name == "mnist":
        return load_mnist(data_dir, seed=seed)
    if name in BUILTIN:
        return load_builtin(name, seed=seed)
    raise InvalidRequestError(f"unknown dataset '{name}'; choose one of: {', '.join(DATASETS)}")
