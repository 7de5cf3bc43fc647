"""The continual scenario: a dataset split into class-incremental tasks and a stream of
learn/unlearn operations.

``original()`` is the model after the stream's operations up to (not including) the first
unlearning step, learned with the ``cl`` rule (replay plus an EMA teacher, see
:mod:`obliviate.continual.engine`); every method starts from it and from the same stream
state (buffer, teacher), carried in ``request().extras``, applies the unlearning step with
its own rule and continues the rest of the stream. ``gold()`` is a model trained from
scratch on the stream with every forgotten sample removed.
"""

from __future__ import annotations

import copy
import math
import os
from dataclasses import asdict, dataclass, field
from typing import Any, Callable

import numpy as np
import torch
from torch import nn

from obliviate.audit.mia import entropy_svc_mia, membership_auc
from obliviate.continual import engine
from obliviate.continual.state import Buffer, StreamState
from obliviate.continual.stream import DEFAULT_STREAM, parse_stream, read_ids
from obliviate.core.contracts import UnlearningRequest
from obliviate.core.errors import InvalidRequestError
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
        stream: operations, e.g. ``"learn:0-1,learn:2-3,learn:4-5,unlearn:2-3,learn:6-7"``;
            ``unlearn:ids:<file>`` deletes training-set positions listed in a file.
        model: ``"mlp"``, ``"cnn"`` or a factory (callable or ``"package.module:callable"``).
        seed: seeds split, initialisation and every stream step.
        epochs: epochs per learned task (default per dataset).
        buffer_size: replay-buffer slots (default 200 for digits, 500 for MNIST).
        data_dir: folder of MNIST; default ``$OBLIVIATE_DATA_DIR``.
    """

    dataset: str | ClassificationData = "digits"
    stream: str = DEFAULT_STREAM
    model: str | Callable[[], nn.Module] = "mlp"
    seed: int = 0
    epochs: int | None = None
    buffer_size: int | None = None
    data_dir: str | os.PathLike | None = None
    task: str = field(default="continual", init=False)

    def __post_init__(self) -> None:
        self.data = (self.dataset if isinstance(self.dataset, ClassificationData)
                     else load_classification(self.dataset, seed=self.seed, data_dir=self.data_dir))
        self.ops = parse_stream(self.stream, self.data.num_classes)
        starts = [k for k, op in enumerate(self.ops) if op.kind == "unlearn"]
        if not starts:
            raise InvalidRequestError("the stream has no unlearning step; add e.g. 'unlearn:2-3'")
        self.start = starts[0]
        name = self.data.name
        self.settings = engine.Settings(epochs=self.epochs or DEFAULT_EPOCHS.get(name, 10))
        self.capacity = self.buffer_size or DEFAULT_BUFFER.get(name, 200)
        self.factory = load_factory(self.model) if callable(self.model) or ":" in str(self.model) else None
        self.forget_ids: dict[int, np.ndarray] = {}
        for k in starts:
            op = self.ops[k]
            if op.ids_file is not None:
                self.forget_ids[k] = read_ids(op.ids_file, len(self.data.y_train))
            else:
                self.forget_ids[k] = np.flatnonzero(np.isin(self.data.y_train, op.classes))
        self.forgotten = np.unique(np.concatenate(list(self.forget_ids.values())))
        self.forget_classes = tuple(sorted({c for k in starts for c in self.ops[k].classes}))
        learned = [c for op in self.ops if op.kind == "learn" for c in op.classes]
        self.tasks = [op.classes for op in self.ops if op.kind == "learn"]
        self.retained_classes = tuple(c for c in learned if c not in self.forget_classes)
        self._original: tuple[nn.Module, StreamState, list[list[float]]] | None = None
        self._gold: nn.Module | None = None

    def new_model(self) -> nn.Module:
        """A freshly initialised network (seeded)."""
        if self.factory is not None:
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(self.seed)
                return build_with(self.factory, where=f"the model factory {factory_name(self.model)!r}")
        return build_model(self.model, self.data.input_shape, self.data.num_classes, seed=self.seed)

    def _prefix(self) -> tuple[nn.Module, StreamState, list[list[float]]]:
        if self._original is None:
            model = self.new_model()
            state = StreamState(buffer=Buffer(self.capacity))
            rows = engine.run(model, state, self.ops, self.data, self.forget_ids, "cl", self.settings, self.seed,
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
            forget=self.data.train_dataset(self.forget_ids[k]),
            retain=purged.dataset(),
            validation=self.data.test_dataset(),
            spec=_Spec(spec_kind, str(self.ops[k])),
            num_classes=self.data.num_classes,
            seed=self.seed,
            extras={"ops": self.ops, "state": state, "data": self.data, "forget_ids": self.forget_ids,
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
        default_options={"dataset": "digits", "stream": DEFAULT_STREAM, "model": "mlp"},
        quick_options={"epochs": 3},
    )
