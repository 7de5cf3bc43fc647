"""The llm task's training loop, run through Hugging Face ``accelerate``.

Every llm method and the scenario's own training (original, gold, the relearning attack)
go through :func:`lm_fit`. With ``accelerate`` installed (it comes with the ``llm`` extra)
the model and its optimizer are handed to one process-wide ``accelerate.Accelerator``:

* on one device (this machine's CPU, or one GPU) it is a pass-through: the same steps in
  the same order as :func:`obliviate.core.training.fit`, so the weights are identical;
* mixed precision follows accelerate's own configuration (``accelerate config`` or the
  ``ACCELERATE_MIXED_PRECISION`` environment variable): the forward pass runs under
  ``Accelerator.autocast`` and the loss goes through ``Accelerator.backward``;
* launched with ``accelerate launch`` on N GPUs, each process trains its replica of the
  model on every N-th batch and the gradients are averaged across processes (distributed
  data parallel): a loop of S batches takes ``S // N`` optimizer steps of N batches each
  (the same examples; a loop shorter than N runs every batch in every process, so the
  replicas never wait on each other). Evaluation (the audit, UnSTAR's probe) runs in every
  process on identical replicas.

After training the model is handed back as it came: unwrapped from any parallel container,
its mixed-precision forward wrapper removed, no accelerate marker left on it.

``OBLIVIATE_ACCELERATE=0`` in the environment (or ``use_accelerate=False``) trains with the
plain loop instead. A model on another device than accelerate's (left on the CPU, or on
``cuda:1`` while accelerate would use ``cuda:0``) is trained where it is, with the plain
loop: the caller's choice of device wins.
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
    """Process ``index`` of ``count``'s share of a pass over ``batches``: every ``count``-th
    batch of the first ``len // count * count`` (every process the same number of steps), or
    every batch when there are fewer batches than processes."""

    def __init__(self, batches: Iterable, index: int, count: int):
        self.batches, self.index, self.count = batches, index, count

    def _usable(self) -> int:
        return len(self.batches) // self.count * self.count  # type: ignore[arg-type]

    def __iter__(self):
        usable = self._usable()
        for position, batch in enumerate(self.batches):
            if usable == 0:
                yield batch
            elif position >= usable:
                break
            elif position % self.count == self.index:
                yield batch

    def __len__(self) -> int:
        usable = self._usable()
        return usable // self.count if usable else len(self.batches)  # type: ignore[arg-type]


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

    Arguments are those of :func:`obliviate.core.training.fit` (``data`` is a sized
    re-iterable of ready batches); ``use_accelerate`` asks for accelerate (``True``: an error
    when it is not installed; the device rule above still applies) or avoids it (``False``;
    default: use it when :func:`accelerator` gives one).

    Returns:
        ``fit``'s history (``steps``, ``last_loss``, ``epoch_losses``) and ``backend``.

    Raises:
        ImportError: ``use_accelerate=True`` without accelerate installed.
    """
    acc = accelerator() if use_accelerate is not False else None
    if use_accelerate and acc is None:
        raise ImportError("use_accelerate=True needs accelerate: pip install 'obliviate[llm]' "
                          f"(and leave ${ENVIRONMENT_SWITCH} unset)")
    if acc is not None and _device_of(model) != torch.device(acc.device):
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
        acc.unwrap_model(prepared, keep_fp32_wrapper=False)  # drops the mixed-precision forward
        bound = model.__dict__.get("forward")
        if getattr(bound, "__func__", None) is type(model).forward:
            del model.__dict__["forward"]  # the class's own forward again, as before training
        model.__dict__.pop("_is_accelerate_prepared", None)
        acc.free_memory()  # the accelerator keeps no reference to this model or optimizer
    model.eval()
    return {**history, "backend": "accelerate"}
