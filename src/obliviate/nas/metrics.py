"""Expression-recognition metrics: accuracy, confusion matrix, UAR and UF1.

Micro-expression benchmarks (MEGC 2019 composite protocol; See et al., "MEGC 2019 - the second
facial micro-expressions grand challenge", FG 2019) score leave-one-subject-out predictions
pooled over all folds with two class-balanced figures, for ``C`` classes with per-class counts
``TP_c, FP_c, FN_c`` and ``N_c = TP_c + FN_c`` true samples::

    UF1 = (1/C) sum_c 2 TP_c / (2 TP_c + FP_c + FN_c)      (unweighted F1, = macro F1)
    UAR = (1/C) sum_c TP_c / N_c                            (unweighted recall, = balanced accuracy)

A class absent from both truth and prediction is left out of the average; a class that is
predicted but never true counts with F1 = 0 (as scikit-learn's macro F1 over the union of labels).
"""

from __future__ import annotations

import numpy as np

from obliviate.core.errors import InvalidParameterError


def _pair(y_true, y_pred) -> tuple[np.ndarray, np.ndarray]:
    truth = np.asarray(y_true).astype(np.int64).ravel()
    pred = np.asarray(y_pred).astype(np.int64).ravel()
    if truth.shape != pred.shape:
        raise InvalidParameterError(
            f"y_true and y_pred must have the same length; got {truth.size} and {pred.size}"
        )
    if truth.size == 0:
        raise InvalidParameterError("y_true and y_pred are empty; a metric needs at least one prediction")
    if truth.min() < 0 or pred.min() < 0:
        raise InvalidParameterError("labels must be non-negative class indices")
    return truth, pred


def confusion_matrix(y_true, y_pred, num_classes: int | None = None) -> np.ndarray:
    """``M[i, j]`` = number of samples of true class ``i`` predicted as ``j``."""
    truth, pred = _pair(y_true, y_pred)
    size = int(max(truth.max(), pred.max()) + 1) if num_classes is None else int(num_classes)
    if truth.max() >= size or pred.max() >= size:
        raise InvalidParameterError(f"labels must be below num_classes={size}")
    matrix = np.zeros((size, size), dtype=np.int64)
    np.add.at(matrix, (truth, pred), 1)
    return matrix


def accuracy(y_true, y_pred) -> float:
    """Fraction of correct predictions."""
    truth, pred = _pair(y_true, y_pred)
    return float(np.mean(truth == pred))


def uar(y_true, y_pred) -> float:
    """Unweighted average recall over the classes present in ``y_true`` (= balanced accuracy)."""
    matrix = confusion_matrix(y_true, y_pred)
    support = matrix.sum(axis=1)
    present = support > 0
    return float(np.mean(np.diag(matrix)[present] / support[present]))


def uf1(y_true, y_pred) -> float:
    """Unweighted F1: the mean over classes of ``2TP / (2TP + FP + FN)`` (= macro F1)."""
    matrix = confusion_matrix(y_true, y_pred)
    tp = np.diag(matrix).astype(np.float64)
    fp = matrix.sum(axis=0) - tp
    fn = matrix.sum(axis=1) - tp
    denominator = 2 * tp + fp + fn
    seen = denominator > 0
    return float(np.mean(2 * tp[seen] / denominator[seen]))


def classification_report(y_true, y_pred, num_classes: int) -> dict:
    """Accuracy, UAR, UF1 and the confusion matrix (as nested lists) in one dict."""
    return {
        "accuracy": accuracy(y_true, y_pred),
        "uar": uar(y_true, y_pred),
        "uf1": uf1(y_true, y_pred),
        "confusion": confusion_matrix(y_true, y_pred, num_classes).tolist(),
    }
