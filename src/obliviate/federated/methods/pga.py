"""``pga``: projected gradient ascent by the leaving client (Halimi et al., "Federated
Unlearning: How to Efficiently Erase a Client in FL?", 2022).

The leaving client maximises its own loss, but only inside an L2 ball around a
reference model, so that the result keeps what the other clients taught:

* reference ``w_ref``: the average of the other clients' local models of the last
  round. With FedAvg weights ``p_k = n_k / n``, ``theta^R = sum_k p_k w_k^R`` and
  ``w_k^R = theta^{R-1} + U_k^R``, so from the recorded last updates
  ``w_ref = theta^R - sum_k p_k U_k^R + sum_{k not in F} p'_k U_k^R`` with ``p'`` the
  weights renormalised over the remaining clients (for one client and equal weights
  this is the paper's ``(N theta - w_f) / (N - 1)``).
* radius ``delta``: ``radius_scale`` (1/3 in the paper) times the mean L2 distance
  between ``w_ref`` and freshly initialised networks.
* ascent: SGD (momentum 0.9) on ``-CE`` over the forgotten clients' data, starting at
  ``w_ref``; after every step the parameters are projected back onto
  ``||w - w_ref|| <= delta``; it stops after the step that brings the forgotten data's
  accuracy (on a fixed sample of ``check_size`` examples) down to ``stop_accuracy``
  (chance level by default), or after ``epochs``.
* post-training: ``post_rounds`` FedAvg rounds on the remaining clients (through Flower),
  as in the paper, to recover utility.

The server builds the reference and the radius from its records; the ascent runs on the
leaving clients' own nodes (a Flower message to each carrying the reference weights, the
radius and the stopping floor), so the server never reads their data. Several forgotten
clients each ascend on their own data from the reference built without all of them, and
their results are averaged. ``info`` separates the ascent (the leaving clients' compute)
from the reference and post-training time.
"""

from __future__ import annotations

import torch
from torch.nn.utils import parameters_to_vector

from obliviate.core.contracts import Unlearner, UnlearningRequest
from obliviate.core.params import NONE, Interval
from obliviate.core.registry import register
from obliviate.core.timing import Stopwatch
from obliviate.federated.federation import federation_of
from obliviate.federated.methods._common import FEDERATED_KINDS, ascent_on_leaving_clients, rounds_on_retained
from obliviate.federated.models import build_from_spec, load_state_into, state_copy
from obliviate.federated.records import FederationRecords


def reference_state(
    global_state: dict[str, torch.Tensor], records: FederationRecords, forget: list[int] | tuple[int, ...]
) -> dict[str, torch.Tensor]:
    """The average of the remaining clients' last local models, rebuilt from the records."""
    weights = {c: float(records.num_examples[c]) for c in records.clients}
    total = sum(weights.values())
    kept = [c for c in records.clients if c not in forget]
    kept_total = sum(weights[c] for c in kept)
    # Each client's last update enters with weight p'_k (if kept) - p_k.
    coefficient = {c: (weights[c] / kept_total if c in kept else 0.0) - weights[c] / total for c in records.clients}
    shift = {key: torch.zeros(global_state[key].shape, dtype=torch.float64) for key in records.keys}
    for client in records.clients:
        for key, update in records.last_update(client).items():
            shift[key] += update.double() * coefficient[client]
    state = {k: v.clone() for k, v in global_state.items()}
    for key in records.keys:
        state[key] = (state[key].double() + shift[key]).to(state[key].dtype)
    return state


@register("federated", "pga")
class PGA(Unlearner):
    """Projected gradient ascent inside a ball around the reference model, then FedAvg.

    Args:
        lr: SGD learning rate of the ascent.
        epochs: at most this many passes over the forgotten data.
        batch_size: batch size of the ascent.
        radius_scale: ball radius as a fraction of the reference's mean distance to
            random initialisations.
        random_models: random initialisations averaged for that distance.
        stop_accuracy: stop once the forgotten data's accuracy is at most this
            (default ``1 / num_classes``).
        post_rounds: FedAvg rounds on the remaining clients afterwards.
        check_size: forgotten examples (a seeded sample) on which the stopping accuracy
            is measured after every step.
    """

    needs_retain = True
    forget_kinds = FEDERATED_KINDS
    _parameter_constraints = {
        "lr": [Interval(float, 0, None, closed="neither")],
        "epochs": [Interval(int, 1, None)],
        "batch_size": [Interval(int, 1, None)],
        "radius_scale": [Interval(float, 0, None, closed="neither")],
        "random_models": [Interval(int, 1, None)],
        "stop_accuracy": [NONE, Interval(float, 0, 1)],
        "post_rounds": [Interval(int, 0, None)],
        "check_size": [Interval(int, 1, None)],
    }

    def __init__(
        self,
        *,
        lr: float = 0.01,
        epochs: int = 5,
        batch_size: int = 32,
        radius_scale: float = 1.0 / 3.0,
        random_models: int = 5,
        stop_accuracy: float | None = None,
        post_rounds: int = 1,
        check_size: int = 256,
    ):
        self.lr = lr
        self.epochs = epochs
        self.batch_size = batch_size
        self.radius_scale = radius_scale
        self.random_models = random_models
        self.stop_accuracy = stop_accuracy
        self.post_rounds = post_rounds
        self.check_size = check_size

    def _unlearn(self, model, request: UnlearningRequest):
        federation = federation_of(request, self.name)
        with Stopwatch() as watch:  # the server's part: reference model and radius
            records = federation.records()
            load_state_into(model, reference_state(state_copy(model), records, federation.forget_clients))
            center = parameters_to_vector(model.parameters()).detach().clone()
            with torch.no_grad():
                distances = [
                    torch.linalg.vector_norm(
                        parameters_to_vector(build_from_spec(federation.model, seed=request.seed + 17 + i).parameters())
                        - center
                    )
                    for i in range(self.random_models)
                ]
            radius = float(self.radius_scale * torch.stack(distances).mean().detach())
        floor = self.stop_accuracy if self.stop_accuracy is not None else 1.0 / (request.num_classes or 10)
        info = ascent_on_leaving_clients(model, federation, seed=request.seed, ascent={
            "lr": self.lr, "optimizer": "sgd", "batch_size": self.batch_size, "epochs": self.epochs,
            "radius": radius, "floor": floor, "check_size": self.check_size,
        })
        info.update({"reference_seconds": watch.seconds, "radius": radius})
        if self.post_rounds > 0:
            info.update(rounds_on_retained(model, federation, rounds=self.post_rounds, seed=request.seed + 4))
        return model, info
