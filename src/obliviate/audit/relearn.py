"""Relearn time: how fast fine-tuning on the forget set brings the forgotten knowledge back.

A model that only concealed the forget data (its weights still hold it) relearns it in far
fewer steps than a model that never learned it. The gold model's relearn time is the
reference: ``relearn_ratio = method_steps / gold_steps`` near 1 means real forgetting,
well below 1 means concealment (cf. Golatkar et al., CVPR 2020; Tarun et al., 2023).
"""

from __future__ import annotations

import copy

import torch
from torch import nn
from torch.utils.data import Dataset

from obliviate.core.errors import InvalidParameterError, InvalidRequestError
from obliviate.core.training import (
    accuracy,
    cross_entropy_loss,
    make_loader,
    make_optimizer,
    model_device,
    to_device,
)


def _check_int(name: str, value: int, low: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise InvalidParameterError(f"relearn_steps: {name} must be an int >= {low}; got {value!r}")


def relearn_steps(
    model: nn.Module,
    forget: Dataset,
    *,
    target_accuracy: float,
    lr: float = 1e-3,
    batch_size: int = 32,
    max_steps: int = 500,
    check_every: int = 5,
    seed: int = 0,
) -> int:
    """Optimizer steps of fine-tuning a copy of ``model`` on ``forget`` until its accuracy
    there reaches ``target_accuracy`` (typically the original model's forget accuracy).

    Training is Adam on the mean cross-entropy, with a seeded shuffle reshuffled each pass.
    Accuracy is checked before any step (0 steps if the model is already there), every
    ``check_every`` steps, and at the last step, so the answer is exact to within
    ``check_every`` steps. The model passed in is not modified and the caller's global
    random state is left as it was.

    Args:
        model: the classifier to probe.
        forget: the forget set as a ``(inputs, labels)`` dataset.
        target_accuracy: accuracy on ``forget`` to reach, in [0, 1].
        lr: Adam learning rate.
        batch_size: fine-tuning batch size.
        max_steps: cap on the number of steps; returned when the target is never reached.
        check_every: steps between accuracy checks.
        seed: seeds the shuffle order and any randomness inside the model (dropout).

    Returns:
        The number of steps taken, in ``[0, max_steps]``.

    Raises:
        InvalidRequestError: when ``forget`` is empty.
        InvalidParameterError: for a target outside [0, 1] or non-positive counts.
    """
    if len(forget) == 0:
        raise InvalidRequestError("relearn_steps needs a non-empty forget set")
    if isinstance(target_accuracy, bool) or not 0.0 <= float(target_accuracy) <= 1.0:
        raise InvalidParameterError(
            f"relearn_steps: target_accuracy must lie in [0, 1]; got {target_accuracy!r}"
        )
    _check_int("max_steps", max_steps, 0)
    _check_int("check_every", check_every, 1)
    _check_int("batch_size", batch_size, 1)
    work = copy.deepcopy(model)
    if accuracy(work, forget) >= target_accuracy:
        return 0
    device = model_device(work)
    optimizer = make_optimizer(work.parameters(), "adam", lr=lr)
    steps = 0
    # Forked so that dropout draws are seeded without disturbing the caller's random state.
    cuda_devices = [device.index or 0] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=cuda_devices):
        torch.manual_seed(seed)
        while steps < max_steps:
            for batch in make_loader(forget, batch_size=batch_size, shuffle=True, seed=seed + steps):
                work.train()
                optimizer.zero_grad(set_to_none=True)
                loss = cross_entropy_loss(work, to_device(batch, device))
                loss.backward()
                optimizer.step()
                steps += 1
                due = steps % check_every == 0 or steps >= max_steps
                if due and accuracy(work, forget) >= target_accuracy:
                    return steps
                if steps >= max_steps:
                    break
    return max_steps
