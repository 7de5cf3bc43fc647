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


class _Records:
    """Two clients' contributions: client 1 holds 4x the data (and takes 4x the steps)."""

    num_examples = {0: 32, 1: 128}

    def contribution(self, client):
        return {"w": torch.tensor([1.0, 2.0]) * (1 + 3 * client)}


def test_contributions_normalised_per_example_or_per_local_step():
    from types import SimpleNamespace

    from obliviate.federated.methods.conda import group_contribution, local_steps

    recipe = SimpleNamespace(steps=None, epochs=2, batch_size=32)
    assert local_steps(32, recipe) == 2 and local_steps(128, recipe) == 8 and local_steps(33, recipe) == 4
    raw = group_contribution(_Records(), [1])["w"]
    torch.testing.assert_close(raw, torch.tensor([4.0, 8.0]))
    torch.testing.assert_close(group_contribution(_Records(), [1], normalize="example")["w"], torch.tensor([4.0, 8.0]) / 128)
    torch.testing.assert_close(
        group_contribution(_Records(), [0, 1], normalize="step", recipe=recipe)["w"],
        (torch.tensor([1.0, 2.0]) / 2 + torch.tensor([4.0, 8.0]) / 8) / 2,
    )
    fixed = SimpleNamespace(steps=5, epochs=2, batch_size=32)
    assert local_steps(128, fixed) == 5


def test_a_quantile_cutoff_dampens_that_share_of_the_finite_ratios():
    from obliviate.federated.methods.conda import quantile_cutoff

    forget = {"w": torch.ones(10)}
    retain = {"w": torch.arange(10, dtype=torch.float32)}  # ratios 0..9
    weights = {"w": torch.ones(10)}
    counts = dampen(weights, forget, retain, ratio_cutoff=quantile_cutoff(forget, retain, 0.3),
                    dampening_constant=1.0, upper_bound=1.0)
    assert counts["dampened"] == 3  # ratios 0, 1, 2 (the 30% smallest)
