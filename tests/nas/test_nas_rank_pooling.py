"""Approximate rank pooling (Bilen et al., CVPR 2016): closed form, constant clips, bad input."""

from __future__ import annotations

import numpy as np
import pytest

from obliviate.core.errors import DataError, InvalidParameterError
from obliviate.nas.rank_pooling import dynamic_image, harmonic_numbers, mean_image, rank_pooling_coefficients


@pytest.mark.parametrize("length", [1, 2, 3, 5, 10, 31])
def test_coefficients_match_the_time_average_derivation(length):
    # d = sum_t (2t - T - 1) psi_t with psi_t = (1/t) sum_{tau<=t} a_tau; so the weight of frame
    # a_t is sum_{tau>=t} (2 tau - T - 1) / tau, computed here by a plain loop.
    expected = [
        sum((2 * tau - length - 1) / tau for tau in range(t, length + 1)) for t in range(1, length + 1)
    ]
    assert np.allclose(rank_pooling_coefficients(length), expected, atol=1e-12)


def test_coefficients_for_three_frames_by_hand():
    # T=3, H = [0, 1, 1.5, 11/6]: alpha_1 = 6 - 4*11/6, alpha_2 = 4 - 4*(11/6 - 1), alpha_3 = 2 - 4*(11/6 - 1.5)
    assert np.allclose(rank_pooling_coefficients(3), [6 - 22 / 3, 4 - 10 / 3, 2 - 4 / 3], atol=1e-12)
    assert np.allclose(harmonic_numbers(3), [0, 1, 1.5, 11 / 6])


@pytest.mark.parametrize("length", [2, 7, 16])
def test_constant_clip_pools_to_the_zero_image(length):
    assert abs(rank_pooling_coefficients(length).sum()) < 1e-10
    clip = np.full((length, 5, 6), 0.37)
    assert np.array_equal(dynamic_image(clip), np.zeros((5, 6), dtype=np.float32))
    assert np.allclose(dynamic_image(clip, normalise=False), 0.0, atol=1e-10)


def test_brightening_pixels_get_positive_and_darkening_pixels_negative_values():
    t = np.arange(8, dtype=float)[:, None, None]
    clip = np.concatenate([0.1 * t * np.ones((8, 2, 2)), 1.0 - 0.1 * t * np.ones((8, 2, 2))], axis=2)
    image = dynamic_image(clip)
    assert np.all(image[:, :2] > 0.99) and np.all(image[:, 2:] < -0.99)
    # reversing time flips the sign; the mean frame cannot tell the two orders apart
    assert np.allclose(dynamic_image(clip[::-1]), -image, atol=1e-6)
    assert np.allclose(mean_image(clip[::-1]), mean_image(clip))


def test_bad_clips_get_typed_errors():
    with pytest.raises(DataError, match="at least 2 frames"):
        dynamic_image(np.zeros((1, 4, 4)))
    with pytest.raises(DataError, match="NaN"):
        dynamic_image(np.array([[[np.nan]], [[0.0]]]))
    with pytest.raises(InvalidParameterError, match="at least one frame"):
        rank_pooling_coefficients(0)
