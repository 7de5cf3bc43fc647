"""What persists between operations: the replay buffer, the EMA teacher and counters.

Saved as one safetensors file (``model.*``, ``teacher.*``, ``buffer.*`` tensors plus JSON
metadata), never pickled, so a stream can be resumed.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.utils.data import TensorDataset

from obliviate.core.checkpoint import load_state, save_model
from obliviate.core.errors import DataError


@dataclass
class Buffer:
    """A fixed-size replay memory filled by reservoir sampling (Vitter, 1985).

    Each slot holds an input, its label, the logits recorded when it was stored (DER++),
    its training-set position (``ids``) and the index of the task it came from.
    """

    size: int
    x: torch.Tensor | None = None
    y: torch.Tensor = field(default_factory=lambda: torch.zeros(0, dtype=torch.long))
    logits: torch.Tensor | None = None
    ids: torch.Tensor = field(default_factory=lambda: torch.zeros(0, dtype=torch.long))
    task: torch.Tensor = field(default_factory=lambda: torch.zeros(0, dtype=torch.long))
    seen: int = 0

    def __len__(self) -> int:
        return len(self.y)

    def add(self, x: torch.Tensor, y: torch.Tensor, logits: torch.Tensor, ids: torch.Tensor, task: int,
            generator: torch.Generator, exclude: set[int] = frozenset()) -> None:
        """Reservoir-insert examples (in the given order); ids in ``exclude`` never enter."""
        for i in range(len(y)):
            if int(ids[i]) in exclude:
                continue
            self.seen += 1
            if len(self) < self.size:
                slot = len(self)
                if self.x is None:
                    self.x = x[:0].clone()
                    self.logits = logits[:0].clone()
                self.x = torch.cat([self.x, x[i:i + 1]])
                self.y = torch.cat([self.y, y[i:i + 1]])
                self.logits = torch.cat([self.logits, logits[i:i + 1]])
                self.ids = torch.cat([self.ids, ids[i:i + 1]])
                self.task = torch.cat([self.task, torch.tensor([task])])
                continue
            slot = int(torch.randint(0, self.seen, (1,), generator=generator))
            if slot < self.size:
                self.x[slot], self.y[slot], self.logits[slot] = x[i], y[i], logits[i]
                self.ids[slot], self.task[slot] = ids[i], task

    def remove(self, ids: set[int]) -> int:
        """Purge every slot whose id is in ``ids``; returns how many were removed."""
        if not len(self):
            return 0
        keep = torch.tensor([int(i) not in ids for i in self.ids], dtype=torch.bool)
        removed = int((~keep).sum())
        self.x, self.y, self.logits = self.x[keep], self.y[keep], self.logits[keep]
        self.ids, self.task = self.ids[keep], self.task[keep]
        return removed

    def dataset(self) -> TensorDataset:
        """The buffer's ``(x, y)`` pairs."""
        if self.x is None:
            return TensorDataset(torch.zeros(0), torch.zeros(0, dtype=torch.long))
        return TensorDataset(self.x, self.y)


@dataclass
class StreamState:
    """Everything a stream carries between operations besides the model.

    Attributes:
        buffer: the replay memory.
        teacher: the EMA teacher's state_dict (``None`` before the first step).
        iteration: optimisation steps taken so far (drives the EMA momentum).
        done: operations of the stream already applied.
        forgotten: training-set positions deleted so far (never re-enter the buffer).
    """

    buffer: Buffer
    teacher: dict[str, torch.Tensor] | None = None
    iteration: int = 0
    done: int = 0
    forgotten: set[int] = field(default_factory=set)

    def __repr__(self) -> str:  # short: reports store a method's info as text
        return (f"StreamState(buffer={len(self.buffer)}/{self.buffer.size}, done={self.done}, "
                f"iteration={self.iteration}, forgotten={len(self.forgotten)})")


STREAM_STATE_KIND = "stream_state"
"""``kind`` in the metadata of a stream-state file (model, teacher and buffer in one file)."""


def stream_state_tensors(model: nn.Module, state: StreamState,
                         metadata: dict[str, Any] | None = None) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """The tensors and metadata of a stream-state file (what :func:`save_stream_state` writes)."""
    tensors: dict[str, torch.Tensor] = {f"model.{k}": v for k, v in model.state_dict().items()}
    for k, v in (state.teacher or {}).items():
        tensors[f"teacher.{k}"] = v
    b = state.buffer
    if b.x is not None:
        tensors.update({"buffer.x": b.x, "buffer.logits": b.logits})
    tensors.update({"buffer.y": b.y, "buffer.ids": b.ids, "buffer.task": b.task,
                    "forgotten": torch.tensor(sorted(state.forgotten), dtype=torch.long)})
    meta = {"kind": STREAM_STATE_KIND, "buffer_size": b.size, "seen": b.seen, "iteration": state.iteration,
            "done": state.done, "user": metadata or {}}
    return tensors, meta


def stream_state_bytes(model: nn.Module, state: StreamState, metadata: dict[str, Any] | None = None) -> bytes:
    """A stream-state file's bytes (see :func:`save_stream_state`)."""
    from obliviate.core.checkpoint import state_bytes

    tensors, meta = stream_state_tensors(model, state, metadata)
    return state_bytes(tensors, meta)


def model_weights(tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> dict[str, torch.Tensor]:
    """The network's own weights in a checkpoint: the ``model.*`` entries of a stream-state
    file, every entry of any other file."""
    if meta.get("kind") != STREAM_STATE_KIND and "buffer_size" not in meta:
        return tensors
    return {k[6:]: v for k, v in tensors.items() if k.startswith("model.")}


def save_stream_state(path: str | os.PathLike, model: nn.Module, state: StreamState,
                      metadata: dict[str, Any] | None = None) -> None:
    """Write ``model`` and ``state`` to one safetensors file (atomically)."""
    tensors, meta = stream_state_tensors(model, state, metadata)
    save_model(tensors, path, metadata=meta)


def load_stream_state(path: str | os.PathLike, model: nn.Module) -> tuple[StreamState, dict[str, Any]]:
    """Load what :func:`save_stream_state` wrote into ``model``; returns ``(state, user metadata)``.

    Raises:
        DataError: the file is missing, unreadable or does not fit ``model``.
    """
    tensors, meta = load_state(path)
    if "buffer_size" not in meta:
        raise DataError(f"'{path}' holds plain weights, not a stream state (model, teacher and buffer); "
                        "write one with obliviate.continual.save_stream_state or `obliviate continual run`")
    weights = model_weights(tensors, meta)
    try:
        model.load_state_dict(weights, strict=True)
    except RuntimeError as exc:
        raise DataError(f"stream state '{path}' does not fit this model (wrong recipe?): {exc}") from exc
    teacher = {k[8:]: v for k, v in tensors.items() if k.startswith("teacher.")} or None
    buffer = Buffer(size=int(meta["buffer_size"]), x=tensors.get("buffer.x"), y=tensors["buffer.y"],
                    logits=tensors.get("buffer.logits"), ids=tensors["buffer.ids"], task=tensors["buffer.task"],
                    seen=int(meta["seen"]))
    forgotten = set(np.asarray(tensors["forgotten"]).tolist())
    state = StreamState(buffer=buffer, teacher=teacher, iteration=int(meta["iteration"]), done=int(meta["done"]),
                        forgotten=forgotten)
    return state, meta.get("user", {})
