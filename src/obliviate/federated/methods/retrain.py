"""``retrain``: the gold standard — FedAvg from scratch without the forgotten clients.

Exact unlearning by definition: the forgotten clients never take part, so nothing of
their data reaches the new weights. The network is re-initialised (same architecture and
state_dict keys) and trained with the federation's recipe (rounds, local epochs, learning
rate) on the remaining clients through Flower; ``seconds`` therefore include Flower's
messaging, and ``info`` separates the clients' compute time.
"""

from __future__ import annotations

from obliviate.core.contracts import Unlearner, UnlearningRequest
from obliviate.core.params import NONE, Interval
from obliviate.core.registry import register
from obliviate.core.training import fresh_model
from obliviate.federated.federation import federation_of
from obliviate.federated.methods._common import FEDERATED_KINDS, adopt
from obliviate.federated.models import state_copy


@register("federated", "retrain")
class Retrain(Unlearner):
    """FedAvg from scratch on the remaining clients (the gold model).

    Args:
        rounds: FedAvg rounds (default: the federation's recipe).
        local_epochs: local epochs per round (default: the federation's recipe).
    """

    exact = True
    needs_retain = True
    forget_kinds = FEDERATED_KINDS
    _parameter_constraints = {
        "rounds": [NONE, Interval(int, 1, None)],
        "local_epochs": [NONE, Interval(int, 1, None)],
    }

    def __init__(self, *, rounds: int | None = None, local_epochs: int | None = None):
        self.rounds = rounds
        self.local_epochs = local_epochs

    def _unlearn(self, model, request: UnlearningRequest):
        federation = federation_of(request, self.name)
        model = fresh_model(model, seed=request.seed, factory=request.model_factory)
        outcome = federation.run(
            participants=federation.retain_clients,
            rounds=self.rounds or federation.recipe.rounds,
            initial_state=state_copy(model),
            training={"epochs": self.local_epochs},
            seed=request.seed,
        )
        return model, adopt(model, outcome)
