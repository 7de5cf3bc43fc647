"""``retrain``: the gold standard -- train a fresh denoiser from scratch without the concept.

Exact unlearning by definition: no image of the forgotten class reaches the new weights. The
network comes from the request's ``model_factory`` (the built-in recipe or the user's own
factory, e.g. a diffusers ``UNet2DModel``) under the request's seed, and is trained with the
scenario's recipe (DDPM objective, label dropout for classifier-free guidance).
"""

from __future__ import annotations

from obliviate.core.contracts import Unlearner, UnlearningRequest
from obliviate.core.params import NONE, Interval
from obliviate.core.registry import register
from obliviate.core.training import fresh_model
from obliviate.diffusion.methods._common import DIFFUSION_KINDS, null_label_of, scheduler_of, training_recipe


@register("diffusion", "retrain")
class Retrain(Unlearner):
    """Retrain from scratch on the retained classes (the gold model).

    Args:
        steps: training steps (default: the scenario's recipe).
        lr: learning rate (default: the scenario's recipe).
    """

    exact = True
    forget_kinds = DIFFUSION_KINDS
    _parameter_constraints = {
        "steps": [NONE, Interval(int, 1, None)],
        "lr": [NONE, Interval(float, 0, None, closed="neither")],
    }

    def __init__(self, *, steps: int | None = None, lr: float | None = None):
        self.steps = steps
        self.lr = lr

    def _unlearn(self, model, request: UnlearningRequest):
        from obliviate.diffusion.scenario import train_denoiser

        recipe = training_recipe(request)
        recipe["steps"] = self.steps or recipe["steps"]
        recipe["lr"] = self.lr or recipe["lr"]
        model = fresh_model(model, seed=request.seed, factory=request.model_factory)
        history = train_denoiser(
            model, request.retain, recipe, scheduler=scheduler_of(request), null_label=null_label_of(request), seed=request.seed
        )
        return model, {"steps": history["steps"], "last_loss": history["last_loss"]}
