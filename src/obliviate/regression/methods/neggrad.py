"""``neggrad``: NegGrad+ in regression form — descend on the retain error, ascend on the forget error.

The objective of NegGrad+ (named by Kurmanji et al., NeurIPS 2023) with the L1 loss:

    L(w) = alpha * L1(retain batch; w) - (1 - alpha) * min(L1(forget batch; w), cap),

where ``cap`` is the error on that forget batch of the constant predictor that knows only the
retain data, ``mean |y_f - mean(y_retain)|``. The L1 error is unbounded above, so plain
ascent drives predictions away without limit; once a forget batch is predicted no better
than by that constant, its ascent term stops pushing (the regression analogue of stopping
at chance accuracy). Each step pairs a shuffled retain batch with a cycled forget batch; an
epoch is one pass over the retain set. ``alpha = 1`` is fine-tuning on the retain set.

This method is not part of the comparison in Tarun et al. (ICML 2023); it is a common
baseline of the field (``paper_params`` is empty). Defaults: ``alpha = 0.9``, 5% of the
scenario's training epochs (as for ``finetune``), Adam at ``lr = 1e-3``, the scenario's batch size.
"""

from __future__ import annotations

from typing import ClassVar

import torch
from torch import nn

from obliviate.core.contracts import Unlearner, UnlearningRequest
from obliviate.core.params import NONE, Interval
from obliviate.core.registry import register
from obliviate.core.training import fit
from obliviate.regression.methods._common import (
    REGRESSION_KINDS,
    TensorBatches,
    budget_batch_size,
    budget_epochs,
    check_regression_model,
    dataset_tensors,
    l1,
    output,
)

EPOCH_SHARE = 0.05


class _Paired:
    """Re-iterable of ``(x_retain, y_retain, x_forget, y_forget)``: one pass over retain, forget cycled."""

    def __init__(self, retain, forget):
        self.retain, self.forget = retain, forget
        self._forget_iter = None

    def _next_forget(self):
        if self._forget_iter is None:
            self._forget_iter = iter(self.forget)
        try:
            return next(self._forget_iter)
        except StopIteration:
            self._forget_iter = iter(self.forget)
            return next(self._forget_iter)

    def __iter__(self):
        for x_retain, y_retain in self.retain:
            x_forget, y_forget = self._next_forget()
            yield x_retain, y_retain, x_forget, y_forget

    def __len__(self) -> int:
        return len(self.retain)


@register("regression", "neggrad")
class NegGrad(Unlearner):
    """NegGrad+ with the L1 loss and a capped ascent term.

    Args:
        alpha: weight of the retain loss, in [0, 1]; ``1 - alpha`` weighs the forget ascent.
        epochs: passes over the retain set (default: 5% of the scenario's training epochs).
        lr: Adam learning rate.
        batch_size: size of the retain batches and of the paired forget batches (default: the scenario's).
    """

    forget_kinds = REGRESSION_KINDS
    paper_params: ClassVar[dict] = {}
    _parameter_constraints = {
        "alpha": [Interval(float, 0, 1)],
        "epochs": [NONE, Interval(int, 1, None)],
        "lr": [Interval(float, 0, None, closed="neither")],
        "batch_size": [NONE, Interval(int, 1, None)],
    }

    def __init__(
        self, *, alpha: float = 0.9, epochs: int | None = None, lr: float = 1e-3, batch_size: int | None = None
    ):
        self.alpha = alpha
        self.epochs = epochs
        self.lr = lr
        self.batch_size = batch_size

    def _unlearn(self, model, request: UnlearningRequest):
        check_regression_model(model, request, "regression/neggrad")
        retain_weight = float(self.alpha)
        forget_weight = 1.0 - retain_weight
        _, y_retain = dataset_tensors(request.retain)
        retain_mean = float(y_retain.mean())
        batch_size = budget_batch_size(self.batch_size, request)
        batches = _Paired(
            TensorBatches(request.retain, batch_size=batch_size, seed=request.seed),
            TensorBatches(request.forget, batch_size=batch_size, seed=request.seed + 1),
        )

        def loss_fn(net: nn.Module, batch: tuple) -> torch.Tensor:
            x_retain, y_retain_batch, x_forget, y_forget = batch
            loss = retain_weight * l1(output(net, x_retain), y_retain_batch)
            if forget_weight > 0:
                cap = (y_forget - retain_mean).abs().mean()
                loss = loss - forget_weight * torch.minimum(l1(output(net, x_forget), y_forget), cap)
            return loss

        history = fit(
            model, batches, loss_fn=loss_fn, epochs=budget_epochs(self.epochs, request, EPOCH_SHARE), lr=self.lr,
            seed=request.seed,
        )
        return model, {"steps": history["steps"], "epoch_losses": history["epoch_losses"]}
