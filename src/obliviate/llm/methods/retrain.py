"""``retrain``: the gold standard -- train a fresh model from scratch on the retain questions only.

Exact by definition: the forget facts never reach the new weights. The fresh model comes from
the request's ``model_factory`` (the built-in GPT-2 recipe, or ``AutoModelForCausalLM.from_config``
of a user's model), trained with the scenario's recipe (AdamW, cross-entropy on answer tokens).
"""

from __future__ import annotations

from obliviate.core.contracts import Unlearner, UnlearningRequest
from obliviate.core.params import NONE, Interval
from obliviate.core.registry import register
from obliviate.core.training import fresh_model
from obliviate.llm.methods._common import LLM_KINDS, batches, check_llm, training
from obliviate.llm.models import fresh_like, lm_loss
from obliviate.llm.training import lm_fit


@register("llm", "retrain")
class Retrain(Unlearner):
    """Retrain from scratch on the retain set (the gold model).

    Args:
        epochs: passes over the retain questions (default: the scenario's recipe).
        lr: learning rate (default: the scenario's recipe).
    """

    exact = True
    forget_kinds = LLM_KINDS
    _parameter_constraints = {
        "epochs": [NONE, Interval(int, 1, None)],
        "lr": [NONE, Interval(float, 0, None, closed="neither")],
    }

    def __init__(self, *, epochs: int | None = None, lr: float | None = None):
        self.epochs = epochs
        self.lr = lr

    def _unlearn(self, model, request: UnlearningRequest):
        tokenizer = check_llm(model, request, "llm/retrain")
        recipe = training(request)
        factory = request.model_factory or (lambda: fresh_like(model))
        network = fresh_model(model, seed=request.seed, factory=factory)
        history = lm_fit(
            network,
            batches(tokenizer, request.retain, request, batch_size=recipe["batch_size"], seed=request.seed),
            loss_fn=lm_loss,
            epochs=self.epochs or recipe["epochs"],
            lr=self.lr or recipe["lr"],
            optimizer=recipe["optimizer"],
            weight_decay=recipe["weight_decay"],
            seed=request.seed,
        )
        return network, {"steps": history["steps"]}
