"""Full-batch training of graph networks through the one training loop (:func:`obliviate.core.training.fit`).

A graph is one batch: every step runs the network on the whole graph. The loss depends on
the part's objective:

* link prediction: binary cross-entropy of the pair logits, the part's ``pairs`` labelled 1
  and as many freshly sampled non-edges labelled 0 (a new draw every step, seeded);
* node classification: cross-entropy of the logits of the part's labelled ``nodes``.
"""

from __future__ import annotations

from typing import Callable, Iterable

import torch
from torch import nn

from obliviate.core.training import fit
from obliviate.graph.adapters import decode_pairs
from obliviate.graph.data import GraphPart
from obliviate.graph.structure import NegativeSampler


def part_batch(part: GraphPart) -> tuple[torch.Tensor, ...]:
    """The one batch of a part: ``(x, edge_index, pairs, nodes, y)``."""
    return (part.x, part.edge_index, part.pairs, part.nodes, part.y)


def objective_loss(part: GraphPart, *, seed: int) -> Callable[[nn.Module, tuple], torch.Tensor]:
    """The supervised loss of ``part`` as a ``loss_fn(model, batch)`` for :func:`fit`.

    For link prediction the negatives exclude the part's own pairs (the edges this model
    is taught), drawn from a generator seeded with ``seed``.
    """
    if part.objective == "link":
        sampler = NegativeSampler(part.num_nodes, part.pairs.cpu(), seed=seed)

        def link_loss(model: nn.Module, batch: tuple) -> torch.Tensor:
            x, edge_index, pairs = batch[0], batch[1], batch[2]
            z = model(x, edge_index)
            negatives = sampler.sample(pairs.size(1)).to(z.device)
            return link_bce(decode_pairs(model, z, pairs), decode_pairs(model, z, negatives))

        return link_loss

    def node_loss(model: nn.Module, batch: tuple) -> torch.Tensor:
        x, edge_index, nodes, y = batch[0], batch[1], batch[3], batch[4]
        return nn.functional.cross_entropy(model(x, edge_index)[nodes], y[nodes])

    return node_loss


def link_bce(pos_logits: torch.Tensor, neg_logits: torch.Tensor) -> torch.Tensor:
    """Mean binary cross-entropy over positives (label 1) and negatives (label 0)."""
    logits = torch.cat([pos_logits, neg_logits])
    labels = torch.cat([torch.ones_like(pos_logits), torch.zeros_like(neg_logits)])
    return nn.functional.binary_cross_entropy_with_logits(logits, labels)


def train_graph(
    model: nn.Module,
    part: GraphPart,
    *,
    epochs: int,
    lr: float,
    weight_decay: float = 0.0,
    seed: int = 0,
    loss_fn: Callable[[nn.Module, tuple], torch.Tensor] | None = None,
    params: Iterable[torch.nn.Parameter] | None = None,
    progress: bool = False,
    desc: str = "training",
) -> dict:
    """Train ``model`` in place for ``epochs`` full-graph Adam steps on ``part``.

    Args:
        model: a graph network (any module whose ``forward(x, edge_index)`` gives one row per
            node; see :mod:`obliviate.graph.adapters`).
        part: the graph part; its objective picks the default loss.
        epochs: optimizer steps (one per pass over the graph).
        lr, weight_decay: Adam settings.
        seed: seeds the negative sampling.
        loss_fn: a different ``loss_fn(model, batch)``; the batch is :func:`part_batch`.
        params: the parameters to optimise (default: every trainable one).
        progress: show a progress bar.
        desc: progress bar label.

    Returns:
        :func:`fit`'s history (``steps``, ``last_loss``, ``epoch_losses``).
    """
    return fit(
        model,
        [part_batch(part)],
        loss_fn=loss_fn if loss_fn is not None else objective_loss(part, seed=seed),
        epochs=epochs,
        lr=lr,
        weight_decay=weight_decay,
        optimizer="adam",
        seed=seed,
        params=params,
        progress=progress,
        desc=desc,
    )
