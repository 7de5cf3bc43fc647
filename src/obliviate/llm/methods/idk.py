"""``idk``: fine-tune the forget questions to an "I don't know" answer (TOFU's IDK baseline),
with the retain cross-entropy beside it:

``L(w) = CE(forget questions -> "i do not know"; w) + retain_weight * CE(retain batch; w)``.
"""

from __future__ import annotations

from obliviate.core.contracts import Unlearner, UnlearningRequest
from obliviate.core.params import InstanceOf, Interval
from obliviate.core.registry import register
from obliviate.llm.corpus import IDK_ANSWER
from obliviate.llm.methods._common import LLM_KINDS, Cycled, batches, check_llm
from obliviate.llm.models import lm_loss
from obliviate.llm.training import lm_fit


@register("llm", "idk")
class IDK(Unlearner):
    """Fine-tune to a refusal answer.

    Args:
        steps: optimizer steps.
        lr: AdamW learning rate.
        batch_size: questions per forget and retain batch.
        retain_weight: weight of the retain cross-entropy.
        answer: the refusal text.
    """

    forget_kinds = LLM_KINDS
    _parameter_constraints = {
        "steps": [Interval(int, 1, None)],
        "lr": [Interval(float, 0, None, closed="neither")],
        "batch_size": [Interval(int, 1, None)],
        "retain_weight": [Interval(float, 0, None)],
        "answer": [InstanceOf(str)],
    }

    def __init__(self, *, steps: int = 30, lr: float = 5e-4, batch_size: int = 16, retain_weight: float = 1.0,
                 answer: str = IDK_ANSWER):
        self.steps = steps
        self.lr = lr
        self.batch_size = batch_size
        self.retain_weight = retain_weight
        self.answer = answer

    def _unlearn(self, model, request: UnlearningRequest):
        tokenizer = check_llm(model, request, "llm/idk")
        forget = batches(tokenizer, request.forget, request, batch_size=self.batch_size, seed=request.seed,
                         answers=[self.answer] * len(request.forget))
        retain = batches(tokenizer, request.retain, request, batch_size=self.batch_size, seed=request.seed + 1)
        weight = float(self.retain_weight)
        history = lm_fit(
            model, Cycled(self.steps, forget, retain),
            loss_fn=lambda net, b: lm_loss(net, b[:3]) + weight * lm_loss(net, b[3:]),
            epochs=1, lr=self.lr, optimizer="adamw", seed=request.seed,
        )
        return model, {"steps": history["steps"]}
