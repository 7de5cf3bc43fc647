"""Audit figures specific to graphs: link-prediction AUC/AUP, deleted-edge AUC, MI ratio.

* :func:`link_scores` — ROC AUC and average precision (AUP) of link logits on positive
  against negative pairs (the standard link-prediction evaluation, e.g. GNNDelete's
  ``dt_auc``/``dt_aup``).
* :func:`deleted_edge_auc` (ours, ``deleted_auc``) — ROC AUC with the deleted edges as the
  positive class and one seeded draw of as many retained training edges as the negative
  class. A model that still treats deleted edges as it treats edges it trained on scores
  about 0.5; a model that never saw them scores them like unseen edges, below the trained
  ones, so the AUC falls below 0.5. The gold model (retrained without them) is the
  reference: lower than the original is forgetting, far below gold is over-forgetting.
* :func:`df_scores` (GNNDelete's convention, ``df_auc``/``df_aup``; Cheng et al., ICLR 2023,
  evaluation of ``mims-harvard/GNNDelete``) — the deleted edges ``Df`` are labelled **0** and
  ``|Df|`` retained training edges labelled **1**; ROC AUC and average precision are
  averaged over 500 seeded draws of the retained edges. On one draw ``df_auc`` is
  ``1 - deleted_auc``: higher means more forgotten.
* :func:`gnndelete_mi_ratio` (GNNDelete's MI ratio, ``mi_ratio``) with
  :class:`EdgeMembershipAttack` — one attack model, an MLP on the concatenated node
  embeddings ``[z_u, z_v]`` (``2d -> d -> d/2 -> 2``), trained on a *shadow* model (same
  architecture trained on the held-out test edges): present pairs (label 1) are the
  shadow's training edges and their non-edges, absent pairs (label 0) the validation
  edges and non-edges, the target's training edges and as many further non-edges. The
  same attack scores the deleted edges under the original model (before) and under the
  unlearned model (after), both on the graph left after the deletion, and the ratio is the
  per-edge mean ``mean_e P_after(present | e) / P_before(present | e)``. The original
  scores 1; below 1 means the deleted edges look less present than before.
* :func:`membership_probability` and :func:`membership_ratio` (ours, ``mi_ratio_ours``) — an
  attack fitted per model on that model's own logits (a logistic regression telling its
  training edges from held-out true edges); ``ratio = P_before / P_after`` of the mean
  membership probability of the deleted edges. The original scores 1; higher means the
  deleted edges look less like training edges, and gold is the reference. Using each
  model's own logits keeps the figure comparable across independently trained models such
  as gold.
"""

from __future__ import annotations

import numpy as np
import torch

from obliviate.core.errors import InvalidRequestError


def _numpy(values: torch.Tensor | np.ndarray) -> np.ndarray:
    if isinstance(values, torch.Tensor):
        return values.detach().cpu().double().numpy()
    return np.asarray(values, dtype=np.float64)


def link_scores(pos_logits: torch.Tensor | np.ndarray, neg_logits: torch.Tensor | np.ndarray) -> tuple[float, float]:
    """``(AUC, AUP)`` of logits on positive pairs (label 1) against negative pairs (label 0).

    Raises:
        InvalidRequestError: when either side is empty.
    """
    from sklearn.metrics import average_precision_score, roc_auc_score

    pos, neg = _numpy(pos_logits), _numpy(neg_logits)
    if pos.size == 0 or neg.size == 0:
        raise InvalidRequestError("link scores need at least one positive and one negative pair")
    labels = np.concatenate([np.ones(pos.size), np.zeros(neg.size)])
    scores = np.concatenate([pos, neg])
    return float(roc_auc_score(labels, scores)), float(average_precision_score(labels, scores))


def deleted_edge_auc(deleted_logits: torch.Tensor | np.ndarray, retained_logits: torch.Tensor | np.ndarray) -> float:
    """ROC AUC of deleted edges (label 1) against retained training edges (label 0).

    ``P(logit(deleted) > logit(retained))``: 0.5 when the model cannot tell them apart.
    """
    return link_scores(deleted_logits, retained_logits)[0]


def membership_probability(
    member_logits: torch.Tensor | np.ndarray,
    nonmember_logits: torch.Tensor | np.ndarray,
    query_logits: torch.Tensor | np.ndarray,
    *,
    max_per_side: int = 2000,
    seed: int = 0,
) -> float:
    """Mean membership probability of ``query`` pairs under a logistic attack on the logit.

    The attack ``P(member | l) = sigmoid(a * l + b)`` is fitted on a balanced, seeded sample
    of member logits (label 1) and non-member logits (label 0).

    Raises:
        InvalidRequestError: when a side is empty.
    """
    from sklearn.linear_model import LogisticRegression

    members, others, query = _numpy(member_logits), _numpy(nonmember_logits), _numpy(query_logits)
    if members.size == 0 or others.size == 0 or query.size == 0:
        raise InvalidRequestError("the membership attack needs members, non-members and queries")
    rng = np.random.default_rng(seed)
    count = min(members.size, others.size, max_per_side)
    features = np.concatenate(
        [members[rng.choice(members.size, count, replace=False)], others[rng.choice(others.size, count, replace=False)]]
    )[:, None]
    targets = np.concatenate([np.ones(count), np.zeros(count)])
    attack = LogisticRegression().fit(features, targets)
    return float(attack.predict_proba(query[:, None])[:, 1].mean())


def membership_ratio(before: float, after: float, *, eps: float = 1e-6) -> float:
    """``before / after``: membership probability of the deleted edges under the original
    model divided by that under the unlearned model."""
    return float(before / max(after, eps))


def df_scores(
    deleted_logits: torch.Tensor | np.ndarray,
    retained_logits: torch.Tensor | np.ndarray,
    *,
    draws: int = 500,
    seed: int = 0,
) -> tuple[float, float]:
    """GNNDelete's ``(df_auc, df_aup)``: deleted edges labelled 0 against retained edges labelled 1.

    For each of ``draws`` seeded draws of ``k = min(|Df|, |retained|)`` retained edges
    (without replacement), with ``d`` the deleted scores and ``r`` the drawn retained ones:

    * ``AUC = (1 / (k |Df|)) sum_{i, j} [r_i > d_j] + 0.5 [r_i = d_j]`` (Mann-Whitney);
    * ``AP = (1 / k) sum_i TP(s >= r_i) / (TP(s >= r_i) + FP(s >= r_i))``, the precision at
      each positive's threshold, ties counted together (what ``sklearn``'s
      ``average_precision_score`` computes);

    and both are averaged over the draws. Scores may be logits or probabilities (both are
    rank statistics).

    Raises:
        InvalidRequestError: when either side is empty or ``draws < 1``.
    """
    deleted, retained = _numpy(deleted_logits), _numpy(retained_logits)
    if deleted.size == 0 or retained.size == 0:
        raise InvalidRequestError("df_auc/df_aup need at least one deleted and one retained edge")
    if draws < 1:
        raise InvalidRequestError(f"draws must be at least 1; got {draws}")
    k = min(deleted.size, retained.size)
    rng = np.random.default_rng(seed)
    picks = np.stack([rng.choice(retained.size, k, replace=False) for _ in range(draws)])
    d_sorted = np.sort(deleted)
    below = np.searchsorted(d_sorted, retained, side="left")  # deleted scores < r
    ties = np.searchsorted(d_sorted, retained, side="right") - below
    auc = ((below + 0.5 * ties)[picks].sum(axis=1) / (k * deleted.size)).mean()
    drawn = np.sort(retained[picks], axis=1)  # ascending per draw
    index = np.broadcast_to(np.arange(k), drawn.shape)
    starts = np.where(np.concatenate([np.ones((draws, 1), bool), drawn[:, 1:] != drawn[:, :-1]], axis=1), index, 0)
    true_pos = k - np.maximum.accumulate(starts, axis=1)  # drawn retained scores >= r_i
    false_pos = deleted.size - np.searchsorted(d_sorted, drawn, side="left")  # deleted scores >= r_i
    aup = (true_pos / (true_pos + false_pos)).mean(axis=1).mean()
    return float(auc), float(aup)


class EdgeMembershipAttack(torch.nn.Module):
    """GNNDelete's link membership attack: an MLP ``2d -> d -> d/2 -> 2`` (ReLU) on ``[z_u, z_v]``.

    Class 1 is *present* (a pair the attacked model trained on), class 0 *absent*.
    """

    def __init__(self, width: int):
        super().__init__()
        if width < 2:
            raise InvalidRequestError(f"the membership attack needs node embeddings of width >= 2; got {width}")
        self.net = torch.nn.Sequential(
            torch.nn.Linear(2 * width, width),
            torch.nn.ReLU(),
            torch.nn.Linear(width, width // 2),
            torch.nn.ReLU(),
            torch.nn.Linear(width // 2, 2),
        )

    @staticmethod
    def features(z: torch.Tensor, pairs: torch.Tensor) -> torch.Tensor:
        """``[z_u, z_v]`` for each ``(2, k)`` pair, as float32 on the CPU."""
        z = z.detach().float().cpu()
        pairs = pairs.cpu()
        return torch.cat([z[pairs[0]], z[pairs[1]]], dim=1)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.net(features)

    def fit(
        self,
        features: torch.Tensor,
        labels: torch.Tensor,
        *,
        epochs: int = 50,
        lr: float = 0.001,
        batch_size: int = 256,
        seed: int = 0,
    ) -> EdgeMembershipAttack:
        """Cross-entropy training with Adam on shuffled mini-batches (GNNDelete trains 50 epochs)."""
        features, labels = features.float(), labels.long()
        if features.size(0) == 0 or labels.unique().numel() < 2:
            raise InvalidRequestError("the membership attack needs present and absent pairs to train on")
        generator = torch.Generator().manual_seed(seed)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            for layer in self.net:
                if isinstance(layer, torch.nn.Linear):
                    layer.reset_parameters()
        optimizer = torch.optim.Adam(self.parameters(), lr=lr)
        self.train()
        for _ in range(epochs):
            order = torch.randperm(features.size(0), generator=generator)
            for start in range(0, features.size(0), batch_size):
                batch = order[start : start + batch_size]
                loss = torch.nn.functional.cross_entropy(self(features[batch]), labels[batch])
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
        self.eval()
        return self

    @torch.no_grad()
    def present_probability(self, features: torch.Tensor) -> np.ndarray:
        """Per-pair probability of the *present* class (softmax of the two logits)."""
        self.eval()
        return torch.softmax(self(features.float()), dim=1)[:, 1].double().numpy()


def gnndelete_mi_ratio(
    before: torch.Tensor | np.ndarray, after: torch.Tensor | np.ndarray, *, eps: float = 1e-12
) -> float:
    """GNNDelete's MI ratio: ``mean_e P_after(present | e) / P_before(present | e)`` over the
    deleted edges ``e``, with the same attack applied to the original (before) and the
    unlearned model (after). A mean of ratios: edges the attack scored near 0 before weigh
    most, so the figure is heavy-tailed when the attack is confident (the reference's
    formula; ``mi_ratio_ours`` is the ratio of means).

    Raises:
        InvalidRequestError: when the two sides are empty or differ in length.
    """
    p_before, p_after = _numpy(before), _numpy(after)
    if p_before.size == 0 or p_before.shape != p_after.shape:
        raise InvalidRequestError(
            f"the MI ratio needs one probability per deleted edge before and after; got {p_before.size} and {p_after.size}"
        )
    return float(np.mean(p_after / np.maximum(p_before, eps)))
