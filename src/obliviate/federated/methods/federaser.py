"""``federaser``: FedEraser (Liu et al., "FedEraser: Enabling Efficient Client-Level Data
Removal from Federated Learning Models", IWQoS 2021).

Calibrated retraining from the server's records. The original training's updates are
kept at every ``interval``-th round, ``t_1 = 1, t_2 = 1 + interval, ...``. Unlearning
starts again from the original initial weights, takes the retained clients' stored
round-1 updates as its first step, then runs one calibration round per further stored
round: the remaining clients train ``calibration_epochs`` local epochs (fewer than the
original's), and the server keeps, per client and per layer, the new update's direction
with the stored update's length (see :class:`obliviate.federated.flower_app.CalibratedFedAvg`).
With ``R`` original rounds this costs about ``R / interval`` rounds of
``calibration_epochs / epochs`` the local work — the speed-up the paper reports — and it
runs on Flower, so ``seconds`` include its messaging.
"""

from __future__ import annotations

from obliviate.core.contracts import Unlearner, UnlearningRequest
from obliviate.core.params import NONE, Interval
from obliviate.core.registry import register
from obliviate.federated.federation import federation_of
from obliviate.federated.methods._common import FEDERATED_KINDS, adopt


@register("federated", "federaser")
class FedEraser(Unlearner):
    """Calibrated retraining from stored client updates.

    Args:
        interval: use the stored updates of every ``interval``-th original round.
        calibration_epochs: local epochs of a calibration round (default: half the
            federation's local epochs, at least 1).
    """

    needs_retain = True
    forget_kinds = FEDERATED_KINDS
    _parameter_constraints = {
        "interval": [Interval(int, 1, None)],
        "calibration_epochs": [NONE, Interval(int, 1, None)],
    }

    def __init__(self, *, interval: int = 2, calibration_epochs: int | None = None):
        self.interval = interval
        self.calibration_epochs = calibration_epochs

    def _unlearn(self, model, request: UnlearningRequest):
        federation = federation_of(request, self.name)
        records = federation.records()
        stored = list(range(1, records.rounds + 1, self.interval))
        epochs = self.calibration_epochs or max(1, federation.recipe.epochs // 2)
        outcome = federation.run(
            participants=federation.retain_clients,
            rounds=len(stored) - 1,
            initial_state=records.initial_state(),
            mode="federaser",
            training={"epochs": epochs},
            calibration={"records": str(federation.records_dir), "stored_rounds": stored},
            seed=request.seed + 2,
        )
        info = adopt(model, outcome)
        return model, {**info, "calibration_rounds": float(len(stored) - 1), "calibration_epochs": float(epochs)}
