"""Association measures against hand-computed cases, and the vectorised matrix against pair loops."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from obliviate.core.errors import InvalidRequestError
from obliviate.synthetic.associations import association_matrix, correlation_ratio, pearson, theils_u
from obliviate.synthetic.reference import associations_loop


def test_pearson_matches_the_hand_computed_value():
    # x = 1..4, y = 2, 4, 5, 9: deviations (-1.5, -0.5, 0.5, 1.5) and (-3, -1, 0, 4),
    # cross sum 11, squares 5 and 26, so r = 11 / sqrt(130).
    assert pearson([1, 2, 3, 4], [2, 4, 5, 9]) == pytest.approx(11 / math.sqrt(130), abs=1e-12)
    assert math.isnan(pearson([1, 1, 1], [1, 2, 3]))


def test_correlation_ratio_matches_the_hand_computed_value():
    # a: 1, 3 (mean 2), b: 4, 6, 8 (mean 6), grand mean 4.4.
    # Between: 2 (2 - 4.4)^2 + 3 (6 - 4.4)^2 = 19.2; total: 29.2.
    value = correlation_ratio(["a", "a", "b", "b", "b"], [1, 3, 4, 6, 8])
    assert value == pytest.approx(math.sqrt(19.2 / 29.2), abs=1e-12)
    assert correlation_ratio(["a"] * 4, [1, 2, 3, 4]) == 0.0
    assert correlation_ratio(["a", "a", "b", "b"], [1, 2, 1, 2]) == 0.0


def test_theils_u_matches_the_hand_computed_value_in_both_directions():
    x, y = [0, 0, 1, 1], [0, 0, 0, 1]
    h_x = math.log(2)
    # Given y = 0 (3 of 4 rows) x is 0, 0, 1; given y = 1 x is 1.
    h_x_given_y = 0.75 * -(2 / 3 * math.log(2 / 3) + 1 / 3 * math.log(1 / 3))
    assert theils_u(x, y) == pytest.approx((h_x - h_x_given_y) / h_x, abs=1e-12)
    h_y = -(0.75 * math.log(0.75) + 0.25 * math.log(0.25))
    h_y_given_x = 0.5 * math.log(2)  # x = 0 fixes y; x = 1 leaves y at 0 or 1 evenly
    assert theils_u(y, x) == pytest.approx((h_y - h_y_given_x) / h_y, abs=1e-12)
    assert theils_u(["a", "b", "c"], ["a", "b", "c"]) == pytest.approx(1.0)
    assert theils_u(["a", "a", "a"], [1, 2, 3]) == 1.0  # dython: a constant x is fully known


def test_measures_reject_sequences_of_different_lengths():
    with pytest.raises(InvalidRequestError):
        pearson([1, 2, 3], [1, 2])
    with pytest.raises(InvalidRequestError):
        theils_u([1, 2], [1, 2, 3])


def _mixed_table(seed: int, n: int = 300) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    a = rng.normal(size=n)
    colour = rng.choice(["red", "green", "blue"], size=n, p=[0.5, 0.3, 0.2])
    shape = np.where(rng.random(n) < 0.7, colour, rng.choice(["square", "round"], size=n))
    b = 2 * a + (colour == "red") + rng.normal(size=n)
    c = rng.exponential(size=n)
    return pd.DataFrame({"a": a, "colour": colour, "b": b, "shape": shape, "c": c})


def test_vectorised_matrix_equals_the_pairwise_measures():
    table = _mixed_table(0)
    matrix = association_matrix(table, ["colour", "shape"])
    assert list(matrix.columns) == list(table.columns)
    assert matrix.loc["a", "b"] == pytest.approx(pearson(table["a"], table["b"]), abs=1e-12)
    assert matrix.loc["colour", "b"] == pytest.approx(correlation_ratio(table["colour"], table["b"]), abs=1e-12)
    assert matrix.loc["b", "colour"] == matrix.loc["colour", "b"]
    assert matrix.loc["shape", "colour"] == pytest.approx(theils_u(table["shape"], table["colour"]), abs=1e-12)
    assert matrix.loc["colour", "shape"] == pytest.approx(theils_u(table["colour"], table["shape"]), abs=1e-12)
    np.testing.assert_allclose(np.diag(matrix.to_numpy()), 1.0)


def test_vectorised_matrix_equals_the_dython_style_loop():
    table = _mixed_table(1)
    coded = table.assign(colour=pd.factorize(table["colour"])[0], shape=pd.factorize(table["shape"])[0])
    fast = association_matrix(coded, ["colour", "shape"]).to_numpy()
    loop = associations_loop(coded, ["colour", "shape"]).to_numpy()
    categorical = [1, 3]
    # The loop stores U(x_i | x_j) at [j, i]; the matrix at [i, j].
    loop[np.ix_(categorical, categorical)] = loop[np.ix_(categorical, categorical)].T
    np.testing.assert_allclose(fast, loop, atol=1e-12)


def test_single_valued_columns_associate_zero():
    table = pd.DataFrame({"x": [1.0, 2.0, 3.0, 4.0], "k": [5.0] * 4, "g": ["a", "b", "a", "b"]})
    matrix = association_matrix(table, ["g"])
    assert matrix.loc["k", "x"] == 0.0 and matrix.loc["g", "k"] == 0.0
    assert matrix.loc["k", "k"] == 1.0
