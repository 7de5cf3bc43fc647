"""BPR training through the one training loop (:func:`obliviate.core.training.fit`).

Losses follow MMRec (``src/common/loss.py``):

* forward BPR (Rendle et al., UAI 2009): ``L_BPR = -mean log sigmoid(s(u,i) - s(u,j))``
  over training triples ``(u, i, j)``, ``i`` an observed item of ``u`` and ``j`` a
  sampled item ``u`` has not interacted with;
* reverse BPR (MMRecUN, Sinha et al. 2024): ``L_rev = -mean log sigmoid(s(u,j) - s(u,i))``
  over forget triples, which pushes each forgotten item below a sampled unobserved one;
* the L2 regulariser ``reg * (||p_u||^2 + ||q_i||^2 + ||q_j||^2) / B`` on the batch's
  embeddings, where the model offers ``l2_penalty``.

``-log sigmoid(x)`` is computed as ``softplus(-x)`` (the same value, without overflow).
Negatives are drawn uniformly over the catalogue and redrawn (vectorised, a few rounds)
where they hit one of the user's known positives; every batch is drawn from a generator
seeded by ``(seed, epoch)``, so a seed gives the same run.
"""

from __future__ import annotations

from typing import Any, Iterator

import torch
from torch import nn
from torch.nn import functional as F

from obliviate.core.training import fit
from obliviate.recommendation.models import set_graph

RESAMPLE_ROUNDS = 8


def bpr_loss(pos_scores: torch.Tensor, neg_scores: torch.Tensor) -> torch.Tensor:
    """``-mean log sigmoid(s_pos - s_neg)`` (forward BPR)."""
    return F.softplus(neg_scores - pos_scores).mean()


def reverse_bpr_loss(pos_scores: torch.Tensor, neg_scores: torch.Tensor) -> torch.Tensor:
    """``-mean log sigmoid(s_neg - s_pos)`` (reverse BPR of MMRecUN)."""
    return F.softplus(pos_scores - neg_scores).mean()


class PositiveSet:
    """Membership test for ``(user, item)`` pairs (sorted keys ``user * num_items + item``)."""

    def __init__(self, pairs: torch.Tensor, num_items: int):
        pairs = torch.as_tensor(pairs, dtype=torch.long).reshape(-1, 2).cpu()
        self.num_items = int(num_items)
        self.keys = torch.unique(pairs[:, 0] * self.num_items + pairs[:, 1])

    def contains(self, users: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        """Boolean mask: ``(users[k], items[k])`` is a known positive."""
        if self.keys.numel() == 0:
            return torch.zeros_like(users, dtype=torch.bool)
        query = users * self.num_items + items
        position = torch.searchsorted(self.keys, query).clamp_max(self.keys.numel() - 1)
        return self.keys[position] == query


def sample_negatives(users: torch.Tensor, positives: PositiveSet, generator: torch.Generator) -> torch.Tensor:
    """One uniformly drawn item per user outside the user's known positives.

    Hits on a positive are redrawn for up to ``RESAMPLE_ROUNDS`` vectorised rounds (a user
    who has interacted with nearly the whole catalogue may keep a positive).
    """
    num_items = positives.num_items
    items = torch.randint(num_items, users.shape, generator=generator)
    for _ in range(RESAMPLE_ROUNDS):
        bad = positives.contains(users, items)
        if not bool(bad.any()):
            break
        items[bad] = torch.randint(num_items, (int(bad.sum()),), generator=generator)
    return items


class TripleBatches:
    """Re-iterable BPR batches ``(users, positives, negatives)`` over a set of pairs.

    Each iteration (an epoch) shuffles the pairs and draws fresh negatives from a
    generator seeded by ``(seed, epoch)``.

    Args:
        pairs: ``(n, 2)`` ``(user, item)`` pairs.
        exclude: the positives negatives must avoid.
        batch_size: pairs per batch.
        seed: seeds shuffles and negatives.
    """

    def __init__(self, pairs: torch.Tensor, exclude: PositiveSet, *, batch_size: int, seed: int):
        self.pairs = torch.as_tensor(pairs, dtype=torch.long).reshape(-1, 2).cpu()
        self.exclude = exclude
        self.batch_size = int(batch_size)
        self.seed = int(seed)
        self.epoch = 0

    def __len__(self) -> int:
        return -(-len(self.pairs) // self.batch_size)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
        generator = torch.Generator().manual_seed(self.seed * 100_003 + self.epoch)
        self.epoch += 1
        order = torch.randperm(len(self.pairs), generator=generator)
        for start in range(0, len(order), self.batch_size):
            chunk = self.pairs[order[start : start + self.batch_size]]
            users, items = chunk[:, 0], chunk[:, 1]
            yield users, items, sample_negatives(users, self.exclude, generator)


class JointBatches:
    """Re-iterable batches pairing each forget batch with a retain batch (MMRecUN's two terms).

    An epoch is one pass over the forget pairs in batches of ``forget_batch_size``; each
    comes with ``retain_batch_size`` retain pairs drawn at random (without replacement
    within the batch) and negatives for both. Yields
    ``(retain_users, retain_pos, retain_neg, forget_users, forget_pos, forget_neg)``.
    """

    def __init__(
        self,
        retain_pairs: torch.Tensor,
        forget_pairs: torch.Tensor,
        *,
        retain_exclude: PositiveSet,
        forget_exclude: PositiveSet,
        forget_batch_size: int,
        retain_batch_size: int,
        seed: int,
    ):
        self.retain = torch.as_tensor(retain_pairs, dtype=torch.long).reshape(-1, 2).cpu()
        self.forget = torch.as_tensor(forget_pairs, dtype=torch.long).reshape(-1, 2).cpu()
        self.retain_exclude, self.forget_exclude = retain_exclude, forget_exclude
        self.forget_batch_size, self.retain_batch_size = int(forget_batch_size), int(retain_batch_size)
        self.seed = int(seed)
        self.epoch = 0

    def __len__(self) -> int:
        return -(-len(self.forget) // self.forget_batch_size)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, ...]]:
        generator = torch.Generator().manual_seed(self.seed * 100_003 + 7919 + self.epoch)
        self.epoch += 1
        order = torch.randperm(len(self.forget), generator=generator)
        retain_count = min(self.retain_batch_size, len(self.retain))
        for start in range(0, len(order), self.forget_batch_size):
            chunk = self.forget[order[start : start + self.forget_batch_size]]
            picked = self.retain[torch.randperm(len(self.retain), generator=generator)[:retain_count]]
            fu, fp = chunk[:, 0], chunk[:, 1]
            ru, rp = picked[:, 0], picked[:, 1]
            yield (
                ru,
                rp,
                sample_negatives(ru, self.retain_exclude, generator),
                fu,
                fp,
                sample_negatives(fu, self.forget_exclude, generator),
            )


def triple_scores(model: nn.Module, users: torch.Tensor, pos: torch.Tensor, neg: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``(s(u, i), s(u, j))`` from one forward call on ``(B, 2)`` items."""
    scores = model(users, torch.stack([pos, neg], dim=1))
    return scores[:, 0], scores[:, 1]


def l2_term(model: nn.Module, users: torch.Tensor, pos: torch.Tensor, neg: torch.Tensor, reg: float) -> torch.Tensor | float:
    """``reg * model.l2_penalty`` on the batch (0 where the model has no penalty or reg is 0)."""
    penalty = getattr(model, "l2_penalty", None)
    if reg <= 0 or not callable(penalty):
        return 0.0
    return reg * penalty(users, torch.cat([pos, neg]))


def train_bpr(
    model: nn.Module,
    pairs: torch.Tensor,
    *,
    num_items: int,
    epochs: int,
    lr: float,
    batch_size: int,
    reg: float = 0.0,
    exclude: torch.Tensor | None = None,
    graph: torch.Tensor | None = None,
    seed: int = 0,
    progress: bool = False,
    desc: str = "BPR training",
) -> dict[str, Any]:
    """Train ``model`` in place with forward BPR on ``pairs`` (Adam).

    Args:
        model: a recommender (see :mod:`obliviate.recommendation.models`).
        pairs: the ``(user, item)`` pairs it is taught.
        num_items: catalogue size (negatives are drawn from it).
        epochs, lr, batch_size: loop settings.
        reg: L2 weight on the batch embeddings.
        exclude: positives negatives must avoid (default: ``pairs``).
        graph: pairs a graph model propagates over (default: ``pairs``).
        seed: seeds shuffles and negatives.
        progress: show a progress bar.

    Returns:
        :func:`obliviate.core.training.fit`'s history.
    """
    pairs = torch.as_tensor(pairs, dtype=torch.long).reshape(-1, 2)
    set_graph(model, pairs if graph is None else graph)
    positives = PositiveSet(pairs if exclude is None else exclude, num_items)
    batches = TripleBatches(pairs, positives, batch_size=batch_size, seed=seed)

    def loss_fn(net: nn.Module, batch: tuple) -> torch.Tensor:
        users, pos, neg = batch
        pos_scores, neg_scores = triple_scores(net, users, pos, neg)
        return bpr_loss(pos_scores, neg_scores) + l2_term(net, users, pos, neg, reg)

    return fit(model, batches, loss_fn=loss_fn, epochs=epochs, lr=lr, optimizer="adam", seed=seed, progress=progress, desc=desc)
