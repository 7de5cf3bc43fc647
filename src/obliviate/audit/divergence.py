"""Output divergences between two models: JS, KL, activation distance and the ZRF score."""

from __future__ import annotations

import numpy as np

from obliviate.core.errors import InvalidParameterError

COMPATS = (None, "respai")


def _as_probs(p: np.ndarray) -> np.ndarray:
    return np.asarray(p, dtype=np.float64)


def kl_divergence(p: np.ndarray, q: np.ndarray, eps: float = 1e-12) -> np.ndarray:
    """Row-wise Kullback–Leibler divergence ``KL(p || q) = sum_c p_c log(p_c / q_c)`` (nats)."""
    p, q = _as_probs(p), _as_probs(q)
    return (p * (np.log(np.clip(p, eps, None)) - np.log(np.clip(q, eps, None)))).sum(axis=-1)


def js_divergence(p: np.ndarray, q: np.ndarray, *, compat: str | None = None) -> float:
    """Mean Jensen–Shannon divergence between rows of two probability matrices.

    Textbook (default): ``JS(p, q) = KL(p || m)/2 + KL(q || m)/2`` with ``m = (p + q)/2``,
    in nats, so it lies in ``[0, log 2]``; averaged over rows.

    ``compat="respai"`` reproduces the published code of Chundawat et al. (AAAI 2023),
    ``0.5 * F.kl_div(log p, m) + 0.5 * F.kl_div(log q, m)``. ``F.kl_div(input, target)``
    computes ``target * (log target - input)``, so the code measures ``KL(m || p)`` and
    ``KL(m || q)`` (the reverse direction of the textbook terms), and its default
    ``reduction="mean"`` averages over every element, i.e. it also divides by the number of
    classes. Kept so that published numbers can be reproduced.

    Raises:
        InvalidParameterError: for an unknown ``compat`` or mismatched shapes.
    """
    if compat not in COMPATS:
        raise InvalidParameterError(f"compat must be one of {COMPATS}; got {compat!r}")
    p, q = _as_probs(p), _as_probs(q)
    if p.shape != q.shape:
        raise InvalidParameterError(f"js_divergence needs equal shapes; got {p.shape} and {q.shape}")
    m = (p + q) / 2.0
    if compat == "respai":
        with np.errstate(divide="ignore", invalid="ignore"):
            log_m = np.where(m > 0, np.log(np.where(m > 0, m, 1.0)), 0.0)
            term_p = np.where(m > 0, m * (log_m - np.log(p)), 0.0)
            term_q = np.where(m > 0, m * (log_m - np.log(q)), 0.0)
        return float(0.5 * term_p.mean() + 0.5 * term_q.mean())
    return float(np.mean(0.5 * kl_divergence(p, m) + 0.5 * kl_divergence(q, m)))


def activation_distance(p: np.ndarray, q: np.ndarray) -> float:
    """Mean L2 distance between two models' output probability vectors on the same inputs.

    As in Chundawat et al. (AAAI 2023): ``mean_i || p_i - q_i ||_2``. Zero means the
    unlearned model answers exactly as the gold model does.
    """
    p, q = _as_probs(p), _as_probs(q)
    if p.shape != q.shape:
        raise InvalidParameterError(f"activation_distance needs equal shapes; got {p.shape} and {q.shape}")
    return float(np.linalg.norm(p - q, axis=-1).mean())


def zrf_score(model_probs: np.ndarray, incompetent_probs: np.ndarray) -> float:
    """Zero Retrain Forgetting score (Chundawat et al., AAAI 2023).

    ``ZRF = 1 - mean_i JS(model(x_i), incompetent(x_i))`` over the forget set, where the
    incompetent model is a randomly initialised network of the same architecture. Near 1:
    the model answers on the forget set as randomly as an untrained one.
    """
    return 1.0 - js_divergence(model_probs, incompetent_probs)
