"""``neggrad``: gradient ascent by the forgotten clients on their own data.

The leaving clients maximise their own loss, ``L(w) = -CE(forget batch; w)``, starting
from the global model (the basic "negative gradient" baseline; Halimi et al., 2022 add a
constraint, see ``pga``). Unbounded ascent soon destroys the model, so it runs for a few
steps only; ``post_rounds`` FedAvg rounds on the remaining clients (through Flower) can
then repair the damage. The ascent itself is local to the leaving clients: it does not
need the federation, only their data.
"""

from __future__ import annotations

from torch import nn

from obliviate.core.contracts import Unlearner, UnlearningRequest
from obliviate.core.params import Interval, Options
from obliviate.core.registry import register
from obliviate.core.timing import Stopwatch
from obliviate.core.training import fit
from obliviate.federated.federation import federation_of
from obliviate.federated.methods._common import FEDERATED_KINDS, rounds_on_retained


def ascent_loss(model: nn.Module, batch: tuple):
    """``-CE``: maximise the cross-entropy on the forgotten data."""
    return -nn.functional.cross_entropy(model(batch[0]), batch[1])


@register("federated", "neggrad")
class NegGrad(Unlearner):
    """Gradient ascent on the forgotten clients' data, then optional FedAvg rounds.

    Args:
        steps: ascent steps (optimizer steps on forget batches).
        lr: learning rate of the ascent.
        optimizer: ``"sgd"`` (momentum 0.9) or ``"adam"``.
        batch_size: forget batch size.
        post_rounds: FedAvg rounds on the remaining clients afterwards (0: none).
    """

    needs_retain = False
    forget_kinds = FEDERATED_KINDS
    _parameter_constraints = {
        "steps": [Interval(int, 1, None)],
        "lr": [Interval(float, 0, None, closed="neither")],
        "optimizer": [Options({"sgd", "adam"})],
        "batch_size": [Interval(int, 1, None)],
        "post_rounds": [Interval(int, 0, None)],
    }

    def __init__(self, *, steps: int = 5, lr: float = 0.01, optimizer: str = "sgd", batch_size: int = 32, post_rounds: int = 0):
        self.steps = steps
        self.lr = lr
        self.optimizer = optimizer
        self.batch_size = batch_size
        self.post_rounds = post_rounds

    def _unlearn(self, model, request: UnlearningRequest):
        with Stopwatch() as watch:
            history = fit(
                model,
                request.forget,
                loss_fn=ascent_loss,
                epochs=max(1, -(-self.steps * self.batch_size // max(len(request.forget), 1))),
                max_steps=self.steps,
                lr=self.lr,
                optimizer=self.optimizer,
                batch_size=self.batch_size,
                seed=request.seed,
            )
        info = {"steps": float(history["steps"]), "ascent_seconds": watch.seconds}
        if self.post_rounds > 0:
            federation = federation_of(request, self.name)
            info.update(rounds_on_retained(model, federation, rounds=self.post_rounds, seed=request.seed + 3))
        return model, info
