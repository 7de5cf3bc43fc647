"""``npo``: negative preference optimisation (Zhang et al., "Negative Preference Optimization",
COLM 2024), with the retain cross-entropy term (NPO+RT).

``L(w) = -(2 / beta) * E_forget[log sigmoid(-beta * (log p_w(y|x) - log p_ref(y|x)))]
         + retain_weight * CE(retain batch; w)``,

where ``log p(y|x)`` sums the answer tokens' log-probabilities and ``p_ref`` is the original
model. Unlike gradient ascent the forget term is bounded: it fades once ``p_w << p_ref``.
"""

from __future__ import annotations

import torch

from obliviate.core.contracts import Unlearner, UnlearningRequest
from obliviate.core.params import Interval
from obliviate.core.registry import register
from obliviate.core.training import frozen_copy
from obliviate.llm.methods._common import LLM_KINDS, Cycled, batches, check_llm
from obliviate.llm.models import lm_loss, token_logprobs
from obliviate.llm.training import lm_fit


def sequence_logprob(model, batch) -> torch.Tensor:
    """``log p(answer | question)``: the sum over answer tokens."""
    logp, _ = token_logprobs(model, *batch)
    return logp.sum(dim=1)


@register("llm", "npo")
class NPO(Unlearner):
    """Negative preference optimisation with a retain term.

    Args:
        steps: optimizer steps.
        lr: AdamW learning rate.
        beta: inverse temperature of the preference loss (the paper's 0.1).
        batch_size: questions per forget and retain batch.
        retain_weight: weight of the retain cross-entropy (0: plain NPO).
    """

    forget_kinds = LLM_KINDS
    _parameter_constraints = {
        "steps": [Interval(int, 1, None)],
        "lr": [Interval(float, 0, None, closed="neither")],
        "beta": [Interval(float, 0, None, closed="neither")],
        "batch_size": [Interval(int, 1, None)],
        "retain_weight": [Interval(float, 0, None)],
    }

    def __init__(self, *, steps: int = 30, lr: float = 5e-4, beta: float = 0.1, batch_size: int = 16,
                 retain_weight: float = 1.0):
        self.steps = steps
        self.lr = lr
        self.beta = beta
        self.batch_size = batch_size
        self.retain_weight = retain_weight

    def _unlearn(self, model, request: UnlearningRequest):
        tokenizer = check_llm(model, request, "llm/npo")
        reference = frozen_copy(model)
        forget = batches(tokenizer, request.forget, request, batch_size=self.batch_size, seed=request.seed)
        streams = [forget]
        if self.retain_weight > 0 and request.retain:
            streams.append(batches(tokenizer, request.retain, request, batch_size=self.batch_size, seed=request.seed + 1))
        beta, weight = float(self.beta), float(self.retain_weight)

        def loss_fn(net, batch):
            forget_batch = batch[:3]
            with torch.no_grad():
                ref = sequence_logprob(reference, forget_batch)
            ratio = sequence_logprob(net, forget_batch) - ref
            loss = -(2.0 / beta) * torch.nn.functional.logsigmoid(-beta * ratio).mean()
            if len(batch) > 3:
                loss = loss + weight * lm_loss(net, batch[3:])
            return loss

        history = lm_fit(model, Cycled(self.steps, *streams), loss_fn=loss_fn, epochs=1, lr=self.lr,
                      optimizer="adamw", seed=request.seed)
        return model, {"steps": history["steps"]}
