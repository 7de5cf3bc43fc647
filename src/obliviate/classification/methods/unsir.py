"""``unsir``: error-maximising noise, then impair and repair (UNSIR).

Tarun, Chundawat, Mandal and Kankanhalli (IEEE TNNLS 2023), "Fast Yet Effective Machine
Unlearning". Three stages:

1. **Noise.** For each forgotten class ``c``, a batch of inputs ``N`` is learned with the
   model frozen so that the model errs on it as much as possible, kept small by an L2
   penalty:  ``max_N  CE(f(N), c) - lambda * mean_i ||N_i||^2``  (Adam on ``N``).
2. **Impair.** The model is trained for one epoch on the noise labelled ``c`` mixed with a
   subset of the retain data, at a high learning rate: the noise's large gradients wreck
   the weights that serve class ``c``.
3. **Repair.** One epoch on the retain subset alone restores the other classes.

The paper forgets whole classes. For ``random`` and ``ids`` forget specs (no class is
removed) this module learns noise for every label present in the forget set. Each label
gets ``min(noise_per_class, number of its forget examples)`` noise inputs, so the noise
never outnumbers the data it stands for; impair then blurs those labels and repair
relearns them from retain data only, which is what a retrained model would know.

Defaults follow the paper (``lambda = 0.1``, Adam on the noise at rate 0.1, one impair
epoch), adapted to small data and measured on digits: the paper's impair/repair rates
(0.02/0.01) wipe out a network this small, so both are 2e-3; the retain subset is 50%
and repair runs two epochs (with one epoch on 30%, retain accuracy fell to 0.75-0.92);
noise batches hold at most 64 inputs per label.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.utils.data import TensorDataset

from obliviate.classification.methods._common import (
    CLASSIFICATION_KINDS,
    dataset_tensors,
    forget_label_counts,
    random_subset,
)
from obliviate.core.contracts import Unlearner, UnlearningRequest
from obliviate.core.params import Interval
from obliviate.core.registry import register
from obliviate.core.seeding import torch_generator
from obliviate.core.training import fit, model_device


def error_maximising_noise(
    model: nn.Module,
    label: int,
    count: int,
    input_shape: tuple[int, ...],
    *,
    steps: int,
    lr: float,
    l2_weight: float,
    seed: int,
) -> torch.Tensor:
    """Learn ``count`` inputs on which ``model`` predicts ``label`` as badly as it can.

    Maximises ``CE(f(N), label) - l2_weight * mean_i ||N_i||^2`` over ``N`` with Adam; the
    model is used in eval mode and its parameters receive no gradient.

    Args:
        model: the (frozen during this call) classifier.
        label: the class the noise is made to contradict.
        count: number of noise inputs.
        input_shape: shape of one input.
        steps: Adam steps on the noise.
        lr: Adam learning rate on the noise.
        l2_weight: ``lambda``, the weight of the L2 penalty.
        seed: seeds the Gaussian starting point.

    Returns:
        A detached ``(count, *input_shape)`` tensor on the model's device.
    """
    device = model_device(model)
    start = torch.randn((count, *input_shape), generator=torch_generator(seed))
    noise = start.to(device).requires_grad_(True)
    targets = torch.full((count,), label, dtype=torch.long, device=device)
    optimizer = torch.optim.Adam([noise], lr=lr)
    was_training = model.training
    model.eval()
    try:
        for _ in range(steps):
            penalty = noise.pow(2).flatten(1).sum(dim=1).mean()
            loss = -nn.functional.cross_entropy(model(noise), targets) + l2_weight * penalty
            # backward() with inputs= rather than autograd.grad(): the same gradient, and it
            # also runs under torch's FLOP counter, whose module hooks refuse autograd.grad.
            noise.grad = None
            loss.backward(inputs=[noise])
            optimizer.step()
    finally:
        model.train(was_training)
    return noise.detach()


@register("classification", "unsir")
class Unsir(Unlearner):
    """UNSIR: error-maximising noise, one impair epoch, one repair epoch.

    Args:
        retain_fraction: share of the retain set used by impair and repair, in (0, 1].
        noise_per_class: most noise inputs learned for one label.
        noise_steps: Adam steps on the noise.
        noise_lr: Adam learning rate on the noise.
        l2_weight: ``lambda``, weight of the noise's L2 penalty.
        impair_lr, repair_lr: Adam learning rates of the two training stages.
        impair_epochs, repair_epochs: epochs of the two training stages.
        batch_size: batch size of impair and repair.
    """

    forget_kinds = CLASSIFICATION_KINDS
    paper_params = {"retain_fraction": 0.3, "impair_lr": 0.02, "repair_lr": 0.01, "impair_epochs": 1, "repair_epochs": 1}
    _parameter_constraints = {
        "retain_fraction": [Interval(float, 0, 1, closed="right")],
        "noise_per_class": [Interval(int, 1, None)],
        "noise_steps": [Interval(int, 1, None)],
        "noise_lr": [Interval(float, 0, None, closed="neither")],
        "l2_weight": [Interval(float, 0, None)],
        "impair_lr": [Interval(float, 0, None, closed="neither")],
        "repair_lr": [Interval(float, 0, None, closed="neither")],
        "impair_epochs": [Interval(int, 1, None)],
        "repair_epochs": [Interval(int, 1, None)],
        "batch_size": [Interval(int, 1, None)],
    }

    def __init__(
        self,
        *,
        retain_fraction: float = 0.5,
        noise_per_class: int = 64,
        noise_steps: int = 50,
        noise_lr: float = 0.1,
        l2_weight: float = 0.1,
        impair_lr: float = 2e-3,
        repair_lr: float = 2e-3,
        impair_epochs: int = 1,
        repair_epochs: int = 2,
        batch_size: int = 32,
    ):
        self.retain_fraction = retain_fraction
        self.noise_per_class = noise_per_class
        self.noise_steps = noise_steps
        self.noise_lr = noise_lr
        self.l2_weight = l2_weight
        self.impair_lr = impair_lr
        self.repair_lr = repair_lr
        self.impair_epochs = impair_epochs
        self.repair_epochs = repair_epochs
        self.batch_size = batch_size

    def _unlearn(self, model, request: UnlearningRequest):
        forget_inputs, _ = dataset_tensors(request.forget)
        input_shape = tuple(forget_inputs.shape[1:])
        counts = forget_label_counts(request)
        noise_inputs, noise_labels = [], []
        for offset, (label, count) in enumerate(sorted(counts.items())):
            amount = min(self.noise_per_class, count)
            noise = error_maximising_noise(
                model,
                label,
                amount,
                input_shape,
                steps=self.noise_steps,
                lr=self.noise_lr,
                l2_weight=self.l2_weight,
                seed=request.seed + 1 + offset,
            )
            noise_inputs.append(noise.cpu().to(forget_inputs.dtype))
            noise_labels.append(torch.full((amount,), label, dtype=torch.long))

        retain_part = random_subset(request.retain, self.retain_fraction, seed=request.seed)
        retain_inputs, retain_labels = dataset_tensors(retain_part)
        impair_data = TensorDataset(
            torch.cat([*noise_inputs, retain_inputs]), torch.cat([*noise_labels, retain_labels])
        )
        impair = fit(
            model,
            impair_data,
            epochs=self.impair_epochs,
            lr=self.impair_lr,
            batch_size=self.batch_size,
            seed=request.seed,
        )
        repair = fit(
            model,
            retain_part,
            epochs=self.repair_epochs,
            lr=self.repair_lr,
            batch_size=self.batch_size,
            seed=request.seed + 1,
        )
        return model, {
            "noise_labels": sorted(counts),
            "noise_examples": sum(len(labels) for labels in noise_labels),
            "impair_steps": impair["steps"],
            "repair_steps": repair["steps"],
        }
