"""The stream loop shared by every continual method: learning rules and unlearning steps.

Learning rules (``rule``):

- ``cl`` (``cl_unlearn``, after Chatterjee et al., "A unified framework for continual
  learning and machine unlearning", public code ``respailab/CLMUL`` ``models/ocdnet.py``):
  ``CE(new) + CE(buffer) + w * mean_i(p_T(y_i|x_i) * MSE(f(x_i), T(x_i)))`` on buffer
  samples, ``w = 0.1``, with an EMA teacher ``T`` updated after each step with probability
  ``p = 0.7`` as ``T <- m T + (1 - m) f``, ``m = min(1 - 1/(it + 1), 0.999)``.
- ``finetune``: ``CE(new)`` only (naive sequential training).
- ``er`` (experience replay, Chaudhry et al. 2019): ``CE(new) + CE(buffer)``.
- ``der++`` (Buzzega et al., NeurIPS 2020): ``CE(new) + alpha * MSE(f(x'), z') + beta * CE(f(x''), y'')``
  with ``z'`` the logits stored with buffer sample ``x'``.
- ``lwf`` (Li & Hoiem, ECCV 2016): ``CE(new) + lambda * T^2 * KL(p_old^T || p^T)`` on the new
  task's inputs, ``p_old`` from a snapshot taken before the task.

Unlearning: ``cl`` minimises ``KL(bad || f)`` on forget samples (``F.kl_div(log_softmax(f),
softmax(bad), "batchmean")``, T=1, with ``bad`` a randomly initialised network) plus the
buffer terms of its learning rule on the purged buffer, then resets the EMA teacher to the
unlearned weights (the old teacher still knows the forgotten data; ``reset_teacher=False``
keeps the published code's behaviour: the teacher is only EMA-updated during the step).
EMA updates cover every floating-point tensor of the state_dict (the code updates
parameters only; the recipes here have no normalisation statistics on ``mlp``). Every other rule
fine-tunes with ``CE`` on its purged buffer. Forgotten samples leave the buffer and are never
inserted again.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from obliviate.continual.state import StreamState
from obliviate.continual.stream import Operation
from obliviate.core.training import fresh_model, predict_logits
from obliviate.data.datasets import ClassificationData

RULES = ("cl", "finetune", "er", "der++", "lwf")
BAD_TEACHER_SEED_OFFSET = 104729


@dataclass
class Settings:
    """Hyper-parameters of one stream run (learning and unlearning)."""

    epochs: int = 10
    lr: float = 1e-3
    batch_size: int = 32
    replay_weight: float = 0.1
    ema_p: float = 0.7
    derpp_alpha: float = 0.1
    derpp_beta: float = 0.5
    lwf_temperature: float = 2.0
    lwf_weight: float = 1.0
    unlearn_epochs: int = 5
    unlearn_lr: float = 1e-3
    forget_weight: float = 1.0
    reset_teacher: bool = True


def _load(model: nn.Module, state: dict[str, torch.Tensor]) -> nn.Module:
    model.load_state_dict(state)
    return model


def _ema_update(teacher: nn.Module, student: nn.Module, iteration: int) -> None:
    m = min(1.0 - 1.0 / (iteration + 1), 0.999)
    with torch.no_grad():
        for t, s in zip(teacher.state_dict().values(), student.state_dict().values()):
            if t.dtype.is_floating_point:
                t.mul_(m).add_(s, alpha=1.0 - m)
            else:
                t.copy_(s)


def _sample(state: StreamState, n: int, g: torch.Generator) -> torch.Tensor:
    return torch.randint(0, len(state.buffer), (min(n, len(state.buffer)),), generator=g)


def _buffer_terms(rule: str, model: nn.Module, teacher: nn.Module | None, state: StreamState, s: Settings,
                  g: torch.Generator) -> torch.Tensor:
    b = state.buffer
    if not len(b) or rule in ("finetune", "lwf"):
        return torch.zeros(())
    idx = _sample(state, s.batch_size, g)
    out = model(b.x[idx])
    loss = F.cross_entropy(out, b.y[idx])
    if rule == "cl":
        with torch.no_grad():
            t = teacher(b.x[idx])
            w = torch.softmax(t, 1).gather(1, b.y[idx][:, None]).squeeze(1)
        loss = loss + s.replay_weight * (w * ((out - t) ** 2).mean(1)).mean()
    elif rule == "der++":
        loss = s.derpp_beta * loss
        idx2 = _sample(state, s.batch_size, g)
        loss = loss + s.derpp_alpha * F.mse_loss(model(b.x[idx2]), b.logits[idx2])
    return loss


def _batches(n: int, batch_size: int, g: torch.Generator):
    order = torch.randperm(n, generator=g)
    for start in range(0, n, batch_size):
        yield order[start:start + batch_size]


def learn(model: nn.Module, state: StreamState, x: torch.Tensor, y: torch.Tensor, ids: torch.Tensor, task: int,
          rule: str, s: Settings, seed: int) -> None:
    """Learn one task in place with ``rule``; then reservoir-insert its samples."""
    keep = torch.tensor([int(i) not in state.forgotten for i in ids], dtype=torch.bool)
    x, y, ids = x[keep], y[keep], ids[keep]
    g = torch.Generator().manual_seed(seed * 1009 + task)
    teacher = None
    if rule == "cl":
        teacher = copy.deepcopy(model)
        if state.teacher is not None:
            _load(teacher, state.teacher)
        teacher.eval()
    old = copy.deepcopy(model).eval() if rule == "lwf" and state.done > 0 else None
    opt = torch.optim.Adam(model.parameters(), lr=s.lr)
    model.train()
    for _ in range(s.epochs):
        for idx in _batches(len(y), s.batch_size, g):
            out = model(x[idx])
            loss = F.cross_entropy(out, y[idx]) + _buffer_terms(rule, model, teacher, state, s, g)
            if old is not None:
                T = s.lwf_temperature
                with torch.no_grad():
                    p_old = torch.softmax(old(x[idx]) / T, 1)
                loss = loss + s.lwf_weight * T * T * F.kl_div(torch.log_softmax(out / T, 1), p_old,
                                                              reduction="batchmean")
            opt.zero_grad()
            loss.backward()
            opt.step()
            state.iteration += 1
            if teacher is not None and float(torch.rand((), generator=g)) < s.ema_p:
                _ema_update(teacher, model, state.iteration)
    model.eval()
    if teacher is not None:
        state.teacher = {k: v.clone() for k, v in teacher.state_dict().items()}
    with torch.no_grad():
        logits = model(x)
    order = torch.randperm(len(y), generator=g)
    state.buffer.add(x[order], y[order], logits[order], ids[order], task, g, exclude=state.forgotten)


def unlearn(model: nn.Module, state: StreamState, x: torch.Tensor, ids: torch.Tensor, rule: str, s: Settings,
            seed: int, factory: Callable[[], nn.Module] | None = None) -> dict[str, int]:
    """Forget the samples ``(x, ids)`` in place: purge the buffer, then the rule's update."""
    state.forgotten |= {int(i) for i in ids}
    removed = state.buffer.remove(state.forgotten)
    g = torch.Generator().manual_seed(seed * 7919 + state.done)
    opt = torch.optim.Adam(model.parameters(), lr=s.unlearn_lr)
    steps = 0
    if rule == "cl":
        bad = fresh_model(model, seed=seed + BAD_TEACHER_SEED_OFFSET, factory=factory).eval()
        teacher = _load(copy.deepcopy(model), state.teacher).eval() if state.teacher is not None else None
        model.train()
        for _ in range(s.unlearn_epochs):
            for idx in _batches(len(x), s.batch_size, g):
                with torch.no_grad():
                    target = torch.softmax(bad(x[idx]), 1)
                loss = s.forget_weight * F.kl_div(torch.log_softmax(model(x[idx]), 1), target, reduction="batchmean")
                loss = loss + _buffer_terms("cl" if teacher is not None else "er", model, teacher, state, s, g)
                opt.zero_grad()
                loss.backward()
                opt.step()
                steps += 1
                state.iteration += 1
                if teacher is not None and not s.reset_teacher and float(torch.rand((), generator=g)) < s.ema_p:
                    _ema_update(teacher, model, state.iteration)
        model.eval()
        source = model if s.reset_teacher or teacher is None else teacher
        state.teacher = {k: v.detach().clone() for k, v in source.state_dict().items()}
    elif len(state.buffer):
        data = state.buffer
        n_steps = max(1, s.unlearn_epochs * int(np.ceil(len(x) / s.batch_size)))
        model.train()
        for _ in range(n_steps):
            idx = _sample(state, s.batch_size, g)
            loss = F.cross_entropy(model(data.x[idx]), data.y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            steps += 1
        model.eval()
    return {"removed_from_buffer": removed, "steps": steps}


def task_accuracies(model: nn.Module, data: ClassificationData, tasks: list[tuple[int, ...]]) -> list[float]:
    """Test accuracy on each task's classes."""
    pred = predict_logits(model, data.test_dataset()).argmax(1).numpy()
    out = []
    for classes in tasks:
        mask = np.isin(data.y_test, classes)
        out.append(float((pred[mask] == data.y_test[mask]).mean()) if mask.any() else float("nan"))
    return out


def run(model: nn.Module, state: StreamState, ops: tuple[Operation, ...], data: ClassificationData,
        forget_ids: dict[int, np.ndarray], rule: str, s: Settings, seed: int,
        factory: Callable[[], nn.Module] | None = None, stop: int | None = None,
        skip_unlearn: bool = False) -> list[list[float]]:
    """Apply ``ops[state.done:stop]`` in place; returns the accuracy-matrix rows (one per op).

    ``forget_ids[k]`` holds the training-set positions deleted by operation ``k``.
    ``skip_unlearn`` runs only the learning steps (the gold stream, forgotten data excluded).
    """
    tasks = [op.classes for op in ops if op.kind == "learn"]
    rows = []
    stop = len(ops) if stop is None else stop
    x_all = torch.from_numpy(np.ascontiguousarray(data.x_train))
    y_all = torch.from_numpy(np.ascontiguousarray(data.y_train))
    while state.done < stop:
        k = state.done
        op = ops[k]
        if op.kind == "learn":
            idx = np.flatnonzero(np.isin(data.y_train, op.classes))
            task = sum(1 for o in ops[:k] if o.kind == "learn")
            learn(model, state, x_all[idx], y_all[idx], torch.from_numpy(idx), task, rule, s, seed)
        elif not skip_unlearn:
            idx = forget_ids[k]
            unlearn(model, state, x_all[idx], torch.from_numpy(idx), rule, s, seed, factory)
        state.done += 1
        rows.append(task_accuracies(model, data, tasks))
    return rows
