"""Ranking metrics for recommendation unlearning, computed over full rankings.

For a user ``u`` with relevant items ``T_u`` and a top-``K`` list ``R_u`` (ranked over
every item except the masked ones), with ``hit_r = 1`` when the item at rank ``r`` is in
``T_u``, the definitions follow MMRec (``src/utils/metrics.py``), averaged over users with
``|T_u| > 0``:

* ``Recall@K    = sum_{r<=K} hit_r / |T_u|``
* ``Precision@K = sum_{r<=K} hit_r / K``
* ``NDCG@K      = (sum_{r<=K} hit_r / log2(r + 1)) / (sum_{r<=min(|T_u|, K)} 1 / log2(r + 1))``

and, over interactions rather than users,

* ``HitRate@K   = sum_u |R_u ∩ T_u| / sum_u |T_u|`` (the forget hit rate: how often a
  forgotten item is still in its user's top-``K``);
* the rank percentile of a pair ``(u, i)``: the fraction of ``u``'s candidate items
  scored above ``i`` (0 = first, 1 = last).

The membership attack (:func:`membership_auc`) is score-based (Yeom et al., CSF 2018, as a
threshold attack on the rank percentile): the ROC AUC of telling member pairs from
non-member pairs by ``-percentile``; 0.5 means no membership signal.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Mapping

import numpy as np
import torch
from torch import nn

from obliviate.core.errors import InvalidRequestError
from obliviate.recommendation.models import score_all_items


def _as_pairs(pairs: np.ndarray | torch.Tensor) -> np.ndarray:
    if isinstance(pairs, torch.Tensor):
        pairs = pairs.detach().cpu().numpy()
    return np.asarray(pairs, dtype=np.int64).reshape(-1, 2)


def metrics_from_hits(hits: np.ndarray, counts: np.ndarray, k: int) -> dict[str, float]:
    """Recall@k, NDCG@k, Precision@k and HitRate@k from top-list hits.

    Args:
        hits: ``(users, >=k)`` booleans, ``hits[u, r]`` = the item at rank ``r`` is relevant.
        counts: ``|T_u|`` per user; users with 0 are left out.
        k: cut-off.

    Returns:
        ``{"recall", "ndcg", "precision", "hit_rate", "users"}``; NaN values (and 0 users)
        when no user has a relevant item.
    """
    hits = np.asarray(hits, dtype=bool)
    counts = np.asarray(counts, dtype=np.int64)
    if k > hits.shape[1]:
        raise InvalidRequestError(f"cut-off k={k} exceeds the {hits.shape[1]} ranks computed")
    keep = counts > 0
    if not keep.any():
        return {"recall": math.nan, "ndcg": math.nan, "precision": math.nan, "hit_rate": math.nan, "users": 0}
    top = hits[keep, :k].astype(np.float64)
    relevant = counts[keep].astype(np.float64)
    found = top.sum(axis=1)
    discounts = 1.0 / np.log2(np.arange(2, k + 2))
    dcg = (top * discounts).sum(axis=1)
    ideal = np.cumsum(discounts)[np.minimum(relevant, k).astype(np.int64) - 1]
    return {
        "recall": float((found / relevant).mean()),
        "ndcg": float((dcg / ideal).mean()),
        "precision": float((found / k).mean()),
        "hit_rate": float(found.sum() / relevant.sum()),
        "users": int(keep.sum()),
    }


def rank_metrics(
    scores: np.ndarray | torch.Tensor,
    relevant: np.ndarray | torch.Tensor,
    *,
    k: int,
    mask: np.ndarray | torch.Tensor | None = None,
) -> dict[str, float]:
    """Ranking metrics of a score matrix against relevant pairs (see the module docstring).

    Args:
        scores: ``(users, items)`` scores.
        relevant: ``(n, 2)`` relevant ``(user, item)`` pairs (row indices of ``scores``).
        k: cut-off.
        mask: ``(n, 2)`` pairs removed from the ranking (e.g. training items).

    Returns:
        :func:`metrics_from_hits` of the top-``k`` lists.
    """
    scores = torch.as_tensor(np.asarray(scores), dtype=torch.float64).clone()
    num_users, num_items = scores.shape
    if mask is not None:
        masked = _as_pairs(mask)
        scores[masked[:, 0], masked[:, 1]] = -math.inf
    rel = torch.zeros(num_users, num_items, dtype=torch.bool)
    pairs = _as_pairs(relevant)
    rel[pairs[:, 0], pairs[:, 1]] = True
    top = scores.topk(min(k, num_items), dim=1).indices
    return metrics_from_hits(rel.gather(1, top).numpy(), rel.sum(dim=1).numpy(), k)


class _PairIndex:
    """Pairs grouped by user for slicing contiguous user ranges."""

    def __init__(self, pairs: np.ndarray):
        pairs = _as_pairs(pairs)
        self.order = np.argsort(pairs[:, 0], kind="stable")
        self.pairs = pairs[self.order]

    def counts(self, num_users: int) -> np.ndarray:
        """Pairs per user."""
        return np.bincount(self.pairs[:, 0], minlength=num_users)

    def rows(self, start: int, stop: int) -> slice:
        users = self.pairs[:, 0]
        return slice(int(np.searchsorted(users, start, "left")), int(np.searchsorted(users, stop, "left")))

    def dense(self, start: int, stop: int, num_items: int) -> torch.Tensor:
        block = self.pairs[self.rows(start, stop)]
        out = torch.zeros(stop - start, num_items, dtype=torch.bool)
        out[torch.from_numpy(block[:, 0] - start), torch.from_numpy(block[:, 1])] = True
        return out


@dataclass
class RankingPass:
    """What one scoring pass over the users produced.

    Attributes:
        hits: name -> ``(num_users, k_max)`` hits of the masked top-``k_max`` lists.
        counts: name -> relevant items per user.
        unmasked_hits, unmasked_counts: the same for the rankings with nothing masked.
        percentiles: name -> rank percentile of each pair (in the order given).
        finite: false when the model gave a NaN or infinite score.
    """

    hits: dict[str, np.ndarray] = field(default_factory=dict)
    counts: dict[str, np.ndarray] = field(default_factory=dict)
    unmasked_hits: dict[str, np.ndarray] = field(default_factory=dict)
    unmasked_counts: dict[str, np.ndarray] = field(default_factory=dict)
    percentiles: dict[str, np.ndarray] = field(default_factory=dict)
    finite: bool = True


@torch.no_grad()
def ranking_pass(
    model: nn.Module,
    *,
    num_users: int,
    num_items: int,
    mask: np.ndarray | torch.Tensor,
    relevant: Mapping[str, np.ndarray | torch.Tensor] | None = None,
    unmasked_relevant: Mapping[str, np.ndarray | torch.Tensor] | None = None,
    percentile_pairs: Mapping[str, np.ndarray | torch.Tensor] | None = None,
    k_max: int = 20,
    chunk_size: int = 1024,
) -> RankingPass:
    """Score every user once (in chunks) and collect top-list hits and rank percentiles.

    Candidates for the masked rankings (``relevant`` and ``percentile_pairs``) are all
    items except the user's ``mask`` pairs; ``unmasked_relevant`` ranks every item.

    Args:
        model: the recommender (evaluated in eval mode, without gradients).
        num_users, num_items: index ranges.
        mask: ``(n, 2)`` pairs removed from the masked rankings (training items).
        relevant, unmasked_relevant, percentile_pairs: name -> ``(n, 2)`` pairs.
        k_max: length of the top lists.
        chunk_size: users scored at once (memory only).
    """
    relevant, unmasked_relevant, percentile_pairs = relevant or {}, unmasked_relevant or {}, percentile_pairs or {}
    k_max = min(k_max, num_items)
    device = next((p.device for p in model.parameters()), torch.device("cpu"))
    mask_index = _PairIndex(mask)
    indices = {name: _PairIndex(p) for name, p in {**relevant, **{f"~{n}": p for n, p in unmasked_relevant.items()}}.items()}
    percentile_index = {name: _PairIndex(p) for name, p in percentile_pairs.items()}
    out = RankingPass()
    for name in relevant:
        out.hits[name] = np.zeros((num_users, k_max), dtype=bool)
    for name in unmasked_relevant:
        out.unmasked_hits[name] = np.zeros((num_users, k_max), dtype=bool)
    sorted_percentiles = {name: np.zeros(len(index.pairs)) for name, index in percentile_index.items()}
    for name in relevant:
        out.counts[name] = indices[name].counts(num_users)
    for name in unmasked_relevant:
        out.unmasked_counts[name] = indices[f"~{name}"].counts(num_users)
    candidates_all = torch.as_tensor(num_items - np.bincount(_as_pairs(mask)[:, 0], minlength=num_users))
    was_training = model.training
    model.eval()
    try:
        for start in range(0, num_users, chunk_size):
            stop = min(start + chunk_size, num_users)
            users = torch.arange(start, stop, device=device)
            scores = score_all_items(model, users, num_items).float().cpu()
            if not bool(torch.isfinite(scores).all()):
                out.finite = False
                scores = torch.nan_to_num(scores, nan=0.0, posinf=0.0, neginf=0.0)
            masked_out = mask_index.dense(start, stop, num_items)
            masked = scores.masked_fill(masked_out, -math.inf)
            top = masked.topk(k_max, dim=1).indices if relevant else None
            top_all = scores.topk(k_max, dim=1).indices if unmasked_relevant else None
            for name in relevant:
                rel = indices[name].dense(start, stop, num_items)
                out.hits[name][start:stop] = rel.gather(1, top).numpy()
            for name in unmasked_relevant:
                rel = indices[f"~{name}"].dense(start, stop, num_items)
                out.unmasked_hits[name][start:stop] = rel.gather(1, top_all).numpy()
            candidates = candidates_all[start:stop]
            for name, index in percentile_index.items():
                rows = index.rows(start, stop)
                block = index.pairs[rows]
                if len(block) == 0:
                    continue
                local = torch.from_numpy(block[:, 0] - start)
                own = scores[local, torch.from_numpy(block[:, 1])]
                above = torch.zeros(len(block))
                for piece in range(0, len(block), 2048):
                    part = slice(piece, piece + 2048)
                    above[part] = torch.count_nonzero(masked[local[part]] > own[part, None], dim=1).float()
                sorted_percentiles[name][rows] = (above / (candidates[local] - 1).clamp_min(1)).numpy()
    finally:
        model.train(was_training)
    for name, index in percentile_index.items():
        values = np.empty(len(index.pairs))
        values[index.order] = sorted_percentiles[name]
        out.percentiles[name] = values
    return out


def membership_auc(
    member_percentiles: np.ndarray, nonmember_percentiles: np.ndarray, *, max_per_side: int = 5000, seed: int = 0
) -> float:
    """ROC AUC of a threshold attack on rank percentiles: members are expected to rank higher.

    A balanced, seeded sample of ``n = min(n_members, n_nonmembers, max_per_side)`` pairs
    per side is scored by ``-percentile``; the AUC is that of
    ``sklearn.metrics.roc_auc_score`` with members labelled 1. 0.5: no signal.

    Raises:
        InvalidRequestError: with fewer than two pairs on a side.
    """
    from sklearn.metrics import roc_auc_score

    members = np.asarray(member_percentiles, dtype=np.float64)
    others = np.asarray(nonmember_percentiles, dtype=np.float64)
    count = min(len(members), len(others), max_per_side)
    if count < 2:
        raise InvalidRequestError(
            f"the membership attack needs at least two member and two non-member pairs; got {len(members)} and {len(others)}"
        )
    if np.isnan(members).any() or np.isnan(others).any():
        return math.nan
    rng = np.random.default_rng(seed)
    a = members[rng.choice(len(members), count, replace=False)]
    b = others[rng.choice(len(others), count, replace=False)]
    labels = np.concatenate([np.ones(count), np.zeros(count)])
    return float(roc_auc_score(labels, -np.concatenate([a, b])))


@torch.no_grad()
def masked_user_scores(
    model: nn.Module, users: np.ndarray, mask: np.ndarray | torch.Tensor, num_items: int, *, chunk_size: int = 1024
):
    """Yield ``(chunk_users, scores)`` for sorted ``users`` in chunks, with each user's ``mask``
    pairs set to ``-inf`` (the model in eval mode, no gradients)."""
    users = np.unique(np.asarray(users, dtype=np.int64))
    mask = _as_pairs(mask)
    device = next((p.device for p in model.parameters()), torch.device("cpu"))
    was_training = model.training
    model.eval()
    try:
        for start in range(0, len(users), chunk_size):
            chunk = users[start : start + chunk_size]
            scores = score_all_items(model, torch.as_tensor(chunk, device=device), num_items).float().cpu()
            rows = mask[np.isin(mask[:, 0], chunk)]
            scores[torch.as_tensor(np.searchsorted(chunk, rows[:, 0])), torch.as_tensor(rows[:, 1])] = -math.inf
            yield chunk, scores
    finally:
        model.train(was_training)


def pair_positions(
    model: nn.Module, pairs: np.ndarray | torch.Tensor, mask: np.ndarray | torch.Tensor, num_items: int
) -> tuple[np.ndarray, np.ndarray]:
    """Rank of each ``(user, item)`` pair among the user's unmasked items, scoring only the
    users the pairs name.

    Returns:
        ``(positions, percentiles)``: the number of candidates scored above the pair (0 =
        first; the pair is in the top-``K`` when its position is below ``K``) and that
        number over the candidates other than the pair (0 = first, 1 = last).
    """
    pairs = _as_pairs(pairs)
    positions = np.zeros(len(pairs))
    out = np.zeros(len(pairs))
    if len(pairs) == 0:
        return positions, out
    for chunk, scores in masked_user_scores(model, pairs[:, 0], mask, num_items):
        selected = np.flatnonzero(np.isin(pairs[:, 0], chunk))
        local = torch.as_tensor(np.searchsorted(chunk, pairs[selected, 0]))
        own = scores[local, torch.as_tensor(pairs[selected, 1])]
        candidates = torch.isfinite(scores).sum(dim=1)
        above = torch.zeros(len(selected))
        for piece in range(0, len(selected), 2048):
            part = slice(piece, piece + 2048)
            above[part] = (scores[local[part]] > own[part, None]).sum(dim=1).float()
        positions[selected] = above.numpy()
        out[selected] = (above / (candidates[local] - 1).clamp_min(1)).numpy()
    return positions, out


def pair_hits(
    model: nn.Module, pairs: np.ndarray | torch.Tensor, mask: np.ndarray | torch.Tensor, num_items: int, k: int
) -> np.ndarray:
    """Whether each ``(user, item)`` pair is in its user's top-``k`` among the unmasked items.

    A pair is a hit when its score reaches the user's ``k``-th best unmasked score (one
    ``topk`` per user instead of a comparison with every item; ties count as hits).
    """
    pairs = _as_pairs(pairs)
    hits = np.zeros(len(pairs), dtype=bool)
    if len(pairs) == 0:
        return hits
    k = min(k, num_items)
    for chunk, scores in masked_user_scores(model, pairs[:, 0], mask, num_items):
        selected = np.flatnonzero(np.isin(pairs[:, 0], chunk))
        local = torch.as_tensor(np.searchsorted(chunk, pairs[selected, 0]))
        threshold = scores.topk(k, dim=1).values[:, -1]
        own = scores[local, torch.as_tensor(pairs[selected, 1])]
        hits[selected] = (own >= threshold[local]).numpy()
    return hits
