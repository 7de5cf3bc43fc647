"""``gaussian``: Gaussian fine-tuning ("Gaussian amnesiac") of Tarun et al. (ICML 2023).

Every forget target is replaced by a draw from a normal distribution fitted to the
training targets,

    y_f' ~ N(mean(y_train), std(y_train)^2),   y_train = targets of forget ∪ retain,

so that the forget rows keep plausible but uninformative targets; the model is then
fine-tuned on all training rows (retain rows with their own targets, forget rows with the
drawn ones) with the L1 loss. The draws are fixed once per call (seeded), as in the public
code, which fine-tunes one epoch with Adam at ``lr = 1e-3`` on batches of 256 AgeDB images
after 100 epochs of training. By default the epochs here are the same share, 1% of the
scenario's training epochs (at least one), at the same rate, on the scenario's batch size.
"""

from __future__ import annotations

from typing import ClassVar

import torch
from torch.utils.data import TensorDataset

from obliviate.core.contracts import Unlearner, UnlearningRequest
from obliviate.core.params import NONE, Interval
from obliviate.core.registry import register
from obliviate.core.seeding import torch_generator
from obliviate.core.training import fit
from obliviate.regression.methods._common import (
    REGRESSION_KINDS,
    TensorBatches,
    budget_batch_size,
    budget_epochs,
    check_regression_model,
    dataset_tensors,
    l1_loss,
)

EPOCH_SHARE = 0.01


@register("regression", "gaussian")
class GaussianFinetune(Unlearner):
    """Replace forget targets by Gaussian draws of the training target distribution, then fine-tune.

    Args:
        epochs: passes over forget ∪ retain (default: 1% of the scenario's training epochs, at least 1).
        lr: Adam learning rate.
        batch_size: batch size (default: the scenario's).
    """

    forget_kinds = REGRESSION_KINDS
    paper_params: ClassVar[dict] = {"epochs": 1, "lr": 1e-3, "batch_size": 256}
    _parameter_constraints = {
        "epochs": [NONE, Interval(int, 1, None)],
        "lr": [Interval(float, 0, None, closed="neither")],
        "batch_size": [NONE, Interval(int, 1, None)],
    }

    def __init__(self, *, epochs: int | None = None, lr: float = 1e-3, batch_size: int | None = None):
        self.epochs = epochs
        self.lr = lr
        self.batch_size = batch_size

    def _unlearn(self, model, request: UnlearningRequest):
        check_regression_model(model, request, "regression/gaussian")
        x_forget, y_forget = dataset_tensors(request.forget)
        x_retain, y_retain = dataset_tensors(request.retain)
        targets = torch.cat([y_forget, y_retain])
        mean = float(targets.mean())
        std = float(targets.std()) if len(targets) > 1 else 0.0
        draws = torch.randn(y_forget.shape, generator=torch_generator(request.seed + 7)) * std + mean
        data = TensorDataset(torch.cat([x_forget, x_retain]), torch.cat([draws.to(y_forget.dtype), y_retain]))
        history = fit(
            model,
            TensorBatches(data, batch_size=budget_batch_size(self.batch_size, request), seed=request.seed),
            loss_fn=l1_loss,
            epochs=budget_epochs(self.epochs, request, EPOCH_SHARE),
            lr=self.lr,
            seed=request.seed,
        )
        return model, {"steps": history["steps"], "target_mean": mean, "target_std": std}
