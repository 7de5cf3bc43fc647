"""Model checkpoints: safetensors weights with JSON metadata; never pickle.

Writes are atomic (temporary file, then rename) so that a crash never leaves half a file.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

import torch
from torch import nn

from obliviate.core.errors import DataError

METADATA_KEY = "obliviate"


def stage_bytes(folder: str | os.PathLike, data: bytes, *, prefix: str = ".obliviate-") -> str:
    """Write ``data`` to a new temporary file in ``folder`` (to be renamed into place) and
    return its path; the file gets the permissions a plain ``open`` would give it."""
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=prefix, suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        # mkstemp creates the file private (0600).
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
    except BaseException:
        os.unlink(tmp)
        raise
    return tmp


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same folder, then rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = stage_bytes(path.parent, data, prefix=f".{path.name}.")
    try:
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    """Write UTF-8 ``text`` atomically (see :func:`atomic_write_bytes`)."""
    atomic_write_bytes(path, text.encode("utf-8"))


def _contiguous_state(model_or_state: nn.Module | dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    state = model_or_state.state_dict() if isinstance(model_or_state, nn.Module) else model_or_state
    return {k: v.detach().cpu().contiguous() for k, v in state.items()}


def state_bytes(model: nn.Module | dict[str, torch.Tensor], metadata: dict[str, Any] | None = None) -> bytes:
    """A model's state_dict as safetensors bytes with JSON-serialisable ``metadata``."""
    from safetensors.torch import save

    state = _contiguous_state(model)
    # safetensors refuses tensors that share memory; clone them apart.
    seen: dict[int, str] = {}
    for key, tensor in list(state.items()):
        ptr = tensor.untyped_storage().data_ptr() if tensor.numel() else -1
        if ptr in seen and ptr != -1:
            state[key] = tensor.clone()
        seen[ptr] = key
    return save(state, metadata={METADATA_KEY: json.dumps(metadata or {}, sort_keys=True)})


def save_model(model: nn.Module | dict[str, torch.Tensor], path: str | os.PathLike, metadata: dict[str, Any] | None = None) -> Path:
    """Save a model's state_dict as safetensors with JSON-serialisable ``metadata``."""
    path = Path(path)
    atomic_write_bytes(path, state_bytes(model, metadata))
    return path


def load_state(path: str | os.PathLike) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Read a safetensors checkpoint: ``(state_dict, metadata)``.

    Raises:
        DataError: if the file is missing or not a valid safetensors file.
    """
    from safetensors import safe_open
    from safetensors.torch import load_file

    path = Path(path)
    if not path.is_file():
        raise DataError(f"checkpoint '{path}' does not exist; save one with obliviate.core.checkpoint.save_model")
    try:
        state = load_file(str(path))
        with safe_open(str(path), framework="pt") as handle:
            raw = (handle.metadata() or {}).get(METADATA_KEY, "{}")
        metadata = json.loads(raw)
    except Exception as exc:  # safetensors and json raise several error types
        raise DataError(f"'{path}' is not a readable safetensors checkpoint: {exc}") from exc
    return state, metadata


def load_into(model: nn.Module, path: str | os.PathLike) -> dict[str, Any]:
    """Load weights from ``path`` into ``model`` (strict key match); returns the metadata.

    Raises:
        DataError: if the checkpoint's keys or shapes do not match the model.
    """
    state, metadata = load_state(path)
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        raise DataError(
            f"checkpoint '{path}' does not fit this model (wrong recipe?): {exc}"
        ) from exc
    return metadata


def state_sha256(model_or_state: nn.Module | dict[str, torch.Tensor]) -> str:
    """sha256 over the state_dict's keys, dtypes, shapes and bytes, in sorted key order."""
    digest = hashlib.sha256()
    for key, tensor in sorted(_contiguous_state(model_or_state).items()):
        digest.update(key.encode())
        digest.update(str(tensor.dtype).encode())
        digest.update(str(tuple(tensor.shape)).encode())
        digest.update(tensor.reshape(-1).view(torch.uint8).numpy().tobytes() if tensor.numel() else b"")
    return digest.hexdigest()


def config_hash(config: dict[str, Any]) -> str:
    """Short stable hash of a JSON-serialisable config (used as a cache key)."""
    text = json.dumps(config, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]
