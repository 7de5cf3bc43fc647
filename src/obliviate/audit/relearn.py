"""Relearn time: how fast fine-tuning on the forget set brings the forgotten knowledge back.

A model that only concealed the forget data (its weights still hold it) relearns it in far
fewer steps than a model that never learned it. The gold model's relearn time is the
reference: ``relearn_ratio = method_steps / gold_steps`` near 1 means real forgetting,
well below 1 means concealment (cf. Golatkar et al., CVPR 2020; Tarun et al., 2023).
"""

from __future__ import annotations

import copy

from torch import nn
from torch.utils.data import Dataset

from obliviate.core.training import accuracy, cross_entropy_loss, make_loader, make_optimizer, model_device, to_device


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
    """Optimizer steps of fine-tuning a copy of ``model`` on ``forget`` until its accuracy there
    reaches ``target_accuracy`` (typically the original model's forget accuracy).

    Accuracy is checked every ``check_every`` steps; returns ``max_steps`` if never reached.
    The model passed in is not modified.
    """
    work = copy.deepcopy(model)
    if accuracy(work, forget) >= target_accuracy:
        return 0
    device = model_device(work)
    optimizer = make_optimizer(work.parameters(), "adam", lr=lr)
    steps = 0
    while steps < max_steps:
        for batch in make_loader(forget, batch_size=batch_size, shuffle=True, seed=seed + steps):
            work.train()
            optimizer.zero_grad(set_to_none=True)
            loss = cross_entropy_loss(work, to_device(batch, device))
            loss.backward()
            optimizer.step()
            steps += 1
            if steps % check_every == 0 and accuracy(work, forget) >= target_accuracy:
                return steps
            if steps >= max_steps:
                break
    return max_steps
