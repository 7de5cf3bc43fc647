"""The search space: mixed operation, genotype derivation, derived networks, DARTS hypergradients."""

from __future__ import annotations

import pytest
import torch

from obliviate.core.errors import InvalidParameterError
from obliviate.nas.model import (
    DerivedNetwork,
    Genotype,
    SearchNetwork,
    SmallCNN,
    derive_cell,
    edge_count,
    random_genotype,
)
from obliviate.nas.ops import DARTS_PRIMITIVES, PRIMITIVES, MixedOp
from obliviate.nas.search import second_order_arch_grad


@pytest.mark.parametrize("stride", [1, 2])
def test_mixed_op_equals_the_weighted_sum_of_its_operations(stride):
    torch.manual_seed(0)
    mixed = MixedOp(4, stride, DARTS_PRIMITIVES).eval()
    x = torch.randn(3, 4, 8, 8)
    weights = torch.softmax(torch.randn(len(DARTS_PRIMITIVES)), 0)
    expected = sum(w * op(x) for w, op in zip(weights, mixed.ops))
    assert torch.allclose(mixed(x, weights), expected, atol=1e-6)
    # a one-hot weight selects exactly one operation
    for k, op in enumerate(mixed.ops):
        one_hot = torch.zeros(len(DARTS_PRIMITIVES))
        one_hot[k] = 1.0
        assert torch.allclose(mixed(x, one_hot), op(x), atol=1e-6)
    assert mixed(x, weights).shape == (3, 4, 8 // stride, 8 // stride)


def test_mixed_op_rejects_a_wrong_number_of_weights():
    with pytest.raises(InvalidParameterError, match="one weight per operation"):
        MixedOp(4, 1)(torch.zeros(1, 4, 4, 4), torch.ones(3))


def test_genotype_keeps_the_two_strongest_inputs_per_node():
    names = list(PRIMITIVES)
    steps = 3
    alpha = torch.zeros(edge_count(steps), len(names))

    def set_edge(row, op, value):
        alpha[row, names.index(op)] = value

    # node 0: edges 0,1 -> both kept
    set_edge(0, "sep_conv_3x3", 3.0)
    set_edge(1, "max_pool_3x3", 2.0)
    # node 1: edges 2,3,4 (inputs 0,1,2); 'none' is strongest on input 0 but never counts
    set_edge(2, "none", 9.0)
    set_edge(2, "skip_connect", 0.5)
    set_edge(3, "dil_conv_3x3", 4.0)
    set_edge(4, "avg_pool_3x3", 2.5)
    # node 2: edges 5..8 (inputs 0..3); inputs 1 and 3 strongest
    set_edge(5, "sep_conv_3x3", 1.0)
    set_edge(6, "skip_connect", 5.0)
    set_edge(7, "max_pool_3x3", 0.2)
    set_edge(8, "dil_conv_3x3", 6.0)
    cell = derive_cell(alpha, steps, names)
    assert cell[0] == (("sep_conv_3x3", 0), ("max_pool_3x3", 1))
    assert cell[1] == (("dil_conv_3x3", 1), ("avg_pool_3x3", 2))
    assert cell[2] == (("skip_connect", 1), ("dil_conv_3x3", 3))
    for node in cell:
        assert len(node) == 2 and all(op != "none" for op, _ in node)


def test_genotype_of_random_alphas_matches_a_brute_force_ranking():
    torch.manual_seed(3)
    steps, names = 4, list(DARTS_PRIMITIVES)
    alpha = torch.randn(edge_count(steps), len(names))
    weights = torch.softmax(alpha, -1)
    cell = derive_cell(alpha, steps, names)
    start = 0
    for i, node in enumerate(cell):
        rows = weights[start : start + 2 + i, 1:]  # column 0 is 'none'
        best_two = set(torch.topk(rows.max(1).values, 2).indices.tolist())
        assert {src for _, src in node} == best_two
        for op, src in node:
            assert names.index(op) == 1 + int(rows[src].argmax())
        start += 2 + i


def test_derive_cell_rejects_a_wrong_alpha_shape():
    with pytest.raises(InvalidParameterError, match="alpha must have shape"):
        derive_cell(torch.zeros(4, len(PRIMITIVES)), 2)


def test_random_genotypes_are_valid_reproducible_and_round_trip_through_json():
    first = random_genotype(5, steps=3)
    assert first == random_genotype(5, steps=3) and first != random_genotype(6, steps=3)
    first.validate()
    assert Genotype.from_dict(first.to_dict()) == first


def test_bad_genotypes_get_typed_errors():
    good = random_genotype(0).to_dict()
    bad_op = {"normal": [[["conv_7x7", 0], ["skip_connect", 1]], good["normal"][1]], "reduce": good["reduce"]}
    with pytest.raises(InvalidParameterError, match="conv_7x7"):
        Genotype.from_dict(bad_op)
    bad_input = {
        "normal": [[["skip_connect", 0], ["skip_connect", 5]], good["normal"][1]],
        "reduce": good["reduce"],
    }
    with pytest.raises(InvalidParameterError, match="input 5"):
        Genotype.from_dict(bad_input)
    with pytest.raises(InvalidParameterError, match="could not read"):
        Genotype.from_dict({"normal": 3})


def test_search_and_derived_networks_map_images_to_logits():
    x = torch.randn(2, 1, 8, 8)
    search = SearchNetwork(1, 5, channels=4, layers=3, steps=2)
    assert search(x).shape == (2, 5)
    assert {id(p) for p in search.arch_parameters()}.isdisjoint({id(p) for p in search.weight_parameters()})
    derived = DerivedNetwork(search.genotype(), 1, 5, channels=4, layers=3)
    assert derived(x).shape == (2, 5)
    assert SmallCNN(1, 5)(x).shape == (2, 5)
    with pytest.raises(InvalidParameterError, match="even"):
        SearchNetwork(1, 5, channels=3)


def _smooth(model):
    """Replace every ReLU by a Softplus so finite differences are exact to O(eps^2)."""
    for module in list(model.modules()):
        for name, child in module.named_children():
            if isinstance(child, torch.nn.ReLU):
                setattr(module, name, torch.nn.Softplus(beta=4.0))
    return model


@pytest.mark.parametrize("smooth", [True, False])
def test_second_order_hypergradient_matches_the_exact_unrolled_gradient(smooth):
    """DARTS eq. 7-8: the finite-difference form against autograd through the unrolled step."""
    torch.manual_seed(0)
    model = SearchNetwork(
        1,
        3,
        channels=2,
        layers=1,
        steps=1,
        primitives=("none", "skip_connect", "sep_conv_3x3", "avg_pool_3x3"),
        seed=1,
    ).double()
    if smooth:
        _smooth(model)
    model.train()
    xt, xv = torch.randn(6, 1, 6, 6, dtype=torch.float64), torch.randn(6, 1, 6, 6, dtype=torch.float64)
    yt, yv = torch.tensor([0, 1, 2, 0, 1, 2]), torch.tensor([2, 1, 0, 2, 1, 0])
    xi = 0.1
    approx = second_order_arch_grad(model, xt, yt, xv, yv, xi)
    names = [n for n, _ in model.named_parameters()]
    params = dict(model.named_parameters())
    arch_names = {"alphas_normal", "alphas_reduce"}
    weight_names = [n for n in names if n not in arch_names]
    loss = lambda p, x, y: torch.nn.functional.cross_entropy(torch.func.functional_call(model, p, (x,)), y)  # noqa: E731
    grads = torch.autograd.grad(
        loss(params, xt, yt), [params[n] for n in weight_names], create_graph=True, allow_unused=True
    )
    unrolled = dict(params)
    for n, g in zip(weight_names, grads):
        if g is not None:
            unrolled[n] = params[n] - xi * g
    exact = torch.autograd.grad(
        loss(unrolled, xv, yv), [params["alphas_normal"], params["alphas_reduce"]], allow_unused=True
    )
    detached = {
        n: (v.detach().requires_grad_(n in arch_names) if n not in arch_names else v)
        for n, v in unrolled.items()
    }
    no_correction = torch.autograd.grad(
        loss(detached, xv, yv), [params["alphas_normal"], params["alphas_reduce"]], allow_unused=True
    )
    approx_flat = torch.cat([a.flatten() for a in approx])
    exact_flat = torch.cat(
        [(torch.zeros_like(a) if e is None else e).flatten() for a, e in zip(approx, exact)]
    )
    plain_flat = torch.cat(
        [(torch.zeros_like(a) if e is None else e).flatten() for a, e in zip(approx, no_correction)]
    )
    correction = (exact_flat - plain_flat).norm()
    assert correction > 1e-3  # the second-order term matters here
    if smooth:
        assert (approx_flat - exact_flat).abs().max() < 1e-2 * correction, float(
            (approx_flat - exact_flat).abs().max() / correction
        )
    # with ReLUs the finite difference crosses kinks, so it is not exact; it recovers most of the term
    assert (approx_flat - exact_flat).norm() < 0.15 * correction
    assert torch.nn.functional.cosine_similarity(approx_flat, exact_flat, dim=0) > 0.99
