"""Membership-inference attacks used to check that forgotten data looks unseen.

Three attacks:

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
* :func:`sorted_softmax_mia` — the attack used to evaluate FedEraser (Liu et al., IWQoS
  2021) and ConDa, after Shokri et al. (S&P 2017): each example is described by the
  model's softmax vector sorted in decreasing order (so the attack learns confidence, not
  class identity); a classifier fitted on known members and non-members is asked about the
  forgotten data against other unseen data, reported as balanced accuracy and ROC AUC.
"""

from __future__ import annotations

import math

import numpy as np

from obliviate.core.errors import InvalidParameterError, InvalidRequestError

COMPATS = (None, "respai")


def entropy(probs: np.ndarray, eps: float = 1e-12) -> np.ndarray:
    """Shannon entropy (nats) of each row of a probability matrix.

    ``H(p) = -sum_c p_c log p_c`` with ``0 log 0 = 0`` (equal to ``scipy.stats.entropy``
    on normalised rows).

    Args:
        probs: probability rows (a 1-D array is one row).
        eps: floor inside the logarithm; only affects ``p_c = 0``, whose term is 0 anyway.

    Returns:
        One entropy per row.
    """
    probs = np.asarray(probs, dtype=np.float64)
    return -(probs * np.log(np.clip(probs, eps, None))).sum(axis=-1)


def cross_entropy_per_example(probs: np.ndarray, labels: np.ndarray, eps: float = 1e-12) -> np.ndarray:
    """Per-example cross-entropy ``-log p_y`` of each probability row and its integer label.

    Args:
        probs: ``(n, classes)`` probabilities.
        labels: ``n`` integer labels in ``0..classes-1``.
        eps: floor on ``p_y`` so a zero probability gives a large finite loss, not infinity.

    Returns:
        ``n`` losses in nats.

    Raises:
        InvalidParameterError: for a shape mismatch or a label outside the class range.
    """
    probs = np.asarray(probs, dtype=np.float64)
    labels = np.asarray(labels)
    if probs.ndim != 2 or labels.ndim != 1 or len(labels) != len(probs):
        raise InvalidParameterError(
            f"cross_entropy_per_example needs (n, classes) probabilities and n labels; "
            f"got shapes {probs.shape} and {labels.shape}"
        )
    if labels.size and (labels.min() < 0 or labels.max() >= probs.shape[1]):
        raise InvalidParameterError(
            f"labels must lie in 0..{probs.shape[1] - 1}; got values from {labels.min()} to {labels.max()}"
        )
    labels = labels.astype(np.int64)
    return -np.log(np.clip(probs[np.arange(len(labels)), labels], eps, None))


def entropy_svc_mia(
    retain_probs: np.ndarray,
    test_probs: np.ndarray,
    forget_probs: np.ndarray,
    *,
    max_per_side: int = 2000,
    seed: int = 0,
    compat: str | None = None,
) -> float:
    """Mean membership predicted on the forget set by an entropy-feature SVC.

    The attack model is ``sklearn.svm.SVC(C=3, gamma="auto", kernel="rbf")`` fitted on
    the entropies ``H(p) = -sum_c p_c log p_c`` of retain outputs labelled 1 (members) and
    test outputs labelled 0 (non-members); the score is the fraction of forget examples it
    labels 1 (Chundawat et al., AAAI 2023).

    By default the fit uses a balanced, seeded sample of ``min(n_retain, n_test,
    max_per_side)`` rows per side, so that a retain set much larger than the test set does
    not push the attack towards answering "member" for everything. ``compat="respai"``
    fits on every retain and test row, unbalanced, as the published code does.

    Args:
        retain_probs, test_probs, forget_probs: softmax outputs, one row per example.
        max_per_side: at most this many retain and test rows are used to fit (seeded sample).
        seed: seeds that sample.
        compat: ``None`` (balanced sample) or ``"respai"`` (all rows, as published).

    Returns:
        Fraction of forget examples predicted to be members, in [0, 1]; NaN when any output
        is NaN.

    Raises:
        InvalidRequestError: when any of the three sets is empty.
        InvalidParameterError: for an unknown ``compat``.
    """
    from sklearn.svm import SVC

    if compat not in COMPATS:
        raise InvalidParameterError(f"compat must be one of {COMPATS}; got {compat!r}")
    if len(retain_probs) == 0 or len(test_probs) == 0 or len(forget_probs) == 0:
        raise InvalidRequestError("entropy_svc_mia needs non-empty retain, test and forget outputs")
    forget_entropy = entropy(forget_probs)
    if compat == "respai":
        members, others = entropy(retain_probs), entropy(test_probs)
    else:
        rng = np.random.default_rng(seed)
        count = min(len(retain_probs), len(test_probs), max_per_side)
        members = entropy(retain_probs)[rng.choice(len(retain_probs), count, replace=False)]
        others = entropy(test_probs)[rng.choice(len(test_probs), count, replace=False)]
    features = np.concatenate([members, others])[:, None]
    if np.isnan(features).any() or np.isnan(forget_entropy).any():
        return math.nan  # a model with NaN outputs has no meaningful membership score
    targets = np.concatenate([np.ones(len(members)), np.zeros(len(others))])
    attack = SVC(C=3, gamma="auto", kernel="rbf")
    attack.fit(features, targets)
    return float(attack.predict(forget_entropy[:, None]).mean())


def loss_mia_auc(
    forget_losses: np.ndarray, test_losses: np.ndarray, *, folds: int = 5, seed: int = 0
) -> float:
    """Cross-validated ROC AUC of a logistic attack telling forget from test by their loss.

    A balanced, seeded sample of ``n = min(n_forget, n_test)`` losses per side is labelled
    1 (forget) and 0 (test); a logistic regression on ``log(1 + loss)`` is fitted in
    stratified ``k``-fold cross-validation, and the AUC of its out-of-fold scores is
    returned. Because the feature is one-dimensional and monotone in the loss, this is
    close to the AUC of the raw losses themselves (the loss-threshold attack of Yeom et
    al., CSF 2018) while not assuming the direction of the gap.

    Args:
        forget_losses: per-example losses on the forget set (the candidates for membership).
        test_losses: per-example losses on unseen data.
        folds: stratified folds (reduced when a side is small).
        seed: seeds the balanced subsample and the fold split.

    Returns:
        AUC in [0, 1]; 0.5 means no membership signal. NaN when any loss is NaN.

    Raises:
        InvalidRequestError: with fewer than two losses on a side, or negative or infinite losses.
        InvalidParameterError: for ``folds`` below 2.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    if isinstance(folds, bool) or not isinstance(folds, int) or folds < 2:
        raise InvalidParameterError(f"loss_mia_auc: folds must be an int >= 2; got {folds!r}")

    forget_losses = np.asarray(forget_losses, dtype=np.float64)
    test_losses = np.asarray(test_losses, dtype=np.float64)
    count = min(len(forget_losses), len(test_losses))
    if count < 2:
        raise InvalidRequestError("loss_mia_auc needs at least two forget and two test losses")
    if np.isnan(forget_losses).any() or np.isnan(test_losses).any():
        return math.nan  # a model with NaN outputs has no meaningful membership score
    if np.isinf(forget_losses).any() or np.isinf(test_losses).any():
        raise InvalidRequestError("loss_mia_auc got infinite losses; clip probabilities before taking logs")
    if (forget_losses < 0).any() or (test_losses < 0).any():
        raise InvalidRequestError("loss_mia_auc needs non-negative losses (e.g. per-example cross-entropy)")
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
