"""The regression scenario: a data set, a network (recipe or factory), a forget spec and a seed.

It trains the original model on all training rows and the gold model from scratch on the
retain rows only (both with the L1 loss, as in Tarun et al., ICML 2023), caches both as
safetensors keyed by a hash of the scenario, builds the
:class:`~obliviate.core.contracts.UnlearningRequest`, and audits any model against both.

Fresh networks always come from a factory: the scenario's recipe builder, or a user's own
callable (``factory=`` a zero-argument callable or a ``"package.module:callable"`` string).
The request carries it as ``model_factory`` so that ``retrain`` and ``blindspot``
draw fresh networks from it, never from the trained weights.

A user's own data enters through :meth:`RegressionScenario.from_arrays` (inputs, targets,
ids, a train/test split, times) or :meth:`RegressionScenario.from_table` (a CSV file).

Audit (:meth:`RegressionScenario.audit`), one flat dict of floats:

* ``forget_l1``, ``retain_l1``, ``test_l1`` and the same as ``*_mse``; for ``range:`` and
  ``time:`` specs also ``test_forget_l1`` (test rows in the forgotten range or period, the
  paper's "forget" test error) and ``test_retain_l1`` (the other test rows);
* ``mia``: the paper's RBF-SVC attack on per-example L1 loss, fitted on retain (members) vs
  test rows, mean membership predicted on the forget set
  (:func:`obliviate.regression.metrics.regression_svc_mia`);
* ``mia_auc``: loss-attack AUC between the forget set and non-members **from the same
  distribution** — test rows in the same target range (``range:``), held-out windows from
  the same period (``time:``), all test rows (``random:``, ``ids:``);
* ``wasserstein_to_gold``: 1-Wasserstein distance of forget-set predictions to gold's;
* with ``relearn=True``: ``relearn_steps`` (fine-tuning steps on the forget set until the
  held-out same-distribution error is back at 1.05 x the original's) and
  ``relearn_random_steps`` (the same for a fresh, untrained network).

A metric that cannot be computed (e.g. fewer than two forget rows or same-distribution
non-members for an AUC) is NaN, and :attr:`RegressionScenario.audit_notes` says why.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.utils.data import TensorDataset

from obliviate.audit.mia import loss_mia_auc
from obliviate.core.cache import cache_path, train_or_load
from obliviate.core.checkpoint import state_sha256
from obliviate.core.contracts import UnlearningRequest
from obliviate.core.errors import InvalidRequestError
from obliviate.core.factory import build_with, factory_name, load_factory
from obliviate.core.training import default_device, fit
from obliviate.data.forget import ForgetSpec
from obliviate.data.regression import (
    RegressionData,
    load_regression,
    load_table,
    parse_regression_forget,
    same_distribution_test,
    select_regression_forget,
)
from obliviate.regression.methods._common import TensorBatches, l1_loss
from obliviate.regression.metrics import (
    absolute_errors,
    regression_svc_mia,
    relearn_steps_regression,
    wasserstein_to_gold,
)
from obliviate.regression.models import (
    ModelFactory,
    build_model,
    call_factory,
    default_recipe,
    predict,
)

FORGET_KINDS = frozenset({"random", "range", "time", "ids"})
RELEARN_TOLERANCE = 0.05
# Rows per side of the SVC attack: the paper samples 2,000; an RBF-SVC on 2 x 2,000 heavily
# overlapping losses takes seconds to fit, 2 x 1,000 a fraction of one.
MIA_SAMPLE = 1000
RANDOM_NETWORK_SEED_OFFSET = 7919


@dataclass(frozen=True)
class TrainingRecipe:
    """How the original and gold models are trained (also what ``retrain`` uses)."""

    epochs: int = 100
    lr: float = 1e-3
    batch_size: int = 32
    optimizer: str = "adam"
    weight_decay: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


DEFAULT_TRAINING = {
    "diabetes": TrainingRecipe(epochs=100, lr=1e-3, batch_size=32),
    "california": TrainingRecipe(epochs=20, lr=3e-3, batch_size=256),
    "rotated_digits": TrainingRecipe(epochs=25, lr=1e-3, batch_size=32),
    "sunspots": TrainingRecipe(epochs=300, lr=1e-3, batch_size=32),
}
DEFAULT_FORGET = {
    "diabetes": "range:target>=200",
    "california": "range:target<=1.0",
    "rotated_digits": "range:target>=30",
    "sunspots": "time:1900-1950",
}


@dataclass
class RegressionScenario:
    """Regression unlearning scenario.

    Args:
        dataset: ``diabetes``, ``rotated_digits``, ``sunspots`` (built in), ``california``
            (file), or a :class:`~obliviate.data.regression.RegressionData` of your own.
        forget: a forget spec: ``random:<f>``, ``range:target<=q`` / ``range:target>=q`` /
            ``range:a..b``, ``time:<start>-<end>``, ``ids:<file>`` (default per data set).
        model: network recipe, ``mlp``, ``cnn`` or ``conv1d`` (default: by input shape);
            ignored when ``factory`` is given.
        factory: your own network: a zero-argument callable returning a fresh ``nn.Module``
            with one output per input, or a ``"package.module:callable"`` string.
        seed: seeds the split, the forget draw, initialisation and training.
        epochs, lr, batch_size: training of the original and gold models (default per data set).
        cache_dir: where trained models are cached (``None``: no cache).
        data_dir: folder of file-based data (California); default ``$OBLIVIATE_DATA_DIR``.
        device: ``"cpu"``, ``"cuda"`` or ``None`` (CUDA when available).
        progress: show progress bars while training.
    """

    dataset: str | RegressionData = "diabetes"
    forget: str | ForgetSpec | None = None
    model: str | None = None
    factory: ModelFactory | str | None = None
    seed: int = 0
    epochs: int | None = None
    lr: float | None = None
    batch_size: int | None = None
    cache_dir: str | os.PathLike | None = None
    data_dir: str | os.PathLike | None = None
    device: str | None = None
    progress: bool = False
    task: str = field(default="regression", init=False)

    def __post_init__(self) -> None:
        self.dataset_name = self.dataset.name if isinstance(self.dataset, RegressionData) else str(self.dataset)
        forget = self.forget if self.forget is not None else DEFAULT_FORGET.get(self.dataset_name)
        if forget is None:
            raise InvalidRequestError(
                f"no default forget spec for data set '{self.dataset_name}'; pass forget='random:0.1', "
                "'range:target<=q', 'time:<start>-<end>' or 'ids:<file>'"
            )
        self.spec = parse_regression_forget(forget)
        base = DEFAULT_TRAINING.get(self.dataset_name, TrainingRecipe())
        self.recipe = TrainingRecipe(
            epochs=self.epochs or base.epochs,
            lr=self.lr or base.lr,
            batch_size=self.batch_size or base.batch_size,
            optimizer=base.optimizer,
            weight_decay=base.weight_decay,
        )
        self._factory: ModelFactory | None = None if self.factory is None else load_factory(self.factory)
        self._data: RegressionData | None = self.dataset if isinstance(self.dataset, RegressionData) else None
        self._forget_idx: np.ndarray | None = None
        self._original: nn.Module | None = None
        self._gold: nn.Module | None = None
        self._random_relearn: float | None = None
        self.training_seconds: dict[str, float] = {}
        self.audit_notes: dict[str, str] = {}

    # -- construction from a user's data ------------------------------------------------
    @classmethod
    def from_arrays(
        cls,
        x: Any,
        y: Any,
        *,
        forget: str | ForgetSpec,
        ids: Any = None,
        split: Any = None,
        times: Any = None,
        test_size: float = 0.25,
        standardize: bool = True,
        name: str = "arrays",
        seed: int = 0,
        **options: Any,
    ) -> RegressionScenario:
        """A scenario on your own arrays (see :meth:`RegressionData.from_arrays` for ``ids``,
        ``split``, ``times``); ``options`` are the scenario's other arguments (``factory``,
        ``model``, ``epochs``, ``cache_dir`` ...)."""
        data = RegressionData.from_arrays(
            x, y, ids=ids, split=split, times=times, test_size=test_size, seed=seed, standardize=standardize, name=name
        )
        return cls(dataset=data, forget=forget, seed=seed, **options)

    @classmethod
    def from_npz(cls, path: str | os.PathLike, *, forget: str | ForgetSpec, seed: int = 0, **options: Any) -> RegressionScenario:
        """A scenario on arrays saved with ``numpy.savez``: ``x`` and ``y`` (required), ``ids``,
        ``split`` (``"train"``/``"test"`` strings or booleans) and ``times`` (optional). Read
        without pickle, so object arrays are refused; ``options`` as for :meth:`from_arrays`.

        Raises:
            DataError: a missing file or array, or an array that needs pickle.
        """
        from obliviate.core.errors import DataError

        path = os.fspath(path)
        if not os.path.isfile(path):
            raise DataError(f"arrays file '{path}' does not exist; save x and y with numpy.savez")
        try:
            with np.load(path, allow_pickle=False) as arrays:
                found = {name: arrays[name] for name in arrays.files}
        except ValueError as exc:
            raise DataError(
                f"'{path}' holds an object array, which would need pickle: store ids and split as "
                "numbers or fixed-width strings (numpy.asarray(ids, dtype=str))"
            ) from exc
        missing = [name for name in ("x", "y") if name not in found]
        if missing:
            raise DataError(f"'{path}' has no array {missing}; it holds: {', '.join(found) or 'nothing'}")
        name = options.pop("name", os.path.splitext(os.path.basename(path))[0])
        return cls.from_arrays(
            found["x"], found["y"], ids=found.get("ids"), split=found.get("split"), times=found.get("times"),
            forget=forget, seed=seed, name=name, **options,
        )

    @classmethod
    def from_table(
        cls,
        path: str | os.PathLike,
        *,
        target: str,
        forget: str | ForgetSpec,
        id_column: str | None = None,
        split_column: str | None = None,
        time_column: str | None = None,
        drop: tuple[str, ...] = (),
        log_columns: tuple[str, ...] = (),
        sha256: str | None = None,
        test_size: float = 0.25,
        seed: int = 0,
        **options: Any,
    ) -> RegressionScenario:
        """A scenario on your own CSV file (see :func:`obliviate.data.regression.load_table`)."""
        data = load_table(
            path, target=target, id_column=id_column, split_column=split_column, time_column=time_column,
            drop=drop, log_columns=log_columns, sha256=sha256, test_size=test_size, seed=seed,
        )
        return cls(dataset=data, forget=forget, seed=seed, **options)

    # -- data -----------------------------------------------------------------------------
    @property
    def data(self) -> RegressionData:
        """The loaded train/test split."""
        if self._data is None:
            self._data = load_regression(self.dataset_name, seed=self.seed, data_dir=self.data_dir)
        return self._data

    @property
    def forget_indices(self) -> np.ndarray:
        """Indices (into the training part) of the rows to forget."""
        if self._forget_idx is None:
            self._forget_idx = select_regression_forget(self.spec, self.data, seed=self.seed)
        return self._forget_idx

    @property
    def retain_indices(self) -> np.ndarray:
        """Indices of the training rows to keep."""
        mask = np.ones(len(self.data.y_train), dtype=bool)
        mask[self.forget_indices] = False
        return np.flatnonzero(mask)

    @property
    def forget_ids(self) -> list:
        """The ids of the forgotten rows (what a certificate hashes)."""
        ids = self.data.ids_train[self.forget_indices]
        return [int(v) for v in ids] if np.issubdtype(np.asarray(ids).dtype, np.integer) else [str(v) for v in ids]

    @property
    def same_distribution_indices(self) -> np.ndarray:
        """Test rows from the forget set's distribution (the non-members of ``mia_auc``)."""
        return same_distribution_test(self.spec, self.data)[0]

    def request(self) -> UnlearningRequest:
        """The unlearning request: forget and retain training parts, test data as validation.

        ``extras["training"]``: the recipe; ``model_factory``: the factory of fresh networks.
        """
        return UnlearningRequest(
            forget=self.data.train_dataset(self.forget_indices),
            retain=self.data.train_dataset(self.retain_indices),
            validation=self.data.test_dataset(),
            spec=self.spec,
            seed=self.seed,
            extras={"training": self.recipe.as_dict()},
            model_factory=self._retain_factory,
        )

    # -- models ---------------------------------------------------------------------------
    def _device(self) -> torch.device:
        return torch.device(self.device) if self.device else default_device()

    @property
    def recipe_name(self) -> str:
        """The network recipe in use (``"factory"`` for a user's factory)."""
        if self._factory is not None:
            return "factory"
        return self.model or default_recipe(self.data.input_shape)

    def _build(self, target_mean: float, target_std: float, seed: int | None) -> nn.Module:
        if self._factory is not None:
            model = build_with(self._factory) if seed is None else call_factory(self._factory, seed)
        else:
            model = build_model(
                self.recipe_name, self.data.input_shape, target_mean=target_mean, target_std=target_std, seed=seed
            )
        return model.to(self._device())

    def _retain_scale(self) -> tuple[float, float]:
        targets = self.data.y_train[self.retain_indices]
        std = float(targets.std())
        return float(targets.mean()), std if std > 0 else 1.0

    def new_model(self) -> nn.Module:
        """A freshly initialised network (recipe or factory), seeded by the scenario's seed;
        the recipe's output scale uses the training targets' mean and deviation."""
        return self._build(self.data.target_mean, self.data.target_std, self.seed)

    def _retain_factory(self) -> nn.Module:
        """A fresh network drawn from torch's current random state (the caller seeds it),
        whose output scale depends on the retain targets only, so that nothing of the forget
        rows reaches the gold model, not even their mean. This is the request's ``model_factory``."""
        return self._build(*self._retain_scale(), None)

    def _config(self, which: str) -> dict[str, Any]:
        if self._factory is not None:
            probe = call_factory(self._factory, self.seed)
            model_key: Any = {
                "factory": factory_name(self.factory),
                "initial_weights": state_sha256(probe.state_dict()),
            }
        else:
            model_key = self.recipe_name
        return {
            "which": which,
            "dataset": self.dataset_name,
            "data": self.data.fingerprint(),
            "forget": str(self.spec) if which == "gold" else None,
            "model": model_key,
            "seed": self.seed,
            "recipe": self.recipe.as_dict(),
            "version": 1,
        }

    def _train(self, which: str, model: nn.Module, data: TensorDataset) -> nn.Module:
        config = self._config(which)

        def train(net: nn.Module) -> None:
            fit(
                net,
                TensorBatches(data, batch_size=self.recipe.batch_size, seed=self.seed),
                loss_fn=l1_loss,
                epochs=self.recipe.epochs,
                lr=self.recipe.lr,
                optimizer=self.recipe.optimizer,
                weight_decay=self.recipe.weight_decay,
                seed=self.seed,
                progress=self.progress,
                desc=f"{which} ({self.dataset_name})",
            )

        path = cache_path(self.cache_dir, f"regression-{which}", config)
        self.training_seconds[which] = train_or_load(model, train, path=path, config=config, seed=self.seed)
        return model

    def original(self) -> nn.Module:
        """The model trained on all training rows (cached)."""
        if self._original is None:
            self._original = self._train("original", self.new_model(), self.data.train_dataset())
        return self._original

    def gold(self) -> nn.Module:
        """The model retrained from scratch on the retain rows only (cached)."""
        if self._gold is None:
            fresh = self._build(*self._retain_scale(), self.seed)
            self._gold = self._train("gold", fresh, self.data.train_dataset(self.retain_indices))
        return self._gold

    # -- audit ----------------------------------------------------------------------------
    def predictions(self, model: nn.Module, which: str) -> np.ndarray:
        """``model``'s predictions on ``"forget"``, ``"retain"`` or ``"test"`` rows."""
        return predict(model, self._part(which).tensors[0]).numpy()

    def targets(self, which: str) -> np.ndarray:
        """The targets of ``"forget"``, ``"retain"`` or ``"test"`` rows."""
        return self._part(which).tensors[1].numpy().reshape(-1)

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
        """Audit ``model``: errors, membership inference and distance to gold (see the module docstring).

        Metrics that cannot be computed are NaN; :attr:`audit_notes` records why.
        """
        notes: dict[str, str] = {}
        preds = {part: self.predictions(model, part) for part in ("forget", "retain", "test")}
        errors = {part: absolute_errors(preds[part], self.targets(part)) for part in preds}
        metrics: dict[str, float] = {}
        for part in ("forget", "retain", "test"):
            metrics[f"{part}_l1"] = float(errors[part].mean())
        same, description = same_distribution_test(self.spec, self.data)
        if self.spec.kind in ("range", "time"):
            other = np.setdiff1d(np.arange(len(errors["test"])), same)
            metrics["test_forget_l1"] = float(errors["test"][same].mean()) if same.size else math.nan
            metrics["test_retain_l1"] = float(errors["test"][other].mean()) if other.size else math.nan
            if not same.size:
                notes["test_forget_l1"] = f"not applicable: no {description}"
            if not other.size:
                notes["test_retain_l1"] = "not applicable: every test row lies in the forgotten range"
        for part in ("forget", "retain", "test"):
            metrics[f"{part}_mse"] = float((errors[part] ** 2).mean())
        metrics["mia"] = regression_svc_mia(
            errors["retain"], errors["test"], errors["forget"], max_per_side=MIA_SAMPLE, seed=self.seed
        )
        if len(errors["forget"]) < 2 or same.size < 2:
            metrics["mia_auc"] = math.nan
            notes["mia_auc"] = (
                f"not applicable: the attack AUC needs at least two forget rows and two non-members "
                f"({description}); there are {len(errors['forget'])} and {same.size}"
            )
        else:
            metrics["mia_auc"] = loss_mia_auc(errors["forget"], errors["test"][same], seed=self.seed)
            notes["mia_auc"] = f"forget rows against {same.size} {description}"
        if gold is not None:
            metrics["wasserstein_to_gold"] = wasserstein_to_gold(preds["forget"], self.predictions(gold, "forget"))
        if relearn:
            metrics.update(self._relearn(model, original, same, notes))
        self.audit_notes = notes
        return metrics

    def _relearn(
        self, model: nn.Module, original: nn.Module | None, same: np.ndarray, notes: dict[str, str]
    ) -> dict[str, float]:
        reference = original if original is not None else self.original()
        forget = self._part("forget")
        if same.size >= 2:
            holdout = self.data.test_dataset(same)
            notes["relearn_steps"] = "error measured on held-out rows from the forget set's distribution"
        else:
            holdout = forget
            notes["relearn_steps"] = "no held-out rows from the forget set's distribution: error measured on the forget set"
        reference_l1 = float(absolute_errors(predict(reference, holdout.tensors[0]).numpy(), holdout.tensors[1].numpy()).mean())
        target = reference_l1 * (1 + RELEARN_TOLERANCE)
        kwargs = {"target_l1": target, "seed": self.seed, "batch_size": self.recipe.batch_size, "check_every": 1}
        steps = relearn_steps_regression(model, forget, holdout, **kwargs)
        if self._random_relearn is None:
            random_network = self._build(*self._retain_scale(), self.seed + RANDOM_NETWORK_SEED_OFFSET)
            self._random_relearn = float(relearn_steps_regression(random_network, forget, holdout, **kwargs))
        return {"relearn_steps": float(steps), "relearn_random_steps": self._random_relearn}


def bench_spec():
    """Bench/demo description of the regression task (see :mod:`obliviate.bench.tasks`)."""
    from obliviate.bench.tasks import DemoConfig, TaskSpec

    def make_scenario(
        *,
        seed: int = 0,
        table: str | None = None,
        arrays: str | None = None,
        target: str | None = None,
        id_column: str | None = None,
        split_column: str | None = None,
        time_column: str | None = None,
        label_column: str | None = None,
        **options: Any,
    ) -> RegressionScenario:
        """``RegressionScenario(seed=..., **options)``; with ``table=<csv>`` (and ``target=<column>``,
        or ``label_column=``, the name ``obliviate forget --label-column`` gives it) or
        ``arrays=<npz>`` a user's own data replaces the named data set."""
        target = target if target is not None else label_column
        if table is not None and str(table).endswith(".npz"):
            table, arrays = None, table
        if table is not None or arrays is not None:
            options.pop("dataset", None)
            if options.get("forget") is None:
                raise InvalidRequestError("a user's own data needs a forget spec, e.g. forget='ids:forget.txt'")
        if table is not None:
            if target is None:
                raise InvalidRequestError("table=... needs target=<the column to predict>")
            return RegressionScenario.from_table(
                table, target=target, id_column=id_column, split_column=split_column, time_column=time_column,
                seed=seed, **options,
            )
        if arrays is not None:
            return RegressionScenario.from_npz(arrays, seed=seed, **options)
        return RegressionScenario(seed=seed, **options)

    methods = ("finetune", "neggrad", "gaussian", "blindspot")
    return TaskSpec(
        task="regression",
        make_scenario=make_scenario,
        metrics=(
            "forget_l1",
            "retain_l1",
            "test_l1",
            "test_forget_l1",
            "test_retain_l1",
            "forget_mse",
            "retain_mse",
            "test_mse",
            "mia",
            "mia_auc",
            "wasserstein_to_gold",
        ),
        demo=(
            DemoConfig(
                "diabetes, forget every target >= 200", {"dataset": "diabetes", "forget": "range:target>=200"}, methods
            ),
        ),
        default_options={"dataset": "diabetes"},
        quick_options={"epochs": 50},
    )

