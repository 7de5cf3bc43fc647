"""What the server records during federated training, on disk, for unlearning later.

For client ``k`` in round ``t`` the server receives the local model ``w_k^t`` trained from
the global model ``theta^{t-1}``; the client's update is ``U_k^t = w_k^t - theta^{t-1}``.
The recorder keeps, per client and per state_dict entry:

* ``contributions``: ``C_k = sum_t |U_k^t|`` (element-wise), the accumulated per-parameter
  contribution that ConDa compares between clients (Chundawat et al., 2024);
* ``update_norms``: ``||U_k^t||_2`` per round and entry, the step lengths FedEraser reuses
  during calibration (Liu et al., IWQoS 2021);
* ``first_updates``: ``U_k^1``, with which FedEraser takes its first, uncalibrated step;
* ``last_updates``: ``U_k^R``, from which the reference model of PGA (Halimi et al., 2022)
  is rebuilt.

Everything is written with safetensors after every round (temporary file, then rename),
and ``meta.json`` last, naming the round the files belong to; each file also carries that
round in its metadata, so a crash between two writes is detected on load instead of
mixing rounds. Files::

    initial.safetensors        theta^0
    contributions.safetensors  "client0003/<key>" -> C_3 ...
    update_norms.safetensors   "norms" -> [rounds, clients, entries]
    first_updates.safetensors  "client0003/<key>" -> U_3^1 ...
    last_updates.safetensors   "client0003/<key>" -> U_3^R ...
    meta.json                  clients, example counts, rounds, entry names
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from obliviate.core.checkpoint import atomic_write_text, load_state, save_model
from obliviate.core.errors import DataError, InvalidRequestError

FILES = ("initial", "contributions", "update_norms", "first_updates", "last_updates")
VERSION = 1


def float_keys(state: dict[str, torch.Tensor]) -> list[str]:
    """The state_dict entries that are floating point (weights, biases, BN statistics)."""
    return [key for key, value in state.items() if torch.is_floating_point(value)]


def client_key(client: int, key: str) -> str:
    """Name of a per-client entry in a records file."""
    return f"client{client:04d}/{key}"


class ContributionRecorder:
    """Accumulates and writes the records of one federated training run.

    Args:
        folder: where the records are written (created).
        initial_state: the initial global model ``theta^0``.
        clients: ids of every client that takes part.
    """

    def __init__(self, folder: str | os.PathLike, initial_state: dict[str, torch.Tensor], clients: list[int]):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.keys = float_keys(initial_state)
        self.clients = sorted(int(c) for c in clients)
        self._index = {c: i for i, c in enumerate(self.clients)}
        self.contributions = {
            c: {k: torch.zeros_like(initial_state[k], dtype=torch.float32) for k in self.keys} for c in self.clients
        }
        self.norms: list[torch.Tensor] = []
        self.first_updates: dict[int, dict[str, torch.Tensor]] = {}
        self.last_updates: dict[int, dict[str, torch.Tensor]] = {}
        self.num_examples: dict[int, int] = {}
        self.rounds = 0
        save_model({k: initial_state[k] for k in initial_state}, self.folder / "initial.safetensors", {"round": 0})

    def record_round(
        self,
        global_state: dict[str, torch.Tensor],
        client_states: dict[int, dict[str, torch.Tensor]],
        num_examples: dict[int, int],
    ) -> None:
        """Add one round: ``global_state`` was sent, ``client_states`` came back; then write.

        Raises:
            InvalidRequestError: for a client that was not declared.
        """
        unknown = sorted(set(client_states) - set(self._index))
        if unknown:
            raise InvalidRequestError(f"clients {unknown} were not declared to the recorder")
        self.rounds += 1
        norms = torch.zeros(len(self.clients), len(self.keys), dtype=torch.float32)
        for client, state in client_states.items():
            update = {k: (state[k].float() - global_state[k].float()) for k in self.keys}
            for j, key in enumerate(self.keys):
                self.contributions[client][key] += update[key].abs()
                norms[self._index[client], j] = torch.linalg.vector_norm(update[key])
            if self.rounds == 1:
                self.first_updates[client] = update
            self.last_updates[client] = update
            self.num_examples[client] = int(num_examples[client])
        self.norms.append(norms)
        self.flush()

    def flush(self) -> None:
        """Write every records file, then ``meta.json`` (atomic writes)."""
        meta = {"round": self.rounds}
        save_model(_flatten(self.contributions), self.folder / "contributions.safetensors", meta)
        stacked = torch.stack(self.norms) if self.norms else torch.zeros(0, len(self.clients), len(self.keys))
        save_model({"norms": stacked}, self.folder / "update_norms.safetensors", meta)
        save_model(_flatten(self.first_updates), self.folder / "first_updates.safetensors", meta)
        save_model(_flatten(self.last_updates), self.folder / "last_updates.safetensors", meta)
        atomic_write_text(
            self.folder / "meta.json",
            json.dumps(
                {
                    "version": VERSION,
                    "rounds": self.rounds,
                    "clients": self.clients,
                    "num_examples": {str(c): n for c, n in self.num_examples.items()},
                    "keys": self.keys,
                },
                indent=1,
            ),
        )


def _flatten(per_client: dict[int, dict[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
    return {client_key(c, k): v for c, entries in per_client.items() for k, v in entries.items()}


@dataclass
class FederationRecords:
    """Records of a finished training run, read back from disk (each file on first use).

    Attributes:
        folder: the records folder.
        rounds: number of recorded rounds.
        clients: client ids, sorted.
        num_examples: client id -> number of local training examples.
        keys: the recorded (floating-point) state_dict entries, in order.
    """

    folder: Path
    rounds: int
    clients: list[int]
    num_examples: dict[int, int]
    keys: list[str]
    _cache: dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def load(cls, folder: str | os.PathLike) -> FederationRecords:
        """Open a records folder written by :class:`ContributionRecorder`.

        Raises:
            DataError: when the folder or its ``meta.json`` is missing or unreadable.
        """
        folder = Path(folder)
        meta_path = folder / "meta.json"
        if not meta_path.is_file():
            raise DataError(
                f"no federation records in '{folder}' (meta.json is missing); "
                "train the original model with FederatedScenario(cache_dir=...).original() first"
            )
        try:
            meta = json.loads(meta_path.read_text())
        except json.JSONDecodeError as exc:
            raise DataError(f"'{meta_path}' is not valid JSON: {exc}") from exc
        if meta.get("version") != VERSION:
            raise DataError(f"'{meta_path}' has records version {meta.get('version')}; expected {VERSION}")
        return cls(
            folder=folder,
            rounds=int(meta["rounds"]),
            clients=[int(c) for c in meta["clients"]],
            num_examples={int(c): int(n) for c, n in meta["num_examples"].items()},
            keys=list(meta["keys"]),
        )

    def _file(self, name: str) -> dict[str, torch.Tensor]:
        if name not in self._cache:
            state, meta = load_state(self.folder / f"{name}.safetensors")
            if name != "initial" and int(meta.get("round", -1)) != self.rounds:
                raise DataError(
                    f"'{self.folder / name}.safetensors' belongs to round {meta.get('round')} but meta.json "
                    f"says {self.rounds}: the records were cut off while being written; retrain the original model"
                )
            self._cache[name] = state
        return self._cache[name]

    def _per_client(self, name: str, client: int) -> dict[str, torch.Tensor]:
        if client not in self.num_examples:
            raise InvalidRequestError(f"client {client} has no records; recorded clients: {self.clients}")
        data = self._file(name)
        return {key: data[client_key(client, key)] for key in self.keys}

    def contribution(self, client: int) -> dict[str, torch.Tensor]:
        """``C_k = sum_t |U_k^t|`` per recorded entry."""
        return self._per_client("contributions", client)

    def first_update(self, client: int) -> dict[str, torch.Tensor]:
        """``U_k^1``, the client's update in round 1."""
        return self._per_client("first_updates", client)

    def last_update(self, client: int) -> dict[str, torch.Tensor]:
        """``U_k^R``, the client's update in the last round."""
        return self._per_client("last_updates", client)

    def update_norms(self) -> torch.Tensor:
        """``||U_k^t||`` as a ``[rounds, clients, entries]`` tensor (clients in :attr:`clients` order)."""
        return self._file("update_norms")["norms"]

    def initial_state(self) -> dict[str, torch.Tensor]:
        """``theta^0``, the global model before round 1."""
        return self._file("initial")
