"""Audit metrics specific to regression unlearning.

* Errors: per-example absolute error ``|f(x) - y|`` (mean: L1 / MAE) and squared error
  ``(f(x) - y)^2`` (mean: MSE).
* :func:`regression_svc_mia` — the membership attack of Tarun, Chundawat, Mandal and
  Kankanhalli ("Deep Regression Unlearning", ICML 2023): an RBF support-vector classifier
  (``SVC(C=3, gamma="auto", kernel="rbf")``) on the per-example L1 loss, fitted to tell
  training members (label 1) from test examples (label 0); the score is the mean
  membership it predicts on the forget set.
* :func:`wasserstein_to_gold` — the 1-Wasserstein distance between the distributions of a
  model's and the gold model's predictions on the forget set (``scipy.stats.wasserstein_distance``),
  as in the paper's evaluation.
* :func:`relearn_steps_regression` — fine-tuning steps on the forget set until the L1 error on
  held-out same-distribution data falls back to a target (the paper's "anamnesis index"
  compares this time with gold's).

The loss-threshold attack AUC (Yeom et al., CSF 2018) is shared with the other tasks:
:func:`obliviate.audit.mia.loss_mia_auc`, fed with per-example L1 losses.
"""

from __future__ import annotations

import copy
import math

import numpy as np
import torch
from torch import nn
from torch.utils.data import TensorDataset

from obliviate.core.errors import InvalidParameterError, InvalidRequestError
from obliviate.core.training import make_loader, make_optimizer, model_device, to_device

COMPATS = (None, "respai")


def absolute_errors(predictions: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """Per-example absolute error ``|prediction - target|``.

    Raises:
        InvalidParameterError: for different numbers of predictions and targets.
    """
    predictions = np.asarray(predictions, dtype=np.float64).reshape(-1)
    targets = np.asarray(targets, dtype=np.float64).reshape(-1)
    if predictions.shape != targets.shape:
        raise InvalidParameterError(
            f"{predictions.size} predictions for {targets.size} targets; pass one prediction per target"
        )
    return np.abs(predictions - targets)


def mean_absolute_error(predictions: np.ndarray, targets: np.ndarray) -> float:
    """``mean |f(x) - y|`` (equal to ``sklearn.metrics.mean_absolute_error``); NaN when empty."""
    errors = absolute_errors(predictions, targets)
    return float(errors.mean()) if errors.size else math.nan


def mean_squared_error(predictions: np.ndarray, targets: np.ndarray) -> float:
    """``mean (f(x) - y)^2`` (equal to ``sklearn.metrics.mean_squared_error``); NaN when empty."""
    errors = absolute_errors(predictions, targets)
    return float((errors**2).mean()) if errors.size else math.nan


def regression_svc_mia(
    member_losses: np.ndarray,
    test_losses: np.ndarray,
    forget_losses: np.ndarray,
    *,
    max_per_side: int = 2000,
    seed: int = 0,
    compat: str | None = None,
) -> float:
    """Mean membership an RBF-SVC on per-example L1 loss predicts on the forget set.

    The attack ``SVC(C=3, gamma="auto", kernel="rbf")`` is fitted on the losses of
    members (label 1: training examples the model keeps, i.e. the retain set) and of test
    examples (label 0), and asked about each forget example; the score is the fraction it
    calls members (Tarun et al., ICML 2023). Near the original model's score the forget
    set still looks trained on; gold's score is the target.

    By default each side is a seeded sample of ``min(n_members, n_test, max_per_side)``
    rows (balanced, so a large retain set does not bias the attack towards "member"), and
    the loss feature is divided by the median test loss, so that ``gamma="auto"`` (= 1 for
    one feature) means the same in any target unit. ``compat="respai"`` reproduces the
    published code: raw losses, every given row, unbalanced.

    Args:
        member_losses: per-example L1 losses of known members.
        test_losses: per-example L1 losses of unseen examples.
        forget_losses: per-example L1 losses of the forget set.
        max_per_side: at most this many rows per side (default mode).
        seed: seeds the samples.
        compat: ``None`` or ``"respai"``.

    Returns:
        The fraction of forget examples predicted to be members, in [0, 1]; NaN when a
        loss is NaN.

    Raises:
        InvalidRequestError: when a side is empty.
        InvalidParameterError: for an unknown ``compat``.
    """
    from sklearn.svm import SVC

    if compat not in COMPATS:
        raise InvalidParameterError(f"compat must be one of {COMPATS}; got {compat!r}")
    members = np.asarray(member_losses, dtype=np.float64).reshape(-1)
    others = np.asarray(test_losses, dtype=np.float64).reshape(-1)
    forget = np.asarray(forget_losses, dtype=np.float64).reshape(-1)
    if members.size == 0 or others.size == 0 or forget.size == 0:
        raise InvalidRequestError("regression_svc_mia needs non-empty member, test and forget losses")
    if np.isnan(members).any() or np.isnan(others).any() or np.isnan(forget).any():
        return math.nan
    if compat is None:
        rng = np.random.default_rng(seed)
        count = min(members.size, others.size, max_per_side)
        members = members[rng.choice(members.size, count, replace=False)]
        others = others[rng.choice(others.size, count, replace=False)]
        unit = float(np.median(others))
        unit = unit if unit > 0 else float(np.mean(others)) or 1.0
        members, others, forget = members / unit, others / unit, forget / unit
    features = np.concatenate([members, others])[:, None]
    labels = np.concatenate([np.ones(members.size), np.zeros(others.size)])
    attack = SVC(C=3, gamma="auto", kernel="rbf")
    attack.fit(features, labels)
    return float(attack.predict(forget[:, None]).mean())


def wasserstein_to_gold(predictions: np.ndarray, gold_predictions: np.ndarray) -> float:
    """1-Wasserstein distance between two samples of predictions (``scipy.stats.wasserstein_distance``).

    ``W1(P, Q) = integral |F_P(t) - F_Q(t)| dt`` over the empirical distribution functions;
    0 when the two models' forget-set predictions are distributed alike. NaN when either
    side is empty or holds a NaN.
    """
    from scipy.stats import wasserstein_distance

    p = np.asarray(predictions, dtype=np.float64).reshape(-1)
    q = np.asarray(gold_predictions, dtype=np.float64).reshape(-1)
    if p.size == 0 or q.size == 0 or np.isnan(p).any() or np.isnan(q).any():
        return math.nan
    return float(wasserstein_distance(p, q))


def _check_int(name: str, value: int, low: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise InvalidParameterError(f"relearn_steps_regression: {name} must be an int >= {low}; got {value!r}")


def _l1(model: nn.Module, data: TensorDataset) -> float:
    from obliviate.regression.models import predict

    x, y = data.tensors[0], data.tensors[1]
    return mean_absolute_error(predict(model, x).numpy(), y.numpy())


def relearn_steps_regression(
    model: nn.Module,
    forget: TensorDataset,
    holdout: TensorDataset,
    *,
    target_l1: float,
    lr: float = 1e-3,
    batch_size: int = 32,
    max_steps: int = 300,
    check_every: int = 5,
    seed: int = 0,
) -> int:
    """Steps of fine-tuning a copy of ``model`` on ``forget`` (Adam, L1 loss) until its L1 error
    on ``holdout`` falls to ``target_l1`` or below.

    A model that only hid the forget data recovers it in far fewer steps than one that never
    learned it; the bench reports the ratio to gold's steps. The error is checked before any
    step, every ``check_every`` steps and at the last one; the model passed in is not changed
    and the caller's random state is kept.

    Returns:
        Steps taken, in ``[0, max_steps]`` (``max_steps`` when the target is never reached).

    Raises:
        InvalidRequestError: for an empty forget or holdout set.
        InvalidParameterError: for non-positive counts or a non-finite target.
    """
    if len(forget) == 0 or len(holdout) == 0:
        raise InvalidRequestError("relearn_steps_regression needs non-empty forget and holdout sets")
    if not math.isfinite(float(target_l1)):
        raise InvalidParameterError(f"relearn_steps_regression: target_l1 must be finite; got {target_l1!r}")
    _check_int("max_steps", max_steps, 0)
    _check_int("check_every", check_every, 1)
    _check_int("batch_size", batch_size, 1)
    work = copy.deepcopy(model)
    if _l1(work, holdout) <= target_l1:
        return 0
    device = model_device(work)
    optimizer = make_optimizer(work.parameters(), "adam", lr=lr)
    steps = 0
    with torch.random.fork_rng(devices=[device.index or 0] if device.type == "cuda" else []):
        torch.manual_seed(seed)
        while steps < max_steps:
            for x, y in make_loader(forget, batch_size=batch_size, shuffle=True, seed=seed + steps):
                work.train()
                x, y = to_device((x, y), device)
                optimizer.zero_grad(set_to_none=True)
                out = work(x)
                out = out[0] if isinstance(out, (tuple, list)) else out
                loss = nn.functional.l1_loss(out.reshape(y.shape), y)
                loss.backward()
                optimizer.step()
                steps += 1
                if (steps % check_every == 0 or steps >= max_steps) and _l1(work, holdout) <= target_l1:
                    return steps
                if steps >= max_steps:
                    break
    return max_steps
