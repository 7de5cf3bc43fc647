"""Audit figures specific to graphs: link-prediction AUC/AUP, deleted-edge AUC, MI ratio.

* :func:`link_scores` — ROC AUC and average precision (AUP) of link logits on positive
  against negative pairs (the standard link-prediction evaluation, e.g. GNNDelete's
  ``dt_auc``/``dt_aup``).
* :func:`deleted_edge_auc` — ROC AUC with the deleted edges as the positive class and an
  equal number of retained training edges as the negative class. A model that still
  treats deleted edges as it treats edges it trained on scores about 0.5; a model that
  never saw them scores them like unseen edges, below the trained ones, so the AUC falls
  below 0.5. The gold model (retrained without them) is the reference: lower than the
  original is forgetting, far below gold is over-forgetting.
* :func:`membership_probability` and :func:`membership_ratio` — a link membership-inference
  attack in the spirit of GNNDelete's MI ratio (Cheng et al., ICLR 2023): an attack
  learns, from a model's own logits, to tell its training edges (members) from held-out
  true edges (non-members); its mean membership probability on the deleted edges is
  compared before (original) and after unlearning: ``ratio = P_before / P_after``. The
  original scores 1; higher means the deleted edges look less like training edges, and
  gold is the reference. Our attack is a logistic regression on the logit, fitted per model
  (GNNDelete fits an MLP on embeddings of a shadow model); using each model's own logits
  keeps the figure comparable across independently trained models such as gold.
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
