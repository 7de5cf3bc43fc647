"""``grad_ascent``: gradient ascent on the forget answers (Jang et al., ACL 2023; TOFU's baseline).

Maximises the cross-entropy of the forget answers, ``L(w) = -CE(forget batch; w)``, for a
fixed number of optimizer steps. Unbounded: it stops only at ``steps``.
"""

from __future__ import annotations

from obliviate.core.contracts import Unlearner, UnlearningRequest
from obliviate.core.params import Interval
from obliviate.core.registry import register
from obliviate.llm.methods._common import LLM_KINDS, Cycled, batches, check_llm
from obliviate.llm.models import lm_loss
from obliviate.llm.training import lm_fit


@register("llm", "grad_ascent")
class GradAscent(Unlearner):
    """Gradient ascent on the forget set.

    Args:
        steps: optimizer steps.
        lr: AdamW learning rate.
        batch_size: forget questions per step.
    """

    needs_retain = False
    forget_kinds = LLM_KINDS
    _parameter_constraints = {
        "steps": [Interval(int, 1, None)],
        "lr": [Interval(float, 0, None, closed="neither")],
        "batch_size": [Interval(int, 1, None)],
    }

    def __init__(self, *, steps: int = 20, lr: float = 5e-4, batch_size: int = 16):
        self.steps = steps
        self.lr = lr
        self.batch_size = batch_size

    def _unlearn(self, model, request: UnlearningRequest):
        tokenizer = check_llm(model, request, "llm/grad_ascent")
        forget = batches(tokenizer, request.forget, request, batch_size=self.batch_size, seed=request.seed)
        history = lm_fit(model, Cycled(self.steps, forget), loss_fn=lambda net, b: -lm_loss(net, b), epochs=1,
                      lr=self.lr, optimizer="adamw", seed=request.seed)
        return model, {"steps": history["steps"]}
