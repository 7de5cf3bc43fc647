"""Relearn time: how fast fine-tuning brings forgotten knowledge back (the concealment check).

A model that only concealed the forget data (its weights still hold it) relearns it in far
fewer steps than a model that never learned it (cf. Golatkar et al., CVPR 2020; Tarun et
al., 2023). The protocol here is built so that it cannot be passed by a shortcut:

* **Relearn set**: a mix of forget examples and as many retain examples
  (:func:`relearn_sets`). On a one-label forget set alone, fine-tuning only has to move an
  output bias, so even a randomly initialised network "relearns" in a few steps; the
  retain half forces the probe to recover the forgotten *features* without losing the rest.
* **Probe set**: recovery is measured on examples the fine-tuning never sees -- held-out
  examples of the forgotten classes joined by as many held-out examples of the other
  classes for class forgetting (so that answering the forgotten class for everything does
  not count as recovery), or the forget examples left out of the relearn set otherwise.
* **Every step** is checked, so the count is exact.
* **References**: gold (retrained without the forget data) gives the time it takes to learn
  the forgotten knowledge from the relearn set alone; a randomly initialised network of the
  same architecture gives the time from nothing. ``relearn_ratio = steps / gold_steps``
  near or above 1 means forgetting; well below 1 (:data:`CONCEALMENT_RATIO`) means the
  knowledge was only concealed.
"""

from __future__ import annotations

import copy
from typing import NamedTuple

import numpy as np
import torch
from torch import nn
from torch.utils.data import Dataset, TensorDataset

from obliviate.core.errors import InvalidParameterError, InvalidRequestError
from obliviate.core.training import (
    accuracy,
    cross_entropy_loss,
    make_loader,
    make_optimizer,
    model_device,
    to_device,
)

CONCEALMENT_RATIO = 0.5
"""A relearn ratio below this flags concealment: the forgotten knowledge came back in
less than half the time a model that never saw it needs."""


def _check_int(name: str, value: int, low: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise InvalidParameterError(f"relearn_steps: {name} must be an int >= {low}; got {value!r}")


class RelearnSets(NamedTuple):
    """What :func:`relearn_steps` fine-tunes on (``relearn``) and measures on (``probe``)."""

    relearn: Dataset
    probe: Dataset


def relearn_sets(
    forget: Dataset,
    retain: Dataset,
    *,
    heldout_forget: Dataset | None = None,
    heldout_retain: Dataset | None = None,
    max_forget: int = 256,
    seed: int = 0,
) -> RelearnSets:
    """Build the relearn mix and the probe set of the protocol.

    Args:
        forget: the forget set.
        retain: the retain set (as many of its examples as forget examples join the mix).
        heldout_forget: held-out examples of the forgotten distribution (test examples of
            the forgotten classes). When given they are the probe and up to ``max_forget``
            forget examples join the mix; when ``None`` the forget set is split in two
            halves, one for the mix and one for the probe.
        heldout_retain: held-out examples of the retained distribution; as many as the
            probe holds (seeded sample) join the probe. Needed for class forgetting: a probe
            of one class alone is "recovered" by a network that answers that class for
            everything, which a randomly initialised network learns in a few steps.
        max_forget: at most this many forget examples in the mix (seeded sample).
        seed: seeds the samples.

    Raises:
        InvalidRequestError: an empty forget or retain set, or a forget set of one example
            without held-out examples (nothing left to probe).
    """
    if len(forget) == 0 or len(retain) == 0:
        raise InvalidRequestError("relearn_sets needs a non-empty forget set and a non-empty retain set")
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(forget))
    if heldout_forget is not None and len(heldout_forget) > 0:
        used, probe = order[:max_forget], _tensors(heldout_forget, np.arange(len(heldout_forget)))
    else:
        if len(forget) < 2:
            raise InvalidRequestError(
                "relearn time needs at least two forget examples or held-out examples of the forgotten data"
            )
        half = len(order) // 2
        used, probe = order[:half][:max_forget], _tensors(forget, np.sort(order[half:]))
    if heldout_retain is not None and len(heldout_retain) > 0:
        extra = np.sort(rng.choice(len(heldout_retain), size=min(len(probe), len(heldout_retain)), replace=False))
        guard = _tensors(heldout_retain, extra)
        probe = TensorDataset(*(torch.cat([a, b]) for a, b in zip(probe.tensors, guard.tensors)))
    keep = np.sort(rng.choice(len(retain), size=min(len(used), len(retain)), replace=False))
    first, second = _tensors(forget, np.sort(used)), _tensors(retain, keep)
    mix = TensorDataset(*(torch.cat([a, b]) for a, b in zip(first.tensors, second.tensors)))
    return RelearnSets(relearn=mix, probe=probe)


def _tensors(data: Dataset, index: np.ndarray) -> TensorDataset:
    """Rows ``index`` of an ``(inputs, labels)`` dataset as a ``TensorDataset`` (fast to batch)."""
    tensors = getattr(data, "tensors", None)
    picked = torch.as_tensor(index, dtype=torch.long)
    if tensors is not None:
        return TensorDataset(*(t[picked] for t in tensors[:2]))
    rows = [data[int(i)] for i in index]
    return TensorDataset(torch.stack([torch.as_tensor(r[0]) for r in rows]), torch.as_tensor([int(r[1]) for r in rows]))


def relearn_steps(
    model: nn.Module,
    relearn: Dataset,
    probe: Dataset | None = None,
    *,
    target_accuracy: float,
    lr: float = 1e-3,
    batch_size: int = 32,
    max_steps: int = 500,
    check_every: int = 1,
    seed: int = 0,
) -> int:
    """Optimizer steps of fine-tuning a copy of ``model`` on ``relearn`` until its accuracy on
    ``probe`` reaches ``target_accuracy``.

    Training is Adam on the mean cross-entropy, with a seeded shuffle reshuffled each pass.
    Accuracy on the probe is checked before any step (0 steps if the model is already
    there), every ``check_every`` steps (default: every step, so the count is exact) and at
    the last step. The model passed in is not modified and the caller's global random state
    is left as it was.

    Args:
        model: the classifier to probe.
        relearn: what fine-tuning sees, as an ``(inputs, labels)`` dataset (see
            :func:`relearn_sets`).
        probe: where recovery is measured (default: ``relearn`` itself).
        target_accuracy: probe accuracy to reach, in [0, 1].
        lr: Adam learning rate.
        batch_size: fine-tuning batch size.
        max_steps: cap on the number of steps; returned when the target is never reached.
        check_every: steps between accuracy checks.
        seed: seeds the shuffle order and any randomness inside the model (dropout).

    Returns:
        The number of steps taken, in ``[0, max_steps]``.

    Raises:
        InvalidRequestError: when ``relearn`` or ``probe`` is empty.
        InvalidParameterError: for a target outside [0, 1] or non-positive counts.
    """
    probe = relearn if probe is None else probe
    if len(relearn) == 0 or len(probe) == 0:
        raise InvalidRequestError("relearn_steps needs a non-empty relearn set and a non-empty probe set")
    if isinstance(target_accuracy, bool) or not 0.0 <= float(target_accuracy) <= 1.0:
        raise InvalidParameterError(
            f"relearn_steps: target_accuracy must lie in [0, 1]; got {target_accuracy!r}"
        )
    _check_int("max_steps", max_steps, 0)
    _check_int("check_every", check_every, 1)
    _check_int("batch_size", batch_size, 1)
    work = copy.deepcopy(model)
    if accuracy(work, probe) >= target_accuracy:
        return 0
    device = model_device(work)
    optimizer = make_optimizer(work.parameters(), "adam", lr=lr)
    steps = 0
    # Forked so that dropout draws are seeded without disturbing the caller's random state.
    cuda_devices = [device.index or 0] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=cuda_devices):
        torch.manual_seed(seed)
        while steps < max_steps:
            for batch in make_loader(relearn, batch_size=batch_size, shuffle=True, seed=seed + steps):
                work.train()
                optimizer.zero_grad(set_to_none=True)
                loss = cross_entropy_loss(work, to_device(batch, device))
                loss.backward()
                optimizer.step()
                steps += 1
                due = steps % check_every == 0 or steps >= max_steps
                if due and accuracy(work, probe) >= target_accuracy:
                    return steps
                if steps >= max_steps:
                    break
    return max_steps


def concealment_flag(steps: float, gold_steps: float) -> bool:
    """``True`` when ``steps / gold_steps`` is below :data:`CONCEALMENT_RATIO`."""
    return gold_steps > 0 and steps / gold_steps < CONCEALMENT_RATIO
