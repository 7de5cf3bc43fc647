"""The audit's metrics for class-conditional diffusion: detector scores, KID and the
partial-diffusion curves of "Unlearning or Concealment?" (CCS, CRS, concealment, psi*).

Every function takes plain arrays or tensors; :class:`~obliviate.diffusion.scenario.DiffusionScenario`
generates the images and calls them.
"""

from __future__ import annotations

import math

import numpy as np
import torch

CONCEPT_THRESHOLD = 0.5
"""The concept counts as returned where CCS exceeds this probability."""


def kid(features_x: np.ndarray, features_y: np.ndarray, *, degree: int = 3, subsets: int = 10,
        subset_size: int = 200, seed: int = 0) -> float:
    """Kernel Inception Distance (Bińkowski et al., ICLR 2018) on any features.

    The unbiased estimator of the squared MMD with the polynomial kernel
    ``k(a, b) = (a.b / d + 1)^3`` (``d`` the feature dimension),

        MMD^2 = 1/(m(m-1)) sum_{i!=j} k(x_i, x_j) + 1/(n(n-1)) sum_{i!=j} k(y_i, y_j)
                - 2/(mn) sum_{i,j} k(x_i, y_j),

    averaged over ``subsets`` random subsets of ``min(subset_size, m, n)`` rows of each side
    (as the reference implementation does). Here the features are the concept detector's
    penultimate activations instead of Inception's; 0 means the same distribution (the
    estimate may dip slightly below 0).
    """
    x = np.asarray(features_x, dtype=np.float64)
    y = np.asarray(features_y, dtype=np.float64)
    if len(x) < 2 or len(y) < 2:
        return math.nan
    dim = x.shape[1]
    size = min(subset_size, len(x), len(y))
    rng = np.random.default_rng(seed)
    values = []
    for _ in range(subsets):
        a = x[rng.choice(len(x), size, replace=False)]
        b = y[rng.choice(len(y), size, replace=False)]
        k_aa = (a @ a.T / dim + 1) ** degree
        k_bb = (b @ b.T / dim + 1) ** degree
        k_ab = (a @ b.T / dim + 1) ** degree
        m = size
        values.append(
            (k_aa.sum() - np.trace(k_aa)) / (m * (m - 1))
            + (k_bb.sum() - np.trace(k_bb)) / (m * (m - 1))
            - 2 * k_ab.mean()
        )
    return float(np.mean(values))


def concept_confidence(probabilities: torch.Tensor, concept: int) -> float:
    """CCS at one ``psi``: the mean probability the concept detector gives the forgotten
    class on the attack's images, ``CCS(psi) = 1/n sum_i p(c | a_i(psi))`` (Sharma et al.,
    "Unlearning or Concealment?")."""
    return float(probabilities[:, concept].mean())


def concept_retrieval(attack: torch.Tensor, original: torch.Tensor, unlearned: torch.Tensor,
                      *, compat: str = "default") -> float:
    """CRS at one ``psi``, on feature vectors of the attack's images ``a_i``, the original
    model's images ``o_i`` (``psi = 1``) and the unlearned model's ``u_i`` (``psi = 0``), all
    from the same noise ``i``.

    Default: how much more the attack's outputs resemble the original's than the unlearned
    model's, with plain cosine similarity,

        CRS(psi) = 1/n sum_i [cos(a_i, o_i) - cos(a_i, u_i)]   in [-2, 2],

    which grows as the concept is retrieved (``-(1 - cos(o, u))`` at ``psi = 0``,
    ``+(1 - cos(o, u))`` at ``psi = 1``) and is 0 at every ``psi`` for a model whose images
    equal the original's.

    ``compat="respai"``: the published code's variant, in which the "similarity" is the
    cosine *distance* ``1 - cos(a_i, o_i)`` to the original's images, so that the score
    *decreases* as the attack's images come closer to the original's. It is offered to
    compare with published figures; it is not the default because a retrieval score that
    falls as more of the concept is retrieved ranks a concealing model as the better one.
    """
    cos_o = torch.nn.functional.cosine_similarity(attack, original, dim=1)
    if compat == "respai":
        return float((1 - cos_o).mean())
    if compat != "default":
        from obliviate.core.errors import InvalidParameterError

        raise InvalidParameterError(f"compat must be 'default' or 'respai'; got {compat!r}")
    cos_u = torch.nn.functional.cosine_similarity(attack, unlearned, dim=1)
    return float((cos_o - cos_u).mean())


def curve_mean(psi: np.ndarray, values: np.ndarray) -> float:
    """The average of a curve over ``psi in [0, 1]``: its trapezoidal area ``int_0^1 f(psi) dpsi``."""
    return float(np.trapezoid(np.asarray(values, dtype=float), np.asarray(psi, dtype=float)))


def concealment_score(psi: np.ndarray, ccs: np.ndarray, gold_ccs: np.ndarray) -> float:
    """Signed area between a method's CCS curve and gold's, ``int_0^1 (CCS(psi) - CCS_gold(psi)) dpsi``.

    Positive: the attack brings the concept back sooner than it does for a model that never
    learned it (the concept was concealed, not removed); 0 for gold against itself.
    """
    return curve_mean(psi, np.asarray(ccs, dtype=float) - np.asarray(gold_ccs, dtype=float))


def psi_star(psi: np.ndarray, ccs: np.ndarray, threshold: float = CONCEPT_THRESHOLD) -> float:
    """The smallest ``psi`` of the grid where ``CCS(psi) > threshold`` (the concept returns);
    NaN when it never does."""
    above = np.flatnonzero(np.asarray(ccs) > threshold)
    return float(np.asarray(psi)[above[0]]) if above.size else math.nan
