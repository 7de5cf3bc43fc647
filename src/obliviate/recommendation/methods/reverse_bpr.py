"""``reverse_bpr``: the reverse BPR objective of MMRecUN on the forgotten interactions alone.

Sinha, Mandal & Kankanhalli (2024), "Multi-Modal Recommendation Unlearning": minimise

    L_rev = -mean over forget triples (u, i, j) of log sigmoid(s(u,j) - s(u,i)),

which pushes each forgotten item ``i`` below an item ``j`` the user never interacted with
(``j`` drawn uniformly outside the user's known positives). It is MMRecUN without its
forward term (the ablation): bounded below by 0, unlike gradient ascent, but with nothing
holding the retained interactions in place. It shares MMRecUN's batching, parameter
selection and stopping rule (see :mod:`obliviate.recommendation.methods._reverse`), so a
comparison of the two isolates the forward term.
"""

from __future__ import annotations

from typing import ClassVar

from obliviate.core.contracts import Unlearner, UnlearningRequest
from obliviate.core.params import NONE, Interval, Options
from obliviate.core.registry import register
from obliviate.recommendation.methods._common import RECOMMENDATION_KINDS
from obliviate.recommendation.methods._reverse import STOP_RULES, UPDATES, reverse_unlearning


@register("recommendation", "reverse_bpr")
class ReverseBPR(Unlearner):
    """Reverse BPR on the forgotten pairs only.

    Args:
        epochs: at most this many passes over the forgotten pairs (default 150).
        lr: Adam learning rate (default: 0.3 times the scenario's).
        batch_size: forget triples per step (default as for ``mmrecun``).
        stop: ``"heldout"`` (stopping rule, needs validation pairs) or ``"none"``.
        update: ``"embeddings"`` (shared modality projections fixed) or ``"all"``.
    """

    needs_retain = False
    forget_kinds = RECOMMENDATION_KINDS
    paper_params: ClassVar[dict] = {}
    _parameter_constraints = {
        "epochs": [Interval(int, 1, None)],
        "lr": [NONE, Interval(float, 0, None, closed="neither")],
        "batch_size": [NONE, Interval(int, 1, None)],
        "stop": [Options(STOP_RULES)],
        "update": [Options(UPDATES)],
    }

    def __init__(
        self,
        *,
        epochs: int = 150,
        lr: float | None = None,
        batch_size: int | None = None,
        stop: str = "heldout",
        update: str = "embeddings",
    ):
        self.epochs = epochs
        self.lr = lr
        self.batch_size = batch_size
        self.stop = stop
        self.update = update

    def _unlearn(self, model, request: UnlearningRequest):
        info = reverse_unlearning(
            model,
            request,
            owner="recommendation/reverse_bpr",
            epochs=self.epochs,
            lr=self.lr,
            forget_weight=1.0,
            retain_weight=0.0,
            batch_size=self.batch_size,
            retain_ratio=1.0,
            reg=0.0,
            stop=self.stop,
            update=self.update,
        )
        return model, info
