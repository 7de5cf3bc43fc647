"""``random_label``: train on the forget set relabelled at random, mixed with retain data.

Amnesiac unlearning (Graves, Nagisetty and Ganesh, AAAI 2021, "Amnesiac Machine
Learning"): examples to forget are given randomly chosen *incorrect* labels and the model
is trained on them for a few steps, which breaks its memory of the true labels; training
continues on retain data alongside so accuracy elsewhere is kept. Here both parts are
shuffled together in one set and every step minimises

    CE(f(x), y~)   with y~ = (y + k) mod C,  k ~ Uniform{1, ..., C-1} for forget rows,
                   and y~ = y for retain rows.

The wrong labels are drawn afresh each time a forget example is seen (a seeded
generator), so the model cannot simply learn a fixed relabelling. Defaults follow the
paper's "few iterations", adapted to small data: a handful of epochs with Adam at the
scenario's learning rate; ``forget_weight`` scales the forget rows' share of the loss.
"""

from __future__ import annotations

import torch
from torch import nn

from obliviate.classification.methods._common import CLASSIFICATION_KINDS, flagged_union
from obliviate.core.contracts import Unlearner, UnlearningRequest
from obliviate.core.params import Interval
from obliviate.core.registry import register
from obliviate.core.seeding import torch_generator
from obliviate.core.training import fit


@register("classification", "random_label")
class RandomLabel(Unlearner):
    """Train on forget examples with random wrong labels, mixed with retain examples.

    Args:
        epochs: passes over the union of forget and retain sets.
        lr: Adam learning rate.
        batch_size: batch size of the mixed batches.
        forget_weight: weight of each forget row's loss relative to a retain row's.
    """

    forget_kinds = CLASSIFICATION_KINDS
    _parameter_constraints = {
        "epochs": [Interval(int, 1, None)],
        "lr": [Interval(float, 0, None, closed="neither")],
        "batch_size": [Interval(int, 1, None)],
        "forget_weight": [Interval(float, 0, None, closed="neither")],
    }

    def __init__(self, *, epochs: int = 3, lr: float = 1e-3, batch_size: int = 64, forget_weight: float = 1.0):
        self.epochs = epochs
        self.lr = lr
        self.batch_size = batch_size
        self.forget_weight = forget_weight

    def _unlearn(self, model, request: UnlearningRequest):
        data = flagged_union(request.forget, request.retain)
        generator = torch_generator(request.seed + 1)
        forget_weight = float(self.forget_weight)

        def loss_fn(net: nn.Module, batch: tuple):
            inputs, labels, is_forget = batch
            logits = net(inputs)
            classes = logits.shape[1]
            shift = torch.randint(1, classes, (len(labels),), generator=generator).to(labels.device)
            targets = torch.where(is_forget, (labels + shift) % classes, labels)
            weights = torch.where(is_forget, forget_weight, 1.0).to(logits.dtype)
            losses = nn.functional.cross_entropy(logits, targets, reduction="none")
            return (weights * losses).sum() / weights.sum()

        history = fit(
            model, data, loss_fn=loss_fn, epochs=self.epochs, lr=self.lr, batch_size=self.batch_size, seed=request.seed
        )
        return model, {"steps": history["steps"]}
