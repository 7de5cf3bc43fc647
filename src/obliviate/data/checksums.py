"""File checks for data loaders: presence and sha256, with errors that say what to do."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from obliviate.core.errors import DataError

DATA_DIR_ENV = "OBLIVIATE_DATA_DIR"


def sha256_file(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    """Hex sha256 of a file's bytes, read in chunks of ``chunk`` bytes."""
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
        raise DataError(
            f"data folder '{folder}' does not exist; create it and put these files in it: "
            f"{', '.join(expected)} (download them from {source})"
        )
    # Name every missing file at once, so that one download fixes them all.
    missing = [str(folder / name) for name in expected if not (folder / name).is_file()]
    if missing:
        listed = ", ".join(f"'{path}'" for path in missing)
        noun, pronoun = ("files", "them") if len(missing) > 1 else ("file", "it")
        raise DataError(f"missing data {noun} {listed}; get {pronoun} from {source}")
    for name, sha in expected.items():
        path = folder / name
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
