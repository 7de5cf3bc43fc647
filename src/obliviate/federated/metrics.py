"""Audit metrics specific to federated unlearning: backdoor success and a shadow-style MIA.

* :func:`backdoor_success` — attack success rate (Gu et al., BadNets, 2017): among test
  images whose true class is not the target, the fraction a model sends to the target
  class once the trigger is stamped on them. A model that never saw the trigger scores
  about the rate at which it confuses those images with the target anyway; that, the
  gold model's value, is what unlearning should bring the score down to.
* :func:`sorted_softmax_mia` — the membership-inference attack used to evaluate
  FedEraser (Liu et al., IWQoS 2021) and ConDa, after Shokri et al. (S&P 2017): each
  example is described by the model's softmax vector sorted in decreasing order (so the
  attack learns confidence, not class identity); a classifier is fitted to tell known
  members (label 1) from known non-members (label 0), then asked about the forgotten
  clients' data against other unseen data. Reported as attack accuracy on a balanced
  set and ROC AUC; gold's values are the reference (0.5 means no membership signal).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from obliviate.core.errors import InvalidRequestError
from obliviate.core.training import predict_logits
from obliviate.federated.data import Backdoor


def backdoor_success(model: nn.Module, images: np.ndarray, labels: np.ndarray, backdoor: Backdoor) -> float:
    """Fraction of triggered non-target test images that ``model`` classifies as the target.

    Args:
        model: the model under audit.
        images: clean test images ``(n, C, H, W)``.
        labels: their true classes.
        backdoor: the trigger and target class.

    Returns:
        The attack success rate in [0, 1].

    Raises:
        InvalidRequestError: when no test image has a class other than the target.
    """
    keep = np.asarray(labels) != backdoor.target
    if not keep.any():
        raise InvalidRequestError("backdoor_success needs test images of classes other than the target")
    triggered = torch.from_numpy(backdoor.apply(np.asarray(images)[keep]).astype(np.float32))
    predictions = predict_logits(model, triggered).argmax(dim=1).numpy()
    return float((predictions == backdoor.target).mean())


def sorted_features(probs: np.ndarray) -> np.ndarray:
    """Softmax rows sorted in decreasing order (the attack's features)."""
    return -np.sort(-np.asarray(probs, dtype=np.float64), axis=1)


def sorted_softmax_mia(
    member_probs: np.ndarray,
    nonmember_probs: np.ndarray,
    target_probs: np.ndarray,
    holdout_probs: np.ndarray,
    *,
    max_per_side: int = 2000,
    seed: int = 0,
) -> tuple[float, float]:
    """Membership attack on sorted softmax vectors: accuracy and AUC on the target set.

    The attack model, ``HistGradientBoostingClassifier`` (scikit-learn), is fitted on
    balanced samples of ``member_probs`` (label 1) and ``nonmember_probs`` (label 0). It is
    evaluated on ``target_probs`` (the data whose membership is in question, label 1) and
    as many ``holdout_probs`` rows (unseen data, label 0), both sampled to the same size.

    Args:
        member_probs: softmax outputs on known training members.
        nonmember_probs: softmax outputs on known non-members (not used for evaluation).
        target_probs: softmax outputs on the forgotten data.
        holdout_probs: softmax outputs on other unseen data.
        max_per_side: at most this many rows per side when fitting (seeded sample).
        seed: seeds the samples and the classifier.

    Returns:
        ``(accuracy, auc)`` of the attack on the balanced evaluation set.

    Raises:
        InvalidRequestError: when a side has fewer than two rows.
    """
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.metrics import roc_auc_score

    sides = {"member": member_probs, "non-member": nonmember_probs, "target": target_probs, "holdout": holdout_probs}
    for name, rows in sides.items():
        if len(rows) < 2:
            raise InvalidRequestError(f"sorted_softmax_mia needs at least two {name} rows; got {len(rows)}")
    rng = np.random.default_rng(seed)
    fit_count = min(len(member_probs), len(nonmember_probs), max_per_side)
    members = sorted_features(member_probs)[rng.choice(len(member_probs), fit_count, replace=False)]
    others = sorted_features(nonmember_probs)[rng.choice(len(nonmember_probs), fit_count, replace=False)]
    attack = HistGradientBoostingClassifier(max_iter=100, random_state=seed)
    attack.fit(np.concatenate([members, others]), np.concatenate([np.ones(fit_count), np.zeros(fit_count)]))
    eval_count = min(len(target_probs), len(holdout_probs))
    targets = sorted_features(target_probs)[rng.choice(len(target_probs), eval_count, replace=False)]
    holdout = sorted_features(holdout_probs)[rng.choice(len(holdout_probs), eval_count, replace=False)]
    features = np.concatenate([targets, holdout])
    truth = np.concatenate([np.ones(eval_count), np.zeros(eval_count)])
    accuracy = float((attack.predict(features) == truth).mean())
    auc = float(roc_auc_score(truth, attack.predict_proba(features)[:, 1]))
    return accuracy, auc
