"""The federated scenario: clients with non-IID shards, FedAvg on Flower, forget clients.

A :class:`FederatedScenario` splits a classification dataset's training part among
``clients`` clients (Dirichlet(``alpha``) class proportions, or IID), optionally lets the
clients to be forgotten plant a backdoor trigger, trains the **original** global model
with FedAvg through Flower's simulation engine while the server records every client's
contribution (:mod:`obliviate.federated.records`), and trains the **gold** model with
FedAvg from scratch on the remaining clients only. Both models, the records and the
client shards are cached on disk (safetensors) under a hash of the scenario.

The audit reports accuracy on the test set, on the retained clients' data and on the
forgotten clients' (clean) data, the backdoor's attack success rate when a backdoor was
planted, and a sorted-softmax membership attack on the forgotten clients' data.
"""

from __future__ import annotations

import os
import tempfile
import weakref
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.utils.data import ConcatDataset, TensorDataset

from obliviate.audit.divergence import js_divergence
from obliviate.audit.mia import matched_nonmembers
from obliviate.core.checkpoint import config_hash, load_into, save_model
from obliviate.core.contracts import UnlearningRequest
from obliviate.core.errors import InvalidForgetSpecError, InvalidRequestError
from obliviate.core.timing import Stopwatch
from obliviate.core.training import fresh_model, predict_logits
from obliviate.data.datasets import ClassificationData, load_classification
from obliviate.data.forget import ForgetSpec, parse_forget_spec
from obliviate.federated.data import SHARD_PATTERN, Backdoor, dirichlet_partition, iid_partition, write_shards
from obliviate.federated.federation import Federation, LocalRecipe
from obliviate.federated.metrics import backdoor_success, sorted_softmax_mia
from obliviate.federated.models import build_from_spec, load_state_into, model_spec, state_copy

FORGET_KINDS = frozenset({"client"})
DATASETS = ("digits", "mnist")
DEFAULT_ROUNDS = {"digits": 10, "mnist": 10}
CACHE_VERSION = 3  # 3: records layout 2 (per-client files)


def _tensor_dataset(x: np.ndarray, y: np.ndarray) -> TensorDataset:
    return TensorDataset(torch.from_numpy(np.ascontiguousarray(x)), torch.from_numpy(np.ascontiguousarray(y)))


@dataclass
class FederatedScenario:
    """Federated unlearning scenario: forget one or several clients.

    Args:
        dataset: ``"digits"`` (built in) or ``"mnist"`` (the MNIST test set, split).
        clients: number of clients.
        forget: ``"client:K"`` or ``"client:K1,K2"``.
        alpha: Dirichlet concentration of the non-IID split; ``None`` or ``"iid"``: IID.
        model: network recipe, ``"cnn"`` or ``"mlp"``, or a factory building the user's
            untrained network, as ``"package.module:callable"`` (or that module-level
            callable itself): every client imports and calls it.
        backdoor: ``True`` (defaults of :class:`Backdoor`), a :class:`Backdoor`, or
            ``False``: the clients to forget stamp a trigger on copies of their images.
        seed: seeds the split, the partition, initialisation and local training.
        rounds, local_epochs, lr, batch_size, optimizer, local_steps: FedAvg recipe
            (defaults: 10 rounds of 2 local epochs of SGD with momentum 0.9, learning rate
            0.05, batches of 32; ``local_steps`` replaces epochs by a fixed step count).
        cache_dir: where models, records and shards are cached (``None``: a temporary
            folder removed with the scenario).
        data_dir: folder of MNIST's files (default ``$OBLIVIATE_DATA_DIR``).
        records: the server's records of a federation trained elsewhere
            (:class:`~obliviate.federated.records.FederationRecords` folder); default: the
            records this scenario wrote when it trained the original.
    """

    dataset: str = "digits"
    clients: int = 10
    forget: str | ForgetSpec = "client:0"
    alpha: float | str | None = 0.5
    model: str = "cnn"
    backdoor: bool | Backdoor = False
    seed: int = 0
    rounds: int | None = None
    local_epochs: int | None = None
    lr: float | None = None
    batch_size: int | None = None
    optimizer: str | None = None
    local_steps: int | None = None
    cache_dir: str | os.PathLike | None = None
    data_dir: str | os.PathLike | None = None
    records: str | os.PathLike | None = None
    task: str = field(default="federated", init=False)

    def __post_init__(self) -> None:
        if self.dataset not in DATASETS:
            raise InvalidRequestError(f"federated dataset must be one of {', '.join(DATASETS)}; got '{self.dataset}'")
        if isinstance(self.clients, bool) or not isinstance(self.clients, int) or self.clients < 2:
            raise InvalidRequestError(f"clients must be an integer of at least 2; got {self.clients!r}")
        self.spec = parse_forget_spec(self.forget, allowed=FORGET_KINDS)
        forgotten = tuple(sorted(self.spec.value))
        bad = [c for c in forgotten if c >= self.clients]
        if bad:
            raise InvalidForgetSpecError(f"clients {bad} do not exist: the federation has clients 0..{self.clients - 1}")
        if len(forgotten) >= self.clients:
            raise InvalidForgetSpecError("every client would be forgotten; keep at least one client")
        self.forget_clients = forgotten
        if isinstance(self.alpha, str):
            if self.alpha.lower() != "iid":
                raise InvalidRequestError(f"alpha must be a positive number, None or 'iid'; got {self.alpha!r}")
            self.alpha = None
        if self.alpha is not None and not float(self.alpha) > 0:
            raise InvalidRequestError(f"alpha must be a positive number, None or 'iid'; got {self.alpha!r}")
        if callable(self.model):
            from obliviate.core.factory import factory_name, load_factory

            name = factory_name(self.model)
            try:
                importable = load_factory(name) is self.model
            except InvalidRequestError:
                importable = False
            if not importable:
                raise InvalidRequestError(
                    f"every client must build the network itself: give the factory as 'package.module:callable' "
                    f"naming a module-level function clients can import (got {name})"
                )
            self.model = name
        if self.backdoor is True:
            self.backdoor = Backdoor()
        self.recipe = LocalRecipe(
            rounds=self.rounds or DEFAULT_ROUNDS[self.dataset],
            epochs=self.local_epochs or 2,
            lr=self.lr or 0.05,
            batch_size=self.batch_size or 32,
            optimizer=self.optimizer or "sgd",
            steps=self.local_steps,
        )
        self._data: ClassificationData | None = None
        self._partition: list[np.ndarray] | None = None
        self._folder: Path | None = None
        self._original: nn.Module | None = None
        self._gold: nn.Module | None = None
        self._shards_written = False
        self.training_seconds: dict[str, float] = {}

    # -- data ---------------------------------------------------------------------------
    @property
    def data(self) -> ClassificationData:
        """The train/test split the clients' shards are drawn from."""
        if self._data is None:
            self._data = load_classification(self.dataset, seed=self.seed, data_dir=self.data_dir)
        return self._data

    @property
    def planted(self) -> Backdoor | None:
        """The backdoor the forgotten clients plant, or ``None``."""
        return self.backdoor if isinstance(self.backdoor, Backdoor) else None

    @property
    def partition(self) -> list[np.ndarray]:
        """Indices (into the training part) of every client's clean examples."""
        if self._partition is None:
            labels = self.data.y_train
            if self.alpha is None:
                self._partition = iid_partition(len(labels), self.clients, seed=self.seed)
            else:
                self._partition = dirichlet_partition(labels, self.clients, float(self.alpha), seed=self.seed)
        return self._partition

    def clean_data(self, client: int) -> TensorDataset:
        """The client's own (clean) examples."""
        indices = self.partition[client]
        return _tensor_dataset(self.data.x_train[indices], self.data.y_train[indices])

    def client_data(self, client: int) -> TensorDataset:
        """What the client trains on: its examples, plus triggered copies if it plants the backdoor."""
        indices = self.partition[client]
        x, y = self.data.x_train[indices], self.data.y_train[indices]
        if self.planted is not None and client in self.forget_clients:
            mean_size = len(self.data.y_train) / self.clients
            px, py = self.planted.poison(x, y, mean_size=mean_size, seed=self.seed + 1000 + client)
            x, y = np.concatenate([x, px]), np.concatenate([y, py])
        return _tensor_dataset(x, y)

    def _union(self, clients: list[int] | tuple[int, ...], *, clean: bool) -> TensorDataset:
        parts = [self.clean_data(c) if clean else self.client_data(c) for c in clients]
        return TensorDataset(torch.cat([p.tensors[0] for p in parts]), torch.cat([p.tensors[1] for p in parts]))

    @property
    def retain_clients(self) -> list[int]:
        """Clients that stay."""
        return [c for c in range(self.clients) if c not in self.forget_clients]

    # -- cache and federation -----------------------------------------------------------
    def _config(self) -> dict[str, Any]:
        return {
            "task": "federated",
            "version": CACHE_VERSION,
            "dataset": self.dataset,
            "clients": self.clients,
            "forget": str(self.spec),
            "alpha": self.alpha,
            "model": self.model,
            "backdoor": self.planted.__dict__ if self.planted is not None else None,
            "seed": self.seed,
            "recipe": self.recipe.as_dict(),
        }

    @property
    def folder(self) -> Path:
        """This scenario's cache folder (models, records, shards)."""
        if self._folder is None:
            if self.cache_dir is None:
                temp = tempfile.TemporaryDirectory(prefix="obliviate-federated-")
                weakref.finalize(self, temp.cleanup)
                self._folder = Path(temp.name)
            else:
                self._folder = Path(self.cache_dir) / f"federated-{config_hash(self._config())}"
            self._folder.mkdir(parents=True, exist_ok=True)
        return self._folder

    @property
    def forget_ids(self) -> list[int]:
        """The identifiers of what is forgotten: the forgotten clients' numbers (certificates)."""
        return list(self.forget_clients)

    @property
    def records_dir(self) -> Path:
        """Where the server's records of the original training are kept."""
        return Path(self.records) if self.records is not None else self.folder / "records"

    @property
    def shard_dir(self) -> Path:
        """The client shards on disk (written on first use)."""
        path = self.folder / "shards"
        if not self._shards_written:
            # Shards are a pure function of the cache key: files already there are current.
            present = all((path / SHARD_PATTERN.format(c)).is_file() for c in range(self.clients))
            if self.cache_dir is None or not present:
                write_shards(path, {c: self.client_data(c) for c in range(self.clients)})
            self._shards_written = True
        return path

    @property
    def federation(self) -> Federation:
        """The federation handed to the methods (see :class:`Federation`)."""
        return Federation(
            num_clients=self.clients,
            forget_clients=self.forget_clients,
            shard_dir=self.shard_dir,
            model=model_spec(self.model, self.data.input_shape, self.data.num_classes),
            recipe=self.recipe,
            seed=self.seed,
            records_dir=self.records_dir,
            num_examples={c: len(self.client_data(c)) for c in range(self.clients)},
        )

    @property
    def model_factory(self) -> Any:
        """The user's factory (``None`` for a built-in recipe): what fresh models are built with."""
        if ":" not in self.model:
            return None
        from obliviate.core.factory import load_factory

        return load_factory(self.model)

    def new_model(self) -> nn.Module:
        """A freshly initialised network of the scenario's recipe or factory (seeded, on CPU)."""
        return build_from_spec(model_spec(self.model, self.data.input_shape, self.data.num_classes), seed=self.seed)

    def _cached(self, name: str) -> nn.Module | None:
        path = self.folder / f"{name}.safetensors"
        if not path.is_file():
            return None
        if name == "original" and not (self.records_dir / "meta.json").is_file():
            return None
        model = self.new_model()
        meta = load_into(model, path)
        self.training_seconds[name] = float(meta.get("seconds", float("nan")))
        model.eval()
        return model

    def _store(self, name: str, model: nn.Module, seconds: float, info: dict[str, float]) -> None:
        self.training_seconds[name] = seconds
        save_model(model, self.folder / f"{name}.safetensors", {**self._config(), "which": name, "seconds": seconds, **info})
        model.eval()

    # -- models -------------------------------------------------------------------------
    def original(self) -> nn.Module:
        """FedAvg on every client through Flower, recording contributions (cached)."""
        if self._original is None:
            self._original = self._cached("original")
        if self._original is None:
            model = self.new_model()
            federation = self.federation
            with Stopwatch() as watch:
                outcome = federation.run(
                    participants=list(range(self.clients)),
                    rounds=self.recipe.rounds,
                    initial_state=state_copy(model),
                    record_to=self.records_dir,
                )
            load_state_into(model, outcome.state)
            self._store("original", model, watch.seconds, outcome.info())
            self._original = model
        return self._original

    def gold(self) -> nn.Module:
        """FedAvg from scratch on the retained clients only (cached); what ``retrain`` returns."""
        if self._gold is None:
            self._gold = self._cached("gold")
        if self._gold is None:
            model = fresh_model(self.new_model(), seed=self.seed, factory=self.model_factory)
            with Stopwatch() as watch:
                outcome = self.federation.run(
                    participants=self.retain_clients, rounds=self.recipe.rounds, initial_state=state_copy(model)
                )
            load_state_into(model, outcome.state)
            self._store("gold", model, watch.seconds, outcome.info())
            self._gold = model
        return self._gold

    def request(self) -> UnlearningRequest:
        """Forget part: the forgotten clients' training data (triggered copies included);
        retain part: the other clients' data; validation: the test set; the federation in
        ``extras["federation"]``."""
        return UnlearningRequest(
            forget=self._union(self.forget_clients, clean=False),
            retain=self._union(self.retain_clients, clean=False),
            validation=self.data.test_dataset(),
            spec=self.spec,
            num_classes=self.data.num_classes,
            seed=self.seed,
            extras={
                "federation": self.federation,
                "training": self.recipe.as_dict(),
                "forget_clients": self.forget_clients,
            },
            model_factory=self.model_factory,
        )

    # -- audit --------------------------------------------------------------------------
    def _probs(self, model: nn.Module, data: TensorDataset | ConcatDataset) -> np.ndarray:
        return torch.softmax(predict_logits(model, data), dim=1).numpy()

    def audit(self, model: nn.Module, *, original: nn.Module | None = None, gold: nn.Module | None = None) -> dict[str, float]:
        """Audit a global model.

        Returns a flat dict: ``test_accuracy``, ``retain_accuracy`` (retained clients'
        data), ``forget_accuracy`` (forgotten clients' clean data), ``backdoor_success``
        and ``clean_target_rate`` (clean non-target test images classified as the target;
        when a backdoor was planted), ``mia`` and ``mia_auc`` (sorted-softmax attack
        fitted on retained data vs half the test set, asked about the forgotten clients'
        clean data vs held-out data of the other half with the forgotten clients' label mix,
        :func:`obliviate.audit.mia.matched_nonmembers`), and with ``gold`` ``js_to_gold`` on the forgotten
        clients' data.
        """
        forget = self._union(self.forget_clients, clean=True)
        retain = self._union(self.retain_clients, clean=True)
        test = self.data.test_dataset()
        probs = {"forget": self._probs(model, forget), "retain": self._probs(model, retain), "test": self._probs(model, test)}
        labels = {"forget": forget.tensors[1].numpy(), "retain": retain.tensors[1].numpy(), "test": test.tensors[1].numpy()}
        metrics = {f"{part}_accuracy": float((probs[part].argmax(1) == labels[part]).mean()) for part in probs}
        if self.planted is not None:
            metrics["backdoor_success"] = backdoor_success(model, self.data.x_test, self.data.y_test, self.planted)
            # Clean (untriggered) non-target images sent to the target: a model that sends
            # everything to the target scores high on backdoor_success without a backdoor.
            others = labels["test"] != self.planted.target
            metrics["clean_target_rate"] = float((probs["test"][others].argmax(1) == self.planted.target).mean())
        halves = np.random.default_rng(self.seed).permutation(len(labels["test"]))
        first, second = halves[: len(halves) // 2], halves[len(halves) // 2 :]
        # The non-member rule: the forgotten clients' data is compared with held-out data
        # of the same label mix (a client of a Dirichlet split holds a skewed mix).
        holdout = second[matched_nonmembers(labels["forget"], labels["test"][second], seed=self.seed)]
        metrics["mia"], metrics["mia_auc"] = sorted_softmax_mia(
            probs["retain"], probs["test"][first], probs["forget"], probs["test"][holdout], seed=self.seed
        )
        if gold is not None:
            metrics["js_to_gold"] = js_divergence(probs["forget"], self._probs(gold, forget))
        return metrics


def bench_spec():
    """Bench/demo description of the federated task (see :mod:`obliviate.bench.tasks`)."""
    from obliviate.bench.tasks import DemoConfig, TaskSpec

    def make_scenario(*, seed: int = 0, **options: Any) -> FederatedScenario:
        return FederatedScenario(seed=seed, **options)

    methods = ("conda", "finetune", "neggrad", "pga", "federaser")
    return TaskSpec(
        task="federated",
        make_scenario=make_scenario,
        metrics=(
            "test_accuracy",
            "retain_accuracy",
            "forget_accuracy",
            "backdoor_success",
            "clean_target_rate",
            "mia",
            "mia_auc",
            "js_to_gold",
        ),
        higher_is_better=frozenset({"test_accuracy", "retain_accuracy"}),
        demo=(
            DemoConfig(
                "digits, 10 clients (Dirichlet 0.5), forget client 0 who planted a backdoor",
                {"dataset": "digits", "clients": 10, "forget": "client:0", "backdoor": True},
                methods,
            ),
        ),
        default_options={"dataset": "digits", "clients": 10, "forget": "client:0", "model": "cnn"},
        quick_options={"rounds": 3},
    )
