"""Membership-inference attacks used to check that forgotten data looks unseen.

Three attacks:

* :func:`entropy_svc_mia` — the attack of the Bad Teacher line of work (Chundawat et al.,
  AAAI 2023; Tarun et al., 2023): the entropy of the model's softmax output is the single
  feature of a support-vector classifier fitted to tell retain examples (members, 1) from
  test examples (non-members, 0). The score is the mean membership it predicts on the
  forget set: the original model scores near 1 on forgotten training data, a model that
  never saw it scores near the rate it gives unseen data, and gold is the reference.
* :func:`loss_mia_auc` — the loss-threshold attack (Yeom et al., CSF 2018): the ROC AUC of
  "lower loss means member" on forget examples against same-distribution non-members.
  0.5 means the forget set is indistinguishable from unseen data.
* :func:`sorted_softmax_mia` — the attack used to evaluate FedEraser (Liu et al., IWQoS
  2021) and ConDa, after Shokri et al. (S&P 2017): each example is described by the
  model's softmax vector sorted in decreasing order (so the attack learns confidence, not
  class identity); a classifier fitted on known members and non-members is asked about the
  forgotten data against other unseen data, reported as balanced accuracy and ROC AUC.

**The non-member rule** (:func:`matched_nonmembers`), used by every task's audit: the
non-members an attack compares the forget set with are held-out examples drawn from the
same distribution as the forget set. Concretely they are sampled from held-out data with the
forget set's label proportions: for a forgotten class that is exactly the held-out examples
of that class; for a random forget set it is (up to sampling) all held-out data; for a
forgotten federated client with a skewed label mix it is held-out data with that mix.
Comparing a forgotten class with held-out data of *other* classes would measure the class
shift, not membership: a model that never forgot would look unseen.
"""

from __future__ import annotations

import math

import numpy as np

from obliviate.core.errors import InvalidParameterError, InvalidRequestError

COMPATS = (None, "respai")


def matched_nonmembers(
    forget_labels: np.ndarray,
    pool_labels: np.ndarray,
    *,
    seed: int = 0,
) -> np.ndarray:
    """Indices into a held-out pool whose label mix matches the forget set's (the non-member rule).

    For each class ``c`` with forget share ``p_c = n_c(forget) / n(forget)`` the sample takes
    ``floor(p_c * N)`` pool examples of class ``c`` without replacement, with ``N`` the
    largest size the pool can serve for every class present in the pool. Classes of the
    forget set that the pool lacks are left out (their share is spread over the others).
    A forget set of one class gives every held-out example of that class.

    Args:
        forget_labels: labels of the forget set.
        pool_labels: labels of the held-out pool (test data, held-out nodes, ...).
        seed: seeds the sample.

    Returns:
        Sorted indices into the pool (may be empty when the pool shares no class with the
        forget set).

    Raises:
        InvalidParameterError: for labels that are not one-dimensional.
    """
    forget_labels = np.asarray(forget_labels)
    pool_labels = np.asarray(pool_labels)
    if forget_labels.ndim != 1 or pool_labels.ndim != 1:
        raise InvalidParameterError(
            f"matched_nonmembers needs 1-D label arrays; got shapes {forget_labels.shape} and {pool_labels.shape}"
        )
    classes, counts = np.unique(forget_labels, return_counts=True)
    available = {c: np.flatnonzero(pool_labels == c) for c in classes}
    present = [i for i, c in enumerate(classes) if len(available[c])]
    if not present:
        return np.zeros(0, dtype=np.int64)
    shares = counts[present] / counts[present].sum()
    total = min(len(available[classes[i]]) / share for i, share in zip(present, shares))
    rng = np.random.default_rng(seed)
    chosen = []
    for i, share in zip(present, shares):
        pool = available[classes[i]]
        take = min(len(pool), int(np.floor(share * total + 1e-9)))
        chosen.append(pool if take == len(pool) else rng.choice(pool, take, replace=False))
    return np.sort(np.concatenate(chosen)).astype(np.int64)


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
    forget_losses: np.ndarray,
    test_losses: np.ndarray,
    *,
    attack: str = "threshold",
    folds: int = 5,
    seed: int = 0,
) -> float:
    """ROC AUC of a loss attack telling forget examples (candidates for membership) from
    non-members by their per-example loss.

    Every forget loss is labelled 1 and every non-member loss 0; the non-members should be
    the same-distribution held-out examples of :func:`matched_nonmembers`. AUC does not
    depend on the ratio of the two sides, so every row is kept.

    * ``attack="threshold"`` (default): the loss-threshold attack of Yeom et al. (CSF 2018),
      which calls low-loss examples members; the score is ``AUC(-loss)``, i.e. the
      probability that a random forget example has a lower loss than a random non-member
      (ties count one half). It is 0.5 when forget and non-member losses are exchangeable
      (what retraining gives), above 0.5 when the forget set is still fitted better than
      unseen data, and below 0.5 when unlearning pushed forget losses *above* those of
      unseen data -- itself a membership signal, so the target is gold's value, not 0.
      Deterministic: no fit, no seed.
    * ``attack="logistic"``: a logistic regression on ``log(1 + loss)`` with balanced class
      weights in stratified ``k``-fold cross-validation; the AUC of its out-of-fold scores.
      It does not assume the direction of the gap, but under no signal its out-of-fold
      scores are anti-correlated with the labels (the intercept learnt without a fold leans
      away from that fold), so it reads below 0.5 on small sets.

    Args:
        forget_losses: per-example losses on the forget set.
        test_losses: per-example losses on same-distribution unseen data.
        attack: ``"threshold"`` or ``"logistic"``.
        folds: stratified folds of the logistic attack (reduced when a side is small).
        seed: seeds the fold split of the logistic attack.

    Returns:
        AUC in [0, 1]; NaN when any loss is NaN.

    Raises:
        InvalidRequestError: with fewer than two losses on a side, or negative or infinite losses.
        InvalidParameterError: for an unknown ``attack`` or ``folds`` below 2.
    """
    from sklearn.metrics import roc_auc_score

    if attack not in ("threshold", "logistic"):
        raise InvalidParameterError(f"loss_mia_auc: attack must be 'threshold' or 'logistic'; got {attack!r}")
    if isinstance(folds, bool) or not isinstance(folds, int) or folds < 2:
        raise InvalidParameterError(f"loss_mia_auc: folds must be an int >= 2; got {folds!r}")

    forget_losses = np.asarray(forget_losses, dtype=np.float64)
    test_losses = np.asarray(test_losses, dtype=np.float64)
    count = min(len(forget_losses), len(test_losses))
    if count < 2:
        raise InvalidRequestError(
            f"loss_mia_auc needs at least two forget and two non-member losses; got "
            f"{len(forget_losses)} and {len(test_losses)} (report the attack as not applicable)"
        )
    if np.isnan(forget_losses).any() or np.isnan(test_losses).any():
        return math.nan  # a model with NaN outputs has no meaningful membership score
    if np.isinf(forget_losses).any() or np.isinf(test_losses).any():
        raise InvalidRequestError("loss_mia_auc got infinite losses; clip probabilities before taking logs")
    if (forget_losses < 0).any() or (test_losses < 0).any():
        raise InvalidRequestError("loss_mia_auc needs non-negative losses (e.g. per-example cross-entropy)")
    losses = np.concatenate([forget_losses, test_losses])
    targets = np.concatenate([np.ones(len(forget_losses)), np.zeros(len(test_losses))])
    if attack == "threshold":
        return float(roc_auc_score(targets, -losses))
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    splits = StratifiedKFold(n_splits=min(folds, count), shuffle=True, random_state=seed)
    scores = cross_val_predict(
        LogisticRegression(class_weight="balanced"), np.log1p(losses)[:, None], targets, cv=splits,
        method="predict_proba",
    )[:, 1]
    return float(roc_auc_score(targets, scores))


def membership_auc(
    forget_probs: np.ndarray,
    forget_labels: np.ndarray,
    heldout_probs: np.ndarray,
    heldout_labels: np.ndarray,
    *,
    seed: int = 0,
) -> float:
    """The audit's membership AUC: :func:`loss_mia_auc` on the forget set against the
    same-distribution non-members of :func:`matched_nonmembers` drawn from held-out data.

    Args:
        forget_probs, forget_labels: the model's probabilities on the forget set and its labels.
        heldout_probs, heldout_labels: the same for held-out (never trained on) data.
        seed: seeds the non-member sample.

    Returns:
        The threshold attack's AUC; NaN (not applicable) when the forget set or its
        matched non-members hold fewer than two examples, e.g. a deletion of one record.
    """
    chosen = matched_nonmembers(forget_labels, heldout_labels, seed=seed)
    if min(len(chosen), len(forget_labels)) < 2:
        return math.nan
    heldout_probs, heldout_labels = np.asarray(heldout_probs)[chosen], np.asarray(heldout_labels)[chosen]
    return loss_mia_auc(
        cross_entropy_per_example(forget_probs, forget_labels),
        cross_entropy_per_example(heldout_probs, heldout_labels),
        seed=seed,
    )


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
