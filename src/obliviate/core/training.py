"""The one generic training and evaluation loop of obliviate.

Every method that trains does so through :func:`fit`, with its own loss function on a
batch. Data is a ``torch.utils.data.Dataset`` (batched here with a seeded shuffle) or any
re-iterable of batches. Batches are tuples of tensors moved to the model's device.
"""

from __future__ import annotations

import copy
from typing import Any, Callable, Iterable

import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

from obliviate.core.errors import InvalidParameterError
from obliviate.core.seeding import torch_generator

LossFn = Callable[[nn.Module, tuple], torch.Tensor]

OPTIMIZERS = ("adam", "sgd", "adamw")


def model_device(model: nn.Module) -> torch.device:
    """The device of the model's first parameter (CPU for a model without parameters)."""
    for parameter in model.parameters():
        return parameter.device
    return torch.device("cpu")


def frozen_copy(model: nn.Module) -> nn.Module:
    """A deep copy of ``model`` in eval mode with gradients off (a teacher or a reference)."""
    twin = copy.deepcopy(model)
    twin.eval()
    for parameter in twin.parameters():
        parameter.requires_grad_(False)
    return twin


def default_device() -> torch.device:
    """CUDA when available, else CPU."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def to_device(batch: Any, device: torch.device) -> Any:
    """Move a tensor or a tuple/list of tensors to ``device``."""
    if isinstance(batch, torch.Tensor):
        return batch.to(device, non_blocking=True)
    if isinstance(batch, (list, tuple)):
        return type(batch)(to_device(item, device) for item in batch)
    return batch


def make_loader(
    data: Dataset, *, batch_size: int, shuffle: bool, seed: int = 0, drop_last: bool = False
) -> DataLoader:
    """A single-process ``DataLoader`` whose shuffle order depends only on ``seed``."""
    return DataLoader(
        data,
        batch_size=batch_size,
        shuffle=shuffle,
        generator=torch_generator(seed) if shuffle else None,
        drop_last=drop_last,
    )


def cross_entropy_loss(model: nn.Module, batch: tuple) -> torch.Tensor:
    """Mean cross-entropy of ``model(batch[0])`` against integer labels ``batch[1]``."""
    inputs, targets = batch[0], batch[1]
    return nn.functional.cross_entropy(model(inputs), targets)


def make_optimizer(
    params: Iterable[torch.nn.Parameter],
    name: str = "adam",
    *,
    lr: float = 1e-3,
    weight_decay: float = 0.0,
    momentum: float = 0.9,
) -> torch.optim.Optimizer:
    """Build an optimizer by name (``adam``, ``adamw`` or ``sgd``)."""
    if name == "adam":
        return torch.optim.Adam(params, lr=lr, weight_decay=weight_decay)
    if name == "adamw":
        return torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay)
    if name == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=momentum, weight_decay=weight_decay)
    raise InvalidParameterError(f"optimizer must be one of {', '.join(OPTIMIZERS)}; got {name!r}")


def fit(
    model: nn.Module,
    data: Dataset | Iterable,
    *,
    loss_fn: LossFn = cross_entropy_loss,
    epochs: int = 10,
    lr: float = 1e-3,
    batch_size: int = 64,
    optimizer: str | torch.optim.Optimizer = "adam",
    weight_decay: float = 0.0,
    max_steps: int | None = None,
    seed: int = 0,
    progress: bool = False,
    desc: str = "training",
    params: Iterable[torch.nn.Parameter] | None = None,
    after_step: Callable[[nn.Module], None] | None = None,
    backward: Callable[[torch.Tensor], None] | None = None,
) -> dict[str, Any]:
    """Train ``model`` in place by minimising ``loss_fn`` over ``data``.

    Args:
        model: the network; trained in place.
        data: a ``Dataset`` (batched with a seeded shuffle) or a re-iterable of batches.
        loss_fn: ``loss_fn(model, batch) -> scalar tensor``; batch is already on the device.
        epochs: passes over ``data``.
        lr, weight_decay: optimizer settings (ignored if ``optimizer`` is an instance).
        batch_size: used when ``data`` is a ``Dataset``.
        optimizer: ``"adam"``, ``"adamw"``, ``"sgd"`` or a ready optimizer.
        max_steps: stop after this many optimizer steps in total.
        seed: seeds the shuffle order.
        progress: show a tqdm progress bar.
        params: the parameters to optimise (default: all of ``model``'s).
        after_step: called with the model after each step (e.g. a projection).
        backward: computes the gradients of a step's loss (default ``loss.backward()``;
            e.g. ``accelerate.Accelerator.backward``, which scales mixed-precision losses).

    Returns:
        ``{"steps": int, "last_loss": float, "epoch_losses": [float, ...]}``.
    """
    device = model_device(model)
    if isinstance(data, Dataset):
        loader: Iterable = make_loader(data, batch_size=batch_size, shuffle=True, seed=seed)
    else:
        loader = data
    if isinstance(optimizer, str):
        trainable = params if params is not None else (p for p in model.parameters() if p.requires_grad)
        opt = make_optimizer(trainable, optimizer, lr=lr, weight_decay=weight_decay)
    else:
        opt = optimizer
    model.train()
    steps = 0
    epoch_losses: list[float] = []
    last = float("nan")
    bar = _progress(epochs, desc) if progress else None
    try:
        for _ in range(epochs):
            total, count = 0.0, 0
            for batch in loader:
                batch = to_device(batch, device)
                opt.zero_grad(set_to_none=True)
                loss = loss_fn(model, batch)
                if backward is None:
                    loss.backward()
                else:
                    backward(loss)
                opt.step()
                if after_step is not None:
                    after_step(model)
                last = float(loss.detach())
                total += last
                count += 1
                steps += 1
                if max_steps is not None and steps >= max_steps:
                    break
            epoch_losses.append(total / max(count, 1))
            if bar is not None:
                bar.set_postfix(loss=f"{epoch_losses[-1]:.4f}")
                bar.update(1)
            if max_steps is not None and steps >= max_steps:
                break
    finally:
        if bar is not None:
            bar.close()
        model.eval()
    return {"steps": steps, "last_loss": last, "epoch_losses": epoch_losses}


def _progress(total: int, desc: str):
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit="epoch", leave=False)


@torch.no_grad()
def predict_logits(model: nn.Module, data: Dataset | torch.Tensor, *, batch_size: int = 1024) -> torch.Tensor:
    """Logits of ``model`` on every input of ``data`` (CPU tensor, in data order)."""
    device = model_device(model)
    was_training = model.training
    model.eval()
    if isinstance(data, torch.Tensor):
        batches: Iterable = (data[i : i + batch_size] for i in range(0, len(data), batch_size))
        outs = [model(x.to(device)).cpu() for x in batches]
    else:
        loader = make_loader(data, batch_size=batch_size, shuffle=False)
        outs = [model(batch[0].to(device)).cpu() for batch in loader]
    if was_training:
        model.train()
    if not outs:
        return torch.empty(0)
    return torch.cat(outs)


def dataset_labels(data: Dataset) -> torch.Tensor:
    """Integer labels of a ``TensorDataset``-like dataset (second tensor), in order."""
    tensors = getattr(data, "tensors", None)
    if tensors is not None and len(tensors) >= 2:
        return tensors[1]
    return torch.as_tensor([data[i][1] for i in range(len(data))])


def accuracy(model: nn.Module, data: Dataset) -> float:
    """Fraction of ``data`` whose arg-max prediction equals its label (NaN if empty)."""
    if len(data) == 0:
        return float("nan")
    logits = predict_logits(model, data)
    return float((logits.argmax(dim=1) == dataset_labels(data)).float().mean())


def reinitialize(model: nn.Module, seed: int) -> nn.Module:
    """Re-draw every parameter of ``model`` in place, seeded.

    Calls each module's ``reset_parameters()`` (or ``_reset_parameters()``, which
    ``nn.MultiheadAttention`` uses) and resets batch-norm running statistics. Every
    parameter must belong directly to a module with such a method: a raw ``nn.Parameter``
    of a custom module would keep its trained value, so that "retraining from scratch"
    would start from the trained model. Such a model is refused, naming the parameters;
    build fresh models with a factory instead (:func:`fresh_model`).

    Gives a freshly initialised network of the same architecture and state_dict keys,
    which is what retraining from scratch and the incompetent teacher start from.

    Raises:
        UnsupportedModelError: naming the parameters no reset method covers.
    """
    from obliviate.core.errors import UnsupportedModelError

    covered: set[int] = set()
    resets = []
    for module in model.modules():
        reset = getattr(module, "reset_parameters", None)
        if not callable(reset):
            reset = getattr(module, "_reset_parameters", None)
        if callable(reset):
            resets.append(reset)
            covered.update(id(p) for p in module.parameters(recurse=False))
    # A module's reset may re-draw its children's parameters (MultiheadAttention's
    # out_proj): children with their own reset are covered above.
    missing = [name for name, p in model.named_parameters() if id(p) not in covered]
    if missing:
        shown = ", ".join(missing[:8]) + (f" and {len(missing) - 8} more" if len(missing) > 8 else "")
        raise UnsupportedModelError(
            f"cannot re-initialise {type(model).__name__}: no reset_parameters() covers {shown}; "
            "pass a model factory (a callable building the untrained network) so that fresh "
            "models are built, not reset"
        )
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        for reset in resets:
            reset()
        for module in model.modules():
            if isinstance(module, nn.modules.batchnorm._BatchNorm):
                module.reset_running_stats()
    return model


def fresh_model(model: nn.Module, *, seed: int, factory: Callable[[], nn.Module] | None = None) -> nn.Module:
    """A freshly initialised network like ``model`` (which is not modified), seeded.

    With ``factory`` (a callable building the untrained network, e.g. a user's
    ``package.module:callable``), the network is built by it under ``seed`` and checked to
    have ``model``'s state_dict keys and shapes; otherwise a copy of ``model`` is
    :func:`reinitialize` d. The result lives on ``model``'s device.

    Raises:
        UnsupportedModelError: the factory builds a different architecture, or the model
            has parameters no reset method covers and no factory was given.
    """
    from obliviate.core.errors import UnsupportedModelError

    if factory is None:
        import copy

        return reinitialize(copy.deepcopy(model), seed=seed)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        built = factory()
    if not isinstance(built, nn.Module):
        raise UnsupportedModelError(f"the model factory returned {type(built).__name__}, not a torch.nn.Module")
    want = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    got = {k: tuple(v.shape) for k, v in built.state_dict().items()}
    if want != got:
        differ = sorted(set(want) ^ set(got)) or sorted(k for k in want if want[k] != got[k])
        raise UnsupportedModelError(
            "the model factory builds a network whose state_dict differs from the model's "
            f"(first differences: {', '.join(differ[:5])}); it must build the same architecture, untrained"
        )
    return built.to(model_device(model))
