"""Backbones with zero, one or several modalities, the graph propagation, and model factories."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch

from obliviate.core.errors import InvalidRequestError
from obliviate.recommendation.models import (
    LightGCN,
    build_model,
    normalized_adjacency,
    resolve_factory,
    score_all_items,
)

NUM_USERS, NUM_ITEMS = 7, 9


def _features(count: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    return {f"m{index}": rng.standard_normal((NUM_ITEMS, 3 + index)) for index in range(count)}


def _graph() -> torch.Tensor:
    rng = np.random.default_rng(1)
    pairs = np.unique(np.stack([rng.integers(0, NUM_USERS, 30), rng.integers(0, NUM_ITEMS, 30)], 1), axis=0)
    return torch.as_tensor(pairs)


@pytest.mark.parametrize("name", ["mf", "vbpr", "lightgcn"])
@pytest.mark.parametrize("modalities", [0, 1, 2])
def test_every_backbone_scores_pairs_and_full_rankings_consistently(name, modalities):
    model = build_model(name, num_users=NUM_USERS, num_items=NUM_ITEMS, item_features=_features(modalities), dim=4, graph=_graph())
    users = torch.tensor([0, 3, 6])
    items = torch.tensor([[1, 2], [0, 8], [5, 5]])
    pair = model(users, items)
    assert pair.shape == (3, 2)
    full = model.score_all(users)
    assert full.shape == (3, NUM_ITEMS)
    torch.testing.assert_close(full.gather(1, items), pair)
    torch.testing.assert_close(model(users, items[:, 0]), pair[:, 0])
    # Modality matrices and the graph are data, not weights: they stay out of the state_dict.
    assert all("features" not in key and "adjacency" not in key for key in model.state_dict())
    if name == "vbpr" and modalities:
        assert model.user_embedding.shape[1] == 8  # [ID part, modality part]


def test_modalities_change_the_vbpr_scores():
    plain = build_model("vbpr", num_users=NUM_USERS, num_items=NUM_ITEMS, dim=4, seed=0)
    rich = build_model("vbpr", num_users=NUM_USERS, num_items=NUM_ITEMS, item_features=_features(2), dim=4, seed=0)
    assert plain.user_embedding.shape[1] == 4 and len(rich.modalities) == 2
    assert not torch.allclose(rich.score_all(torch.arange(3))[:, :4], rich.score_all(torch.arange(3))[:, 4:8])


def test_lightgcn_propagation_equals_a_dense_reference():
    graph = _graph()
    model = LightGCN(NUM_USERS, NUM_ITEMS, item_features=_features(1), dim=4, layers=2, graph=graph)
    size = NUM_USERS + NUM_ITEMS
    dense = torch.zeros(size, size)
    dense[graph[:, 0], graph[:, 1] + NUM_USERS] = 1
    dense[graph[:, 1] + NUM_USERS, graph[:, 0]] = 1
    degree = dense.sum(1)
    scale = torch.where(degree > 0, degree.clamp_min(1).rsqrt(), torch.zeros_like(degree))
    norm = scale[:, None] * dense * scale[None, :]
    torch.testing.assert_close(normalized_adjacency(graph, NUM_USERS, NUM_ITEMS).to_dense(), norm)
    start = torch.cat([model.user_embedding, model.item_embedding + model.modalities()]).detach()
    final = (start + norm @ start + norm @ norm @ start) / 3
    users, items = model.representations()
    torch.testing.assert_close(torch.cat([users, items]).detach(), final, atol=1e-6, rtol=1e-5)


def test_lightgcn_copies_trains_and_follows_set_graph():
    model = LightGCN(NUM_USERS, NUM_ITEMS, dim=4, graph=_graph())
    clone = copy.deepcopy(model)
    clone.set_graph(_graph()[:5])
    assert clone.graph_pairs.shape[0] == 5 and model.graph_pairs.shape[0] == len(_graph())
    loss = clone(torch.tensor([0, 1]), torch.tensor([2, 3])).sum()
    loss.backward()
    assert clone.user_embedding.grad is not None


def test_full_rankings_fall_back_to_forward_for_models_without_score_all():
    class OnlyForward(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.table = torch.nn.Parameter(torch.randn(NUM_USERS, NUM_ITEMS))

        def forward(self, users, items):
            return self.table[users.unsqueeze(-1).expand_as(items), items]

    model = OnlyForward()
    torch.testing.assert_close(score_all_items(model, torch.tensor([2, 4]), NUM_ITEMS), model.table[[2, 4]])


def test_factories_resolve_from_a_string_or_refuse_clearly():
    factory = resolve_factory("obliviate.recommendation.models:build_model")
    assert factory is build_model
    with pytest.raises(InvalidRequestError, match="package.module:callable"):
        resolve_factory("no_colon_here")
    with pytest.raises(InvalidRequestError, match="has no attribute"):
        resolve_factory("obliviate.recommendation.models:nothing")
    with pytest.raises(InvalidRequestError, match="unknown recommender"):
        build_model("ncf", num_users=2, num_items=2)
