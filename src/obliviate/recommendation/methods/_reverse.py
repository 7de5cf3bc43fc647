"""The loop shared by ``mmrecun`` and ``reverse_bpr``: reverse BPR on the forget set, with or
without forward BPR on the retain set, and the stopping rule.

Stopping rule (our addition; the paper's abstract states none). Reverse BPR alone has its
fixed point where forgotten items rank below uniformly drawn items (the middle of the
catalogue), far lower than retraining would put them. After every pass over the forget set
the loop therefore compares the forgotten pairs' hit rate at ``stop_k`` (the share still
in their users' top-``stop_k``) with that of *validation* pairs from the same distribution
(never used for training, and not used by the audit, which takes test pairs), and stops at
the first pass that reaches it, keeping whichever of that pass and the one before lies
closer to the target:

* ``interactions:`` / ``ids:`` — the users and items stay, so the target is the validation
  pairs of the same users as ranked by the model *before* unlearning (what a retrained
  model keeps: the user's taste, not the interaction);
* ``users:`` — a retrained model never saw the user, so it ranks their items without
  information: the target is the hit rate of a random ranking, ``K / candidates`` (no
  validation pairs needed);
* ``items:`` — every interaction of the item goes, so its validation pairs lose their
  signal too: the target is their hit rate under the *current* model (the point where the
  two can no longer be told apart). A retrained model may still rank a withdrawn item
  from its modality features; this target does not know how well, and measured on the
  synthetic set it stops a little early (forget hit rate above gold's).

Without validation pairs of those users/items the loop runs all its passes.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

from obliviate.core.contracts import UnlearningRequest
from obliviate.core.training import fit, make_optimizer
from obliviate.recommendation.methods._common import known_pairs, prepare, training_recipe
from obliviate.recommendation.metrics import pair_hits
from obliviate.recommendation.training import (
    JointBatches,
    PositiveSet,
    TripleBatches,
    bpr_loss,
    l2_term,
    reverse_bpr_loss,
    triple_scores,
)

STOP_RULES = ("heldout", "none")
UPDATES = ("embeddings", "all")
MIN_STEPS_PER_PASS = 2
# Default step size relative to the scenario's training rate: small enough that one pass
# moves the forget hit rate by a few points, so the stopping rule can land near its target.
LR_SCALE = 0.3
# The stopping rule estimates hit rates on at most this many pairs per side (seeded sample;
# standard error below 0.016), so that a check costs little beside a pass.
MAX_CHECK_PAIRS = 1000


def default_forget_batch(n_forget: int, recipe_batch: int) -> int:
    """Forget triples per step: at most the recipe's batch size, and small enough that a
    pass over the forget set has ``MIN_STEPS_PER_PASS`` steps."""
    return max(1, min(recipe_batch, -(-n_forget // MIN_STEPS_PER_PASS)))


def trainable_parameters(model: nn.Module, update: str) -> list[torch.nn.Parameter]:
    """``"all"``: every parameter; ``"embeddings"``: all but those of a ``modalities`` submodule
    (the shared modality projections of the built-in models; a model without one trains all)."""
    shared = set()
    modalities = getattr(model, "modalities", None)
    if update == "embeddings" and isinstance(modalities, nn.Module):
        shared = {id(p) for p in modalities.parameters()}
    return [p for p in model.parameters() if p.requires_grad and id(p) not in shared]


def validation_reference(request: UnlearningRequest) -> torch.Tensor | None:
    """Validation pairs sharing the forget set's users (items for ``items:``), or ``None``."""
    if request.validation is None or len(request.validation) == 0:
        return None
    kind = getattr(request.spec, "kind", "interactions")
    column = 1 if kind == "items" else 0
    pairs = request.validation.pairs
    chosen = pairs[torch.isin(pairs[:, column], torch.unique(request.forget.pairs[:, column]))]
    return chosen if len(chosen) else None


def reverse_unlearning(
    model: nn.Module,
    request: UnlearningRequest,
    *,
    owner: str,
    epochs: int,
    lr: float | None,
    forget_weight: float,
    retain_weight: float,
    batch_size: int | None,
    retain_ratio: float,
    reg: float | None,
    stop: str,
    update: str,
    stop_k: int = 20,
) -> dict[str, Any]:
    """Minimise ``forget_weight * L_rev(forget) + retain_weight * L_BPR(retain) + reg * L2``
    in place (see the module docstring for the stopping rule); returns diagnostics."""
    num_items = prepare(model, request, owner)
    recipe = training_recipe(request)
    n_forget = len(request.forget)
    size = batch_size or default_forget_batch(n_forget, int(recipe["batch_size"]))
    reg = float(recipe["reg"] if reg is None else reg)
    forget_exclude = PositiveSet(known_pairs(request), num_items)
    use_retain = retain_weight > 0 and request.retain is not None and len(request.retain) > 0
    if use_retain:
        batches: Any = JointBatches(
            request.retain.pairs,
            request.forget.pairs,
            retain_exclude=PositiveSet(request.retain.pairs, num_items),
            forget_exclude=forget_exclude,
            forget_batch_size=size,
            retain_batch_size=max(1, int(round(retain_ratio * size))),
            seed=request.seed,
        )
    else:
        batches = TripleBatches(request.forget.pairs, forget_exclude, batch_size=size, seed=request.seed)

    def loss_fn(net: nn.Module, batch: tuple) -> torch.Tensor:
        if use_retain:
            ru, rp, rn, fu, fp, fn = batch
            # One forward call for both terms: a graph model propagates once per step.
            pos, neg = triple_scores(net, torch.cat([ru, fu]), torch.cat([rp, fp]), torch.cat([rn, fn]))
            split = len(ru)
            return (
                forget_weight * reverse_bpr_loss(pos[split:], neg[split:])
                + retain_weight * bpr_loss(pos[:split], neg[:split])
                + l2_term(net, ru, rp, rn, reg)
            )
        fu, fp, fn = batch
        return forget_weight * reverse_bpr_loss(*triple_scores(net, fu, fp, fn))

    mask = request.retain.pairs if request.retain is not None else torch.empty(0, 2, dtype=torch.long)
    reference = validation_reference(request) if stop == "heldout" else None
    kind = getattr(request.spec, "kind", "interactions")

    sampler = np.random.default_rng(request.seed)

    def sample(pairs: torch.Tensor | None) -> torch.Tensor | None:
        if pairs is None or len(pairs) <= MAX_CHECK_PAIRS:
            return pairs
        return pairs[torch.as_tensor(np.sort(sampler.choice(len(pairs), MAX_CHECK_PAIRS, replace=False)))]

    reference = sample(reference)
    forget_sample = sample(request.forget.pairs)

    def hit_rate(pairs: torch.Tensor) -> float:
        return float(np.mean(pair_hits(model, pairs, mask, num_items, stop_k)))

    fixed_target = None
    if stop == "heldout" and kind == "users":
        retained = torch.bincount(mask[:, 0], minlength=int(request.forget.num_users))
        candidates = (num_items - retained[request.forget.pairs[:, 0]]).clamp_min(1).double()
        fixed_target = float((stop_k / candidates).clamp_max(1.0).mean())
        reference = reference if reference is not None else forget_sample
    elif reference is not None and kind in ("interactions", "ids"):
        fixed_target = hit_rate(reference)
    optimizer = make_optimizer(trainable_parameters(model, update), "adam", lr=lr or LR_SCALE * recipe["lr"])
    steps, passes, stopped = 0, 0, False
    forget_hit = target = previous_gap = float("nan")
    previous_state = None
    for _ in range(epochs):
        if reference is not None:
            previous_state = {key: value.detach().clone() for key, value in model.state_dict().items()}
        history = fit(model, batches, loss_fn=loss_fn, epochs=1, optimizer=optimizer, seed=request.seed)
        steps += history["steps"]
        passes += 1
        if reference is None:
            continue
        forget_hit = hit_rate(forget_sample)
        target = fixed_target if fixed_target is not None else hit_rate(reference)
        if forget_hit <= target:
            stopped = True
            if previous_state is not None and previous_gap < target - forget_hit:
                model.load_state_dict(previous_state)
                passes -= 1
                forget_hit = target + previous_gap
            break
        previous_gap = forget_hit - target
    return {
        "steps": steps,
        "passes": passes,
        "stopped_early": stopped,
        "forget_hit": forget_hit,
        "target_hit": target,
        "batch_size": size,
    }
