"""The classification scenario: a dataset, a network recipe, a forget spec and a seed.

It trains the original model on all training data and the gold model from scratch on the
retain data only, caches both as safetensors keyed by a hash of the scenario, builds the
:class:`~obliviate.core.contracts.UnlearningRequest`, and audits any model against both.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch
from torch import nn
from torch.utils.data import TensorDataset

from obliviate.audit.divergence import activation_distance, js_divergence, zrf_score
from obliviate.audit.mia import entropy_svc_mia, membership_auc
from obliviate.classification.models import build_model
from obliviate.core.cache import cache_path, train_or_load
from obliviate.core.contracts import UnlearningRequest
from obliviate.core.errors import InvalidForgetSpecError, InvalidRequestError
from obliviate.core.factory import build_with, factory_name, load_factory
from obliviate.core.training import (
    accuracy,
    dataset_labels,
    default_device,
    fit,
    predict_logits,
    reinitialize,
)
from obliviate.data.datasets import ClassificationData, load_classification
from obliviate.data.forget import ForgetSpec, parse_forget_spec, read_id_values, select_classification_forget
from obliviate.data.tables import select_by_ids

FORGET_KINDS = frozenset({"random", "class", "ids"})


@dataclass(frozen=True)
class TrainingRecipe:
    """How the original and gold models are trained (also what ``retrain`` uses)."""

    epochs: int = 20
    lr: float = 1e-3
    batch_size: int = 64
    optimizer: str = "adam"
    weight_decay: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


RELEARN_TARGET_FRACTION = 0.9
"""Relearning counts as done at this fraction of the original model's probe accuracy."""

RANDOM_NETWORK_SEED_OFFSET = 7919
"""Seed offset of the randomly initialised reference networks of the audit (ZRF, relearn),
kept apart from the seeds methods derive their own fresh networks from."""

DEFAULT_EPOCHS = {"digits": 20, "wine": 40, "breast_cancer": 30, "mnist": 8}


@dataclass
class ClassificationScenario:
    """Classification unlearning scenario.

    Args:
        dataset: ``digits``, ``wine``, ``breast_cancer`` or ``mnist``, or a user's own
            :class:`~obliviate.data.datasets.ClassificationData` (e.g. from
            :func:`obliviate.data.tables.load_table`, with their split and ids).
        forget: a forget spec, e.g. ``"class:3"``, ``"random:0.1"``, ``"ids:file.txt"``
            (for a user's data, the file holds values of their id column; for built-in
            data, training-set positions).
        model: network recipe, ``"cnn"`` (images) or ``"mlp"``, or a factory building the
            untrained network: a callable or ``"package.module:callable"``
            (:mod:`obliviate.core.factory`). A factory is also what ``retrain``, the
            incompetent teacher and the relearn probe build fresh models with.
        seed: seeds the split, the forget draw, initialisation and training.
        epochs: training epochs for original and gold (default per dataset).
        cache_dir: where trained models are cached (``None``: no cache).
        data_dir: folder of file-based datasets (MNIST); default ``$OBLIVIATE_DATA_DIR``.
        device: ``"cpu"``, ``"cuda"`` or ``None`` (CUDA when available).
        progress: show progress bars while training.
        table, label_column, id_column, split_column, test, standardize: a user's own data
            file (``.csv``, ``.parquet``, ``.npz``) read by
            :func:`obliviate.data.tables.load_table` with their split and ids; it replaces
            ``dataset``.
    """

    dataset: str | ClassificationData = "digits"
    forget: str | ForgetSpec = "class:3"
    model: str | Callable[[], nn.Module] = "cnn"
    seed: int = 0
    epochs: int | None = None
    cache_dir: str | os.PathLike | None = None
    data_dir: str | os.PathLike | None = None
    device: str | None = None
    progress: bool = False
    table: str | os.PathLike | None = None
    label_column: str | None = None
    id_column: str | None = None
    split_column: str | None = None
    test: str | os.PathLike | None = None
    standardize: bool = False
    task: str = field(default="classification", init=False)

    def __post_init__(self) -> None:
        self.spec = parse_forget_spec(self.forget, allowed=FORGET_KINDS)
        name = self.dataset if isinstance(self.dataset, str) and self.table is None else "user"
        self.recipe = TrainingRecipe(epochs=self.epochs or DEFAULT_EPOCHS.get(name, 20))
        self.factory = None
        if callable(self.model) or (isinstance(self.model, str) and ":" in self.model):
            self.factory = load_factory(self.model)
        self._data: ClassificationData | None = None
        self._forget_idx: np.ndarray | None = None
        self._original: nn.Module | None = None
        self._gold: nn.Module | None = None
        self.training_seconds: dict[str, float] = {}
        self._relearn: tuple[Any, float] | None = None
        self._relearn_random: float | None = None
        self.audit_notes: dict[str, str] = {}
        """Why a metric of the last audit is NaN (not applicable), by metric name."""

    # -- data ---------------------------------------------------------------------------
    @property
    def data(self) -> ClassificationData:
        """The loaded train/test split."""
        if self._data is None:
            if self.table is not None:
                from obliviate.data.tables import load_table

                self._data = load_table(
                    self.table, label_column=self.label_column, id_column=self.id_column,
                    split_column=self.split_column, test=self.test, standardize=self.standardize,
                )
            elif isinstance(self.dataset, ClassificationData):
                self._data = self.dataset
            else:
                self._data = load_classification(self.dataset, seed=self.seed, data_dir=self.data_dir)
        return self._data

    @property
    def forget_indices(self) -> np.ndarray:
        """Indices (into the training set) of the examples to forget."""
        if self._forget_idx is None:
            if self.spec.kind == "ids" and self.data.ids_train is not None:
                self._forget_idx = select_by_ids(read_id_values(Path(self.spec.value)), self.data)
            else:
                self._forget_idx = select_classification_forget(self.spec, self.data.y_train, seed=self.seed)
            if len(self._forget_idx) == len(self.data.y_train):
                raise InvalidForgetSpecError("the forget set is the whole training set; nothing would be retained")
        return self._forget_idx

    @property
    def forget_ids(self) -> np.ndarray:
        """The forgotten rows' identifiers: the user's id values, else training-set positions."""
        if self.data.ids_train is not None:
            return self.data.ids_train[self.forget_indices]
        return self.forget_indices

    @property
    def retain_indices(self) -> np.ndarray:
        """Indices of the training examples to keep."""
        mask = np.ones(len(self.data.y_train), dtype=bool)
        mask[self.forget_indices] = False
        return np.flatnonzero(mask)

    @property
    def forget_classes(self) -> tuple[int, ...]:
        """The forgotten classes for ``class:`` specs, else ``()``."""
        return tuple(self.spec.value) if self.spec.kind == "class" else ()

    def request(self) -> UnlearningRequest:
        """The unlearning request: forget and retain training parts, test data as validation."""
        return UnlearningRequest(
            forget=self.data.train_dataset(self.forget_indices),
            retain=self.data.train_dataset(self.retain_indices),
            validation=self.data.test_dataset(),
            spec=self.spec,
            num_classes=self.data.num_classes,
            seed=self.seed,
            extras={"training": self.recipe.as_dict(), "forget_classes": self.forget_classes},
            model_factory=self.factory,
        )

    # -- models -------------------------------------------------------------------------
    def _device(self) -> torch.device:
        return torch.device(self.device) if self.device else default_device()

    def new_model(self) -> nn.Module:
        """A freshly initialised network of the scenario's recipe (seeded)."""
        if self.factory is not None:
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(self.seed)
                model = build_with(self.factory, where=f"the model factory {factory_name(self.model)!r}")
        else:
            model = build_model(self.model, self.data.input_shape, self.data.num_classes, seed=self.seed)
        return model.to(self._device())

    def _config(self, which: str) -> dict[str, Any]:
        return {
            "which": which,
            "dataset": self.data.digest or self.data.name,
            "forget": str(self.spec) if which == "gold" else None,
            "model": factory_name(self.model) if self.factory is not None else self.model,
            "seed": self.seed,
            "recipe": self.recipe.as_dict(),
            "version": 1,
        }

    def _train(self, which: str, data: TensorDataset) -> nn.Module:
        config = self._config(which)
        model = self.new_model()

        def train(net: nn.Module) -> None:
            fit(
                net,
                data,
                epochs=self.recipe.epochs,
                lr=self.recipe.lr,
                batch_size=self.recipe.batch_size,
                optimizer=self.recipe.optimizer,
                weight_decay=self.recipe.weight_decay,
                seed=self.seed,
                progress=self.progress,
                desc=f"{which} ({self.data.name})",
            )

        path = cache_path(self.cache_dir, f"classification-{which}", config)
        self.training_seconds[which] = train_or_load(model, train, path=path, config=config, seed=self.seed)
        return model

    def original(self) -> nn.Module:
        """The model trained on all training data (cached)."""
        if self._original is None:
            self._original = self._train("original", self.data.train_dataset())
        return self._original

    def gold(self) -> nn.Module:
        """The model retrained from scratch on the retain data only (cached)."""
        if self._gold is None:
            self._gold = self._train("gold", self.data.train_dataset(self.retain_indices))
        return self._gold

    # -- audit --------------------------------------------------------------------------
    def relearn_protocol(self, original: nn.Module | None = None) -> tuple[Any, float]:
        """The relearn sets of :func:`obliviate.audit.relearn.relearn_sets` and the target.

        For ``class:`` specs the probe is the test examples of the forgotten classes and as
        many test examples of the other classes; else the forget examples left out of the
        relearn mix. The target is
        :data:`RELEARN_TARGET_FRACTION` of the original model's probe accuracy.
        """
        from obliviate.audit.relearn import relearn_sets

        if self._relearn is None:
            heldout = others = None
            if self.forget_classes:
                test = self.data.test_dataset()
                mask = torch.from_numpy(np.isin(dataset_labels(test).numpy(), self.forget_classes))
                heldout = TensorDataset(*(t[mask] for t in test.tensors))
                others = TensorDataset(*(t[~mask] for t in test.tensors))
            sets = relearn_sets(
                self._part("forget"), self._part("retain"), heldout_forget=heldout, heldout_retain=others, seed=self.seed
            )
            reference = original if original is not None else self.original()
            self._relearn = (sets, RELEARN_TARGET_FRACTION * accuracy(reference, sets.probe))
        return self._relearn

    def relearn_audit(self, model: nn.Module, *, original: nn.Module | None = None) -> dict[str, float]:
        """``relearn_steps`` of ``model`` and ``relearn_random_steps`` of a randomly
        initialised network of the same recipe (computed once per scenario)."""
        from obliviate.audit.relearn import relearn_steps

        try:
            sets, target = self.relearn_protocol(original)
        except InvalidRequestError as exc:
            self.audit_notes = {**getattr(self, "audit_notes", {}), "relearn_steps": f"not applicable: {exc}"}
            return {"relearn_steps": math.nan, "relearn_random_steps": math.nan}

        def steps(net: nn.Module) -> float:
            return float(relearn_steps(net, sets.relearn, sets.probe, target_accuracy=target, seed=self.seed))

        if self._relearn_random is None:
            self._relearn_random = steps(reinitialize(self.new_model(), seed=self.seed + RANDOM_NETWORK_SEED_OFFSET))
        return {"relearn_steps": steps(model), "relearn_random_steps": self._relearn_random}

    def probabilities(self, model: nn.Module, which: str) -> np.ndarray:
        """Softmax outputs of ``model`` on ``"forget"``, ``"retain"`` or ``"test"`` data."""
        data = self._part(which)
        return torch.softmax(predict_logits(model, data), dim=1).numpy()

    def _part(self, which: str) -> TensorDataset:
        if which == "forget":
            return self.data.train_dataset(self.forget_indices)
        if which == "retain":
            return self.data.train_dataset(self.retain_indices)
        if which == "test":
            return self.data.test_dataset()
        raise ValueError(f"unknown part {which!r}")

    def audit(
        self,
        model: nn.Module,
        *,
        original: nn.Module | None = None,
        gold: nn.Module | None = None,
        relearn: bool = False,
    ) -> dict[str, float]:
        """Audit ``model``: accuracies, membership inference and divergences to gold.

        Returns a flat dict: ``forget_accuracy``, ``retain_accuracy``, ``test_accuracy``,
        ``mia`` (entropy-SVC membership on forget), ``mia_auc`` (loss attack AUC, forget vs
        test examples with the forget set's label mix -- for a forgotten class, the test
        examples of that class; see :func:`obliviate.audit.mia.matched_nonmembers`), ``zrf`` (vs a randomly initialised network), and when ``gold`` is given
        ``js_to_gold`` and ``activation_distance_to_gold`` on the forget set. With
        ``relearn=True`` also ``relearn_steps`` and ``relearn_random_steps`` (see
        :meth:`relearn_audit` and :mod:`obliviate.audit.relearn`).
        For test data of forgotten classes, ``test_accuracy`` excludes those classes and
        ``test_forget_accuracy`` reports them.
        """
        probs = {part: self.probabilities(model, part) for part in ("forget", "retain", "test")}
        labels = {part: dataset_labels(self._part(part)).numpy() for part in probs}
        metrics: dict[str, float] = {}
        for part in ("forget", "retain"):
            metrics[f"{part}_accuracy"] = float((probs[part].argmax(1) == labels[part]).mean())
        test_correct = probs["test"].argmax(1) == labels["test"]
        if self.forget_classes:
            in_forget = np.isin(labels["test"], self.forget_classes)
            metrics["test_accuracy"] = float(test_correct[~in_forget].mean())
            metrics["test_forget_accuracy"] = float(test_correct[in_forget].mean())
        else:
            metrics["test_accuracy"] = float(test_correct.mean())
        metrics["mia"] = entropy_svc_mia(probs["retain"], probs["test"], probs["forget"], seed=self.seed)
        metrics["mia_auc"] = membership_auc(
            probs["forget"], labels["forget"], probs["test"], labels["test"], seed=self.seed
        )
        self.audit_notes = {}
        if math.isnan(metrics["mia_auc"]):
            self.audit_notes["mia_auc"] = (
                "not applicable: the loss attack needs at least two forgotten rows and two held-out rows "
                f"of the same classes (got {len(labels['forget'])} forgotten)"
            )
        incompetent = reinitialize(self.new_model(), seed=self.seed + RANDOM_NETWORK_SEED_OFFSET)
        metrics["zrf"] = zrf_score(probs["forget"], self.probabilities(incompetent, "forget"))
        if gold is not None:
            gold_forget = self.probabilities(gold, "forget")
            metrics["js_to_gold"] = js_divergence(probs["forget"], gold_forget)
            metrics["activation_distance_to_gold"] = activation_distance(probs["forget"], gold_forget)
        if relearn:
            metrics.update(self.relearn_audit(model, original=original))
        return metrics


def bench_spec():
    """Bench/demo description of the classification task (see :mod:`obliviate.bench.tasks`)."""
    from obliviate.bench.tasks import DemoConfig, TaskSpec

    def make_scenario(*, seed: int = 0, **options: Any) -> ClassificationScenario:
        return ClassificationScenario(seed=seed, **options)

    fast = ("finetune", "neggrad", "random_label", "bad_teacher", "unsir", "ssd", "scrub")
    return TaskSpec(
        task="classification",
        make_scenario=make_scenario,
        metrics=(
            "forget_accuracy",
            "retain_accuracy",
            "test_accuracy",
            "mia",
            "mia_auc",
            "js_to_gold",
            "activation_distance_to_gold",
            "zrf",
        ),
        higher_is_better=frozenset({"retain_accuracy", "test_accuracy"}),
        demo=(
            DemoConfig("digits, forget class 3", {"dataset": "digits", "forget": "class:3"}, fast),
            DemoConfig("digits, forget a random 10%", {"dataset": "digits", "forget": "random:0.1"}, fast),
        ),
        default_options={"dataset": "digits", "forget": "class:3", "model": "cnn"},
        quick_options={"epochs": 5},
    )
