"""Membership-inference attacks used to check that forgotten data looks unseen.

Two attacks:

* :func:`entropy_svc_mia` — the attack of the Bad Teacher line of work (Chundawat et al.,
  AAAI 2023; Tarun et al., 2023): the entropy of the model's softmax output is the single
  feature of a support-vector classifier fitted to tell retain examples (members, 1) from
  test examples (non-members, 0). The score is the mean membership it predicts on the
  forget set: the original model scores near 1 on forgotten training data, a model that
  never saw it scores near the rate it gives unseen data, and gold is the reference.
* :func:`loss_mia_auc` — a loss-threshold attack (Yeom et al., CSF 2018) in logistic form:
  a logistic regression on the per-example cross-entropy separates forget (members under
  the original model) from test examples; the score is its ROC AUC under stratified
  cross-validation. 0.5 means the forget set is indistinguishable from unseen data.
"""

from __future__ import annotations

import numpy as np

from obliviate.core.errors import InvalidRequestError


def entropy(probs: np.ndarray, eps: float = 1e-12) -> np.ndarray:
    """Shannon entropy (nats) of each row of a probability matrix: ``-sum_c p_c log p_c``."""
    probs = np.asarray(probs, dtype=np.float64)
    return -(probs * np.log(np.clip(probs, eps, None))).sum(axis=1)


def cross_entropy_per_example(probs: np.ndarray, labels: np.ndarray, eps: float = 1e-12) -> np.ndarray:
    """``-log p_y`` for each row of ``probs`` and its integer label ``y``."""
    probs = np.asarray(probs, dtype=np.float64)
    labels = np.asarray(labels, dtype=np.int64)
    return -np.log(np.clip(probs[np.arange(len(labels)), labels], eps, None))


def entropy_svc_mia(
    retain_probs: np.ndarray,
    test_probs: np.ndarray,
    forget_probs: np.ndarray,
    *,
    max_per_side: int = 2000,
    seed: int = 0,
) -> float:
    """Mean membership predicted on the forget set by an entropy-feature SVC.

    The attack model is ``sklearn.svm.SVC(C=3, gamma="auto", kernel="rbf")`` fitted on
    the entropies of (a balanced sample of) retain outputs labelled 1 and test outputs
    labelled 0, as in the published Bad Teacher / UNSIR evaluation code.

    Args:
        retain_probs, test_probs, forget_probs: softmax outputs, one row per example.
        max_per_side: at most this many retain and test rows are used to fit (seeded sample).
        seed: seeds that sample.

    Returns:
        Fraction of forget examples predicted to be members, in [0, 1].
    """
    from sklearn.svm import SVC

    if len(retain_probs) == 0 or len(test_probs) == 0 or len(forget_probs) == 0:
        raise InvalidRequestError("entropy_svc_mia needs non-empty retain, test and forget outputs")
    rng = np.random.default_rng(seed)
    count = min(len(retain_probs), len(test_probs), max_per_side)
    members = entropy(retain_probs)[rng.choice(len(retain_probs), count, replace=False)]
    others = entropy(test_probs)[rng.choice(len(test_probs), count, replace=False)]
    features = np.concatenate([members, others])[:, None]
    targets = np.concatenate([np.ones(count), np.zeros(count)])
    attack = SVC(C=3, gamma="auto", kernel="rbf")
    attack.fit(features, targets)
    return float(attack.predict(entropy(forget_probs)[:, None]).mean())


def loss_mia_auc(
    forget_losses: np.ndarray, test_losses: np.ndarray, *, folds: int = 5, seed: int = 0
) -> float:
    """Cross-validated ROC AUC of a logistic attack telling forget from test by their loss.

    Args:
        forget_losses: per-example losses on the forget set (the candidates for membership).
        test_losses: per-example losses on unseen data.
        folds: stratified folds (reduced when a side is small).
        seed: seeds the balanced subsample and the fold split.

    Returns:
        AUC in [0, 1]; 0.5 means no membership signal.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_predict
    from sklearn.metrics import roc_auc_score

    forget_losses = np.asarray(forget_losses, dtype=np.float64)
    test_losses = np.asarray(test_losses, dtype=np.float64)
    count = min(len(forget_losses), len(test_losses))
    if count < 2:
        raise InvalidRequestError("loss_mia_auc needs at least two forget and two test losses")
    rng = np.random.default_rng(seed)
    a = forget_losses[rng.choice(len(forget_losses), count, replace=False)]
    b = test_losses[rng.choice(len(test_losses), count, replace=False)]
    features = np.log1p(np.concatenate([a, b]))[:, None]
    targets = np.concatenate([np.ones(count), np.zeros(count)])
    splits = StratifiedKFold(n_splits=min(folds, count), shuffle=True, random_state=seed)
    scores = cross_val_predict(
        LogisticRegression(), features, targets, cv=splits, method="predict_proba"
    )[:, 1]
    return float(roc_auc_score(targets, scores))
