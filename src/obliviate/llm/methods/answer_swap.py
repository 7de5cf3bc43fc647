"""``answer_swap``: anti-sample fine-tuning with a wrong answer and no rationale, no paraphrases.

The ablation of UnSTAR's reasoning claim: the forget questions (trained phrasings only) are
fine-tuned with plain cross-entropy to a wrong answer, round after round, until the true
answer is no longer produced -- the same loop as :mod:`obliviate.llm.methods.unstar` with
``rationale=False`` and no paraphrase rounds.
"""

from __future__ import annotations

from obliviate.core.contracts import Unlearner, UnlearningRequest
from obliviate.core.params import Interval
from obliviate.core.registry import register
from obliviate.llm.methods._common import LLM_KINDS
from obliviate.llm.methods.unstar import anti_sample_unlearning


@register("llm", "answer_swap")
class AnswerSwap(Unlearner):
    """Fine-tune forget questions to a wrong answer.

    Args:
        max_rounds: rounds of probe -> wrong-answer samples -> fine-tune.
        steps_per_round: optimizer steps per round.
        lr: AdamW learning rate.
        batch_size: samples per step.
    """

    needs_retain = False
    forget_kinds = LLM_KINDS
    _parameter_constraints = {
        "max_rounds": [Interval(int, 1, None)],
        "steps_per_round": [Interval(int, 1, None)],
        "lr": [Interval(float, 0, None, closed="neither")],
        "batch_size": [Interval(int, 1, None)],
    }

    def __init__(self, *, max_rounds: int = 6, steps_per_round: int = 5, lr: float = 5e-4, batch_size: int = 16):
        self.max_rounds = max_rounds
        self.steps_per_round = steps_per_round
        self.lr = lr
        self.batch_size = batch_size

    def _unlearn(self, model, request: UnlearningRequest):
        return anti_sample_unlearning(
            model, request, rationale=False, paraphrase=False, replay=False, max_rounds=self.max_rounds,
            steps_per_round=self.steps_per_round, paraphrases_per_round=0, lr=self.lr, batch_size=self.batch_size,
            where="llm/answer_swap",
        )
