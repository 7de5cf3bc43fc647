"""Output divergences between two models: KL, JS, activation distance and the ZRF score.

All functions take softmax outputs of two models on the same inputs, one row per example
(a 1-D array is one example). A NaN in the inputs (e.g. from a model whose training
diverged) makes the result NaN rather than an error, so one broken model does not stop an
audit of many. They measure how differently the two models answer: an
unlearned model is compared with the gold model (retrained without the forget data) or
with a randomly initialised, "incompetent" network of the same architecture.

Reference: Chundawat, Tarun, Mandal, Kankanhalli, "Can Bad Teaching Induce Forgetting?
Unlearning in Deep Networks using an Incompetent Teacher", AAAI 2023 (activation distance,
JS divergence, ZRF). Where the paper's published evaluation code computes a variant, the
function takes ``compat="respai"`` to reproduce that variant's numbers.
"""

from __future__ import annotations

import math

import numpy as np

from obliviate.core.errors import InvalidParameterError

COMPATS = (None, "respai")

# Softmax rows sum to 1 within ~1e-6 in float32 (~1e-3 in float16); 1e-2 still tells
# logits and unnormalised scores apart.
_ROW_SUM_TOLERANCE = 1e-2


def _as_probs(p: np.ndarray, what: str) -> np.ndarray:
    probs = np.asarray(p, dtype=np.float64)
    if probs.ndim not in (1, 2) or probs.size == 0:
        raise InvalidParameterError(
            f"{what} must be a non-empty 1-D or 2-D array of probabilities (one row per example); "
            f"got shape {probs.shape}"
        )
    # NaN (a diverged model's output) is let through and gives a NaN result; infinities
    # and negative values can only come from passing something other than probabilities.
    if np.isinf(probs).any() or (probs < 0).any():
        raise InvalidParameterError(
            f"{what} holds negative or infinite values: pass softmax probabilities, not logits"
        )
    sums = probs.sum(axis=-1)
    sums = sums[~np.isnan(sums)]
    if sums.size and np.abs(sums - 1.0).max() > _ROW_SUM_TOLERANCE:
        raise InvalidParameterError(
            f"{what} rows must sum to 1 (found sums from {sums.min():.4g} to {sums.max():.4g}): "
            "pass softmax probabilities, not logits or scores"
        )
    return probs


def _pair(p: np.ndarray, q: np.ndarray, name: str) -> tuple[np.ndarray, np.ndarray]:
    p, q = _as_probs(p, f"{name}: first argument"), _as_probs(q, f"{name}: second argument")
    if p.shape != q.shape:
        raise InvalidParameterError(f"{name} needs equal shapes; got {p.shape} and {q.shape}")
    return p, q


def _nan_rows(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    return np.isnan(p).any(axis=-1) | np.isnan(q).any(axis=-1)


def _check_compat(compat: str | None) -> None:
    if compat not in COMPATS:
        raise InvalidParameterError(f"compat must be one of {COMPATS}; got {compat!r}")


def kl_divergence(p: np.ndarray, q: np.ndarray, eps: float = 1e-12) -> np.ndarray:
    """Row-wise Kullback–Leibler divergence, in nats.

    ``KL(p || q) = sum_c p_c log(p_c / q_c)``, with ``0 log 0 = 0``. Where ``q_c = 0`` but
    ``p_c > 0`` the true value is infinite; here ``q_c`` is clipped to ``eps`` so the result
    stays finite (large).

    Args:
        p, q: probability rows of equal shape.
        eps: floor applied to ``q`` inside the logarithm.

    Returns:
        One divergence per row (a 0-d array for 1-D inputs).

    Raises:
        InvalidParameterError: for mismatched shapes or inputs that are not probabilities.
    """
    p, q = _pair(p, q, "kl_divergence")
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(p > 0, p * (np.log(np.where(p > 0, p, 1.0)) - np.log(np.clip(q, eps, None))), 0.0)
    return np.where(_nan_rows(p, q), np.nan, terms.sum(axis=-1))


def js_divergence(p: np.ndarray, q: np.ndarray, *, compat: str | None = None) -> float:
    """Mean Jensen–Shannon divergence between the rows of two probability matrices.

    Default (textbook): ``JS(p, q) = KL(p || m)/2 + KL(q || m)/2`` with ``m = (p + q)/2``,
    in nats, so each row's value lies in ``[0, log 2]``; the mean over rows is returned.
    It equals the square of ``scipy.spatial.distance.jensenshannon(p, q)``.

    ``compat="respai"`` reproduces the ``JSDiv`` of the Bad Teacher code (Chundawat et al.,
    AAAI 2023): ``0.5 * F.kl_div(log p, m) + 0.5 * F.kl_div(log q, m)`` with PyTorch's
    default ``reduction="mean"``. ``F.kl_div(input, target)`` sums
    ``target * (log target - input)``, so the code measures ``KL(m || p)`` and ``KL(m || q)``
    (the reverse of the textbook terms), and ``"mean"`` divides by rows *and* classes, so
    the value shrinks with the number of classes. It is infinite when one distribution has
    a zero where the other does not. Where both are exactly zero the published code gives
    NaN (``0 * -inf``); here that class contributes its limit, 0.

    Args:
        p, q: probability rows of equal shape (e.g. softmax outputs of two models).
        compat: ``None`` for the textbook value, ``"respai"`` for the published variant.

    Returns:
        The mean divergence, a float.

    Raises:
        InvalidParameterError: for an unknown ``compat``, mismatched shapes or inputs that
            are not probabilities.
    """
    _check_compat(compat)
    p, q = _pair(p, q, "js_divergence")
    if _nan_rows(p, q).any():
        return math.nan
    m = (p + q) / 2.0
    with np.errstate(divide="ignore", invalid="ignore"):
        if compat == "respai":
            log_m = np.log(np.where(m > 0, m, 1.0))
            term_p = np.where(m > 0, m * (log_m - np.log(p)), 0.0)
            term_q = np.where(m > 0, m * (log_m - np.log(q)), 0.0)
            return float(0.5 * term_p.mean() + 0.5 * term_q.mean())
        # m_c > 0 wherever p_c > 0 or q_c > 0, so the ratios below are always defined.
        safe_m = np.where(m > 0, m, 1.0)
        kl_pm = np.where(p > 0, p * np.log(np.where(p > 0, p, 1.0) / safe_m), 0.0).sum(axis=-1)
        kl_qm = np.where(q > 0, q * np.log(np.where(q > 0, q, 1.0) / safe_m), 0.0).sum(axis=-1)
    return float(np.mean(0.5 * kl_pm + 0.5 * kl_qm))


def activation_distance(p: np.ndarray, q: np.ndarray) -> float:
    """Mean L2 distance between two models' output probability vectors on the same inputs.

    ``AD = (1/n) sum_i || p_i - q_i ||_2`` (Chundawat et al., AAAI 2023). Zero means the
    two models answer identically; the largest possible value is ``sqrt(2)`` (two different
    one-hot answers).

    Args:
        p, q: probability rows of equal shape.

    Returns:
        The mean distance, a float.

    Raises:
        InvalidParameterError: for mismatched shapes or inputs that are not probabilities.
    """
    p, q = _pair(p, q, "activation_distance")
    return float(np.linalg.norm(p - q, axis=-1).mean())


def zrf_score(model_probs: np.ndarray, incompetent_probs: np.ndarray, *, compat: str | None = None) -> float:
    """Zero Retrain Forgetting score (Chundawat et al., AAAI 2023).

    ``ZRF = 1 - (1/n_f) sum_i JS(M(x_i), T_d(x_i))`` over the forget set, where ``T_d`` is
    a randomly initialised network of the same architecture (the incompetent teacher).
    Near 1: the model answers on the forget set as randomly as an untrained network. With
    the textbook JS in nats the score lies in ``[1 - log 2, 1]``.

    ``compat="respai"`` gives ``1 - js_divergence(..., compat="respai")``: the published
    ``UnLearningScore`` concatenates the forget-set outputs of every batch and calls its
    ``JSDiv`` once on the whole set (no per-batch averaging).

    Args:
        model_probs: softmax outputs of the audited model on the forget set.
        incompetent_probs: softmax outputs of the incompetent network on the same inputs.
        compat: ``None`` (textbook) or ``"respai"`` (published code).

    Returns:
        The score, a float.

    Raises:
        InvalidParameterError: as :func:`js_divergence`.
    """
    return 1.0 - js_divergence(model_probs, incompetent_probs, compat=compat)
