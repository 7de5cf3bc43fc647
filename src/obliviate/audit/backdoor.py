"""Backdoor attack success rate: the check that a planted trigger was forgotten.

Attack success rate (Gu et al., "BadNets", 2017): among test images whose true class is
not the target, the fraction a model sends to the target class once the trigger is stamped
on them. A model that never saw the trigger scores about the rate at which it confuses
those images with the target anyway; that, the gold model's value, is what unlearning
should bring the score down to.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np
import torch
from torch import nn

from obliviate.core.errors import InvalidRequestError
from obliviate.core.training import predict_logits


class Trigger(Protocol):
    """A backdoor trigger: stamps images and names the class they are sent to."""

    target: int

    def apply(self, images: np.ndarray) -> np.ndarray: ...


def backdoor_success(model: nn.Module, images: np.ndarray, labels: np.ndarray, backdoor: Trigger) -> float:
    """Fraction of triggered non-target test images that ``model`` classifies as the target.

    Args:
        model: the model under audit.
        images: clean test images ``(n, C, H, W)``.
        labels: their true classes.
        backdoor: the trigger: anything with ``apply(images) -> stamped images`` and a
            ``target`` class (e.g. :class:`obliviate.federated.data.Backdoor`).

    Returns:
        The attack success rate in [0, 1].

    Raises:
        InvalidRequestError: when no test image has a class other than the target.
    """
    keep = np.asarray(labels) != backdoor.target
    if not keep.any():
        raise InvalidRequestError("backdoor_success needs test images of classes other than the target")
    triggered = torch.from_numpy(backdoor.apply(np.asarray(images)[keep]).astype(np.float32))
    predictions = predict_logits(model, triggered).argmax(dim=1).numpy()
    return float((predictions == backdoor.target).mean())
