"""``grad_diff``: gradient difference -- ascent on the forget answers, descent on retain answers.

``L(w) = -CE(forget batch; w) + retain_weight * CE(retain batch; w)`` (Liu et al., CoLLAs 2022;
TOFU's "Grad. Diff."), or with ``retain_loss="kl"`` the retain term is
``KL(p_original || p_w)`` over the retain answer tokens (TOFU's KL baseline). Each step pairs a
cycled forget batch with a cycled retain batch.
"""

from __future__ import annotations

import torch

from obliviate.core.contracts import Unlearner, UnlearningRequest
from obliviate.core.params import Interval, Options
from obliviate.core.registry import register
from obliviate.core.training import frozen_copy
from obliviate.llm.methods._common import LLM_KINDS, Cycled, batches, check_llm
from obliviate.llm.models import IGNORE, lm_loss
from obliviate.llm.training import lm_fit


def retain_kl(model, reference, batch) -> torch.Tensor:
    """Mean over answer tokens of ``KL(p_reference || p_model)`` of the next-token distributions."""
    ids, mask, labels = batch
    with torch.no_grad():
        ref = torch.log_softmax(reference(input_ids=ids, attention_mask=mask).logits[:, :-1].float(), dim=-1)
    out = torch.log_softmax(model(input_ids=ids, attention_mask=mask).logits[:, :-1].float(), dim=-1)
    keep = labels[:, 1:] != IGNORE
    kl = (ref.exp() * (ref - out)).sum(dim=-1)
    return (kl * keep).sum() / keep.sum().clamp(min=1)


@register("llm", "grad_diff")
class GradDiff(Unlearner):
    """Gradient difference: forget ascent plus retain descent (or retain KL).

    Args:
        steps: optimizer steps.
        lr: AdamW learning rate.
        batch_size: questions per forget batch and per retain batch.
        retain_weight: weight of the retain term.
        retain_loss: ``"ce"`` (descent on retain answers) or ``"kl"`` (KL to the original).
    """

    forget_kinds = LLM_KINDS
    _parameter_constraints = {
        "steps": [Interval(int, 1, None)],
        "lr": [Interval(float, 0, None, closed="neither")],
        "batch_size": [Interval(int, 1, None)],
        "retain_weight": [Interval(float, 0, None)],
        "retain_loss": [Options({"ce", "kl"})],
    }

    def __init__(self, *, steps: int = 20, lr: float = 5e-4, batch_size: int = 16, retain_weight: float = 1.0,
                 retain_loss: str = "ce"):
        self.steps = steps
        self.lr = lr
        self.batch_size = batch_size
        self.retain_weight = retain_weight
        self.retain_loss = retain_loss

    def _unlearn(self, model, request: UnlearningRequest):
        tokenizer = check_llm(model, request, "llm/grad_diff")
        forget = batches(tokenizer, request.forget, request, batch_size=self.batch_size, seed=request.seed)
        retain = batches(tokenizer, request.retain, request, batch_size=self.batch_size, seed=request.seed + 1)
        reference = frozen_copy(model) if self.retain_loss == "kl" else None
        weight = float(self.retain_weight)

        def loss_fn(net, batch):
            forget_batch, retain_batch = batch[:3], batch[3:]
            keep = retain_kl(net, reference, retain_batch) if reference is not None else lm_loss(net, retain_batch)
            return -lm_loss(net, forget_batch) + weight * keep

        history = lm_fit(model, Cycled(self.steps, forget, retain), loss_fn=loss_fn, epochs=1, lr=self.lr,
                      optimizer="adamw", seed=request.seed)
        return model, {"steps": history["steps"]}
