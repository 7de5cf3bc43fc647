"""``neggrad``: gradient ascent on the forward BPR loss of the forgotten interactions.

The general negative-gradient baseline (as in Golatkar et al., CVPR 2020; used for
recommenders by the MMRecUN line of work): maximise ``-mean log sigmoid(s(u,i) - s(u,j))``
on forget triples, i.e. minimise its negation. Unlike reverse BPR the objective is
unbounded (it grows without limit as forgotten items sink), so it is run for few steps;
it never looks at the retained data, except that graph models propagate over it.
"""

from __future__ import annotations

from typing import ClassVar

from torch import nn

from obliviate.core.contracts import Unlearner, UnlearningRequest
from obliviate.core.params import NONE, Interval
from obliviate.core.registry import register
from obliviate.core.training import fit
from obliviate.recommendation.methods._common import (
    RECOMMENDATION_KINDS,
    known_pairs,
    prepare,
    training_recipe,
)
from obliviate.recommendation.methods._reverse import default_forget_batch
from obliviate.recommendation.training import PositiveSet, TripleBatches, bpr_loss, triple_scores


@register("recommendation", "neggrad")
class NegGrad(Unlearner):
    """Gradient ascent on the BPR loss of the forgotten pairs.

    Args:
        epochs: passes over the forgotten pairs (default 5).
        lr: Adam learning rate (default: the scenario's).
        batch_size: forget triples per step (default as for ``mmrecun``: half the forget
            set, at most the scenario's batch size).
    """

    needs_retain = False
    forget_kinds = RECOMMENDATION_KINDS
    paper_params: ClassVar[dict] = {}
    _parameter_constraints = {
        "epochs": [Interval(int, 1, None)],
        "lr": [NONE, Interval(float, 0, None, closed="neither")],
        "batch_size": [NONE, Interval(int, 1, None)],
    }

    def __init__(self, *, epochs: int = 5, lr: float | None = None, batch_size: int | None = None):
        self.epochs = epochs
        self.lr = lr
        self.batch_size = batch_size

    def _unlearn(self, model, request: UnlearningRequest):
        num_items = prepare(model, request, "recommendation/neggrad")
        recipe = training_recipe(request)
        batches = TripleBatches(
            request.forget.pairs,
            PositiveSet(known_pairs(request), num_items),
            batch_size=self.batch_size or default_forget_batch(len(request.forget), int(recipe["batch_size"])),
            seed=request.seed,
        )

        def ascent(net: nn.Module, batch: tuple):
            users, pos, neg = batch
            return -bpr_loss(*triple_scores(net, users, pos, neg))

        history = fit(model, batches, loss_fn=ascent, epochs=self.epochs, lr=self.lr or recipe["lr"], optimizer="adam", seed=request.seed)
        return model, {"steps": history["steps"]}
