"""The continual scenario: a dataset split into class-incremental tasks and a stream of
learn/unlearn operations.

``original()`` is the model after the stream's operations up to (not including) the first
unlearning step, learned with the ``cl`` rule (replay plus an EMA teacher, see
:mod:`obliviate.continual.engine`); every method starts from it and from the same stream
state (buffer, teacher), carried in ``request().extras``, applies the unlearning step with
its own rule and continues the rest of the stream. ``gold()`` is a model trained from
scratch on the stream with every forgotten sample removed.

A user's stream: their own table (``table=`` with ``label_column``/``id_column``/
``split_column``/``test``, see :func:`obliviate.data.tables.load_table`), their own network
(``model="package.module:callable"``) and a stream state saved by
:func:`obliviate.continual.run_stream` (``obliviate continual run``): :meth:`load_model`
takes that state as the model before the deletion, and the deletion is ``forget`` (or the
recorded stream's next unlearning step). :meth:`saved_bytes` writes the state after the
deletion, so the stream resumes from the certified model.
"""

from __future__ import annotations

import copy
import math
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch
from torch import nn

from obliviate.audit.mia import entropy_svc_mia, membership_auc
from obliviate.continual import engine
from obliviate.continual.state import Buffer, StreamState, load_stream_state, stream_state_bytes
from obliviate.continual.stream import (
    DEFAULT_STREAM,
    Operation,
    default_stream,
    parse_forget,
    parse_stream,
    read_ids,
)
from obliviate.core.contracts import UnlearningRequest
from obliviate.core.errors import DataError, InvalidForgetSpecError, InvalidRequestError
from obliviate.core.factory import build_with, factory_name, load_factory
from obliviate.core.recipes import build_model
from obliviate.core.training import predict_logits
from obliviate.data.datasets import ClassificationData, load_classification

DEFAULT_EPOCHS = {"digits": 10, "mnist": 5}
DEFAULT_BUFFER = {"digits": 200, "mnist": 500}


@dataclass
class ContinualScenario:
    """Continual learning with unlearning requests.

    Args:
        dataset: ``digits`` (built-in) or ``mnist`` (the MNIST test set under
            ``$OBLIVIATE_DATA_DIR``), or a :class:`~obliviate.data.datasets.ClassificationData`.
        stream: operations, e.g. ``"learn:0-1,learn:2-3,learn:4-5,unlearn:2-3,learn:6-7"``
            (the default for ten classes, see :func:`~obliviate.continual.stream.default_stream`);
            ``unlearn:ids:<file>`` deletes training-set positions listed in a file.
        model: ``"mlp"``, ``"cnn"`` or a factory (callable or ``"package.module:callable"``).
        seed: seeds split, initialisation and every stream step.
        epochs: epochs per learned task (default per dataset).
        buffer_size: replay-buffer slots (default 200 for digits, 500 for MNIST).
        data_dir: folder of MNIST; default ``$OBLIVIATE_DATA_DIR``.
        forget: an unlearning step as a forget spec (``class:2-3``, ``ids:<file>``); it
            replaces the stream's first unlearning step (or is appended when there is none).
            With a user id column, ``ids:<file>`` lists id values; otherwise training-set positions.
        table, label_column, id_column, split_column, test, standardize: a user's own data
            (see :func:`obliviate.data.tables.load_table`); replaces ``dataset``.
    """

    dataset: str | ClassificationData = "digits"
    stream: str | None = None
    model: str | Callable[[], nn.Module] = "mlp"
    seed: int = 0
    epochs: int | None = None
    buffer_size: int | None = None
    data_dir: str | os.PathLike | None = None
    forget: str | None = None
    table: str | os.PathLike | None = None
    label_column: str | None = None
    id_column: str | None = None
    split_column: str | None = None
    test: str | os.PathLike | None = None
    standardize: bool = False
    task: str = field(default="continual", init=False)

    def __post_init__(self) -> None:
        self.data = stream_data(self.dataset, seed=self.seed, data_dir=self.data_dir, table=self.table,
                                label_column=self.label_column, id_column=self.id_column,
                                split_column=self.split_column, test=self.test, standardize=self.standardize)
        if self.stream is None:
            self.stream = default_stream(self.data.num_classes)
        ops = list(parse_stream(self.stream, self.data.num_classes))
        if self.forget is not None:
            ops = _with_step(ops, parse_forget(self.forget, self.data.num_classes))
        name = self.data.name
        self.settings = engine.Settings(epochs=self.epochs or DEFAULT_EPOCHS.get(name, 10))
        self.capacity = self.buffer_size or DEFAULT_BUFFER.get(name, 200)
        self.factory = load_factory(self.model) if callable(self.model) or ":" in str(self.model) else None
        self._configure(ops)
        self._gold: nn.Module | None = None

    def _configure(self, ops: list[Operation], start: int | None = None) -> None:
        """Derive the deletion (operation ``start``, by default the first unlearning step),
        the tasks and the retained classes from the operations."""
        self.ops = parse_stream(",".join(str(op) for op in ops), self.data.num_classes)
        starts = [k for k, op in enumerate(self.ops) if op.kind == "unlearn"]
        if not starts:
            raise InvalidRequestError("the stream has no unlearning step; add e.g. 'unlearn:2-3' (or pass forget=)")
        self.start = starts[0] if start is None else start
        self.step_ids: dict[int, np.ndarray] = {k: step_positions(self.ops[k], self.data) for k in starts}
        self.forgotten = np.unique(np.concatenate(list(self.step_ids.values())))
        self.forget_classes = tuple(sorted({c for k in starts for c in self.ops[k].classes}))
        learned = [c for op in self.ops if op.kind == "learn" for c in op.classes]
        self.tasks = [op.classes for op in self.ops if op.kind == "learn"]
        self.retained_classes = tuple(c for c in learned if c not in self.forget_classes)
        self._original: tuple[nn.Module, StreamState, list[list[float]]] | None = None

    @property
    def forget_ids(self) -> np.ndarray:
        """Training-set positions of the samples the deletion removes (what a certificate
        names); the user's id values where the data has an id column."""
        positions = self.step_ids[self.start]
        if self.data.ids_train is not None:
            return self.data.ids_train[positions]
        return positions

    # -- a user's saved stream ------------------------------------------------------------
    def load_model(self, path: str | os.PathLike) -> nn.Module:
        """Take a saved stream state (see :func:`obliviate.continual.run_stream`) as the model
        before the deletion: its recorded operations become the stream's prefix, followed by
        ``forget`` (or the recorded stream's next unlearning step).

        Raises:
            DataError: the file is not a stream state of this network and data.
            InvalidRequestError: no deletion to apply after the recorded operations.
        """
        model = self.new_model()
        state, meta = load_stream_state(path, model)
        recorded = meta.get("stream")
        if not isinstance(recorded, str):
            raise DataError(f"'{path}' records no stream; write it with obliviate.continual.run_stream")
        if meta.get("n_train") not in (None, len(self.data.y_train)) or (
            meta.get("data_sha256") and self.data.digest and meta["data_sha256"] != self.data.digest
        ):
            raise DataError(f"'{path}' was trained on other data ({meta.get('dataset')}, "
                            f"{meta.get('n_train')} training rows); pass the same --dataset or --data")
        ops = list(parse_stream(recorded, self.data.num_classes))
        done = ops[: state.done]
        if self.forget is not None:
            step = parse_forget(self.forget, self.data.num_classes)
        else:
            if state.done >= len(ops) or ops[state.done].kind != "unlearn":
                raise InvalidRequestError(
                    f"'{path}' has applied {state.done} operation(s) of '{recorded}' and its next one is not a "
                    "deletion; name one with --forget class:<a>-<b> or ids:<file>"
                )
            step = ops[state.done]
        self._configure([*done, step], start=len(done))
        self.capacity = state.buffer.size
        self._original = (model, state, [list(r) for r in meta.get("rows", [])][: len(done)])
        self._gold = None
        return model

    def saved_bytes(self, result: Any, metadata: dict[str, Any]) -> bytes:
        """The stream state after a method's deletion (model, purged buffer, teacher), so the
        stream can be resumed from the certified model."""
        state = result.info.get("stream_state")
        if not isinstance(state, StreamState):
            raise InvalidRequestError("this continual method returned no stream state to save")
        matrix = result.info.get("accuracy_matrix") or []
        return stream_state_bytes(result.model, state, {**metadata, **self.stream_metadata(matrix)})

    def stream_metadata(self, rows: list[list[float]]) -> dict[str, Any]:
        """What a stream-state file records about its stream and data."""
        return stream_metadata(self.ops, self.data, rows)

    def new_model(self) -> nn.Module:
        """A freshly initialised network (seeded)."""
        return stream_network(self.model, self.factory, self.data, self.seed)

    def _prefix(self) -> tuple[nn.Module, StreamState, list[list[float]]]:
        if self._original is None:
            model = self.new_model()
            state = StreamState(buffer=Buffer(self.capacity))
            rows = engine.run(model, state, self.ops, self.data, self.step_ids, "cl", self.settings, self.seed,
                              self.factory, stop=self.start)
            self._original = (model, state, rows)
        return self._original

    def original(self) -> nn.Module:
        """The model after the operations before the first unlearning step."""
        return self._prefix()[0]

    def gold(self) -> nn.Module:
        """A model trained from scratch on the stream with the forgotten data removed (``cl`` rule)."""
        if self._gold is None:
            from obliviate.continual.methods.retrain import Retrain

            self._gold = Retrain().unlearn(self.original(), self.request()).model
        return self._gold

    def request(self) -> UnlearningRequest:
        """Forget: the first unlearning step's samples; retain: the buffer without every
        forgotten sample; extras: the stream, its state and the data for the rest of it."""
        model, state, rows = self._prefix()
        k = self.start
        purged = copy.deepcopy(state.buffer)
        purged.remove({int(i) for i in self.forgotten})
        spec_kind = "ids" if self.ops[k].ids_file is not None else "class"
        return UnlearningRequest(
            forget=self.data.train_dataset(self.step_ids[k]),
            retain=purged.dataset(),
            validation=self.data.test_dataset(),
            spec=_Spec(spec_kind, str(self.ops[k])),
            num_classes=self.data.num_classes,
            seed=self.seed,
            extras={"ops": self.ops, "state": state, "data": self.data, "forget_ids": self.step_ids,
                    "settings": asdict(self.settings), "rows": rows, "forget_classes": self.forget_classes,
                    "training": {"epochs": self.settings.epochs, "lr": self.settings.lr}},
            model_factory=self.factory,
        )

    # -- audit --------------------------------------------------------------------------
    def audit(self, model: nn.Module, *, original: nn.Module | None = None, gold: nn.Module | None = None) -> dict[str, float]:
        """Per-task accuracy ``task<k>_accuracy`` (test data of task ``k``'s classes);
        ``retained_accuracy``: mean over retained classes of their test accuracy;
        ``forgotten_accuracy``: test accuracy on forgotten classes (for sample deletions,
        accuracy on the deleted training samples); ``bwt`` (Lopez-Paz & Ranzato, 2017):
        ``mean_i (R_final,i - R_i,i)`` over retained tasks learned before the first unlearning
        step, ``R_i,i`` measured right after learning task ``i``; ``mia``: entropy-SVC
        membership (Chundawat et al.) on the deleted samples; ``mia_auc``: loss-attack AUC,
        deleted samples vs held-out examples of the same classes."""
        data = self.data
        test_probs = torch.softmax(predict_logits(model, data.test_dataset()), 1).numpy()
        pred = test_probs.argmax(1)
        metrics: dict[str, float] = {}
        for k, acc in enumerate(engine.task_accuracies(model, data, self.tasks)):
            metrics[f"task{k}_accuracy"] = acc
        per_class = [float((pred[data.y_test == c] == c).mean()) for c in self.retained_classes]
        metrics["retained_accuracy"] = float(np.mean(per_class))
        forget_probs = torch.softmax(predict_logits(model, data.train_dataset(self.forgotten)), 1).numpy()
        forget_labels = data.y_train[self.forgotten]
        if self.forget_classes:
            mask = np.isin(data.y_test, self.forget_classes)
            metrics["forgotten_accuracy"] = float((pred[mask] == data.y_test[mask]).mean())
        else:
            metrics["forgotten_accuracy"] = float((forget_probs.argmax(1) == forget_labels).mean())
        _, _, rows = self._prefix()
        n_prefix = sum(1 for op in self.ops[: self.start] if op.kind == "learn")
        last = len(self.tasks) - 1
        diffs = []
        learned = 0
        for k, op in enumerate(self.ops[: self.start]):
            if op.kind != "learn":
                continue
            i = learned
            learned += 1
            if i == last or set(op.classes) & set(self.forget_classes):
                continue
            diffs.append(metrics[f"task{i}_accuracy"] - rows[k][i])
        metrics["bwt"] = float(np.mean(diffs)) if diffs and n_prefix else math.nan
        retained_train = np.flatnonzero(np.isin(data.y_train, self.retained_classes))
        retained_train = np.setdiff1d(retained_train, self.forgotten)
        retained_probs = torch.softmax(predict_logits(model, data.train_dataset(retained_train)), 1).numpy()
        learned_test = np.isin(data.y_test, [c for t in self.tasks for c in t])
        metrics["mia"] = entropy_svc_mia(retained_probs, test_probs[learned_test & ~np.isin(data.y_test, self.forget_classes)],
                                         forget_probs, seed=self.seed)
        metrics["mia_auc"] = membership_auc(forget_probs, forget_labels, test_probs, data.y_test, seed=self.seed)
        return metrics


def stream_metadata(ops: Any, data: ClassificationData, rows: list[list[float]]) -> dict[str, Any]:
    """What a stream-state file records: the stream, the data it learns from (name, size,
    digest) and the accuracy rows so far (one per applied operation)."""
    return {"stream": ",".join(str(op) for op in ops), "dataset": data.name, "n_train": len(data.y_train),
            "data_sha256": data.digest, "rows": [[float(v) for v in r] for r in rows]}


def stream_network(model: Any, factory: Callable[[], nn.Module] | None, data: ClassificationData,
                   seed: int) -> nn.Module:
    """A freshly initialised network, seeded: the user's ``factory`` or the recipe ``model``."""
    if factory is not None:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            return build_with(factory, where=f"the model factory {factory_name(model)!r}")
    return build_model(model, data.input_shape, data.num_classes, seed=seed)


def stream_data(dataset: str | ClassificationData = "digits", *, seed: int = 0,
                data_dir: str | os.PathLike | None = None, table: str | os.PathLike | None = None,
                **table_options: Any) -> ClassificationData:
    """The data a stream learns from: a user's table (``table`` with the options of
    :func:`obliviate.data.tables.load_table`), given arrays, or a built-in data set."""
    if table is not None:
        from obliviate.data.tables import load_table

        return load_table(table, **table_options)
    if isinstance(dataset, ClassificationData):
        return dataset
    return load_classification(dataset, seed=seed, data_dir=data_dir)


def step_positions(op: Operation, data: ClassificationData) -> np.ndarray:
    """Training-set positions an unlearning step deletes: its classes' samples, or the ids
    file's entries (id values of the id column when the data has one, positions otherwise)."""
    if op.ids_file is None:
        return np.flatnonzero(np.isin(data.y_train, op.classes))
    if data.ids_train is None:
        return read_ids(op.ids_file, len(data.y_train))
    from obliviate.data.tables import select_by_ids

    path = Path(op.ids_file)
    if not path.is_file():
        raise DataError(f"ids file '{path}' does not exist; write one id of the id column per line")
    wanted = [line.split("#", 1)[0].strip() for line in path.read_text().splitlines()]
    wanted = [w for w in wanted if w]
    if data.ids_train.dtype.kind in "iu":
        bad = [w for w in wanted if not w.lstrip("-").isdigit()]
        if bad:
            raise InvalidForgetSpecError(f"ids file '{path}': the id column holds integers; '{bad[0]}' is not one")
        wanted = [int(w) for w in wanted]
    return np.unique(select_by_ids(wanted, data))


def _with_step(ops: list[Operation], step: Operation) -> list[Operation]:
    """``ops`` with its first unlearning step replaced by ``step`` (appended when there is none)."""
    first = next((k for k, op in enumerate(ops) if op.kind == "unlearn"), None)
    if first is None:
        return [*ops, step]
    return [*ops[:first], step, *ops[first + 1:]]


@dataclass(frozen=True)
class _Spec:
    kind: str
    value: str

    def __str__(self) -> str:
        return self.value


def bench_spec():
    """Bench/demo description of the continual task (see :mod:`obliviate.bench.tasks`)."""
    from obliviate.bench.tasks import DemoConfig, TaskSpec

    def make_scenario(*, seed: int = 0, **options: Any) -> ContinualScenario:
        return ContinualScenario(seed=seed, **options)

    return TaskSpec(
        task="continual",
        make_scenario=make_scenario,
        metrics=("retained_accuracy", "forgotten_accuracy", "bwt", "mia", "mia_auc"),
        higher_is_better=frozenset({"retained_accuracy", "bwt"}),
        demo=(
            DemoConfig(
                "digits, learn 0-1, 2-3, 4-5, unlearn 2-3, learn 6-7",
                {"dataset": "digits", "stream": DEFAULT_STREAM},
                ("cl_unlearn", "finetune", "er", "der++", "lwf"),
            ),
        ),
        default_options={"dataset": "digits", "model": "mlp"},
        quick_options={"epochs": 3},
    )
