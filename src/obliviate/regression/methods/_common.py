"""Pieces shared by the regression methods (kept here, not copied into each)."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn
from torch.utils.data import Dataset, TensorDataset

from obliviate.core.contracts import UnlearningRequest
from obliviate.core.errors import InvalidRequestError, UnsupportedModelError
from obliviate.core.training import model_device

REGRESSION_KINDS = frozenset({"random", "range", "time", "ids"})
DEFAULT_RECIPE = {"epochs": 100, "lr": 1e-3, "batch_size": 32, "optimizer": "adam", "weight_decay": 0.0}


def training_recipe(request: UnlearningRequest) -> dict[str, Any]:
    """The scenario's training recipe (epochs, lr, batch_size, optimizer, weight_decay)."""
    return {**DEFAULT_RECIPE, **request.extras.get("training", {})}


def budget_epochs(epochs: int | None, request: UnlearningRequest, share: float, minimum: int = 1) -> int:
    """``epochs`` when given, else ``share`` of the scenario's training epochs (at least ``minimum``).

    The published settings of Tarun et al. (ICML 2023) are counted against 100 training
    epochs (fine-tuning 5, Gaussian fine-tuning 1, blindspot model 2, blindspot unlearning 1);
    a share of the recipe keeps each method's cost in the same proportion to retraining on
    data sets trained for more or fewer epochs.
    """
    if epochs is not None:
        return int(epochs)
    return max(minimum, int(round(share * training_recipe(request)["epochs"])))


def budget_batch_size(batch_size: int | None, request: UnlearningRequest) -> int:
    """``batch_size`` when given, else the scenario's training batch size."""
    return int(batch_size) if batch_size is not None else int(training_recipe(request)["batch_size"])


def output(model: nn.Module, inputs: torch.Tensor) -> torch.Tensor:
    """The model's prediction tensor (the first element when the model returns a tuple)."""
    out = model(inputs)
    return out[0] if isinstance(out, (tuple, list)) else out


def l1(predictions: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Mean absolute error, the regression loss of the paper (``predictions`` reshaped to the targets)."""
    return nn.functional.l1_loss(predictions.reshape(targets.shape), targets)


def l1_loss(model: nn.Module, batch: tuple) -> torch.Tensor:
    """``fit`` loss: mean absolute error of ``model(batch[0])`` against ``batch[1]``."""
    return l1(output(model, batch[0]), batch[1])


def dataset_tensors(data: Dataset) -> tuple[torch.Tensor, torch.Tensor]:
    """Inputs and float targets ``(n, 1)`` of a ``TensorDataset``-like dataset, in order."""
    tensors = getattr(data, "tensors", None)
    if tensors is not None and len(tensors) >= 2:
        inputs, targets = tensors[0], tensors[1]
    else:
        items = [data[i] for i in range(len(data))]
        inputs = torch.stack([torch.as_tensor(item[0]) for item in items])
        targets = torch.stack([torch.as_tensor(item[1]) for item in items])
    return inputs, targets.float().reshape(len(targets), -1)


class TensorBatches:
    """Re-iterable of shuffled mini-batches of a ``TensorDataset``, sliced straight from its tensors.

    Each pass (an epoch) draws a new permutation from ``seed`` and the pass number, so the
    batches depend only on ``seed``. Slicing whole tensors avoids the per-row indexing of a
    ``DataLoader``, which costs more than a training step of the small networks used here.
    """

    def __init__(self, data: Dataset, *, batch_size: int, seed: int):
        tensors = getattr(data, "tensors", None)
        if tensors is None:
            x, y = dataset_tensors(data)
            tensors = (x, y)
        self.tensors = tuple(tensors)
        self.batch_size = int(batch_size)
        self.seed = int(seed)
        self._passes = 0

    def __len__(self) -> int:
        return -(-len(self.tensors[0]) // self.batch_size)

    def __iter__(self):
        generator = torch.Generator().manual_seed(self.seed * 1_000_003 + self._passes)
        self._passes += 1
        order = torch.randperm(len(self.tensors[0]), generator=generator)
        for start in range(0, len(order), self.batch_size):
            index = order[start : start + self.batch_size]
            yield tuple(tensor[index] for tensor in self.tensors)


def flagged_union(forget: Dataset, retain: Dataset) -> TensorDataset:
    """One ``TensorDataset(x, y, is_forget)``: forget rows first, then retain rows."""
    x_forget, y_forget = dataset_tensors(forget)
    x_retain, y_retain = dataset_tensors(retain)
    flags = torch.cat([torch.ones(len(y_forget), dtype=torch.bool), torch.zeros(len(y_retain), dtype=torch.bool)])
    return TensorDataset(torch.cat([x_forget, x_retain]), torch.cat([y_forget, y_retain]), flags)


def frozen(model: nn.Module) -> nn.Module:
    """``model`` in eval mode with gradients off (a fixed reference network)."""
    model.eval()
    for parameter in model.parameters():
        parameter.requires_grad_(False)
    return model


def check_regression_model(model: nn.Module, request: UnlearningRequest, who: str) -> None:
    """Refuse a model that does not give one number per input.

    Raises:
        UnsupportedModelError: naming the output shape found.
    """
    x, _ = dataset_tensors(request.forget)
    probe = x[:2].to(model_device(model))
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            out = output(model, probe)
    finally:
        model.train(was_training)
    if out.numel() != len(probe):
        raise UnsupportedModelError(
            f"{who} works on scalar regression models (one output per input); got output shape {tuple(out.shape)}"
        )


def require_targets(request: UnlearningRequest, who: str) -> None:
    """Refuse a request whose forget set carries no targets.

    Raises:
        InvalidRequestError: naming the fix.
    """
    tensors = getattr(request.forget, "tensors", None)
    if tensors is not None and len(tensors) < 2:
        raise InvalidRequestError(f"{who}: the forget set must hold (inputs, targets); got inputs only")
