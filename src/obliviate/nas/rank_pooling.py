"""Dynamic imaging: approximate rank pooling of a frame sequence into one image.

Bilen, Fernando, Gavves, Vedaldi and Gould, "Dynamic Image Networks for Action Recognition",
CVPR 2016, sec. 3.2. Rank pooling fits a linear ranker ``d`` whose scores ``<d, psi_t>`` grow
with time, where ``psi_t = (1/t) sum_{tau<=t} a_tau`` is the time average of the frames
``a_1..a_T``. One gradient step of the RankSVM objective from ``d = 0`` gives, up to a positive
factor, ``d* = sum_t beta_t psi_t`` with ``beta_t = 2t - T - 1``. Written on the raw frames::

    d* = sum_{t=1}^{T} alpha_t a_t,
    alpha_t = sum_{tau=t}^{T} beta_tau / tau = 2(T - t + 1) - (T + 1)(H_T - H_{t-1}),

with ``H_t = sum_{i=1}^{t} 1/i`` the harmonic numbers (``H_0 = 0``). The coefficients sum to
zero (``sum_t alpha_t = sum_tau beta_tau = 0``), so a constant sequence pools to the zero
image. EmoNAS turns each micro-expression clip into one such dynamic image so that macro and
micro expressions are searched with the same image network.
"""

from __future__ import annotations

import numpy as np

from obliviate.core.errors import DataError, InvalidParameterError


def harmonic_numbers(n: int) -> np.ndarray:
    """``[H_0, H_1, ..., H_n]`` with ``H_0 = 0`` and ``H_t = sum_{i<=t} 1/i``."""
    if n < 0:
        raise InvalidParameterError(f"n must be >= 0; got {n}")
    return np.concatenate([[0.0], np.cumsum(1.0 / np.arange(1, n + 1, dtype=np.float64))])


def rank_pooling_coefficients(length: int) -> np.ndarray:
    """The approximate rank pooling weights ``alpha_1..alpha_T`` of a ``T``-frame sequence.

    ``alpha_t = 2(T - t + 1) - (T + 1)(H_T - H_{t-1})`` (Bilen et al. 2016, eq. 4 and the
    raw-frame form that follows it); see the module docstring for the derivation.

    Raises:
        InvalidParameterError: if ``length < 1``.
    """
    if length < 1:
        raise InvalidParameterError(f"a sequence needs at least one frame; got length {length}")
    harmonic = harmonic_numbers(length)
    t = np.arange(1, length + 1, dtype=np.float64)
    return 2.0 * (length - t + 1) - (length + 1) * (harmonic[length] - harmonic[t.astype(int) - 1])


def dynamic_image(frames: np.ndarray, *, normalise: bool = True) -> np.ndarray:
    """Pool ``frames`` (time first: ``(T, ...)``) into one dynamic image ``sum_t alpha_t a_t``.

    Args:
        frames: a ``(T, H, W)`` or ``(T, C, H, W)`` array, ``T >= 2``.
        normalise: divide by the largest absolute value so the image lies in ``[-1, 1]``
            (a zero image stays zero).

    Returns:
        A float32 array of shape ``frames.shape[1:]``.

    Raises:
        DataError: for fewer than two frames or non-finite values.
    """
    array = np.asarray(frames, dtype=np.float64)
    if array.ndim < 2 or array.shape[0] < 2:
        raise DataError(
            f"a dynamic image needs a sequence of at least 2 frames (time first); got shape {array.shape}"
        )
    if not np.all(np.isfinite(array)):
        raise DataError("the frames contain NaN or infinite values")
    coefficients = rank_pooling_coefficients(array.shape[0])
    image = np.tensordot(coefficients, array, axes=(0, 0))
    if normalise:
        scale = float(np.max(np.abs(image)))
        # float64 rounding leaves ~1e-13 on a constant clip; treat it as the zero image
        if scale <= 1e-9 * max(1.0, float(np.max(np.abs(array)))):
            return np.zeros_like(image, dtype=np.float32)
        image = image / scale
    return image.astype(np.float32)


def mean_image(frames: np.ndarray) -> np.ndarray:
    """The time average of ``frames``: the order-blind control of :func:`dynamic_image`."""
    array = np.asarray(frames, dtype=np.float64)
    if array.ndim < 2 or array.shape[0] < 1:
        raise DataError(f"a sequence needs at least one frame (time first); got shape {array.shape}")
    return array.mean(axis=0).astype(np.float32)
