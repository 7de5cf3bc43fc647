"""``neggrad``: gradient ascent by the forgotten clients on their own data.

The leaving clients maximise their own loss, ``L(w) = -CE(forget batch; w)``, starting
from the global model (the basic "negative gradient" baseline; Halimi et al., 2022 add a
constraint, see ``pga``). Unbounded ascent soon destroys the model, so it runs for a few
steps only; ``post_rounds`` FedAvg rounds on the remaining clients (through Flower) can
then repair the damage. The ascent runs on the leaving clients' own nodes (a Flower
message to each), so the server never reads their data; ``info["ascent_seconds"]`` is
their compute.
"""

from __future__ import annotations

from obliviate.core.contracts import Unlearner, UnlearningRequest
from obliviate.core.params import Interval, Options
from obliviate.core.registry import register
from obliviate.federated.federation import federation_of
from obliviate.federated.methods._common import FEDERATED_KINDS, ascent_on_leaving_clients, rounds_on_retained


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
        federation = federation_of(request, self.name)
        info = ascent_on_leaving_clients(model, federation, seed=request.seed, ascent={
            "lr": self.lr, "optimizer": self.optimizer, "batch_size": self.batch_size,
            "epochs": max(1, self.steps), "max_steps": self.steps,
        })
        info["steps"] = float(self.steps)
        if self.post_rounds > 0:
            info.update(rounds_on_retained(model, federation, rounds=self.post_rounds, seed=request.seed + 3))
        return model, info
