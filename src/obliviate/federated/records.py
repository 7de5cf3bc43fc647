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

After every round the server writes only what changed (safetensors, temporary file then
rename): the files of the clients that took part, the small norms table, and ``meta.json``
last, naming the round each file belongs to; every file also carries its round in its
metadata, so a crash between two writes is detected on load instead of mixing rounds. A
client's first update is written once. Per round that is ``2 |theta|`` floats per
participating client (``3 |theta|`` in its first round); ``meta.json`` keeps the bytes and
seconds each round's recording took (the overhead ConDa asks of the server). Files::

    initial.safetensors               theta^0
    clients/client0003.safetensors    "contribution/<key>" -> C_3, "last/<key>" -> U_3^(its last round)
    clients/client0003.first.safetensors  "first/<key>" -> U_3^(its first round)
    update_norms.safetensors          "norms" -> [rounds, clients, entries] (0 where a client sat out)
    meta.json                         clients, example counts, rounds, entry names, the round of
                                      each client's files, recording bytes and seconds per round
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from obliviate.core.checkpoint import atomic_write_text, load_state, save_model
from obliviate.core.errors import DataError, InvalidRequestError

VERSION = 2


def float_keys(state: dict[str, torch.Tensor]) -> list[str]:
    """The state_dict entries that are floating point (weights, biases, BN statistics)."""
    return [key for key, value in state.items() if torch.is_floating_point(value)]


def client_key(client: int, key: str) -> str:
    """Name of a per-client entry in a records file."""
    return f"client{client:04d}/{key}"


def client_file(folder: Path, client: int, first: bool = False) -> Path:
    """Path of a client's records file (its first update when ``first``)."""
    return folder / "clients" / f"client{client:04d}{'.first' if first else ''}.safetensors"


class ContributionRecorder:
    """Accumulates and writes the records of one federated training run.

    Args:
        folder: where the records are written (created).
        initial_state: the initial global model ``theta^0``.
        clients: ids of every client that takes part.
    """

    def __init__(self, folder: str | os.PathLike, initial_state: dict[str, torch.Tensor], clients: list[int]):
        self.folder = Path(folder)
        (self.folder / "clients").mkdir(parents=True, exist_ok=True)
        self.keys = float_keys(initial_state)
        self.clients = sorted(int(c) for c in clients)
        self._index = {c: i for i, c in enumerate(self.clients)}
        self.contributions = {
            c: {k: torch.zeros_like(initial_state[k], dtype=torch.float32) for k in self.keys} for c in self.clients
        }
        self.norms: list[torch.Tensor] = []
        self.num_examples: dict[int, int] = {}
        self.written: dict[int, int] = {}
        self.first_round: dict[int, int] = {}
        self.bytes_per_round: list[int] = []
        self.seconds_per_round: list[float] = []
        self.rounds = 0
        save_model({k: initial_state[k] for k in initial_state}, self.folder / "initial.safetensors", {"round": 0})

    def record_round(
        self,
        global_state: dict[str, torch.Tensor],
        client_states: dict[int, dict[str, torch.Tensor]],
        num_examples: dict[int, int],
    ) -> None:
        """Add one round: ``global_state`` was sent, ``client_states`` came back; then write
        what changed.

        Raises:
            InvalidRequestError: for a client that was not declared.
        """
        unknown = sorted(set(client_states) - set(self._index))
        if unknown:
            raise InvalidRequestError(f"clients {unknown} were not declared to the recorder")
        started = time.perf_counter()
        self.rounds += 1
        norms = torch.zeros(len(self.clients), len(self.keys), dtype=torch.float32)
        written = 0
        for client, state in client_states.items():
            update = {k: state[k].float() - global_state[k].float() for k in self.keys}
            for j, key in enumerate(self.keys):
                self.contributions[client][key].add_(update[key].abs())
                norms[self._index[client], j] = torch.linalg.vector_norm(update[key])
            meta = {"round": self.rounds}
            if client not in self.first_round:
                self.first_round[client] = self.rounds
                save_model({f"first/{k}": v for k, v in update.items()}, client_file(self.folder, client, True), meta)
                written += sum(v.numel() * v.element_size() for v in update.values())
            tensors = {**{f"contribution/{k}": v for k, v in self.contributions[client].items()},
                       **{f"last/{k}": v for k, v in update.items()}}
            save_model(tensors, client_file(self.folder, client), meta)
            written += sum(v.numel() * v.element_size() for v in tensors.values())
            self.written[client] = self.rounds
            self.num_examples[client] = int(num_examples[client])
        self.norms.append(norms)
        stacked = torch.stack(self.norms)
        save_model({"norms": stacked}, self.folder / "update_norms.safetensors", {"round": self.rounds})
        written += stacked.numel() * stacked.element_size()
        self.bytes_per_round.append(written)
        self.seconds_per_round.append(time.perf_counter() - started)
        self._write_meta()

    def flush(self) -> None:
        """Write ``meta.json`` again (every records file is already on disk after each round)."""
        self._write_meta()

    def _write_meta(self) -> None:
        atomic_write_text(
            self.folder / "meta.json",
            json.dumps(
                {
                    "version": VERSION,
                    "rounds": self.rounds,
                    "clients": self.clients,
                    "num_examples": {str(c): n for c, n in self.num_examples.items()},
                    "keys": self.keys,
                    "written": {str(c): r for c, r in self.written.items()},
                    "first_round": {str(c): r for c, r in self.first_round.items()},
                    "bytes_per_round": self.bytes_per_round,
                    "seconds_per_round": self.seconds_per_round,
                },
                indent=1,
            ),
        )


@dataclass
class FederationRecords:
    """Records of a finished training run, read back from disk (each file on first use).

    Attributes:
        folder: the records folder.
        rounds: number of recorded rounds.
        clients: client ids, sorted.
        num_examples: client id -> number of local training examples.
        keys: the recorded (floating-point) state_dict entries, in order.
        written: client id -> the round its records file belongs to.
        first_round: client id -> the round of its first update.
        bytes_per_round, seconds_per_round: what recording cost the server each round.
    """

    folder: Path
    rounds: int
    clients: list[int]
    num_examples: dict[int, int]
    keys: list[str]
    written: dict[int, int] = field(default_factory=dict)
    first_round: dict[int, int] = field(default_factory=dict)
    bytes_per_round: list[int] = field(default_factory=list)
    seconds_per_round: list[float] = field(default_factory=list)
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
            written={int(c): int(r) for c, r in meta.get("written", {}).items()},
            first_round={int(c): int(r) for c, r in meta.get("first_round", {}).items()},
            bytes_per_round=[int(b) for b in meta.get("bytes_per_round", [])],
            seconds_per_round=[float(t) for t in meta.get("seconds_per_round", [])],
        )

    def _load(self, path: Path, expected_round: int) -> dict[str, torch.Tensor]:
        key = str(path)
        if key not in self._cache:
            state, meta = load_state(path)
            if int(meta.get("round", -1)) != expected_round:
                raise DataError(
                    f"'{path}' belongs to round {meta.get('round')} but meta.json says {expected_round}: "
                    "the records were cut off while being written; retrain the original model"
                )
            self._cache[key] = state
        return self._cache[key]

    def _per_client(self, prefix: str, client: int) -> dict[str, torch.Tensor]:
        if client not in self.num_examples:
            raise InvalidRequestError(f"client {client} has no records; recorded clients: {self.clients}")
        first = prefix == "first"
        expected = self.first_round.get(client) if first else self.written.get(client)
        data = self._load(client_file(self.folder, client, first), -2 if expected is None else expected)
        return {key: data[f"{prefix}/{key}"] for key in self.keys}

    def contribution(self, client: int) -> dict[str, torch.Tensor]:
        """``C_k = sum_t |U_k^t|`` per recorded entry."""
        return self._per_client("contribution", client)

    def first_update(self, client: int) -> dict[str, torch.Tensor]:
        """``U_k^1``, the client's update in its first round."""
        return self._per_client("first", client)

    def last_update(self, client: int) -> dict[str, torch.Tensor]:
        """``U_k^R``, the client's update in the last round it took part in."""
        return self._per_client("last", client)

    def update_norms(self) -> torch.Tensor:
        """``||U_k^t||`` as a ``[rounds, clients, entries]`` tensor (clients in :attr:`clients` order)."""
        return self._load(self.folder / "update_norms.safetensors", self.rounds)["norms"]

    def initial_state(self) -> dict[str, torch.Tensor]:
        """``theta^0``, the global model before round 1."""
        return self._load(self.folder / "initial.safetensors", 0)
