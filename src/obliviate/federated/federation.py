"""A federation's fixed setup, as the unlearning methods see it.

A :class:`Federation` names the clients and where their shards lie, the network recipe,
the local training recipe, and the folder where the server recorded the original
training (:mod:`obliviate.federated.records`). Methods that run federated rounds call
:meth:`Federation.run`, which runs them on Flower (:func:`~obliviate.federated.engine.run_federation`).
It travels to the methods as ``request.extras["federation"]``.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from obliviate.core.contracts import UnlearningRequest
from obliviate.core.errors import InvalidRequestError
from obliviate.federated.engine import FederationOutcome, FederationPlan, run_federation
from obliviate.federated.records import FederationRecords


@dataclass(frozen=True)
class LocalRecipe:
    """How the federation trains: FedAvg rounds and each client's local training.

    Attributes:
        rounds: FedAvg rounds of the original (and gold) training.
        epochs: local epochs per round.
        lr: local learning rate.
        batch_size: local batch size.
        optimizer: local optimizer (``adam``, ``sgd`` or ``adamw``; a fresh one each round).
        steps: when set, every client takes exactly this many local steps per round
            instead of ``epochs`` passes over its shard.
    """

    rounds: int = 10
    epochs: int = 2
    lr: float = 0.05
    batch_size: int = 32
    optimizer: str = "sgd"
    steps: int | None = None

    def local(self, **overrides: Any) -> dict[str, Any]:
        """The client-side part (epochs, steps, lr, batch size, optimizer) with ``overrides``."""
        values = {
            "epochs": self.epochs,
            "steps": self.steps,
            "lr": self.lr,
            "batch_size": self.batch_size,
            "optimizer": self.optimizer,
        }
        values.update({k: v for k, v in overrides.items() if v is not None})
        return values

    def as_dict(self) -> dict[str, Any]:
        """All fields, for cache keys and reports."""
        return dict(self.__dict__)


@dataclass
class Federation:
    """The clients, their data on disk, the model and training recipes, and the records.

    Attributes:
        num_clients: client ids are ``0..num_clients-1``.
        forget_clients: the clients to forget.
        shard_dir: folder of the client shards.
        model: model spec (see :func:`obliviate.federated.models.model_spec`).
        recipe: the training recipe.
        seed: seeds local training.
        records_dir: folder of the original training's records.
        num_examples: client id -> number of local training examples.
    """

    num_clients: int
    forget_clients: tuple[int, ...]
    shard_dir: Path
    model: dict[str, Any]
    recipe: LocalRecipe
    seed: int
    records_dir: Path
    num_examples: dict[int, int] = field(default_factory=dict)

    @property
    def retain_clients(self) -> list[int]:
        """Every client that is not forgotten."""
        return [c for c in range(self.num_clients) if c not in self.forget_clients]

    def records(self) -> FederationRecords:
        """The original training's records, opened from disk.

        Raises:
            DataError: when the original model has not been trained (no records yet).
        """
        return FederationRecords.load(self.records_dir)

    def run(
        self,
        *,
        participants: list[int],
        rounds: int,
        initial_state: dict[str, torch.Tensor],
        mode: str = "fedavg",
        training: dict[str, Any] | None = None,
        record_to: str | os.PathLike | None = None,
        calibration: dict[str, Any] | None = None,
        seed: int | None = None,
        engine: str = "simulation",
    ) -> FederationOutcome:
        """Run federated rounds on Flower (see :class:`~obliviate.federated.engine.FederationPlan`).

        Args:
            participants: the clients that train.
            rounds: number of rounds.
            initial_state: the global model to start from.
            mode: ``"fedavg"`` or ``"federaser"``.
            training: overrides of the local recipe (epochs, lr, batch_size, optimizer).
            record_to: record contributions into this folder.
            calibration: FedEraser settings (mode ``federaser``).
            seed: seeds local training (default: the federation's seed).
            engine: ``"simulation"`` (Flower's simulation engine, in this process) or
                ``"deployment"`` (a SuperLink and SuperNodes as processes on loopback;
                see :mod:`obliviate.federated.deploy`).

        Raises:
            InvalidRequestError: for an unknown engine or a plan that cannot run.
            FederationError: when the run fails.
        """
        if engine not in ("simulation", "deployment"):
            raise InvalidRequestError(f"engine must be 'simulation' or 'deployment'; got {engine!r}")
        local = dict(training or {})
        if self.recipe.steps and local.get("epochs"):
            # In fixed-step mode an epoch count scales the step count.
            local["steps"] = max(1, round(self.recipe.steps * local["epochs"] / self.recipe.epochs))
        with tempfile.TemporaryDirectory(prefix="obliviate-fl-") as work:
            plan = FederationPlan(
                mode=mode,
                num_clients=self.num_clients,
                participants=sorted(int(c) for c in participants),
                rounds=int(rounds),
                model=self.model,
                training=self.recipe.local(**local),
                seed=int(self.seed if seed is None else seed),
                shard_dir=str(self.shard_dir),
                initial=str(Path(work) / "initial.safetensors"),
                output=str(Path(work) / "final.safetensors"),
                summary=str(Path(work) / "summary.json"),
                records=str(record_to) if record_to is not None else None,
                calibration=calibration,
            )
            if engine == "deployment":
                from obliviate.federated.deploy import run_deployed

                return run_deployed(plan, initial_state)
            return run_federation(plan, initial_state)


def federation_of(request: UnlearningRequest, method: str) -> Federation:
    """The :class:`Federation` carried by a request.

    Raises:
        InvalidRequestError: when the request was not built by a federated scenario.
    """
    federation = request.extras.get("federation") if request.extras else None
    if not isinstance(federation, Federation):
        raise InvalidRequestError(
            f"federated/{method} needs the federation (clients, shards, records) in "
            "request.extras['federation']; build the request with FederatedScenario.request()"
        )
    return federation
