"""A literal, loop-by-loop TabSynDex written from the published formulas: slow on purpose.

It takes the published function's arguments (``real``, ``fake``: all-numeric DataFrames with
the same columns, categorical columns given as numeric codes; ``cat_cols``; ``target_col`` an
index into the encoded columns, ``-1`` by default; ``target_type`` ``"regr"`` or ``"class"``) and
computes each component pair by pair and model after model, one fit at a time, with pandas
and ``collections.Counter`` for the associations as the ``dython`` package (0.6) does. It exists
to check :func:`obliviate.synthetic.tabsyndex` with ``faithful=True`` against an independent
computation, and as the speed baseline of ``benchmarks/synthetic.py``. It needs no NaN in the
tables; it raises where the published code raises.
"""

from __future__ import annotations

import copy
import math
import warnings
from collections import Counter
from typing import Sequence

import numpy as np
import pandas as pd


def _relative(a, b):
    return abs(a - b) / abs(a + 1e-6)


def _conditional_entropy(x: list, y: list) -> float:
    y_count = Counter(y)
    xy_count = Counter(zip(x, y))
    n = sum(y_count.values())
    total = 0.0
    for (_, yv), count in xy_count.items():
        p_xy = count / n
        p_y = y_count[yv] / n
        total += p_xy * math.log(p_y / p_xy)
    return total


def _theil(x: list, y: list) -> float:
    count = Counter(x)
    n = sum(count.values())
    h_x = -sum((c / n) * math.log(c / n) for c in count.values())
    if h_x == 0:
        return 1.0
    return (h_x - _conditional_entropy(x, y)) / h_x


def _eta(categories: np.ndarray, values: np.ndarray) -> float:
    labels = list(dict.fromkeys(categories.tolist()))
    sizes, means = [], []
    for label in labels:
        chosen = values[categories == label]
        sizes.append(len(chosen))
        means.append(np.average(chosen))
    sizes, means = np.array(sizes, dtype=float), np.array(means)
    grand = np.sum(means * sizes) / np.sum(sizes)
    numerator = np.sum(sizes * (means - grand) ** 2)
    if numerator == 0:
        return 0.0
    return float(np.sqrt(numerator / np.sum((values - grand) ** 2)))


def associations_loop(data: pd.DataFrame, cat_cols: Sequence) -> pd.DataFrame:
    """The association matrix pair by pair, with ``dython`` 0.6's conventions.

    Single-valued columns get 0 everywhere (diagonal included); a ``nan`` or infinite
    association becomes 0; categorical pairs hold Theil's U with ``[j, i] = U(x_i | x_j)``.
    """
    from scipy import stats

    columns = list(data.columns)
    matrix = pd.DataFrame(np.nan, index=columns, columns=columns, dtype=float)
    single = [c for c in columns if data[c].unique().size == 1]
    for i, ci in enumerate(columns):
        if ci in single:
            matrix.loc[:, ci] = 0.0
            matrix.loc[ci, :] = 0.0
            continue
        for cj in columns[i:]:
            if cj in single:
                continue
            if ci == cj:
                matrix.loc[ci, cj] = 1.0
                continue
            xi, xj = data[ci].to_numpy(), data[cj].to_numpy()
            if ci in cat_cols and cj in cat_cols:
                ji, ij = _theil(xi.tolist(), xj.tolist()), _theil(xj.tolist(), xi.tolist())
            elif ci in cat_cols:
                ij = ji = _eta(xi, xj.astype(float))
            elif cj in cat_cols:
                ij = ji = _eta(xj, xi.astype(float))
            else:
                ij = ji = float(stats.pearsonr(xi.astype(float), xj.astype(float))[0])
            matrix.loc[ci, cj] = ij if np.isfinite(ij) else 0.0
            matrix.loc[cj, ci] = ji if np.isfinite(ji) else 0.0
    return matrix


def _encode(data: pd.DataFrame, cat_cols: Sequence) -> pd.DataFrame:
    out = pd.DataFrame(index=data.index)
    for column in data.columns:
        if column not in cat_cols:
            out[column] = data[column]
            continue
        distinct = pd.unique(data[column])
        if len(distinct) == 1:
            out[column] = 0
        elif len(distinct) == 2:
            out[column] = pd.factorize(data[column])[0]
        else:
            dummies = pd.get_dummies(data[column], prefix=column).astype(np.uint8)
            out = pd.concat([out, dummies], axis=1)
    return out


def published_tabsyndex(
    real: pd.DataFrame, fake: pd.DataFrame, cat_cols: Sequence, target_col: int = -1, target_type: str = "regr"
) -> dict[str, float]:
    """TabSynDex with the published algorithm, computed literally (see the module docstring).

    Returns:
        ``{"score", "basic_score", "corr_score", "ml_score", "sup_score", "pmse_score"}``.
    """
    from sklearn import metrics
    from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor
    from sklearn.linear_model import ElasticNet, Lasso, LogisticRegression, Ridge
    from sklearn.neural_network import MLPClassifier
    from sklearn.preprocessing import MinMaxScaler
    from sklearn.tree import DecisionTreeClassifier

    cat_cols = list(cat_cols)
    scaler = MinMaxScaler()
    real_norm = pd.DataFrame(scaler.fit_transform(real), columns=real.columns)
    fake_norm = pd.DataFrame(scaler.transform(fake), columns=fake.columns)

    # basic statistics
    total = 0.0
    for statistic in (lambda f: f.mean(axis=0), lambda f: f.std(axis=0, ddof=0), lambda f: f.median(axis=0)):
        errors = _relative(statistic(real).to_numpy(float), statistic(fake).to_numpy(float))
        total += float(np.sum(np.clip(errors, 0, 1)))
    share = total / (3 * real.shape[1])
    basic = 1 - share if share <= 1.0 else 0.0

    # log-correlation
    real_assoc = associations_loop(real, cat_cols).to_numpy()
    fake_assoc = associations_loop(fake, cat_cols).to_numpy()
    cells = 0.0
    for a, b in zip(real_assoc.ravel(), fake_assoc.ravel()):
        with np.errstate(divide="ignore", invalid="ignore"):
            la = np.sign(a) * np.log(abs(a))
            lb = np.sign(b) * np.log(abs(b))
            cells += float(np.clip(_relative(la, lb), 0, 1))
    p = real.shape[1]
    share = cells / (p * p - p)
    corr = 1 - share if share <= 1.0 else 0.0

    # machine-learning efficacy, one model after the other
    real_enc, fake_enc = _encode(real_norm, cat_cols), _encode(fake_norm, cat_cols)
    real_x, real_y = real_enc.drop(columns=real_enc.columns[target_col]), real_enc[real_enc.columns[target_col]]
    fake_x, fake_y = fake_enc.drop(columns=fake_enc.columns[target_col]), fake_enc[fake_enc.columns[target_col]]
    if target_type == "regr":
        models = [
            RandomForestRegressor(n_estimators=20, max_depth=5, random_state=42),
            Lasso(random_state=42, max_iter=5000),
            Ridge(alpha=1.0, random_state=42),
            ElasticNet(max_iter=5000, random_state=42),
        ]

        def measure(y, pred):
            return float(np.sqrt(metrics.mean_squared_error(y, pred)))
    else:
        models = [
            LogisticRegression(max_iter=5000, random_state=42),
            RandomForestClassifier(n_estimators=10, random_state=42),
            DecisionTreeClassifier(random_state=42),
            MLPClassifier([50, 50], solver="adam", activation="relu", learning_rate="adaptive", random_state=42),
        ]

        def measure(y, pred):
            return float(metrics.f1_score(y, pred, average="micro"))

    fake_models = copy.deepcopy(models)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for model in models:
            model.fit(real_x, real_y)
        for model in fake_models:
            model.fit(fake_x, fake_y)
    r = [measure(real_y, m.predict(real_x)) for m in models] + [measure(fake_y, m.predict(fake_x)) for m in models]
    f = [measure(real_y, m.predict(real_x)) for m in fake_models]
    f += [measure(fake_y, m.predict(fake_x)) for m in fake_models]
    share = float(np.sum(np.clip(_relative(np.array(r), np.array(f)), 0, 1))) / 8
    ml = 1 - share if share <= 1.0 else 0.0

    # pMSE, in-sample
    pooled = pd.concat([real_norm, fake_norm], ignore_index=True)
    labels = np.array([0] * len(real) + [1] * len(fake))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        propensity = LogisticRegression(max_iter=5000, random_state=42).fit(pooled, labels)
    prob = propensity.predict_proba(pooled)[:, 1]
    k = pooled.shape[1] + 1
    n = len(prob)
    c = len(fake) / n
    pmse = float(metrics.mean_squared_error(prob, [c] * n))
    pmse0 = ((k - 1) * (1 - c) ** 2) * c / n
    pmse_score = math.pow(1.2, -abs(1 - pmse / pmse0))

    # support coverage
    scaling = len(real) / len(fake)
    support = 0.0
    for column in real.columns:
        if column in cat_cols:
            real_count = real[column].value_counts()
            fake_count = fake[column].value_counts()
        else:
            binned, edges = pd.cut(real[column], bins=20, labels=range(20), retbins=True)
            real_count = binned.value_counts()
            fake_count = pd.cut(fake[column], bins=edges, labels=range(20)).value_counts()
        column_total, present = 0.0, 0
        for key in real_count.index:
            if real_count.loc[key] != 0:
                present += 1
                column_total += min(fake_count.loc[key] / real_count.loc[key] * scaling, 2)
        support += min(1.0, column_total / present)
    support /= len(real.columns)

    score = (basic + corr + ml + support + pmse_score) / 5
    return {
        "score": score,
        "basic_score": basic,
        "corr_score": corr,
        "ml_score": ml,
        "sup_score": support,
        "pmse_score": pmse_score,
    }
