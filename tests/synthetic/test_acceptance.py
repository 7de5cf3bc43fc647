"""Acceptance checks of TabSynDex (default mode), each over 3 seeds (median), each with a control
that must fail it.

* Two random halves of one real table score high (measured medians: breast cancer 0.89,
  diabetes 0.88, Adult 0.95); an unrelated random table with the same columns, ranges and
  categories scores low (0.41-0.56) and fails the same bound.
* A column-shuffled copy keeps the basic statistics exactly (score 1) but its correlation score
  falls at least 0.3 below the halves'; an unshuffled copy (the control) keeps a correlation
  score of 1.
* Heavy noise (Gaussian noise of three times each numeric column's spread, half of each
  categorical column's values redrawn uniformly) lowers every component below the halves'.
"""

from __future__ import annotations

import statistics

import numpy as np
import pandas as pd
import pytest

from obliviate.data.checksums import shared_data_dir
from obliviate.data.tabular import TabularData, load_adult, load_builtin_table
from obliviate.synthetic.associations import association_matrix
from obliviate.synthetic.score import COMPONENTS, log_correlation_score, tabsyndex

SEEDS = (0, 1, 2)
HALVES_BOUND = {"breast_cancer": 0.86, "diabetes": 0.85, "adult": 0.92}
SHUFFLE_CORR_LOSS = 0.3  # measured losses: breast cancer 0.68, diabetes 0.65, Adult 0.39


def _halves(frame: pd.DataFrame, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    order = np.random.default_rng(seed).permutation(len(frame))
    half = len(frame) // 2
    return frame.iloc[order[:half]].reset_index(drop=True), frame.iloc[order[half : 2 * half]].reset_index(drop=True)


def _random_table(like: pd.DataFrame, categorical: list[str], rng: np.random.Generator) -> pd.DataFrame:
    columns = {}
    for column in like.columns:
        if column in categorical:
            columns[column] = rng.choice(like[column].dropna().unique(), size=len(like))
        else:
            columns[column] = rng.uniform(like[column].min(), like[column].max(), size=len(like))
    return pd.DataFrame(columns)


def _shuffled(frame: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    return pd.DataFrame({c: rng.permutation(frame[c].to_numpy()) for c in frame.columns})


def _noisy(frame: pd.DataFrame, categorical: list[str], rng: np.random.Generator) -> pd.DataFrame:
    out = frame.copy()
    for column in frame.columns:
        if column in categorical:
            redraw = rng.random(len(frame)) < 0.5
            out.loc[redraw, column] = rng.choice(frame[column].dropna().unique(), size=int(redraw.sum()))
        else:
            out[column] = frame[column] + rng.normal(0.0, 3.0 * frame[column].std(), size=len(frame))
    return out


def _score(data: TabularData, real: pd.DataFrame, synth: pd.DataFrame, seed: int):
    return tabsyndex(real, synth, categorical=data.categorical, target=data.target, seed=seed, n_jobs=1)


def _median(results, key: str) -> float:
    return statistics.median(getattr(r, key) for r in results)


@pytest.fixture(scope="module", params=["breast_cancer", "diabetes", pytest.param("adult", marks=pytest.mark.data)])
def table(request) -> TabularData:
    if request.param == "adult":
        if shared_data_dir() is None:
            pytest.skip("OBLIVIATE_DATA_DIR is not set: point it at the shared data folder to test on UCI Adult")
        data = load_adult()
        data.frame = data.frame.sample(4000, random_state=0).reset_index(drop=True)
        return data
    return load_builtin_table(request.param)


@pytest.fixture(scope="module")
def halves_scores(table):
    return [_score(table, *_halves(table.frame, seed), seed) for seed in SEEDS]


def test_two_halves_of_a_real_table_score_high_and_an_unrelated_random_table_does_not(table, halves_scores):
    bound = HALVES_BOUND[table.name]
    assert _median(halves_scores, "score") >= bound
    controls = []
    for seed in SEEDS:
        real, other = _halves(table.frame, seed)
        controls.append(_score(table, real, _random_table(other, table.categorical, np.random.default_rng(seed)), seed))
    assert _median(controls, "score") < bound - 0.2


def test_a_column_shuffled_copy_keeps_basic_statistics_but_loses_correlation_score(table, halves_scores):
    shuffled, copies = [], []
    for seed in SEEDS:
        real, _ = _halves(table.frame, seed)
        shuffled.append(_score(table, real, _shuffled(real, np.random.default_rng(seed)), seed))
        matrix = association_matrix(real, table.categorical).to_numpy()
        copies.append(log_correlation_score(matrix, association_matrix(real.copy(), table.categorical).to_numpy()))
    assert _median(shuffled, "basic_score") == pytest.approx(1.0, abs=1e-12)
    assert _median(shuffled, "corr_score") <= _median(halves_scores, "corr_score") - SHUFFLE_CORR_LOSS
    assert statistics.median(copies) == pytest.approx(1.0, abs=1e-12)  # the unshuffled control


def test_heavy_noise_lowers_every_component(table, halves_scores):
    noisy = []
    for seed in SEEDS:
        real, other = _halves(table.frame, seed)
        noisy.append(_score(table, real, _noisy(other, table.categorical, np.random.default_rng(seed)), seed))
    for key in COMPONENTS + ("score",):
        assert _median(noisy, key) < _median(halves_scores, key), key
    assert _median(noisy, "score") < _median(halves_scores, "score") - 0.15
