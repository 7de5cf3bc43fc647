"""Helpers of the method-contract suites (importable from any test): weight snapshots and
the search for a hyper-parameter value that a method's constraints table refuses."""

from __future__ import annotations

import torch

INVALID_CANDIDATES = (-1, -0.5, 0, 0.0, 1.5, 2.5, 10**9, "invalid")
"""Values tried, in order, when looking for one that a constraints table rejects."""


def snapshot(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    """A detached copy of every tensor of ``model``'s state."""
    return {key: value.detach().clone() for key, value in model.state_dict().items()}


def states_identical(left: dict[str, torch.Tensor], right: dict[str, torch.Tensor]) -> bool:
    """Same keys and bit-identical tensors."""
    return left.keys() == right.keys() and all(torch.equal(left[key], right[key]) for key in left)


def invalid_value(constraints: list):
    """The first candidate that no constraint of a parameter accepts."""
    for candidate in INVALID_CANDIDATES:
        if not any(constraint.accepts(candidate) for constraint in constraints):
            return candidate
    raise AssertionError(f"no candidate value is rejected by {constraints}")
