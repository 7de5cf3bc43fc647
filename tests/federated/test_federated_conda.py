"""ConDa's dampening rule on hand-made contributions with known answers."""

from __future__ import annotations

import torch

from obliviate.federated.methods.conda import dampen

# Per entry: (C_F, C_R) and what the paper's rule does with lambda=0.5, gamma=0.8, beta=1:
#   r = C_R / C_F; r < 0.5 -> weight * min(0.8 r, 1); else unchanged.
FORGET = torch.tensor([4.0, 1.0, 2.0, 0.0, 3.0, 0.0])
RETAIN = torch.tensor([1.0, 1.0, 0.0, 2.0, 3.0, 0.0])
# r:                    0.25  1.0   0.0  inf   1.0  nan
PAPER_FACTORS = torch.tensor([0.2, 1.0, 0.0, 1.0, 1.0, 1.0])


def test_paper_direction_dampens_entries_dominated_by_forgotten_clients():
    weights = {"w": torch.full((6,), 2.0)}
    counts = dampen(
        weights, {"w": FORGET}, {"w": RETAIN}, ratio_cutoff=0.5, dampening_constant=0.8, upper_bound=1.0
    )
    torch.testing.assert_close(weights["w"], 2.0 * PAPER_FACTORS)
    assert counts == {"dampened": 2, "total": 6}


def test_upper_bound_caps_the_factor():
    weights = {"w": torch.ones(6)}
    dampen(weights, {"w": FORGET}, {"w": RETAIN}, ratio_cutoff=0.5, dampening_constant=10.0, upper_bound=0.3)
    # r = 0.25 -> min(2.5, 0.3) = 0.3; r = 0 -> 0.
    torch.testing.assert_close(weights["w"], torch.tensor([0.3, 1.0, 0.0, 1.0, 1.0, 1.0]))


def test_respai_compat_takes_the_inverse_ratio_of_the_public_code():
    weights = {"w": torch.ones(6)}
    counts = dampen(
        weights, {"w": FORGET}, {"w": RETAIN}, ratio_cutoff=0.5, dampening_constant=0.8,
        upper_bound=1.0, compat="respai",
    )
    # r = C_F / C_R: 4, 1, inf, 0, 1, nan -> only the entry the forgotten clients never moved.
    torch.testing.assert_close(weights["w"], torch.tensor([1.0, 1.0, 1.0, 0.0, 1.0, 1.0]))
    assert counts["dampened"] == 1
