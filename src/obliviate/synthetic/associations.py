"""Association measures for mixed-type tables, and the whole association matrix at once.

Three measures, one per pair of column kinds (the choice of Zychlinski's ``dython`` package,
which the TabSynDex code uses):

* numeric - numeric: Pearson's correlation
  ``r(x, y) = sum_i (x_i - mean x)(y_i - mean y) / sqrt(sum_i (x_i - mean x)^2 * sum_i (y_i - mean y)^2)``,
  in [-1, 1].
* categorical - numeric: the correlation ratio (Pearson, 1903)
  ``eta(c, y) = sqrt( sum_g n_g (mean_g y - mean y)^2 / sum_i (y_i - mean y)^2 )``, where ``g``
  runs over the categories of ``c``, ``n_g`` is their count and ``mean_g y`` the mean of ``y``
  within category ``g``; in [0, 1], and 0 when the numerator is 0.
* categorical - categorical: Theil's uncertainty coefficient (Theil, 1970)
  ``U(x | y) = (H(x) - H(x | y)) / H(x) = I(x; y) / H(x)``, with ``H(x) = -sum_a p(a) log p(a)``,
  ``H(x | y) = sum_{a,b} p(a, b) log(p(b) / p(a, b))`` and ``I`` the mutual information; in
  [0, 1]: the fraction of the uncertainty about ``x`` that knowing ``y`` removes. It is
  asymmetric. By the ``dython`` convention ``U(x | y) = 1`` when ``H(x) = 0``.

:func:`association_matrix` computes every pair with matrix operations (one ``corrcoef``, one
grouped sum per categorical column, one contingency table per pair of categorical columns)
instead of a Python loop over pairs. Its entry ``[i, j]`` is ``r`` or ``eta`` (symmetric), or
``U(column i | column j)``.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd
from scipy import sparse

from obliviate.core.errors import InvalidRequestError


def pearson(x: Sequence[float], y: Sequence[float]) -> float:
    """Pearson's correlation of two numeric sequences (``nan`` when either is constant).

    ``r = sum_i (x_i - mean x)(y_i - mean y) / sqrt(sum_i (x_i - mean x)^2 sum_i (y_i - mean y)^2)``.
    """
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if x.shape != y.shape or x.ndim != 1:
        raise InvalidRequestError(f"pearson needs two 1-D sequences of one length; got {x.shape} and {y.shape}")
    dx, dy = x - x.mean(), y - y.mean()
    denominator = np.sqrt(np.dot(dx, dx) * np.dot(dy, dy))
    return float(np.dot(dx, dy) / denominator) if denominator > 0 else float("nan")


def correlation_ratio(categories: Sequence, measurements: Sequence[float]) -> float:
    """The correlation ratio ``eta`` of a numeric sequence on a categorical one.

    ``eta = sqrt( sum_g n_g (mean_g - mean)^2 / sum_i (y_i - mean)^2 )`` over the categories
    ``g``; 0 when the numerator is 0 (one category, or equal means).
    """
    codes, _ = pd.factorize(pd.Series(list(categories), dtype=object), use_na_sentinel=False)
    y = np.asarray(measurements, dtype=np.float64)
    if codes.shape != y.shape:
        raise InvalidRequestError("correlation_ratio needs two sequences of one length")
    counts = np.bincount(codes)
    means = np.bincount(codes, weights=y) / counts
    grand = y.mean()
    numerator = float(np.sum(counts * (means - grand) ** 2))
    if numerator == 0.0:
        return 0.0
    return float(np.sqrt(numerator / np.sum((y - grand) ** 2)))


def _entropy(counts: np.ndarray) -> float:
    p = counts[counts > 0] / counts.sum()
    return float(-np.sum(p * np.log(p)))


def theils_u(x: Sequence, y: Sequence) -> float:
    """Theil's uncertainty coefficient ``U(x | y) = (H(x) - H(x | y)) / H(x)`` (1 when ``H(x) = 0``).

    Natural logarithms; the base cancels in the ratio.
    """
    x_codes, _ = pd.factorize(pd.Series(list(x), dtype=object), use_na_sentinel=False)
    y_codes, _ = pd.factorize(pd.Series(list(y), dtype=object), use_na_sentinel=False)
    if x_codes.shape != y_codes.shape:
        raise InvalidRequestError("theils_u needs two sequences of one length")
    h_x = _entropy(np.bincount(x_codes))
    if h_x == 0.0:
        return 1.0
    joint = np.bincount(x_codes * (y_codes.max() + 1) + y_codes).astype(np.float64)
    n = len(x_codes)
    y_counts = np.bincount(y_codes).astype(np.float64)
    pairs = np.nonzero(joint)[0]
    p_xy = joint[pairs] / n
    p_y = y_counts[pairs % (y_codes.max() + 1)] / n
    h_x_given_y = float(np.sum(p_xy * np.log(p_y / p_xy)))
    return (h_x - h_x_given_y) / h_x


def association_block(
    numeric: np.ndarray,
    codes: np.ndarray,
    levels: Sequence[int],
    *,
    constant_as_zero: str = "off_diagonal",
) -> np.ndarray:
    """The association matrix of a table given as a numeric block and a code block.

    Columns are ordered numeric first, then categorical. A column with a single value has no
    defined association: its entries are 0 off the diagonal; its diagonal entry is 1, or 0 as
    well when ``constant_as_zero="all"`` (what ``dython`` returns, and what makes the published
    log-correlation score collapse to 0).

    Args:
        numeric: ``(n, p)`` floats.
        codes: ``(n, q)`` integer codes in ``0..levels[j]-1``.
        levels: the number of categories of each code column.
        constant_as_zero: ``"off_diagonal"`` or ``"all"``.

    Returns:
        ``(p + q, p + q)`` matrix; categorical pairs hold ``U(row column | column column)``.
    """
    n, p = numeric.shape
    q = codes.shape[1]
    size = p + q
    matrix = np.zeros((size, size))
    constant = np.zeros(size, dtype=bool)
    if p:
        spread = numeric.max(axis=0) - numeric.min(axis=0)
        constant[:p] = spread == 0
    counts_per_column = []
    for j in range(q):
        counts = np.bincount(codes[:, j], minlength=int(levels[j])).astype(np.float64)
        counts_per_column.append(counts)
        constant[p + j] = np.count_nonzero(counts) <= 1
    if p > 1:
        with np.errstate(invalid="ignore", divide="ignore"):
            matrix[:p, :p] = np.corrcoef(numeric, rowvar=False)
    elif p == 1:
        matrix[0, 0] = 1.0
    if p and q:
        centred = numeric - numeric.mean(axis=0)
        total = np.einsum("ij,ij->j", centred, centred)
        rows = np.arange(n)
        for j in range(q):
            counts = counts_per_column[j]
            onehot = sparse.csr_matrix((np.ones(n), (rows, codes[:, j])), shape=(n, int(levels[j])))
            sums = np.asarray(onehot.T @ numeric)
            present = counts > 0
            means = sums[present] / counts[present, None]
            numerator = np.sum(counts[present, None] * (means - numeric.mean(axis=0)) ** 2, axis=0)
            with np.errstate(invalid="ignore", divide="ignore"):
                eta = np.where(numerator == 0.0, 0.0, np.sqrt(numerator / np.where(total > 0, total, 1.0)))
            matrix[p + j, :p] = eta
            matrix[:p, p + j] = eta
    if q:
        entropies = np.array([_entropy(c) for c in counts_per_column])
        for a in range(q):
            matrix[p + a, p + a] = 1.0
            for b in range(a + 1, q):
                la, lb = int(levels[a]), int(levels[b])
                joint = np.bincount(codes[:, a] * lb + codes[:, b], minlength=la * lb).astype(np.float64)
                joint = joint.reshape(la, lb)
                nz = joint > 0
                p_ab = joint[nz] / n
                p_a = (counts_per_column[a] / n)[:, None].repeat(lb, axis=1)[nz]
                p_b = (counts_per_column[b] / n)[None, :].repeat(la, axis=0)[nz]
                h_a_given_b = float(np.sum(p_ab * np.log(p_b / p_ab)))
                h_b_given_a = float(np.sum(p_ab * np.log(p_a / p_ab)))
                ha, hb = entropies[a], entropies[b]
                matrix[p + a, p + b] = 1.0 if ha == 0 else (ha - h_a_given_b) / ha
                matrix[p + b, p + a] = 1.0 if hb == 0 else (hb - h_b_given_a) / hb
    matrix = np.where(np.isfinite(matrix), matrix, 0.0)
    np.fill_diagonal(matrix, 1.0)
    matrix[constant, :] = 0.0
    matrix[:, constant] = 0.0
    if constant_as_zero == "off_diagonal":
        matrix[constant, constant] = 1.0
    return matrix


def association_matrix(frame: pd.DataFrame, categorical: Sequence[str] = ()) -> pd.DataFrame:
    """Every pairwise association of a mixed-type table, as a labelled DataFrame.

    Numeric pairs: Pearson's ``r``; categorical-numeric: ``eta``; categorical pairs: Theil's
    ``U(row | column)``. Missing values in a categorical column form their own category;
    numeric columns must be complete. Single-valued columns associate 0 with every other column.

    Raises:
        InvalidRequestError: a non-numeric column not listed as categorical, or missing numbers.
    """
    from obliviate.synthetic._table import TableCodec, as_frame

    frame = as_frame(frame, "the table")
    codec = TableCodec.from_frames(frame, categorical)
    numeric_columns, categorical_columns = codec.numeric, codec.categorical
    matrix = association_block(
        codec.numeric_matrix(frame),
        codec.code_matrix(frame),
        [len(codec.categories[c]) for c in categorical_columns],
    )
    order = numeric_columns + categorical_columns
    labelled = pd.DataFrame(matrix, index=order, columns=order)
    return labelled.loc[codec.columns, codec.columns]
