"""Job functions the methods hand to :func:`obliviate.valuation.parallel.run_jobs`.

They are module-level (picklable) and take the training arrays explicitly, so that a
process or cluster backend can ship them to its workers.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from obliviate.valuation.utility import Utility


def score_subsets(x: np.ndarray, y: np.ndarray, utility: Utility, subsets: Sequence[np.ndarray]) -> tuple[list[float], int]:
    """``[u(S) for S in subsets]`` and the number of models trained."""
    scores, fits = [], 0
    for subset in subsets:
        score, fitted = utility.evaluate(x[subset], y[subset])
        scores.append(score)
        fits += fitted
    return scores, fits


def score_and_probe(
    x: np.ndarray, y: np.ndarray, utility: Utility, subsets: Sequence[np.ndarray], *, correctness: bool
) -> tuple[list[tuple[float, np.ndarray]], int]:
    """For every subset: ``u(S)`` and the fitted model's view of every training point.

    The view is ``p(y_i | x_i)`` (``correctness=False``) or ``1[f(x_i) = y_i]``
    (``correctness=True``); the caller keeps the entries of points outside ``S``.
    """
    out, fits = [], 0
    for subset in subsets:
        model, fitted = utility.fit(x[subset], y[subset])
        fits += fitted
        if correctness:
            view = np.full(len(y), utility.empty_score) if model is None else (model.predict(x) == y).astype(np.float64)
        else:
            view = utility.label_probability(model, x, y)
        out.append((utility.score_model(model), view.astype(np.float32)))
    return out, fits
