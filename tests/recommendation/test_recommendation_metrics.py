"""Ranking metrics against brute-force references on hand-made cases, and the membership attack."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

from obliviate.core.errors import InvalidRequestError
from obliviate.recommendation.metrics import (
    membership_auc,
    metrics_from_hits,
    pair_hits,
    pair_positions,
    rank_metrics,
    ranking_pass,
)


def brute_force(scores: np.ndarray, relevant: dict[int, set], masked: dict[int, set], k: int) -> dict[str, float]:
    """Recall/NDCG/Precision@k and the hit rate, one user at a time, by sorting (MMRec definitions)."""
    recalls, ndcgs, precisions, found_total, relevant_total = [], [], [], 0, 0
    for user, items in relevant.items():
        if not items:
            continue
        candidates = [i for i in range(scores.shape[1]) if i not in masked.get(user, set())]
        ranked = sorted(candidates, key=lambda i: -scores[user, i])[:k]
        hits = [1.0 if i in items else 0.0 for i in ranked]
        found = sum(hits)
        recalls.append(found / len(items))
        precisions.append(found / k)
        dcg = sum(h / math.log2(rank + 2) for rank, h in enumerate(hits))
        idcg = sum(1 / math.log2(rank + 2) for rank in range(min(len(items), k)))
        ndcgs.append(dcg / idcg)
        found_total += found
        relevant_total += len(items)
    return {
        "recall": float(np.mean(recalls)),
        "ndcg": float(np.mean(ndcgs)),
        "precision": float(np.mean(precisions)),
        "hit_rate": found_total / relevant_total,
    }


HAND_SCORES = np.array(
    [
        [0.9, 0.8, 0.7, 0.6, 0.5, 0.4],
        [0.1, 0.2, 0.3, 0.4, 0.5, 0.6],
        [0.5, 0.9, 0.1, 0.8, 0.2, 0.7],
        [0.3, 0.3, 0.9, 0.1, 0.8, 0.2],
    ]
)
HAND_RELEVANT = {0: {1, 4}, 1: {0}, 2: {3, 5, 0}, 3: set()}
HAND_MASK = {0: {0}, 2: {1}}


def _pairs(table: dict[int, set]) -> np.ndarray:
    rows = [(u, i) for u, items in table.items() for i in sorted(items)]
    return np.asarray(rows, dtype=np.int64).reshape(-1, 2)


@pytest.mark.parametrize("k", [1, 2, 3, 5])
def test_ranking_metrics_agree_with_a_brute_force_reference_on_a_hand_made_case(k):
    got = rank_metrics(HAND_SCORES, _pairs(HAND_RELEVANT), k=k, mask=_pairs(HAND_MASK))
    want = brute_force(HAND_SCORES, HAND_RELEVANT, HAND_MASK, k)
    for name in want:
        assert got[name] == pytest.approx(want[name], abs=1e-12), name
    assert got["users"] == 3


def test_hand_made_values_at_k2():
    # user 0 (item 0 masked): top-2 = [1, 2] -> 1 hit of 2; user 1: top-2 = [5, 4] -> 0 of 1;
    # user 2 (item 1 masked): top-2 = [3, 5] -> 2 of 3.
    got = rank_metrics(HAND_SCORES, _pairs(HAND_RELEVANT), k=2, mask=_pairs(HAND_MASK))
    assert got["recall"] == pytest.approx((1 / 2 + 0 + 2 / 3) / 3)
    assert got["precision"] == pytest.approx((1 / 2 + 0 + 2 / 2) / 3)
    assert got["hit_rate"] == pytest.approx(3 / 6)
    assert got["ndcg"] == pytest.approx((1 / (1 + 1 / math.log2(3)) + 0 + 1.0) / 3)


def test_no_relevant_user_gives_nan_not_an_error():
    out = metrics_from_hits(np.zeros((2, 3), dtype=bool), np.zeros(2, dtype=np.int64), 3)
    assert math.isnan(out["recall"]) and out["users"] == 0


class ScoreTable(nn.Module):
    """A 'recommender' that returns a fixed score table (forward only: no score_all)."""

    def __init__(self, scores: np.ndarray):
        super().__init__()
        self.table = nn.Parameter(torch.as_tensor(scores, dtype=torch.float32))
        self.num_items = self.table.shape[1]

    def forward(self, users, items):
        return self.table[users.unsqueeze(-1).expand_as(items) if items.dim() == 2 else users, items]


def test_chunked_ranking_pass_matches_the_reference_on_random_scores():
    rng = np.random.default_rng(0)
    scores = rng.standard_normal((37, 25))
    model = ScoreTable(scores)
    relevant = np.unique(np.stack([rng.integers(0, 37, 120), rng.integers(0, 25, 120)], 1), axis=0)
    mask = np.unique(np.stack([rng.integers(0, 37, 80), rng.integers(0, 25, 80)], 1), axis=0)
    mask = mask[~(mask[:, None, :] == relevant[None]).all(-1).any(1)]
    result = ranking_pass(model, num_users=37, num_items=25, mask=mask, relevant={"r": relevant}, k_max=10, chunk_size=8)
    for k in (5, 10):
        got = metrics_from_hits(result.hits["r"], result.counts["r"], k)
        want = rank_metrics(scores, relevant, k=k, mask=mask)
        for name in ("recall", "ndcg", "precision", "hit_rate"):
            assert got[name] == pytest.approx(want[name], abs=1e-9)


def test_pair_positions_count_the_unmasked_items_scored_above():
    model = ScoreTable(HAND_SCORES)
    pairs = np.array([[0, 4], [2, 0], [1, 5]])
    positions, percentiles = pair_positions(model, pairs, _pairs(HAND_MASK), 6)
    # user 0, item 4: items 1, 2, 3 are above (0 is masked); user 2, item 0: 3, 5 above; user 1, item 5: first.
    assert positions.tolist() == [3, 2, 0]
    assert percentiles.tolist() == pytest.approx([3 / 4, 2 / 4, 0.0])


def test_membership_auc_is_one_for_separated_and_half_for_identical_distributions():
    rng = np.random.default_rng(0)
    members = rng.uniform(0.0, 0.1, 500)
    others = rng.uniform(0.5, 1.0, 500)
    assert membership_auc(members, others) == pytest.approx(1.0)
    same = rng.uniform(0, 1, 2000)
    assert abs(membership_auc(same[:1000], same[1000:]) - 0.5) < 0.05


def test_membership_auc_refuses_a_side_with_fewer_than_two_pairs():
    with pytest.raises(InvalidRequestError, match="at least two"):
        membership_auc(np.array([0.1]), np.array([0.2, 0.3]))


def test_top_k_hits_agree_with_the_counted_positions():
    rng = np.random.default_rng(1)
    model = ScoreTable(rng.standard_normal((30, 40)))
    pairs = np.unique(np.stack([rng.integers(0, 30, 90), rng.integers(0, 40, 90)], 1), axis=0)
    mask = np.stack([np.arange(30), (np.arange(30) * 7) % 40], 1)
    mask = mask[~(mask[:, None, :] == pairs[None]).all(-1).any(1)]
    positions, _ = pair_positions(model, pairs, mask, 40)
    assert (pair_hits(model, pairs, mask, 40, 5) == (positions < 5)).all()
