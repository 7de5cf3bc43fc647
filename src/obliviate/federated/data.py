"""Client data for federated scenarios: partitions, a backdoor trigger, shards on disk.

* :func:`dirichlet_partition` — the usual non-IID split (Hsu et al., 2019): for every
  class ``c`` draw client proportions ``p_c ~ Dirichlet(alpha * 1_N)`` and deal that
  class's examples out accordingly. Small ``alpha`` gives each client few classes;
  ``alpha -> inf`` approaches an IID split. :func:`iid_partition` deals a shuffled set
  out evenly.
* :class:`Backdoor` — a trigger patch (a bright square in the bottom-right corner) that
  the clients to be forgotten stamp on copies of their images, relabelled to a target
  class (the BadNets recipe, Gu et al., 2017). A model that learnt it predicts the
  target for triggered images of any class.
* Shards: each client's training data as one safetensors file, the form in which a
  ``ClientApp`` (simulated or on its own machine) finds its data.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import TensorDataset

from obliviate.core.checkpoint import load_state, save_model
from obliviate.core.errors import InvalidRequestError

SHARD_PATTERN = "client_{:04d}.safetensors"


def dirichlet_partition(
    labels: np.ndarray, num_clients: int, alpha: float, *, seed: int, min_size: int = 2, max_tries: int = 1000
) -> list[np.ndarray]:
    """Split example indices among clients with Dirichlet(``alpha``) class proportions.

    Draws are repeated (seeded) until every client holds at least ``min_size`` examples.

    Args:
        labels: integer class of every example.
        num_clients: number of clients ``N``.
        alpha: Dirichlet concentration (> 0); 0.5 is a common non-IID setting.
        seed: seeds the draws.
        min_size: smallest acceptable client.
        max_tries: give up after this many draws.

    Returns:
        One sorted index array per client; together they cover every example once.

    Raises:
        InvalidRequestError: for bad arguments, or when no draw gives every client
            ``min_size`` examples (too many clients for the data, or ``alpha`` too small).
    """
    labels = np.asarray(labels)
    if num_clients < 2:
        raise InvalidRequestError(f"a federation needs at least 2 clients; got {num_clients}")
    if not alpha > 0:
        raise InvalidRequestError(f"the Dirichlet alpha must be positive; got {alpha}")
    if num_clients * min_size > len(labels):
        raise InvalidRequestError(
            f"{len(labels)} examples cannot give {num_clients} clients {min_size} examples each; use fewer clients"
        )
    rng = np.random.default_rng(seed)
    classes = np.unique(labels)
    for _ in range(max_tries):
        shards: list[list[np.ndarray]] = [[] for _ in range(num_clients)]
        for cls in classes:
            members = rng.permutation(np.flatnonzero(labels == cls))
            proportions = rng.dirichlet(np.full(num_clients, alpha))
            cuts = (np.cumsum(proportions)[:-1] * len(members)).astype(int)
            for client, part in enumerate(np.split(members, cuts)):
                shards[client].append(part)
        parts = [np.sort(np.concatenate(parts)) for parts in shards]
        if min(len(p) for p in parts) >= min_size:
            return parts
    raise InvalidRequestError(
        f"no Dirichlet(alpha={alpha}) draw gave each of {num_clients} clients {min_size} examples in "
        f"{max_tries} tries; use fewer clients, a larger alpha, or alpha=None for an IID split"
    )


def iid_partition(num_examples: int, num_clients: int, *, seed: int) -> list[np.ndarray]:
    """Deal a seeded shuffle of ``range(num_examples)`` out to ``num_clients`` clients evenly.

    Raises:
        InvalidRequestError: for fewer than 2 clients or more clients than examples.
    """
    if num_clients < 2:
        raise InvalidRequestError(f"a federation needs at least 2 clients; got {num_clients}")
    if num_clients > num_examples:
        raise InvalidRequestError(f"{num_examples} examples cannot be dealt to {num_clients} clients")
    order = np.random.default_rng(seed).permutation(num_examples)
    return [np.sort(part) for part in np.array_split(order, num_clients)]


@dataclass(frozen=True)
class Backdoor:
    """A trigger patch planted by the clients to be forgotten.

    Attributes:
        target: the class triggered images are relabelled to.
        patch: side of the square patch in pixels (``None``: ``max(2, height // 7)``,
            2 on 8x8 digits, 4 on 28x28 MNIST).
        rate: triggered examples each forgotten client adds, as a multiple of the mean
            client size (images are drawn with replacement when the client has fewer).
        value: pixel value of the patch (the data's maximum, 1.0).
    """

    target: int = 0
    patch: int | None = None
    rate: float = 2.0
    value: float = 1.0

    def side(self, height: int) -> int:
        """The patch side for images of ``height`` pixels."""
        return self.patch if self.patch is not None else max(2, height // 7)

    def apply(self, images: np.ndarray) -> np.ndarray:
        """Copies of ``images`` (``n x C x H x W``) with the patch in the bottom-right corner.

        Raises:
            InvalidRequestError: for inputs that are not images.
        """
        if images.ndim != 4:
            raise InvalidRequestError(f"a backdoor trigger needs images (n, C, H, W); got shape {images.shape}")
        side = self.side(images.shape[2])
        stamped = np.array(images, copy=True)
        stamped[:, :, -side:, -side:] = self.value
        return stamped

    def poison(self, x: np.ndarray, y: np.ndarray, *, mean_size: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
        """``round(rate * mean_size)`` triggered copies of seeded draws from ``x``, labelled :attr:`target`."""
        count = max(1, int(round(self.rate * mean_size)))
        chosen = np.sort(np.random.default_rng(seed).choice(len(x), size=count, replace=count > len(x)))
        return self.apply(x[chosen]).astype(x.dtype), np.full(count, self.target, dtype=y.dtype)


def write_shards(folder: str | os.PathLike, shards: dict[int, TensorDataset]) -> Path:
    """Write each client's ``TensorDataset(x, y)`` to ``folder/client_XXXX.safetensors``."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for client, data in shards.items():
        x, y = data.tensors[0], data.tensors[1]
        save_model({"x": x, "y": y}, folder / SHARD_PATTERN.format(client), {"client": client, "examples": len(y)})
    return folder


@lru_cache(maxsize=512)
def _read_shard(path: str, mtime_ns: int) -> tuple[torch.Tensor, torch.Tensor]:
    state, _ = load_state(path)
    return state["x"], state["y"]


def read_shard(folder: str | os.PathLike, client: int) -> TensorDataset:
    """The training data of ``client`` from ``folder`` (cached per process while unchanged).

    Raises:
        DataError: when the shard file is missing or unreadable.
    """
    path = Path(folder) / SHARD_PATTERN.format(int(client))
    mtime = path.stat().st_mtime_ns if path.exists() else -1
    x, y = _read_shard(str(path), mtime)
    return TensorDataset(x, y)
