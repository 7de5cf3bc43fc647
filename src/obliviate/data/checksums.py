"""File checks for data loaders: presence and sha256, with errors that say what to do."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from obliviate.core.errors import DataError

DATA_DIR_ENV = "OBLIVIATE_DATA_DIR"


def sha256_file(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    """Hex sha256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(chunk), b""):
            digest.update(block)
    return digest.hexdigest()


def verify_files(folder: str | os.PathLike, expected: dict[str, str], *, source: str) -> Path:
    """Check that every file in ``expected`` exists under ``folder`` with the given sha256.

    Args:
        folder: the folder holding the files.
        expected: relative file name -> hex sha256.
        source: where a user gets the files (printed when something is missing).

    Returns:
        ``folder`` as a ``Path``.

    Raises:
        DataError: naming the missing or altered file and where to get a good copy.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise DataError(f"data folder '{folder}' does not exist; download the files from {source}")
    for name, sha in expected.items():
        path = folder / name
        if not path.is_file():
            raise DataError(f"missing data file '{path}'; get it from {source}")
        actual = sha256_file(path)
        if actual != sha:
            raise DataError(
                f"'{path}' fails its checksum (sha256 {actual[:12]}…, expected {sha[:12]}…): "
                f"the file is corrupt or altered; download it again from {source}"
            )
    return folder


def shared_data_dir() -> Path | None:
    """The folder named by ``OBLIVIATE_DATA_DIR``, or ``None`` when unset."""
    value = os.environ.get(DATA_DIR_ENV)
    return Path(value) if value else None
