"""TabSynDex: each formula on hand-computed cases, faithful mode against a literal reimplementation,
the published code's quirks in faithful mode and their fixes in the default mode."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from obliviate.core.errors import InvalidParameterError, InvalidRequestError
from obliviate.data.tabular import load_builtin_table
from obliviate.synthetic.generators import make_generator
from obliviate.synthetic.reference import published_tabsyndex
from obliviate.synthetic.score import (
    PUBLISHED_KEYS,
    basic_statistics_score,
    log_correlation_score,
    pmse_component,
    pmse_null,
    tabsyndex,
)


def _coded(frame: pd.DataFrame, categorical: list[str]) -> pd.DataFrame:
    out = frame.copy()
    for column in categorical:
        if not pd.api.types.is_numeric_dtype(out[column]):
            out[column] = pd.Categorical(out[column], categories=sorted(out[column].unique())).codes.astype(int)
    return out


def _halves(frame: pd.DataFrame, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    order = np.random.default_rng(seed).permutation(len(frame))
    half = len(frame) // 2
    return frame.iloc[order[:half]].reset_index(drop=True), frame.iloc[order[half : 2 * half]].reset_index(drop=True)


# --- formulas on hand-computed cases ---------------------------------------------------------


def test_basic_statistics_score_matches_the_hand_computed_value():
    real, synth = np.array([[1.0], [2.0], [3.0], [4.0]]), np.array([[2.0], [2.0], [3.0], [5.0]])
    mean_error = 0.5 / (2.5 + 1e-6)  # means 2.5 and 3
    std_error = abs(math.sqrt(1.25) - math.sqrt(1.5)) / (math.sqrt(1.25) + 1e-6)  # population std
    median_error = 0.0  # 2.5 and 2.5
    expected = 1 - (mean_error + std_error + median_error) / 3
    assert basic_statistics_score(real, synth) == pytest.approx(expected, abs=1e-12)


def test_log_correlation_score_matches_the_hand_computed_value_in_both_modes():
    real = np.array([[1.0, 0.5], [0.5, 1.0]])
    synth = np.array([[1.0, 0.4], [0.4, 1.0]])
    gap = abs(math.log(0.5) - math.log(0.4))
    faithful_error = gap / abs(math.log(0.5) + 1e-6)
    assert log_correlation_score(real, synth, faithful=True) == pytest.approx(1 - faithful_error, abs=1e-12)
    # Default: the denominator is at least 1 (|log 0.5| < 1).
    assert log_correlation_score(real, synth) == pytest.approx(1 - gap, abs=1e-12)


def test_a_zero_association_zeroes_the_faithful_log_correlation_but_not_the_default():
    real = np.array([[1.0, 0.3], [0.3, 1.0]])
    synth = np.array([[1.0, 0.0], [0.0, 1.0]])
    assert log_correlation_score(real, synth, faithful=True) == 0.0  # sign(0) log 0 = nan
    floored = log_correlation_score(real, synth, floor=0.01)
    expected_error = min(1.0, abs(math.log(0.3) - math.log(0.01)) / abs(math.log(0.3)))
    assert floored == pytest.approx(1 - expected_error, abs=1e-12)


def test_a_perfect_real_association_is_not_an_all_or_nothing_cell_in_the_default_mode():
    real = np.array([[1.0, 1.0], [1.0, 1.0]])
    synth = np.array([[1.0, 0.99], [0.99, 1.0]])
    assert log_correlation_score(real, synth, faithful=True) == 0.0  # |L_S| / 1e-6 is clipped to 1
    assert log_correlation_score(real, synth) == pytest.approx(1 + math.log(0.99), abs=1e-12)


def test_pmse_null_and_component_formulas():
    assert pmse_null(9, 0.5, 1000, held_out=False) == pytest.approx(9 * 0.25 * 0.5 / 1000)
    assert pmse_null(9, 0.5, 1000, held_out=True) == pytest.approx(10 * 0.25 / 1000)
    assert pmse_component(0.0, faithful=True) == pytest.approx(1 / 1.2)
    assert pmse_component(3.0, faithful=True) == pytest.approx(1.2**-2)
    assert pmse_component(0.0, faithful=False) == 1.0
    assert pmse_component(3.0, faithful=False) == pytest.approx(1.2**-2)


def _support_pair(synth_values: list, synth_groups: list) -> tuple[pd.DataFrame, pd.DataFrame]:
    real = pd.DataFrame({"a": np.arange(20.0), "g": ["x", "y"] * 10})
    synth = pd.DataFrame({"a": synth_values, "g": synth_groups})
    return real, synth


def test_support_coverage_matches_the_hand_computed_value_in_both_modes():
    # a: 20 equal-width bins over 0..19, one real value each; the synthetic table doubles the
    # first ten values and leaves the last ten bins empty. g: x 10/10 and y 10/10 in both.
    real, synth = _support_pair(list(np.repeat(np.arange(10.0), 2)), ["x", "y"] * 10)
    faithful = tabsyndex(real, synth, categorical=["g"], target="g", faithful=True, n_jobs=1)
    default = tabsyndex(real, synth, categorical=["g"], target="g", n_jobs=1)
    # Faithful: column a = min(1, mean(min(2, ratio))) = min(1, (10 * 2 + 10 * 0) / 20) = 1.
    assert faithful.sup_score == pytest.approx((1.0 + 1.0) / 2, abs=1e-12)
    # Default: mean(min(1, ratio)) = 10 / 20 for a, 1 for g.
    assert default.sup_score == pytest.approx((0.5 + 1.0) / 2, abs=1e-12)
    assert default.details["sup"]["uncovered_bins"] == {"a": 10, "g": 0}
    reference = published_tabsyndex(_coded(real, ["g"]), _coded(synth, ["g"]), ["g"], -1, "class")
    assert reference["sup_score"] == pytest.approx(faithful.sup_score, abs=1e-12)


def test_a_missing_category_scores_zero_by_default_and_fails_in_faithful_mode_like_the_published_code():
    real, synth = _support_pair(list(np.arange(20.0)), ["x"] * 20)
    default = tabsyndex(real, synth, categorical=["g"], target="g", n_jobs=1)
    assert default.details["sup"]["per_column"]["g"] == pytest.approx((1.0 + 0.0) / 2)
    with pytest.raises(InvalidRequestError, match="do not occur in the synthetic table"):
        tabsyndex(real, synth, categorical=["g"], target="a", faithful=True)
    with pytest.raises(KeyError):  # the literal reimplementation fails the way the published code does
        published_tabsyndex(_coded(real, ["g"])[["g", "a"]], synth.assign(g=0)[["g", "a"]], ["g"], -1, "regr")


# --- faithful mode = the published algorithm -------------------------------------------------


@pytest.mark.parametrize("name, pair", [("wine", "copula"), ("diabetes", "halves")])
def test_faithful_mode_equals_a_literal_reimplementation_of_the_published_code(name, pair):
    data = load_builtin_table(name)
    frame = _coded(data.frame, data.categorical)
    real, synth = _halves(frame, seed=3)
    if pair == "copula":
        synth = make_generator("gaussian_copula", seed=1).fit(real, categorical=data.categorical).sample(len(real))
    reference = published_tabsyndex(real, synth, data.categorical, -1, data.target_type)
    fast = tabsyndex(
        real, synth, categorical=data.categorical, target=data.target, target_type=data.target_type,
        faithful=True, n_jobs=2,
    ).to_dict()  # fmt: skip
    for key in PUBLISHED_KEYS:
        assert fast[key] == pytest.approx(reference[key], abs=1e-6), key


def test_faithful_mode_gives_identical_tables_a_pmse_score_of_one_over_1_2():
    data = load_builtin_table("wine")
    real, _ = _halves(data.frame, seed=0)
    faithful = tabsyndex(real, real.copy(), categorical=data.categorical, target=data.target, faithful=True)
    assert faithful.details["pmse"]["pmse"] == pytest.approx(0.0, abs=1e-12)
    assert faithful.pmse_score == pytest.approx(1 / 1.2, abs=1e-9)
    for key in ("basic_score", "corr_score", "ml_score", "sup_score"):
        assert getattr(faithful, key) == pytest.approx(1.0, abs=1e-12), key
    assert faithful.score == pytest.approx((4 + 1 / 1.2) / 5, abs=1e-9)
    default = tabsyndex(real, real.copy(), categorical=data.categorical, target=data.target)
    assert default.pmse_score == 1.0 and default.score == pytest.approx(1.0, abs=1e-12)


def test_faithful_mode_flips_a_binary_target_whose_first_rows_differ_and_the_default_does_not():
    rng = np.random.default_rng(0)
    x = rng.normal(size=200)
    frame = pd.DataFrame({"x": x, "y": (x + 0.3 * rng.normal(size=200) > 0).astype(int)})
    real = pd.concat([frame[frame.y == 1].iloc[:1], frame]).reset_index(drop=True).iloc[:200]
    synth = pd.concat([frame[frame.y == 0].iloc[:1], frame]).reset_index(drop=True).iloc[:200]
    faithful = tabsyndex(real, synth, categorical=["y"], target="y", faithful=True, n_jobs=1)
    reference = published_tabsyndex(real, synth, ["y"], -1, "class")
    assert faithful.ml_score == pytest.approx(reference["ml_score"], abs=1e-6)
    # The published encoding factorises y by order of appearance in each table: the labels
    # swap between tables, so a model trained on one table is nearly always wrong on the other.
    assert faithful.ml_score < 0.3
    assert tabsyndex(real, synth, categorical=["y"], target="y", n_jobs=1).ml_score > 0.9


def test_published_null_expects_about_half_the_pmse_of_two_independent_samples():
    # Snoke et al.'s null is for data drawn from a model fitted to the real data; two
    # independent samples of one distribution have about 1 / (1 - c) = 2 times that pMSE.
    from obliviate.synthetic.score import _pmse_faithful

    rng = np.random.default_rng(0)
    ratios = []
    for _ in range(5):
        real, synth = pd.DataFrame(rng.random((5000, 24))), pd.DataFrame(rng.random((5000, 24)))
        ratios.append(_pmse_faithful(real, synth)[1]["ratio"])
    assert 1.6 < float(np.mean(ratios)) < 2.8  # measured mean 2.32


def test_default_pmse_null_is_calibrated_on_independent_samples():
    rng = np.random.default_rng(1)
    ratios = []
    for seed in range(3):
        real = pd.DataFrame(rng.normal(size=(1500, 8)))
        synth = pd.DataFrame(rng.normal(size=(1500, 8)))
        ratios.append(tabsyndex(real, synth, seed=seed, n_jobs=1).details["pmse"]["ratio"])
    assert 0.5 < float(np.median(ratios)) < 2.0


# --- interface ---------------------------------------------------------------------------------


def test_result_has_the_published_keys_and_components_in_the_unit_interval():
    data = load_builtin_table("diabetes")
    real, synth = _halves(data.frame, seed=0)
    result = tabsyndex(real, synth, categorical=data.categorical, target=data.target)
    out = result.to_dict()
    assert list(out) == list(PUBLISHED_KEYS) + ["faithful"]
    assert all(0.0 <= out[key] <= 1.0 for key in PUBLISHED_KEYS)
    assert out["score"] == pytest.approx(sum(out[k] for k in PUBLISHED_KEYS[1:]) / 5)
    assert result.details["target_type"] == "regr"
    assert set(result.to_dict(details=True)) >= {"details", "seconds"}


def test_parallel_and_sequential_fits_give_the_same_numbers():
    data = load_builtin_table("breast_cancer")
    real, synth = _halves(data.frame, seed=2)
    options = {"categorical": data.categorical, "target": data.target, "seed": 5}
    assert tabsyndex(real, synth, n_jobs=1, **options).to_dict() == tabsyndex(real, synth, n_jobs=2, **options).to_dict()


def test_bad_input_gets_a_typed_error_that_says_what_to_fix():
    data = load_builtin_table("wine")
    real, synth = _halves(data.frame, seed=0)
    with pytest.raises(InvalidRequestError, match="list it in categorical"):
        tabsyndex(real, synth, target="target")
    with pytest.raises(InvalidRequestError, match="missing"):
        tabsyndex(real, synth.drop(columns=["alcohol"]), categorical=["target"])
    with pytest.raises(InvalidRequestError, match="impute"):
        tabsyndex(real.assign(alcohol=np.nan), synth, categorical=["target"])
    with pytest.raises(InvalidRequestError, match="not in the table"):
        tabsyndex(real, synth, categorical=["target"], target="nope")
    with pytest.raises(InvalidParameterError, match="corr_floor"):
        tabsyndex(real, synth, categorical=["target"], corr_floor=2.0)
    with pytest.raises(InvalidParameterError, match="n_jobs"):
        tabsyndex(real, synth, categorical=["target"], n_jobs=0)
    with_gap = real.astype({"target": object})
    with_gap.loc[0, "target"] = None
    with pytest.raises(InvalidRequestError, match="faithful mode needs complete tables"):
        tabsyndex(with_gap, synth, categorical=["target"], faithful=True)
    assert 0 <= tabsyndex(with_gap, synth, categorical=["target"]).score <= 1  # a missing label is a category
