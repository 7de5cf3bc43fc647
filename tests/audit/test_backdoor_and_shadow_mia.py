"""Backdoor success and the sorted-softmax membership attack, on cases with known answers."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from obliviate.audit import backdoor_success, sorted_softmax_mia
from obliviate.core.errors import InvalidRequestError
from obliviate.federated.data import Backdoor


class CornerDetector(nn.Module):
    """Predicts class 0 when the bottom-right pixel is lit, else class 1 (a fully backdoored model)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        lit = (x[:, 0, -1, -1] > 0.5).float()
        return torch.stack([lit, 1.0 - lit], dim=1)


class AlwaysOne(nn.Module):
    """Ignores its input: a model that never learned the trigger."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.tensor([[0.0, 1.0]]).repeat(len(x), 1)


def images_and_labels(n: int = 40) -> tuple[np.ndarray, np.ndarray]:
    images = np.zeros((n, 1, 8, 8), dtype=np.float32)
    labels = np.arange(n) % 3
    return images, labels


def test_backdoored_model_scores_one_and_clean_model_scores_zero():
    images, labels = images_and_labels()
    trigger = Backdoor(target=0, patch=2)
    assert backdoor_success(CornerDetector(), images, labels, trigger) == 1.0
    assert backdoor_success(AlwaysOne(), images, labels, trigger) == 0.0


def test_backdoor_success_counts_only_predictions_of_the_target_class():
    images, labels = images_and_labels(30)
    # The detector sends triggered images to class 0, which is not this trigger's target.
    assert backdoor_success(CornerDetector(), images, labels, Backdoor(target=2, patch=1)) == 0.0
    with pytest.raises(InvalidRequestError):
        backdoor_success(CornerDetector(), images, np.zeros(30, dtype=int), Backdoor(target=0))


def confident(rng: np.random.Generator, n: int) -> np.ndarray:
    logits = rng.normal(size=(n, 10))
    logits[:, 0] += 8.0
    probs = np.exp(logits)
    return probs / probs.sum(axis=1, keepdims=True)


def uncertain(rng: np.random.Generator, n: int) -> np.ndarray:
    probs = np.exp(rng.normal(scale=0.3, size=(n, 10)))
    return probs / probs.sum(axis=1, keepdims=True)


def test_shadow_attack_separates_confident_members_from_unseen_data():
    rng = np.random.default_rng(0)
    accuracy, auc = sorted_softmax_mia(
        confident(rng, 300), uncertain(rng, 300), confident(rng, 100), uncertain(rng, 100), seed=0
    )
    assert accuracy >= 0.95 and auc >= 0.99


def test_shadow_attack_finds_no_signal_when_target_looks_like_holdout():
    rng = np.random.default_rng(1)
    accuracy, auc = sorted_softmax_mia(
        confident(rng, 300), uncertain(rng, 300), uncertain(rng, 200), uncertain(rng, 200), seed=0
    )
    # Both evaluation sides look like non-members: accuracy is the share called non-member
    # on the holdout half (~0.5 overall) and AUC carries no signal.
    assert abs(accuracy - 0.5) <= 0.1
    assert abs(auc - 0.5) <= 0.1
