"""Graph bookkeeping (pairs, negative sampling, hops) and the GraphNet encoders."""

from __future__ import annotations

import pytest
import torch
from graph_fixtures import needs_torch_geometric

from obliviate.core.errors import InvalidRequestError
from obliviate.core.timing import count_flops
from obliviate.graph.structure import (
    NegativeSampler,
    canonical_pairs,
    hop_masks,
    incident_pairs,
    pair_keys,
    remove_pairs,
    to_message_passing,
)


def test_canonical_pairs_drop_self_loops_and_duplicates_and_sort():
    edges = torch.tensor([[3, 1, 2, 2, 1, 0], [1, 3, 2, 0, 0, 1]])
    assert canonical_pairs(edges).tolist() == [[0, 0, 1], [1, 2, 3]]


def test_remove_and_incident_pairs_treat_pairs_as_undirected():
    pairs = torch.tensor([[0, 0, 1, 2], [1, 2, 2, 3]])
    assert remove_pairs(pairs, torch.tensor([[2], [0]]), 4).tolist() == [[0, 1, 2], [1, 2, 3]]
    assert incident_pairs(pairs, torch.tensor([3]), 4).tolist() == [[2], [3]]
    assert to_message_passing(torch.tensor([[0], [1]])).tolist() == [[0, 1], [1, 0]]


def test_negative_sampler_never_draws_an_edge_or_a_self_loop_and_is_seeded():
    n = 40
    edges = canonical_pairs(torch.randint(0, n, (2, 200), generator=torch.Generator().manual_seed(0)))
    draws = NegativeSampler(n, edges, seed=5).sample(300, unique=True)
    again = NegativeSampler(n, edges, seed=5).sample(300, unique=True)
    assert torch.equal(draws, again)
    assert (draws[0] < draws[1]).all()
    assert not torch.isin(pair_keys(draws, n), pair_keys(edges, n)).any()
    assert torch.unique(pair_keys(draws, n)).numel() == 300
    with pytest.raises(InvalidRequestError, match="distinct non-edges"):
        NegativeSampler(n, edges, seed=5).sample(n * n, unique=True)


def test_hop_masks_grow_one_hop_per_layer_along_a_path():
    path = to_message_passing(torch.tensor([[0, 1, 2, 3], [1, 2, 3, 4]]))
    one, two = hop_masks(path, torch.tensor([0]), 2, 5)
    assert one.tolist() == [True, True, False, False, False]
    assert two.tolist() == [True, True, True, False, False]


def _graph(n: int = 12, features: int = 6):
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(n, features, generator=generator)
    pairs = canonical_pairs(torch.randint(0, n, (2, 30), generator=generator))
    return x, to_message_passing(pairs)


@pytest.mark.parametrize("encoder", ["gcn", "gat", "gin"])
def test_every_encoder_gives_one_output_row_per_node_and_pair_logits(encoder):
    needs_torch_geometric()
    from obliviate.graph.models import build_model

    x, edge_index = _graph()
    model = build_model(encoder, in_features=6, out_features=4, num_nodes=12, hidden=8, seed=0)
    outputs = model(x, edge_index, return_all=True)
    assert [tuple(h.shape) for h in outputs] == [(12, 8), (12, 4)]
    assert torch.equal(outputs[-1], model(x, edge_index))
    assert model.decode(outputs[-1], torch.tensor([[0, 1], [2, 3]])).shape == (2,)
    rebuilt = build_model(encoder, in_features=6, out_features=4, num_nodes=12, hidden=8, seed=0)
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), rebuilt.state_dict().values()))


def test_deletion_operators_change_only_the_flagged_nodes():
    needs_torch_geometric()
    from obliviate.graph.models import build_model

    x, edge_index = _graph()
    model = build_model("gcn", in_features=6, out_features=4, num_nodes=12, hidden=8, seed=0).eval()
    before = model(x, edge_index, return_all=True)
    with torch.no_grad():
        model.deletion_mask[1, 3] = True  # the identity operator: nothing changes
        assert torch.equal(model(x, edge_index), before[-1])
        model.deletion[1].weight.mul_(2.0)
    after = model(x, edge_index)
    assert torch.allclose(after[3], 2 * before[-1][3])
    others = torch.arange(12) != 3
    assert torch.equal(after[others], before[-1][others])


def test_forward_flops_are_the_layer_products_plus_the_masked_operator_products():
    needs_torch_geometric()
    from obliviate.graph.models import build_model

    n, f, hidden, out = 12, 6, 8, 4
    x, edge_index = _graph(n, f)
    model = build_model("gcn", in_features=f, out_features=out, num_nodes=n, hidden=hidden, seed=0).eval()
    with torch.no_grad():
        plain = count_flops(lambda: model(x, edge_index))[1]
        model.deletion_mask[0, :5] = True
        model.deletion_mask[1, :7] = True
        masked = count_flops(lambda: model(x, edge_index))[1]
    # A (m x k) @ (k x p) product counts 2 m k p FLOPs; message passing is sparse and uncounted.
    assert plain == 2 * n * (f * hidden + hidden * out)
    assert masked - plain == 2 * (5 * hidden * hidden + 7 * out * out)
