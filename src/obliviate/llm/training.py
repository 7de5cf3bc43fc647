"""The llm task's training loop, run through Hugging Face ``accelerate``.

Every llm method and the scenario's own training (original, gold, the relearning attack)
go through :func:`lm_fit`. With ``accelerate`` installed (it comes with the ``llm`` extra)
the model and its optimizer are handed to one process-wide ``accelerate.Accelerator``:

* on one device (this machine's CPU, or one GPU) it is a pass-through: the same steps in
  the same order as :func:`obliviate.core.training.fit`, so the weights are identical;
* mixed precision follows accelerate's own configuration (``accelerate config`` or the
  ``ACCELERATE_MIXED_PRECISION`` environment variable): the forward pass runs under
  ``Accelerator.autocast`` and the loss goes through ``Accelerator.backward``;
* launched with ``accelerate launch`` on several GPUs, each process trains its replica of
  the model on every ``num_processes``-th batch and the gradients are averaged across
  processes (distributed data parallel). Evaluation (the audit) runs in every process.

``OBLIVIATE_ACCELERATE=0`` in the environment (or ``use_accelerate=False``) trains with the
plain loop instead. A model left on the CPU while accelerate would place it on a GPU is
trained where it is, with the plain loop: the caller's choice of device wins.
"""

from __future__ import annotations

import contextlib
import os
from typing import Any, Callable, Iterable

import torch
from torch import nn

from obliviate.core.training import fit, make_optimizer

ENVIRONMENT_SWITCH = "OBLIVIATE_ACCELERATE"
_ACCELERATOR: Any = None


def accelerator() -> Any:
    """The process-wide ``accelerate.Accelerator``, or ``None`` when accelerate is not
    installed or ``$OBLIVIATE_ACCELERATE`` is ``0``."""
    global _ACCELERATOR
    if os.environ.get(ENVIRONMENT_SWITCH, "1").strip().lower() in {"0", "false", "no", "off"}:
        return None
    if _ACCELERATOR is None:
        try:
            from accelerate import Accelerator
        except ImportError:
            return None
        _ACCELERATOR = Accelerator()
    return _ACCELERATOR


def describe() -> dict[str, Any]:
    """What :func:`lm_fit` trains with here (for reports and certificates)."""
    acc = accelerator()
    if acc is None:
        return {"backend": "torch", "device": "cuda" if torch.cuda.is_available() else "cpu", "processes": 1}
    return {"backend": "accelerate", "device": str(acc.device), "processes": int(acc.num_processes),
            "mixed_precision": str(acc.mixed_precision)}


class _Shard:
    """Every ``count``-th batch of ``batches``, starting at ``index`` (one process's share)."""

    def __init__(self, batches: Iterable, index: int, count: int):
        self.batches, self.index, self.count = batches, index, count

    def __iter__(self):
        for position, batch in enumerate(self.batches):
            if position % self.count == self.index:
                yield batch

    def __len__(self) -> int:
        total = len(self.batches)  # type: ignore[arg-type]
        return max(0, (total - self.index + self.count - 1) // self.count)


def _device_of(model: nn.Module) -> torch.device:
    for parameter in model.parameters():
        return parameter.device
    return torch.device("cpu")


def lm_fit(
    model: nn.Module,
    data: Iterable,
    *,
    loss_fn: Callable[[nn.Module, Any], torch.Tensor],
    epochs: int = 1,
    lr: float = 1e-3,
    optimizer: str = "adamw",
    weight_decay: float = 0.0,
    max_steps: int | None = None,
    seed: int = 0,
    progress: bool = False,
    desc: str = "training",
    use_accelerate: bool | None = None,
) -> dict[str, Any]:
    """Train a causal LM in place on a re-iterable of batches; see the module docstring.

    Arguments are those of :func:`obliviate.core.training.fit` (``data`` is an iterable of
    ready batches); ``use_accelerate`` forces (``True``) or avoids (``False``) accelerate
    (default: use it when :func:`accelerator` gives one).

    Returns:
        ``fit``'s history (``steps``, ``last_loss``, ``epoch_losses``) and ``backend``.

    Raises:
        ImportError: ``use_accelerate=True`` without accelerate installed.
    """
    acc = accelerator() if use_accelerate is not False else None
    if use_accelerate and acc is None:
        raise ImportError("use_accelerate=True needs accelerate: pip install 'obliviate[llm]' "
                          f"(and leave ${ENVIRONMENT_SWITCH} unset)")
    if acc is not None and _device_of(model).type != acc.device.type:
        acc = None  # the model stays on the device its owner chose
    common = {"epochs": epochs, "max_steps": max_steps, "seed": seed, "progress": progress, "desc": desc}
    if acc is None:
        history = fit(model, data, loss_fn=loss_fn, lr=lr, optimizer=optimizer, weight_decay=weight_decay, **common)
        return {**history, "backend": "torch"}
    opt = make_optimizer((p for p in model.parameters() if p.requires_grad), optimizer, lr=lr, weight_decay=weight_decay)
    prepared, opt = acc.prepare(model, opt)
    if acc.num_processes > 1:
        data = _Shard(data, acc.process_index, acc.num_processes)

    def autocast_loss(net: nn.Module, batch: Any) -> torch.Tensor:
        with acc.autocast() if acc.mixed_precision != "no" else contextlib.nullcontext():
            return loss_fn(net, batch)

    try:
        history = fit(prepared, data, loss_fn=autocast_loss, optimizer=opt, backward=acc.backward, **common)
    finally:
        acc.free_memory()  # the accelerator keeps no reference to this model or optimizer
    model.eval()
    return {**history, "backend": "accelerate"}
