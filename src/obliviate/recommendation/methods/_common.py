"""Helpers shared by the recommendation methods: request checks, the recipe, the serving graph."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from obliviate.core.contracts import UnlearningRequest
from obliviate.core.errors import InvalidRequestError
from obliviate.recommendation.data import FORGET_KINDS, InteractionSet
from obliviate.recommendation.models import check_recommender, model_num_items, set_graph

RECOMMENDATION_KINDS = FORGET_KINDS

DEFAULT_RECIPE = {"dim": 32, "layers": 2, "epochs": 40, "lr": 0.01, "batch_size": 256, "reg": 1e-4}


def training_recipe(request: UnlearningRequest) -> dict[str, Any]:
    """The scenario's training recipe from ``request.extras["training"]`` (defaults filled in)."""
    return {**DEFAULT_RECIPE, **(request.extras.get("training") or {})}


def _check_part(part: Any, name: str, owner: str) -> None:
    if part is not None and not isinstance(part, InteractionSet):
        raise InvalidRequestError(
            f"{owner}: request.{name} must be an InteractionSet of (user, item) pairs; got {type(part).__name__} "
            "(build requests with RecommendationScenario.request())"
        )


def prepare(model: nn.Module, request: UnlearningRequest, owner: str) -> int:
    """Check the model and the request parts, point graph models at the serving graph
    (the retained pairs), and return the number of items."""
    check_recommender(model, owner)
    for name in ("forget", "retain", "validation"):
        _check_part(getattr(request, name), name, owner)
    num_items = request.extras.get("num_items") or request.forget.num_items
    if model_num_items(model, num_items) != int(num_items):
        raise InvalidRequestError(
            f"{owner}: the model ranks {model_num_items(model, num_items)} items but the request has {num_items}"
        )
    set_graph(model, serving_graph(request))
    return int(num_items)


def serving_graph(request: UnlearningRequest) -> torch.Tensor:
    """The pairs a graph model serves from after the deletion (the retained pairs)."""
    graph = request.extras.get("graph")
    if graph is not None:
        return torch.as_tensor(graph, dtype=torch.long)
    if request.retain is not None:
        return request.retain.pairs
    return torch.empty(0, 2, dtype=torch.long)


def known_pairs(request: UnlearningRequest) -> torch.Tensor:
    """Every training pair the request names (retained and forgotten)."""
    parts = [request.forget.pairs]
    if request.retain is not None:
        parts.append(request.retain.pairs)
    return torch.cat(parts)
