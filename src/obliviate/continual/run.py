"""Run a user's stream step by step, saving the stream state after every operation.

``run_stream`` applies the operations of a stream that the state file has not applied yet,
learning with the ``cl`` rule (``cl_unlearn``'s replay and EMA-teacher distillation), and
writes the model, its buffer and its teacher to one safetensors file after each operation,
so an interrupted stream resumes where it stopped. By default it stops before an unlearning
step: a deletion is applied by ``obliviate forget --task continual`` (any continual method,
with a deletion certificate), whose output is again a stream state the stream resumes from.
``apply_deletions=True`` applies them here with ``cl_unlearn``'s rule, without a certificate.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from torch import nn

from obliviate.continual import engine
from obliviate.continual.scenario import (
    DEFAULT_BUFFER,
    DEFAULT_EPOCHS,
    step_positions,
    stream_data,
    stream_metadata,
    stream_network,
)
from obliviate.continual.state import Buffer, StreamState, load_stream_state, save_stream_state
from obliviate.continual.stream import parse_stream
from obliviate.core.errors import DataError, InvalidRequestError
from obliviate.core.factory import load_factory


@dataclass
class StreamRun:
    """What :func:`run_stream` did.

    Attributes:
        state_path: the stream-state file.
        operations: the whole stream, as text.
        done: operations applied so far (all runs together).
        applied: operations applied by this call.
        rows: accuracy matrix so far (one row per applied operation, one column per task).
        next_deletion: the unlearning step the run stopped before (``None`` when it did not stop).
    """

    state_path: Path
    operations: list[str]
    done: int
    applied: list[str] = field(default_factory=list)
    rows: list[list[float]] = field(default_factory=list)
    next_deletion: str | None = None


def run_stream(
    stream: str,
    state_path: str | os.PathLike,
    *,
    dataset: str = "digits",
    model: str | Callable[[], nn.Module] = "mlp",
    seed: int = 0,
    epochs: int | None = None,
    buffer_size: int | None = None,
    data_dir: str | os.PathLike | None = None,
    table: str | os.PathLike | None = None,
    apply_deletions: bool = False,
    out: str | os.PathLike | None = None,
    progress: bool = False,
    **table_options: Any,
) -> StreamRun:
    """Apply the operations of ``stream`` that ``state_path`` has not applied yet.

    A missing ``state_path`` starts the stream from a freshly initialised network (seeded);
    an existing one must record a stream whose operations are a prefix of ``stream`` and the
    same data. The state is written to ``out`` after every operation (default: ``state_path``
    itself; give another file to keep a certified state unchanged).

    Raises:
        InvalidRequestError: a malformed stream, or one that does not continue the saved one.
        DataError: the state file does not fit the network or the data.
    """
    data = stream_data(dataset, seed=seed, data_dir=data_dir, table=table, **table_options)
    ops = parse_stream(stream, data.num_classes)
    factory = load_factory(model) if callable(model) or ":" in str(model) else None

    path = Path(state_path)
    network = stream_network(model, factory, data, seed)
    rows: list[list[float]] = []
    if path.exists():
        state, meta = load_stream_state(path, network)
        if not isinstance(meta.get("stream"), str):
            raise DataError(f"'{path}' records no stream; it was not written by run_stream")
        recorded = [str(op) for op in parse_stream(meta.get("stream") or "", None)][: state.done]
        if [str(op) for op in ops[: len(recorded)]] != recorded:
            raise InvalidRequestError(
                f"'{path}' has applied '{','.join(recorded)}'; the stream must start with those operations"
            )
        if meta.get("n_train") not in (None, len(data.y_train)):
            raise DataError(f"'{path}' was trained on other data ({meta.get('dataset')}); pass the same data")
        rows = [[float("nan") if v is None else float(v) for v in r] for r in meta.get("rows", [])]
    else:
        capacity = buffer_size or DEFAULT_BUFFER.get(data.name, 200)
        state = StreamState(buffer=Buffer(capacity))
    settings = engine.Settings(epochs=epochs or DEFAULT_EPOCHS.get(data.name, 10))
    step_ids = {k: step_positions(op, data) for k, op in enumerate(ops) if op.kind == "unlearn"}
    for k in step_ids:
        if k < state.done:
            state.forgotten |= {int(i) for i in step_ids[k]}
    target = Path(out) if out is not None else path
    outcome = StreamRun(target, [str(op) for op in ops], state.done)
    pending = range(state.done, len(ops))
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=len(pending), desc="stream", unit="op")
    try:
        for k in pending:
            op = ops[k]
            if op.kind == "unlearn" and not apply_deletions:
                outcome.next_deletion = str(op)
                break
            stop = k + 1
            rows.extend(engine.run(network, state, ops, data, step_ids, "cl", settings, seed, factory, stop=stop))
            outcome.applied.append(str(op))
            save_stream_state(target, network, state, metadata={**stream_metadata(ops, data, rows), "seed": seed})
            if bar is not None:
                bar.update(1)
                bar.set_postfix_str(str(op))
    finally:
        if bar is not None:
            bar.close()
    n_tasks = sum(1 for op in ops if op.kind == "learn")
    # rows recorded under a shorter stream (a certified deletion) know fewer tasks: pad them
    outcome.done, outcome.rows = state.done, [[float(v) for v in r] + [float("nan")] * (n_tasks - len(r)) for r in rows]
    return outcome
