"""``finetune``: continue FedAvg on the remaining clients only.

The simplest federated baseline: the global model keeps training for a few rounds
without the forgotten clients, hoping their influence fades (it is the "continue
training" baseline of Liu et al., IWQoS 2021, and the post-training step of Halimi et
al., 2022). Runs on Flower like the original training.
"""

from __future__ import annotations

from obliviate.core.contracts import Unlearner, UnlearningRequest
from obliviate.core.params import NONE, Interval
from obliviate.core.registry import register
from obliviate.federated.federation import federation_of
from obliviate.federated.methods._common import FEDERATED_KINDS, rounds_on_retained


@register("federated", "finetune")
class Finetune(Unlearner):
    """Continue FedAvg on the remaining clients.

    Args:
        rounds: FedAvg rounds on the remaining clients (default 2).
        local_epochs: local epochs per round (default: the federation's recipe).
    """

    needs_retain = True
    forget_kinds = FEDERATED_KINDS
    _parameter_constraints = {
        "rounds": [Interval(int, 1, None)],
        "local_epochs": [NONE, Interval(int, 1, None)],
    }

    def __init__(self, *, rounds: int = 2, local_epochs: int | None = None):
        self.rounds = rounds
        self.local_epochs = local_epochs

    def _unlearn(self, model, request: UnlearningRequest):
        federation = federation_of(request, self.name)
        info = rounds_on_retained(
            model, federation, rounds=self.rounds, seed=request.seed + 1, training={"epochs": self.local_epochs}
        )
        return model, info
