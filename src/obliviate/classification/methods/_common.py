"""Pieces shared by the classification methods (kept here, not copied into each)."""

from __future__ import annotations

from typing import Any, Iterator

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset, TensorDataset

from obliviate.core.contracts import UnlearningRequest
from obliviate.core.seeding import numpy_rng

CLASSIFICATION_KINDS = frozenset({"random", "class", "ids"})


def training_recipe(request: UnlearningRequest) -> dict[str, Any]:
    """The scenario's training recipe (epochs, lr, batch_size, optimizer, weight_decay)."""
    defaults = {"epochs": 20, "lr": 1e-3, "batch_size": 64, "optimizer": "adam", "weight_decay": 0.0}
    return {**defaults, **request.extras.get("training", {})}


def dataset_tensors(data: Dataset) -> tuple[torch.Tensor, torch.Tensor]:
    """The inputs and integer labels of a ``TensorDataset``-like dataset, in order.

    A ``TensorDataset`` gives its first two tensors back without copying; any other
    map-style dataset of ``(input, label, ...)`` items is stacked.
    """
    tensors = getattr(data, "tensors", None)
    if tensors is not None and len(tensors) >= 2:
        return tensors[0], tensors[1]
    items = [data[i] for i in range(len(data))]
    inputs = torch.stack([torch.as_tensor(item[0]) for item in items])
    labels = torch.as_tensor([int(item[1]) for item in items], dtype=torch.long)
    return inputs, labels


def flagged_union(forget: Dataset, retain: Dataset) -> TensorDataset:
    """One ``TensorDataset(x, y, is_forget)``: forget examples first, then retain ones.

    Shuffled batches of it mix both parts in their natural proportion; ``is_forget``
    (bool) tells a loss which rows to treat as forget rows.
    """
    x_forget, y_forget = dataset_tensors(forget)
    x_retain, y_retain = dataset_tensors(retain)
    flags = torch.cat(
        [torch.ones(len(y_forget), dtype=torch.bool), torch.zeros(len(y_retain), dtype=torch.bool)]
    )
    return TensorDataset(torch.cat([x_forget, x_retain]), torch.cat([y_forget, y_retain]), flags)


def random_subset(data: Dataset, fraction: float, seed: int) -> TensorDataset:
    """A seeded random ``fraction`` of ``data`` (at least one example) as a ``TensorDataset``."""
    inputs, labels = dataset_tensors(data)
    count = max(1, int(round(fraction * len(labels))))
    chosen = np.sort(numpy_rng(seed).choice(len(labels), size=min(count, len(labels)), replace=False))
    index = torch.from_numpy(chosen)
    return TensorDataset(inputs[index], labels[index])


def distillation_kl(student_logits: torch.Tensor, teacher_logits: torch.Tensor, temperature: float) -> torch.Tensor:
    """Batch-mean ``KL(p_teacher || p_student)`` at a temperature, scaled by ``T**2``.

    ``p = softmax(logits / T)``; the ``T**2`` factor keeps gradient magnitudes comparable
    across temperatures (Hinton et al., 2015). Zero when the two outputs agree.
    """
    log_student = torch.log_softmax(student_logits / temperature, dim=1)
    log_teacher = torch.log_softmax(teacher_logits / temperature, dim=1)
    kl = nn.functional.kl_div(log_student, log_teacher, reduction="batchmean", log_target=True)
    return kl * temperature**2


class PairedBatches:
    """Re-iterable of ``(x_retain, y_retain, x_forget, y_forget)`` batches.

    One pass walks the retain loader once; the forget loader is cycled alongside it (a
    fresh pass starts whenever it runs out), so each retain batch is paired with a forget
    batch. Both loaders shuffle with their own seeded generators, so the retain batches
    are exactly those ``fit`` would draw from the retain set with the same seed.
    """

    def __init__(self, retain: DataLoader, forget: DataLoader):
        self.retain = retain
        self.forget = forget
        self._forget_iter: Iterator | None = None

    def _next_forget(self) -> tuple:
        if self._forget_iter is None:
            self._forget_iter = iter(self.forget)
        try:
            return next(self._forget_iter)
        except StopIteration:
            self._forget_iter = iter(self.forget)
            return next(self._forget_iter)

    def __iter__(self) -> Iterator[tuple]:
        for x_retain, y_retain in self.retain:
            x_forget, y_forget = self._next_forget()[:2]
            yield x_retain, y_retain, x_forget, y_forget

    def __len__(self) -> int:
        return len(self.retain)


def forget_label_counts(request: UnlearningRequest) -> dict[int, int]:
    """Labels that occur in the forget set and how many forget examples carry each."""
    _, labels = dataset_tensors(request.forget)
    values, counts = torch.unique(labels, return_counts=True)
    return {int(v): int(c) for v, c in zip(values.tolist(), counts.tolist(), strict=True)}
