"""Graph bookkeeping in plain torch: undirected pairs, message-passing edges, sampling, hops.

An undirected graph is held as a ``(2, E)`` tensor of **pairs** ``(u, v)`` with ``u < v``
(no self-loops, no duplicates). GNN layers read a **message-passing** ``edge_index``
holding both directions of every pair. Nothing here needs torch-geometric.
"""

from __future__ import annotations

import torch

from obliviate.core.errors import InvalidRequestError


def canonical_pairs(edges: torch.Tensor) -> torch.Tensor:
    """Undirected pairs ``u < v`` from any ``(2, E)`` edge list: drops self-loops and duplicates.

    The result is sorted by ``(u, v)``, so equal edge sets give equal tensors.
    """
    edges = torch.as_tensor(edges, dtype=torch.long)
    if edges.dim() != 2 or edges.size(0) != 2:
        raise InvalidRequestError(f"edges must have shape (2, E); got {tuple(edges.shape)}")
    low = torch.minimum(edges[0], edges[1])
    high = torch.maximum(edges[0], edges[1])
    keep = low != high
    pairs = torch.stack([low[keep], high[keep]])
    if pairs.size(1) == 0:
        return pairs
    return torch.unique(pairs, dim=1)


def pair_keys(pairs: torch.Tensor, num_nodes: int) -> torch.Tensor:
    """One integer per undirected pair: ``min(u, v) * num_nodes + max(u, v)``."""
    low = torch.minimum(pairs[0], pairs[1])
    high = torch.maximum(pairs[0], pairs[1])
    return low * num_nodes + high


def to_message_passing(pairs: torch.Tensor) -> torch.Tensor:
    """Both directions of every pair: the ``edge_index`` a GNN layer reads."""
    return torch.cat([pairs, pairs.flip(0)], dim=1)


def remove_pairs(pairs: torch.Tensor, removed: torch.Tensor, num_nodes: int) -> torch.Tensor:
    """``pairs`` without the undirected pairs listed in ``removed`` (order kept)."""
    if removed.numel() == 0:
        return pairs
    drop = torch.isin(pair_keys(pairs, num_nodes), pair_keys(removed, num_nodes))
    return pairs[:, ~drop]


def incident_pairs(pairs: torch.Tensor, nodes: torch.Tensor, num_nodes: int) -> torch.Tensor:
    """The pairs with at least one endpoint in ``nodes``."""
    member = torch.zeros(num_nodes, dtype=torch.bool)
    member[nodes] = True
    return pairs[:, member[pairs[0]] | member[pairs[1]]]


def hop_masks(edge_index: torch.Tensor, seeds: torch.Tensor, hops: int, num_nodes: int) -> list[torch.Tensor]:
    """Boolean node masks of the 1-, 2-, ..., ``hops``-hop neighbourhoods of ``seeds``.

    Entry ``k - 1`` marks every node within ``k`` hops of a seed (the seeds included),
    following ``edge_index`` in both directions.
    """
    mask = torch.zeros(num_nodes, dtype=torch.bool, device=edge_index.device)
    mask[seeds] = True
    masks = []
    for _ in range(hops):
        grown = mask.clone()
        grown[edge_index[1][mask[edge_index[0]]]] = True
        grown[edge_index[0][mask[edge_index[1]]]] = True
        mask = grown
        masks.append(mask)
    return masks


class NegativeSampler:
    """Draws node pairs that are not edges, from a seeded generator.

    Pairs are drawn uniformly among ``u < v`` pairs (rejection of self-loops and of the
    ``exclude`` pairs), which is how link-prediction training samples its negatives.

    Args:
        num_nodes: number of nodes.
        exclude: ``(2, E)`` pairs that must never be drawn (the known edges).
        seed: seeds the generator; the same seed gives the same sequence of draws.
    """

    def __init__(self, num_nodes: int, exclude: torch.Tensor, *, seed: int):
        if num_nodes < 2:
            raise InvalidRequestError("negative sampling needs a graph with at least two nodes")
        self.num_nodes = num_nodes
        self._excluded = torch.sort(pair_keys(exclude, num_nodes)).values if exclude.numel() else None
        excluded = 0 if self._excluded is None else torch.unique(self._excluded).numel()
        self.free = num_nodes * (num_nodes - 1) // 2 - excluded
        if self.free <= 0:
            raise InvalidRequestError("the graph is complete: there is no non-edge to sample")
        self._generator = torch.Generator().manual_seed(seed)

    def sample(self, count: int, *, unique: bool = False) -> torch.Tensor:
        """``(2, count)`` non-edge pairs ``u < v`` (distinct from each other when ``unique``).

        Raises:
            InvalidRequestError: when ``unique`` and the graph has fewer than ``count`` non-edges.
        """
        if unique and count > self.free:
            raise InvalidRequestError(
                f"asked for {count} distinct non-edges but the graph has only {self.free}"
            )
        chunks: list[torch.Tensor] = []
        total = 0
        seen: torch.Tensor | None = None
        while total < count:
            draw = max(16, int(1.3 * (count - total)) + 8)
            u = torch.randint(0, self.num_nodes, (draw,), generator=self._generator)
            v = torch.randint(0, self.num_nodes, (draw,), generator=self._generator)
            pairs = torch.stack([torch.minimum(u, v), torch.maximum(u, v)])
            pairs = pairs[:, pairs[0] != pairs[1]]
            keys = pairs[0] * self.num_nodes + pairs[1]
            if self._excluded is not None:
                ok = ~torch.isin(keys, self._excluded)
                pairs, keys = pairs[:, ok], keys[ok]
            if unique:
                keys, first = _first_occurrence(keys)
                pairs = pairs[:, first]
                if seen is not None:
                    fresh = ~torch.isin(keys, seen)
                    pairs, keys = pairs[:, fresh], keys[fresh]
                seen = keys if seen is None else torch.cat([seen, keys])
            chunks.append(pairs)
            total += pairs.size(1)
        return torch.cat(chunks, dim=1)[:, :count]


def _first_occurrence(keys: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Keys without repeats and the positions of their first occurrence, in draw order."""
    unique, inverse = torch.unique(keys, return_inverse=True)
    first = torch.full((unique.numel(),), keys.numel(), dtype=torch.long)
    first.scatter_reduce_(0, inverse, torch.arange(keys.numel()), reduce="amin")
    first = torch.sort(first).values
    return keys[first], first
