"""The architecture search (DARTS, as used by EmoNAS), retraining, and cost measurement.

Bi-level problem (Liu et al., ICLR 2019, eq. 3-4)::

    min_alpha  L_val(w*(alpha), alpha)   s.t.   w*(alpha) = argmin_w L_train(w, alpha)

solved by alternating one gradient step on ``alpha`` (on a validation batch) and one on ``w``
(on a training batch). *First order* uses ``grad_alpha L_val(w, alpha)``. *Second order*
unrolls one weight step ``w' = w - xi grad_w L_train(w, alpha)`` and uses (eq. 7-8)::

    grad_alpha L_val(w', alpha) - xi * (grad_alpha L_train(w+, alpha) - grad_alpha L_train(w-, alpha)) / (2 eps)

with ``w+- = w +- eps grad_w' L_val(w', alpha)`` and ``eps = 0.01 / ||grad_w' L_val(w', alpha)||``.
The unrolled step is plain SGD (DARTS also folds in momentum and weight decay).

Both splits of the search come from the training data; the test split is never passed to
:func:`search_architecture`.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np
import torch
from torch import nn
from torch.utils.data import TensorDataset

from obliviate.core.errors import InvalidParameterError
from obliviate.core.timing import count_flops
from obliviate.core.training import fit, predict_logits
from obliviate.nas.model import Genotype, SearchNetwork
from obliviate.nas.ops import PRIMITIVES

ORDERS = ("first", "second")


@dataclass
class SearchResult:
    """What a search returns: the genotype, the final alphas (softmaxed), cost and history."""

    genotype: Genotype
    alphas_normal: list[list[float]]
    alphas_reduce: list[list[float]]
    seconds: float
    order: str
    epochs: int
    history: list[dict[str, float]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "genotype": self.genotype.to_dict(), "genotype_text": str(self.genotype), "alphas_normal": self.alphas_normal,
            "alphas_reduce": self.alphas_reduce, "seconds": self.seconds, "order": self.order, "epochs": self.epochs,
            "history": self.history,
        }  # fmt: skip


def _batches(n: int, batch_size: int, generator: torch.Generator) -> list[torch.Tensor]:
    order = torch.randperm(n, generator=generator)
    return [order[i : i + batch_size] for i in range(0, n, batch_size)]


def _loss(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return nn.functional.cross_entropy(model(x), y)


def _zeros_for_unused(grads, params) -> list[torch.Tensor]:
    # an alpha matrix is unused when the network has no cell of its kind (e.g. one layer)
    return [torch.zeros_like(p) if g is None else g for g, p in zip(grads, params)]


def first_order_arch_grad(
    model: SearchNetwork, x_val: torch.Tensor, y_val: torch.Tensor
) -> list[torch.Tensor]:
    """``grad_alpha L_val(w, alpha)`` (DARTS first order)."""
    arch = model.arch_parameters()
    return _zeros_for_unused(torch.autograd.grad(_loss(model, x_val, y_val), arch, allow_unused=True), arch)


def second_order_arch_grad(
    model: SearchNetwork,
    x_train: torch.Tensor,
    y_train: torch.Tensor,
    x_val: torch.Tensor,
    y_val: torch.Tensor,
    xi: float,
) -> list[torch.Tensor]:
    """DARTS' second-order hypergradient with the finite-difference Hessian-vector product.

    See the module docstring for the formula. The weights are restored before returning.
    """
    weights = model.weight_parameters()
    arch = model.arch_parameters()
    backup = [w.detach().clone() for w in weights]
    try:
        grads = torch.autograd.grad(_loss(model, x_train, y_train), weights, allow_unused=True)
        with torch.no_grad():
            for w, g in zip(weights, grads):
                if g is not None:
                    w.sub_(xi * g)
        outer = torch.autograd.grad(_loss(model, x_val, y_val), arch + weights, allow_unused=True)
        d_alpha = _zeros_for_unused(outer[: len(arch)], arch)
        d_w = [torch.zeros_like(w) if g is None else g for w, g in zip(weights, outer[len(arch) :])]
        norm = torch.sqrt(sum((g * g).sum() for g in d_w))
        if float(norm) == 0.0:
            return d_alpha
        eps = 0.01 / float(norm)

        def arch_grad_at(sign: float) -> list[torch.Tensor]:
            with torch.no_grad():
                for w, b, g in zip(weights, backup, d_w):
                    w.copy_(b + sign * eps * g)
            return _zeros_for_unused(
                torch.autograd.grad(_loss(model, x_train, y_train), arch, allow_unused=True), arch
            )

        plus, minus = arch_grad_at(1.0), arch_grad_at(-1.0)
        return [da - xi * (p - m) / (2 * eps) for da, p, m in zip(d_alpha, plus, minus)]
    finally:
        with torch.no_grad():
            for w, b in zip(weights, backup):
                w.copy_(b)


def search_architecture(
    x_train: np.ndarray | torch.Tensor,
    y_train: np.ndarray | torch.Tensor,
    x_val: np.ndarray | torch.Tensor,
    y_val: np.ndarray | torch.Tensor,
    *,
    num_classes: int,
    epochs: int = 10,
    order: str = "first",
    channels: int = 8,
    layers: int = 3,
    steps: int = 2,
    primitives: Sequence[str] = PRIMITIVES,
    batch_size: int = 128,
    w_lr: float = 0.05,
    w_lr_min: float = 0.001,
    w_momentum: float = 0.9,
    w_weight_decay: float = 3e-4,
    arch_lr: float = 3e-3,
    arch_weight_decay: float = 1e-3,
    warmup_epochs: int = 0,
    seed: int = 0,
    progress: bool = False,
) -> SearchResult:
    """Search a cell by DARTS: ``w`` on ``(x_train, y_train)``, ``alpha`` on ``(x_val, y_val)``.

    Optimisers follow DARTS: SGD with momentum and a cosine schedule for ``w``, Adam with
    betas (0.5, 0.999) for ``alpha``. ``arch_lr`` defaults to 3e-3 (DARTS: 3e-4 over 50 CIFAR
    epochs; these searches take a few hundred steps). ``warmup_epochs`` train ``w`` only.

    Returns:
        A :class:`SearchResult`; ``history`` holds per-epoch train loss and validation accuracy
        of the relaxed network.

    Raises:
        InvalidParameterError: for an unknown ``order``, ``epochs < 1`` or empty splits.
    """
    if order not in ORDERS:
        raise InvalidParameterError(f"order must be one of {ORDERS}; got {order!r}")
    if epochs < 1 or batch_size < 1:
        raise InvalidParameterError(f"epochs and batch_size must be >= 1; got {epochs} and {batch_size}")
    xt, yt, xv, yv = (torch.as_tensor(np.asarray(a)) for a in (x_train, y_train, x_val, y_val))
    xt, xv = xt.float(), xv.float()
    yt, yv = yt.long(), yv.long()
    if xt.shape[0] == 0 or xv.shape[0] == 0:
        raise InvalidParameterError("the search needs non-empty training and validation splits")
    began = time.perf_counter()
    model = SearchNetwork(
        xt.shape[1],
        num_classes,
        channels=channels,
        layers=layers,
        steps=steps,
        primitives=primitives,
        seed=seed,
    )
    w_opt = torch.optim.SGD(
        model.weight_parameters(), lr=w_lr, momentum=w_momentum, weight_decay=w_weight_decay
    )
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(w_opt, T_max=epochs, eta_min=w_lr_min)
    a_opt = torch.optim.Adam(
        model.arch_parameters(), lr=arch_lr, betas=(0.5, 0.999), weight_decay=arch_weight_decay
    )
    generator = torch.Generator().manual_seed(seed)
    history: list[dict[str, float]] = []
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=epochs, desc=f"search ({order} order)", unit="epoch", leave=False)
    try:
        for epoch in range(epochs):
            model.train()
            train_batches = _batches(xt.shape[0], batch_size, generator)
            val_batches = _batches(xv.shape[0], batch_size, generator)
            total, count = 0.0, 0
            lr_now = schedule.get_last_lr()[0]
            for step, index in enumerate(train_batches):
                if epoch >= warmup_epochs:
                    v_index = val_batches[step % len(val_batches)]
                    if order == "first":
                        grads = first_order_arch_grad(model, xv[v_index], yv[v_index])
                    else:
                        grads = second_order_arch_grad(
                            model, xt[index], yt[index], xv[v_index], yv[v_index], lr_now
                        )
                    a_opt.zero_grad(set_to_none=True)
                    for parameter, grad in zip(model.arch_parameters(), grads):
                        parameter.grad = grad.detach()
                    a_opt.step()
                w_opt.zero_grad(set_to_none=True)
                for parameter in model.arch_parameters():
                    parameter.grad = None
                loss = _loss(model, xt[index], yt[index])
                loss.backward()
                nn.utils.clip_grad_norm_(model.weight_parameters(), 5.0)
                for parameter in model.arch_parameters():
                    parameter.grad = None
                w_opt.step()
                total += float(loss.detach())
                count += 1
            schedule.step()
            model.eval()
            with torch.no_grad():
                val_acc = float((predict_logits(model, xv).argmax(1) == yv).float().mean())
            history.append({"epoch": epoch + 1, "train_loss": total / max(count, 1), "val_accuracy": val_acc})
            if bar is not None:
                bar.set_postfix(loss=f"{history[-1]['train_loss']:.3f}", val=f"{val_acc:.3f}")
                bar.update(1)
    finally:
        if bar is not None:
            bar.close()
    return SearchResult(
        genotype=model.genotype(),
        alphas_normal=torch.softmax(model.alphas_normal.detach(), -1).tolist(),
        alphas_reduce=torch.softmax(model.alphas_reduce.detach(), -1).tolist(),
        seconds=time.perf_counter() - began, order=order, epochs=epochs, history=history,
    )  # fmt: skip


def train_network(
    model: nn.Module, x: np.ndarray | torch.Tensor, y: np.ndarray | torch.Tensor, *, epochs: int = 10, lr: float = 3e-3,
    batch_size: int = 128, weight_decay: float = 3e-4, seed: int = 0, progress: bool = False, desc: str = "training",
) -> dict[str, Any]:  # fmt: skip
    """Train ``model`` from its current weights with Adam (the same recipe for every network).

    Returns ``obliviate.core.training.fit``'s summary plus ``seconds``.
    """
    data = TensorDataset(torch.as_tensor(np.asarray(x)).float(), torch.as_tensor(np.asarray(y)).long())
    began = time.perf_counter()
    summary = fit(
        model,
        data,
        epochs=epochs,
        lr=lr,
        batch_size=batch_size,
        optimizer="adamw",
        weight_decay=weight_decay,
        seed=seed,
        progress=progress,
        desc=desc,
    )
    summary["seconds"] = time.perf_counter() - began
    return summary


def predict(model: nn.Module, x: np.ndarray | torch.Tensor) -> np.ndarray:
    """Predicted class indices of ``model`` (eval mode) for images ``x``."""
    model.eval()
    return predict_logits(model, torch.as_tensor(np.asarray(x)).float()).argmax(1).numpy()


def measure_cost(model: nn.Module, image_shape: Sequence[int], *, repeats: int = 30) -> dict[str, float]:
    """Parameters, forward FLOPs per image, and median CPU latency per image (batch of one).

    FLOPs come from ``torch.utils.flop_counter`` (convolutions and matrix products, 2 per
    multiply-add; pooling, batch norm and additions are not counted). Latency is the median of
    ``repeats`` timed forward passes of a single image in eval mode after 3 warm-up passes, on
    the CPU threads torch uses now (record ``torch.get_num_threads()`` beside it).
    """
    model.eval()
    device_model = model.to("cpu")
    x = torch.zeros((1, *image_shape))
    with torch.inference_mode():
        _, flops = count_flops(lambda: device_model(x))
        for _ in range(3):
            device_model(x)
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            device_model(x)
            times.append(time.perf_counter() - start)
    return {
        "parameters": int(sum(p.numel() for p in model.parameters())),
        "flops": int(flops),
        "latency_ms": 1000.0 * statistics.median(times),
        "threads": torch.get_num_threads(),
    }
