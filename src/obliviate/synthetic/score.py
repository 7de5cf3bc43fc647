"""TabSynDex: one score in [0, 1] for how closely a synthetic table follows a real one.

Source: R. K. Chundawat, A. K. Tarun, M. Mandal, M. Lahoti, P. Narang, "TabSynDex: a
universal metric for robust evaluation of synthetic tabular data", IEEE Transactions on
Artificial Intelligence (2023), arXiv:2207.05295, and its published code
(``vikram2000b/tabsyndex``, ``tabsyndex.py``), whose output keys this module keeps.

Notation: ``R`` the real table (``n_R`` rows), ``S`` the synthetic one (``n_S`` rows), ``p``
columns, and the relative error ``e(a, b) = min(1, |a - b| / |a + 10^-6|)``. The score is the
mean of five components, each in [0, 1]::

    score = (basic_score + corr_score + ml_score + sup_score + pmse_score) / 5

* ``basic_score = 1 - (1 / 3m) sum_j [e(mean_j R, mean_j S) + e(std_j R, std_j S) + e(med_j R, med_j S)]``
  over ``m`` columns (population standard deviation).
* ``corr_score = 1 - mean_{i != j} e'(L(A_R[i, j]), L(A_S[i, j]))`` with ``A`` the association
  matrix (Pearson / correlation ratio / Theil's U, see :mod:`.associations`) and the signed
  log ``L(a) = sign(a) log|a|``.
* ``ml_score = 1 - (1 / 2M) sum_models [e(m_R(T_R), m_S(T_R)) + e(m_R(T_S), m_S(T_S))]``: ``M``
  models, each trained once on real data (``m_R``) and once on synthetic data (``m_S``), scored
  (micro-F1 = accuracy, or RMSE for regression) on real (``T_R``) and synthetic (``T_S``) data.
* ``pmse_score = 1.2^(-|1 - pMSE / pMSE_0|)``: a logistic regression tells real rows (label 0)
  from synthetic ones (label 1); ``pMSE = (1/N) sum_i (p_i - c)^2`` with ``c = n_S / N`` the
  share of synthetic rows and ``p_i`` the predicted propensities; ``pMSE_0`` is its expected
  value when the two tables come from one distribution.
* ``sup_score = (1/p) sum_j min(1, (1/K_j) sum_k min(2, rho_jk))`` with the scaled coverage ratio
  ``rho_jk = (n_S,jk / n_R,jk) * n_R / n_S`` over the ``K_j`` non-empty real categories
  (categorical columns) or bins (numeric columns: 20 equal-width bins over the real range, as
  ``pandas.cut``) of each column (published); default ``(1/p) sum_j (1/K_j) sum_k min(1, rho_jk)``.

Two modes
---------
``faithful=True`` reproduces the published code: everything is evaluated in-sample; basic
statistics cover every column (categorical ones by their codes: numeric codes as given, text
categories numbered in sorted order); the association matrix and the
log-ratio are taken as they are, so a zero association (``log 0``) or a single-valued column
makes ``corr_score`` 0; the efficacy models are the published eight (logistic regression,
random forest, decision tree and a 50-50 MLP, or random forest, Lasso, Ridge and ElasticNet for
regression, all with ``random_state=42``) fitted on the published encoding (min-max scaling by
the real table, two-valued categorical columns factorised by order of appearance *in each table
separately*, others one-hot); ``pMSE`` uses the in-sample propensities of a logistic regression
on the min-max-scaled codes, against ``pMSE_0 = (k - 1)(1 - c)^2 c / N`` (Snoke et al., 2018,
for synthetic data drawn from a model fitted to the real data), ``k`` = columns + 1; a real
category absent from the synthetic table raises (the published code fails with ``KeyError``).
A consequence, kept on purpose: two identical tables give ``pMSE = 0`` and ``pmse_score =
1/1.2``. The published code shuffles rows before its pMSE fit without a seed; the fit does not
depend on the order, so it is left out. The target goes last, where the published code's
``target_col=-1`` looks for it.

The default (``faithful=False``) fixes what is unsound there:

* *Held-out evaluation.* Efficacy models are fitted on 70% of each table and scored on the
  other 30% (the published unpruned decision tree scores close to 1 in-sample on any table,
  which hides differences); the propensity model is fitted on half of the pooled rows and ``pMSE`` measured on
  the other half. The fit has a light ridge penalty (``C = 100``: finite when a category
  separates the tables, and little shrinkage, which keeps the null's spread small). Its null
  ``pMSE_0`` is the mean held-out pMSE of the same model refitted on random permutations of the
  real/synthetic labels (the permutation null of Snoke et al., 2018; ``20000 / N_fit``
  permutations, between 3 and 20), which accounts for the penalty; without one it would be close
  to the first-order value ``k c (1 - c) / N_fit``, ``k`` = features + 1 (the variance of a
  fitted logit, ``c^2 (1-c)^2 x' I^-1 x`` averaged over rows, ``I = N_fit c (1-c) E[x x']``),
  also reported. Its features are the min-max-scaled numeric columns, their squares ``(x - 1/2)^2`` and the one-hot
  categorical columns: a main-effects logistic model only sees differences of means, the
  squares let it see differences of spread.
* *A pMSE below its null is not a defect.* ``pmse_score = 1.2^(-max(0, pMSE / pMSE_0 - 1))``:
  a table indistinguishable from the real one, or the real one itself, scores 1, not 1/1.2.
* *Categories are labels, not numbers.* Basic statistics cover the numeric columns (all columns'
  codes only when there is no numeric column); efficacy and propensity models see categorical
  columns one-hot encoded with one shared coding, so a label cannot be flipped between tables.
* *No infinities.* In the signed log, associations below ``corr_floor`` (default 0.01) count as
  ``corr_floor`` (``L(a) = sign(a) log max(|a|, floor)``, and ``L = log floor`` when ``|a| <
  floor``), and the relative error's denominator is at least 1: ``e' = min(1, |L_R - L_S| /
  max(|L_R|, 1))``. Otherwise a real association of exactly 1 (``L = 0``) makes any other value
  a full error, and an exact 0 makes the whole component 0.
* *A missing category scores zero* instead of crashing, and missing values in categorical
  columns are a category of their own.
* *Over-coverage does not make up for missing support.* Each real category or bin counts
  ``min(1, rho)``, not ``min(2, rho)`` with the column mean capped at 1: with the published caps
  a column that doubles half its categories and drops the others scores 1, and Gaussian noise of
  twice each column's spread (half the labels redrawn) *raises* the published support score of
  breast-cancer halves from 0.90 to 1.00 (median of 3 seeds: noise fills the sparse bins). ``details["sup"]["uncovered_bins"]``
  counts, per column, the real categories or bins with no synthetic row.
* *Efficacy models that measure something.* Logistic regression (or Ridge), a depth-10 decision
  tree and a 10-tree random forest, fitted in parallel; the published Lasso and ElasticNet with
  ``alpha=1`` on a target scaled to [0, 1] shrink every coefficient to 0 and predict the mean.
* Tables over ``max_rows`` rows are subsampled (seeded) for the efficacy and propensity fits.
"""

from __future__ import annotations

import copy
import math
import time
import warnings
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np
import pandas as pd

from obliviate.core.errors import InvalidParameterError, InvalidRequestError
from obliviate.core.params import NONE, Interval, Options, validate_params
from obliviate.synthetic._table import TableCodec, as_frame
from obliviate.synthetic.associations import association_block

PUBLISHED_KEYS = ("score", "basic_score", "corr_score", "ml_score", "sup_score", "pmse_score")
COMPONENTS = ("basic_score", "corr_score", "ml_score", "sup_score", "pmse_score")
EPSILON = 1e-6
NUM_BINS = 20
PMSE_C = 100.0
PERMUTATION_ROWS = 20_000

_PARAMETER_CONSTRAINTS: dict[str, list] = {
    "target_type": [Options(["auto", "class", "regr"])],
    "faithful": [Options([True, False])],
    "seed": [Interval(int, 0, None)],
    "n_jobs": [Interval(int, -1, None), NONE],
    "max_rows": [Interval(int, 100, None), NONE],
    "corr_floor": [Interval(float, 0.0, 1.0, closed="neither")],
    "num_bins": [Interval(int, 2, None)],
    "test_fraction": [Interval(float, 0.05, 0.95)],
}


@dataclass(frozen=True)
class TabSynDexResult:
    """The score and its five components, with what was measured along the way.

    Attributes:
        score, basic_score, corr_score, ml_score, sup_score, pmse_score: the published keys.
        faithful: whether the published code's choices were used.
        details: per-component figures (pMSE and its null, per-model efficacy figures, ...).
        seconds: wall time per component and in total.
    """

    score: float
    basic_score: float
    corr_score: float
    ml_score: float
    sup_score: float
    pmse_score: float
    faithful: bool
    details: dict[str, Any] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)

    def to_dict(self, *, details: bool = False) -> dict[str, Any]:
        """The published code's dictionary (``score`` and the five components), plus the mode.

        Args:
            details: also include ``details`` and ``seconds``.
        """
        out: dict[str, Any] = {key: float(getattr(self, key)) for key in PUBLISHED_KEYS}
        out["faithful"] = self.faithful
        if details:
            out["details"] = self.details
            out["seconds"] = dict(self.seconds)
        return out


def relative_error(a: np.ndarray | float, b: np.ndarray | float) -> np.ndarray:
    """The published relative error ``|a - b| / |a + 10^-6|`` (not clipped)."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.abs(a - b) / np.abs(a + EPSILON)


def _one_minus_mean_error(total: float, count: int) -> float:
    """``1 - total / count`` as the published code writes it: 0 when that is not a number in [0, 1]."""
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.float64(total) / np.float64(count) if count else np.float64("nan")
    return float(1.0 - share) if share <= 1.0 else 0.0


def basic_statistics_score(real: np.ndarray, synth: np.ndarray) -> float:
    """``1 - (1/3m) sum_j [e(mean) + e(std) + e(median)]`` over the ``m`` columns of two matrices.

    ``e(a, b) = min(1, |a - b| / |a + 10^-6|)`` of the real statistic ``a`` and the synthetic ``b``;
    ``std`` is the population standard deviation (``ddof=0``).
    """
    real = np.asarray(real, dtype=np.float64)
    synth = np.asarray(synth, dtype=np.float64)
    errors = []
    for statistic in (np.mean, np.std, np.median):
        errors.append(np.clip(relative_error(statistic(real, axis=0), statistic(synth, axis=0)), 0, 1))
    total = float(np.sum(errors))
    return _one_minus_mean_error(total, 3 * real.shape[1])


def signed_log(matrix: np.ndarray, *, floor: float | None = None) -> np.ndarray:
    """``L(a) = sign(a) log|a|``; with ``floor``, ``sign(a) log max(|a|, floor)`` and ``log floor`` below it.

    Without a floor a zero association gives ``0 * log 0 = nan`` (the published behaviour).
    """
    matrix = np.asarray(matrix, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        if floor is None:
            return np.sign(matrix) * np.log(np.abs(matrix))
        magnitude = np.abs(matrix)
        return np.where(magnitude < floor, math.log(floor), np.sign(matrix) * np.log(np.maximum(magnitude, floor)))


def log_correlation_score(
    real_associations: np.ndarray, synth_associations: np.ndarray, *, faithful: bool = False, floor: float = 0.01
) -> float:
    """``1 - mean_{i != j} e'(L(A_R[i, j]), L(A_S[i, j]))`` of two association matrices.

    Faithful: ``L(a) = sign(a) log|a|``, ``e' = min(1, |L_R - L_S| / |L_R + 10^-6|)`` summed over all
    cells and divided by ``p^2 - p``; a ``nan`` anywhere (a zero association) makes the score 0.
    Default: ``L`` floored at ``floor`` (see :func:`signed_log`) and
    ``e' = min(1, |L_R - L_S| / max(|L_R|, 1))`` over the off-diagonal cells.
    """
    size = real_associations.shape[0]
    if faithful:
        log_real, log_synth = signed_log(real_associations), signed_log(synth_associations)
        errors = np.clip(relative_error(log_real, log_synth), 0, 1)
        return _one_minus_mean_error(float(np.sum(errors)), size * size - size)
    log_real = signed_log(real_associations, floor=floor)
    log_synth = signed_log(synth_associations, floor=floor)
    errors = np.minimum(1.0, np.abs(log_real - log_synth) / np.maximum(np.abs(log_real), 1.0))
    off_diagonal = ~np.eye(size, dtype=bool)
    return float(1.0 - errors[off_diagonal].mean())


def pmse_null(n_features: int, share_synthetic: float, n_rows: int, *, held_out: bool) -> float:
    """Expected pMSE of a logistic propensity model when real and synthetic data do not differ.

    In-sample (published, Snoke et al. 2018): ``pMSE_0 = (k - 1)(1 - c)^2 c / N``. Held out:
    ``pMSE_0 = k c (1 - c) / N_fit``. ``k = n_features + 1`` counts the intercept.
    """
    k = n_features + 1
    c = share_synthetic
    if held_out:
        return k * c * (1 - c) / n_rows
    return (k - 1) * (1 - c) ** 2 * c / n_rows


def pmse_component(ratio: float, *, faithful: bool) -> float:
    """``1.2^(-|1 - ratio|)`` (faithful) or ``1.2^(-max(0, ratio - 1))`` (default)."""
    if faithful:
        return math.pow(1.2, -abs(1.0 - ratio))
    return math.pow(1.2, -max(0.0, ratio - 1.0))


# ----------------------------------------------------------------------------------------------
# Preparing the pair


@dataclass
class _Encoded:
    """One table as a numeric block (codec order) and a block of category codes."""

    numeric: np.ndarray
    codes: np.ndarray

    def __len__(self) -> int:
        return len(self.numeric)

    def rows(self, index: np.ndarray) -> _Encoded:
        return _Encoded(self.numeric[index], self.codes[index])


@dataclass
class _Pair:
    real: pd.DataFrame
    synth: pd.DataFrame
    codec: TableCodec
    target: str
    target_type: str
    real_enc: _Encoded = field(init=False)
    synth_enc: _Encoded = field(init=False)

    def __post_init__(self) -> None:
        self.real_enc = _Encoded(self.codec.numeric_matrix(self.real), self.codec.code_matrix(self.real))
        self.synth_enc = _Encoded(self.codec.numeric_matrix(self.synth), self.codec.code_matrix(self.synth))

    def levels(self) -> list[int]:
        return [len(self.codec.categories[c]) for c in self.codec.categorical]


def _prepare(
    real: Any, synth: Any, categorical: Sequence[str], target: str | None, target_type: str, faithful: bool
) -> _Pair:
    real = as_frame(real, "the real table")
    synth = as_frame(synth, "the synthetic table")
    if isinstance(categorical, str):
        categorical = [c for c in categorical.split(",") if c]
    if real.shape[1] < 2:
        raise InvalidRequestError(f"TabSynDex needs at least 2 columns; the real table has {real.shape[1]}")
    if len(real) < 10 or len(synth) < 10:
        raise InvalidRequestError(
            f"TabSynDex needs at least 10 rows in each table; got {len(real)} real and {len(synth)} synthetic"
        )
    codec = TableCodec.from_frames(real, categorical, [synth] if set(synth.columns) >= set(real.columns) else [])
    synth = codec.check_columns(synth, "the synthetic table")
    if target is None:
        target = codec.columns[-1]
    if target not in codec.columns:
        raise InvalidRequestError(f"target column {target!r} is not in the table; its columns are {codec.columns}")
    if target_type == "auto":
        target_type = "class" if target in codec.categorical else "regr"
    if target_type == "regr" and target in codec.categorical:
        raise InvalidRequestError(
            f"target {target!r} is categorical, so it cannot be a regression target; "
            "use target_type='class' or leave it out of categorical"
        )
    if faithful:
        for name, frame in (("real", real), ("synthetic", synth)):
            if frame.isna().any().any():
                columns = list(frame.columns[frame.isna().any()])
                raise InvalidRequestError(
                    f"faithful mode needs complete tables, but the {name} table has missing values in "
                    f"{columns}: drop those rows, or use the default mode, which counts a missing "
                    "category as a category"
                )
        order = [c for c in codec.columns if c != target] + [target]
        real, synth = real[order], synth[order]
        codec = TableCodec.from_frames(real, codec.categorical, [synth])
    return _Pair(real, synth, codec, target, target_type)


def _faithful_values(pair: _Pair, frame: pd.DataFrame) -> pd.DataFrame:
    """Every column as numbers: numeric and numeric-coded categorical columns as given, text codes sorted."""
    values = {}
    for column in pair.codec.columns:
        series = frame[column]
        if column in pair.codec.categorical and not pd.api.types.is_numeric_dtype(series):
            values[column] = pair.codec.codes(frame, column).astype(np.float64)
        else:
            values[column] = series.to_numpy(dtype=np.float64)
    return pd.DataFrame(values, columns=pair.codec.columns)


# ----------------------------------------------------------------------------------------------
# Components


def _basic(pair: _Pair, faithful: bool, real_values: pd.DataFrame | None, synth_values: pd.DataFrame | None) -> float:
    if faithful:
        return basic_statistics_score(real_values.to_numpy(), synth_values.to_numpy())
    if not pair.codec.numeric:
        return basic_statistics_score(pair.real_enc.codes.astype(float), pair.synth_enc.codes.astype(float))
    return basic_statistics_score(pair.real_enc.numeric, pair.synth_enc.numeric)


def _associations(pair: _Pair, table: _Encoded, faithful: bool) -> np.ndarray:
    return association_block(
        table.numeric, table.codes, pair.levels(), constant_as_zero="all" if faithful else "off_diagonal"
    )


def _corr(pair: _Pair, faithful: bool, floor: float) -> tuple[float, dict[str, Any]]:
    real_matrix = _associations(pair, pair.real_enc, faithful)
    synth_matrix = _associations(pair, pair.synth_enc, faithful)
    score = log_correlation_score(real_matrix, synth_matrix, faithful=faithful, floor=floor)
    size = real_matrix.shape[0]
    off = ~np.eye(size, dtype=bool)
    details = {"mean_abs_association_gap": float(np.mean(np.abs(real_matrix - synth_matrix)[off]))}
    return score, details


def _bin_counts(real: np.ndarray, synth: np.ndarray, num_bins: int) -> tuple[np.ndarray, np.ndarray]:
    """Counts of ``real`` and ``synth`` in ``num_bins`` equal-width bins over the real range (``pandas.cut``)."""
    real_binned, edges = pd.cut(real, bins=num_bins, labels=False, retbins=True)
    synth_binned = np.asarray(pd.cut(synth, bins=edges, labels=False), dtype=np.float64)
    real_counts = np.bincount(np.asarray(real_binned, dtype=np.int64), minlength=num_bins)
    synth_binned = synth_binned[~np.isnan(synth_binned)].astype(np.int64)
    return real_counts, np.bincount(synth_binned, minlength=num_bins)


def _support(pair: _Pair, faithful: bool, num_bins: int) -> tuple[float, dict[str, Any]]:
    codec = pair.codec
    scale = len(pair.real) / len(pair.synth)
    per_column: dict[str, float] = {}
    uncovered: dict[str, int] = {}
    for column in codec.columns:
        if column in codec.categorical:
            position = codec.categorical.index(column)
            real_codes = pair.real_enc.codes[:, position]
            synth_codes = pair.synth_enc.codes[:, position]
            levels = len(codec.categories[column])
            real_counts = np.bincount(real_codes, minlength=levels)
            synth_counts = np.bincount(synth_codes[synth_codes >= 0], minlength=levels)
            if faithful:
                absent = (real_counts > 0) & (synth_counts == 0)
                if absent.any():
                    names = [codec.categories[column][i] for i in np.nonzero(absent)[0]]
                    raise InvalidRequestError(
                        f"faithful mode: real categories {names} of column {column!r} do not occur in the "
                        "synthetic table, where the published code fails (KeyError); use the default "
                        "mode, which scores them 0"
                    )
        else:
            position = codec.numeric.index(column)
            real_counts, synth_counts = _bin_counts(
                pair.real_enc.numeric[:, position], pair.synth_enc.numeric[:, position], num_bins
            )
        present = real_counts > 0
        ratios = synth_counts[present] / real_counts[present] * scale
        if faithful:
            per_column[column] = float(min(1.0, np.minimum(ratios, 2.0).mean()))
        else:
            per_column[column] = float(np.minimum(ratios, 1.0).mean())
        uncovered[column] = int(np.sum(synth_counts[present] == 0))
    details = {"per_column": per_column, "uncovered_bins": uncovered}
    return float(np.mean(list(per_column.values()))), details


def _published_encoding(frame: pd.DataFrame, categorical: Sequence[str]) -> pd.DataFrame:
    """The published encoding of a min-max-scaled table: factorise two-valued, one-hot many-valued columns."""
    parts = []
    for column in frame.columns:
        series = frame[column]
        if column not in categorical:
            parts.append(series.rename(column))
            continue
        unique = pd.unique(series)
        if len(unique) == 1:
            parts.append(pd.Series(np.zeros(len(series), dtype=np.int64), name=column))
        elif len(unique) == 2:
            codes, _ = pd.factorize(series)
            parts.append(pd.Series(codes, name=column))
        else:
            parts.append(pd.get_dummies(series, prefix=column).astype(np.uint8))
    return pd.concat(parts, axis=1)


def _published_models(target_type: str) -> list:
    from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor
    from sklearn.linear_model import ElasticNet, Lasso, LogisticRegression, Ridge
    from sklearn.neural_network import MLPClassifier
    from sklearn.tree import DecisionTreeClassifier

    if target_type == "regr":
        return [
            RandomForestRegressor(n_estimators=20, max_depth=5, random_state=42),
            Lasso(random_state=42, max_iter=5000),
            Ridge(alpha=1.0, random_state=42),
            ElasticNet(max_iter=5000, random_state=42),
        ]
    return [
        LogisticRegression(max_iter=5000, random_state=42),
        RandomForestClassifier(n_estimators=10, random_state=42),
        DecisionTreeClassifier(random_state=42),
        MLPClassifier([50, 50], solver="adam", activation="relu", learning_rate="adaptive", random_state=42),
    ]


def _default_models(target_type: str, seed: int) -> list:
    from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor
    from sklearn.linear_model import LogisticRegression, Ridge
    from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

    if target_type == "regr":
        return [
            Ridge(alpha=1.0),
            DecisionTreeRegressor(max_depth=10, min_samples_leaf=2, random_state=seed),
            RandomForestRegressor(n_estimators=10, max_depth=10, min_samples_leaf=2, random_state=seed),
        ]
    return [
        LogisticRegression(max_iter=1000, solver="newton-cholesky"),
        DecisionTreeClassifier(max_depth=10, min_samples_leaf=2, random_state=seed),
        RandomForestClassifier(n_estimators=10, max_depth=10, min_samples_leaf=2, random_state=seed),
    ]


def _fit(estimator, x, y, constant_when_one_class: bool):
    from sklearn.base import is_classifier
    from sklearn.dummy import DummyClassifier

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if constant_when_one_class and is_classifier(estimator) and len(np.unique(y)) < 2:
            estimator = DummyClassifier(strategy="most_frequent")
        return estimator.fit(x, y)


def _parallel_fit(jobs: list[tuple], n_jobs: int | None) -> list:
    """Fit every ``(estimator, x, y, flag)`` job, in threads when ``n_jobs`` allows.

    Tree building and the BLAS calls of the linear models release the GIL, so threads run in
    parallel without copying the data to other processes.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if n_jobs in (None, 1) or len(jobs) == 1:
            return [_fit(*job) for job in jobs]
        from joblib import Parallel, delayed

        return Parallel(n_jobs=n_jobs, prefer="threads")(delayed(_fit)(*job) for job in jobs)


def _metric(target_type: str, y_true, y_pred) -> float:
    from sklearn.metrics import f1_score, mean_squared_error

    if target_type == "regr":
        return float(np.sqrt(mean_squared_error(y_true, y_pred)))
    return float(f1_score(y_true, y_pred, average="micro"))


def _efficacy_score(r_scores: list[float], f_scores: list[float]) -> float:
    total = float(np.sum(np.clip(relative_error(np.array(r_scores), np.array(f_scores)), 0, 1)))
    return _one_minus_mean_error(total, len(r_scores))


def _ml_faithful(pair: _Pair, real_norm: pd.DataFrame, synth_norm: pd.DataFrame, n_jobs) -> tuple[float, dict]:
    categorical = pair.codec.categorical
    real_enc = _published_encoding(real_norm, categorical)
    synth_enc = _published_encoding(synth_norm, categorical)
    if list(real_enc.columns) != list(synth_enc.columns):
        only_real = sorted(set(real_enc.columns) - set(synth_enc.columns))
        only_synth = sorted(set(synth_enc.columns) - set(real_enc.columns))
        raise InvalidRequestError(
            "faithful mode: the published encoding gives the two tables different columns "
            f"(only real: {only_real}, only synthetic: {only_synth}), where the published code fails; "
            "use the default mode, which encodes both tables with one coding"
        )
    target_column = real_enc.columns[-1]
    real_x, real_y = real_enc.drop(columns=target_column), real_enc[target_column]
    synth_x, synth_y = synth_enc.drop(columns=target_column), synth_enc[target_column]
    if pair.target_type == "class":
        from sklearn.utils.multiclass import type_of_target

        for name, labels in (("real", real_y), ("synthetic", synth_y)):
            kind = type_of_target(labels)
            if kind not in ("binary", "multiclass"):
                raise InvalidRequestError(
                    f"faithful mode: the published code min-max scales the {name} class labels of "
                    f"{pair.target!r} to {kind} values that scikit-learn refuses; list the target in "
                    "categorical, or use the default mode"
                )
            if len(np.unique(labels)) < 2:
                raise InvalidRequestError(
                    f"faithful mode: the {name} target {pair.target!r} has a single class, where the "
                    "published code's classifiers fail; use the default mode"
                )
    real_models = _published_models(pair.target_type)
    synth_models = copy.deepcopy(real_models)
    jobs = [(m, real_x, real_y, False) for m in real_models] + [(m, synth_x, synth_y, False) for m in synth_models]
    fitted = _parallel_fit(jobs, n_jobs)
    real_models, synth_models = fitted[: len(real_models)], fitted[len(real_models) :]
    kind = pair.target_type
    r = [_metric(kind, real_y, m.predict(real_x)) for m in real_models]
    r += [_metric(kind, synth_y, m.predict(synth_x)) for m in real_models]
    f = [_metric(kind, real_y, m.predict(real_x)) for m in synth_models]
    f += [_metric(kind, synth_y, m.predict(synth_x)) for m in synth_models]
    names = [type(m).__name__ for m in real_models]
    return _efficacy_score(r, f), {"models": names, "real_model": r, "synthetic_model": f}


def _minmax(pair: _Pair) -> tuple[np.ndarray, np.ndarray]:
    """The real table's minimum and range per numeric column (range 1 where it is 0)."""
    values = pair.real_enc.numeric
    if values.shape[1] == 0:
        return np.zeros(0), np.zeros(0)
    low = values.min(axis=0)
    span = values.max(axis=0) - low
    return low, np.where(span > 0, span, 1.0)


def _design(pair: _Pair, table: _Encoded, columns: Sequence[str], low, span) -> np.ndarray:
    """Min-max-scaled numeric columns and one-hot categorical columns (one shared coding)."""
    codec = pair.codec
    index = [i for i, c in enumerate(codec.numeric) if c in columns]
    blocks = [(table.numeric[:, index] - low[index]) / span[index]] if index else []
    rows = np.arange(len(table))
    for position, column in enumerate(codec.categorical):
        if column not in columns:
            continue
        codes = table.codes[:, position]
        onehot = np.zeros((len(table), len(codec.categories[column])))
        known = codes >= 0
        onehot[rows[known], codes[known]] = 1.0
        blocks.append(onehot)
    return np.hstack(blocks) if blocks else np.zeros((len(table), 0))


def _subsample(table: _Encoded, max_rows: int | None, rng: np.random.Generator) -> _Encoded:
    if max_rows is None or len(table) <= max_rows:
        return table
    return table.rows(np.sort(rng.choice(len(table), size=max_rows, replace=False)))


def _split(n: int, labels: np.ndarray | None, test_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    from sklearn.model_selection import train_test_split

    indices = np.arange(n)
    stratify = None
    if labels is not None:
        _, counts = np.unique(labels, return_counts=True)
        if counts.min() >= 2 and len(counts) >= 2:
            stratify = labels
    return train_test_split(indices, test_size=test_fraction, random_state=seed, stratify=stratify)


def _ml_default(
    pair: _Pair, real: _Encoded, synth: _Encoded, seed: int, n_jobs, test_fraction: float
) -> tuple[float, dict]:
    codec = pair.codec
    features = [c for c in codec.columns if c != pair.target]
    low, span = _minmax(pair)

    def target_values(table: _Encoded) -> np.ndarray:
        if pair.target in codec.categorical:
            return table.codes[:, codec.categorical.index(pair.target)]
        position = codec.numeric.index(pair.target)
        values = table.numeric[:, position]
        return values if pair.target_type == "class" else (values - low[position]) / span[position]

    parts = {}
    for name, table in (("real", real), ("synth", synth)):
        x = _design(pair, table, features, low, span)
        y = target_values(table)
        train, test = _split(len(table), y if pair.target_type == "class" else None, test_fraction, seed)
        parts[name] = (x[train], y[train], x[test], y[test])
    real_models = _default_models(pair.target_type, seed)
    synth_models = _default_models(pair.target_type, seed)
    jobs = [(m, parts["real"][0], parts["real"][1], True) for m in real_models]
    jobs += [(m, parts["synth"][0], parts["synth"][1], True) for m in synth_models]
    fitted = _parallel_fit(jobs, n_jobs)
    real_models, synth_models = fitted[: len(real_models)], fitted[len(real_models) :]
    kind = pair.target_type
    real_test_x, real_test_y = parts["real"][2], parts["real"][3]
    synth_test_x, synth_test_y = parts["synth"][2], parts["synth"][3]
    r = [_metric(kind, real_test_y, m.predict(real_test_x)) for m in real_models]
    r += [_metric(kind, synth_test_y, m.predict(synth_test_x)) for m in real_models]
    f = [_metric(kind, real_test_y, m.predict(real_test_x)) for m in synth_models]
    f += [_metric(kind, synth_test_y, m.predict(synth_test_x)) for m in synth_models]
    names = [type(m).__name__ for m in _default_models(kind, seed)]
    return _efficacy_score(r, f), {"models": names, "real_model": r, "synthetic_model": f}


def _pmse_faithful(real_norm: pd.DataFrame, synth_norm: pd.DataFrame) -> tuple[float, dict]:
    from sklearn.linear_model import LogisticRegression

    x = np.vstack([real_norm.to_numpy(dtype=np.float64), synth_norm.to_numpy(dtype=np.float64)])
    y = np.r_[np.zeros(len(real_norm)), np.ones(len(synth_norm))]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = LogisticRegression(max_iter=5000, random_state=42).fit(x, y)
    p = model.predict_proba(x)[:, 1]
    n = len(p)
    c = len(synth_norm) / n
    pmse = float(np.mean((p - c) ** 2))
    null = pmse_null(x.shape[1], c, n, held_out=False)
    ratio = pmse / null
    return pmse_component(ratio, faithful=True), {"pmse": pmse, "pmse_null": null, "ratio": ratio}


def _pmse_default(pair: _Pair, real: _Encoded, synth: _Encoded, seed: int) -> tuple[float, dict]:
    from sklearn.linear_model import LogisticRegression

    codec = pair.codec
    low, span = _minmax(pair)
    x = np.vstack([_design(pair, real, codec.columns, low, span), _design(pair, synth, codec.columns, low, span)])
    p = len(codec.numeric)
    x = np.hstack([x, (x[:, :p] - 0.5) ** 2])
    x = x[:, x.min(axis=0) != x.max(axis=0)]
    y = np.r_[np.zeros(len(real)), np.ones(len(synth))]
    fit_rows, test_rows = _split(len(y), y, 0.5, seed + 2)
    c = len(synth) / len(y)
    permutations = int(np.clip(round(PERMUTATION_ROWS / len(fit_rows)), 3, 20))

    def held_out_pmse(labels: np.ndarray) -> float:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = LogisticRegression(C=PMSE_C, max_iter=1000, solver="newton-cholesky")
            model.fit(x[fit_rows], labels[fit_rows])
        return float(np.mean((model.predict_proba(x[test_rows])[:, 1] - c) ** 2))

    pmse = held_out_pmse(y)
    rng = np.random.default_rng(seed + 3)
    null = float(np.mean([held_out_pmse(rng.permutation(y)) for _ in range(permutations)]))
    ratio = pmse / null if null > 0 else (0.0 if pmse == 0 else float("inf"))
    details = {
        "pmse": pmse,
        "pmse_null": null,
        "ratio": ratio,
        "pmse_null_first_order": pmse_null(x.shape[1], c, len(fit_rows), held_out=True),
        "permutations": permutations,
    }
    return pmse_component(ratio, faithful=False), details


def tabsyndex(
    real: pd.DataFrame,
    synth: pd.DataFrame,
    *,
    categorical: Sequence[str] = (),
    target: str | None = None,
    target_type: str = "auto",
    faithful: bool = False,
    seed: int = 0,
    n_jobs: int | None = -1,
    max_rows: int | None = 10_000,
    corr_floor: float = 0.01,
    num_bins: int = NUM_BINS,
    test_fraction: float = 0.3,
) -> TabSynDexResult:
    """Score a synthetic table against the real one with TabSynDex (formulas in the module docstring).

    Args:
        real, synth: the two tables, with the same columns (the synthetic one may list them in any order).
        categorical: names of the categorical columns (text or codes). Others must be numeric.
        target: the column efficacy models predict (default: the last column, as the published code).
        target_type: ``"class"``, ``"regr"``, or ``"auto"`` (``"class"`` when the target is categorical).
        faithful: reproduce the published code's choices (see the module docstring).
        seed: seeds the held-out splits, the subsampling and the tree models (default mode).
        n_jobs: parallel threads for the efficacy fits (``-1``: all cores, ``None`` or 1: sequential).
        max_rows: default mode: most rows per table used for the efficacy and propensity fits.
        corr_floor: default mode: associations below it count as ``corr_floor`` in the signed log.
        num_bins: equal-width bins per numeric column for support coverage.
        test_fraction: default mode: share of each table held out to score the efficacy models.

    Returns:
        A :class:`TabSynDexResult`; ``result.to_dict()`` has the published keys.

    Raises:
        InvalidParameterError: a parameter out of range.
        InvalidRequestError: the tables do not match, a column is not numeric and not listed as
            categorical, or (faithful mode) the pair is one the published code fails on.
    """
    validate_params(
        _PARAMETER_CONSTRAINTS,
        {
            "target_type": target_type, "faithful": faithful, "seed": seed, "n_jobs": n_jobs,
            "max_rows": max_rows, "corr_floor": corr_floor, "num_bins": num_bins, "test_fraction": test_fraction,
        },
        "tabsyndex",
    )  # fmt: skip
    if n_jobs == 0:
        raise InvalidParameterError("tabsyndex: parameter 'n_jobs' must be -1, None or a positive int; got 0")
    started = time.perf_counter()
    seconds: dict[str, float] = {}
    pair = _prepare(real, synth, categorical, target, target_type, faithful)
    details: dict[str, Any] = {"target": pair.target, "target_type": pair.target_type}

    def timed(name: str, function, *args):
        begin = time.perf_counter()
        value = function(*args)
        seconds[name] = time.perf_counter() - begin
        return value

    if faithful:
        from sklearn.preprocessing import MinMaxScaler

        real_values, synth_values = _faithful_values(pair, pair.real), _faithful_values(pair, pair.synth)
        scaler = MinMaxScaler().fit(real_values)
        real_norm = pd.DataFrame(scaler.transform(real_values), columns=real_values.columns)
        synth_norm = pd.DataFrame(scaler.transform(synth_values), columns=synth_values.columns)
        # Support first: it is cheap and fails where the published code fails.
        sup, details["sup"] = timed("sup_score", _support, pair, True, num_bins)
        basic = timed("basic_score", _basic, pair, True, real_values, synth_values)
        corr, details["corr"] = timed("corr_score", _corr, pair, True, corr_floor)
        ml, details["ml"] = timed("ml_score", _ml_faithful, pair, real_norm, synth_norm, n_jobs)
        pmse, details["pmse"] = timed("pmse_score", _pmse_faithful, real_norm, synth_norm)
    else:
        rng = np.random.default_rng(seed)
        real_fit = _subsample(pair.real_enc, max_rows, rng)
        synth_fit = _subsample(pair.synth_enc, max_rows, rng)
        basic = timed("basic_score", _basic, pair, False, None, None)
        corr, details["corr"] = timed("corr_score", _corr, pair, False, corr_floor)
        ml, details["ml"] = timed("ml_score", _ml_default, pair, real_fit, synth_fit, seed, n_jobs, test_fraction)
        pmse, details["pmse"] = timed("pmse_score", _pmse_default, pair, real_fit, synth_fit, seed)
        sup, details["sup"] = timed("sup_score", _support, pair, False, num_bins)
    total = (basic + corr + ml + sup + pmse) / 5
    seconds["total"] = time.perf_counter() - started
    return TabSynDexResult(
        score=float(total),
        basic_score=float(basic),
        corr_score=float(corr),
        ml_score=float(ml),
        sup_score=float(sup),
        pmse_score=float(pmse),
        faithful=faithful,
        details=details,
        seconds=seconds,
    )
