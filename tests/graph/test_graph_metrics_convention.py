"""GNNDelete's conventions for the graph audit: ``df_auc``/``df_aup`` and the MI ratio.

Hand-computed cases for :func:`df_scores` (deleted edges labelled 0 against retained edges
labelled 1, averaged over 500 seeded draws), :func:`gnndelete_mi_ratio` (per-edge mean of
``P_after / P_before``) and the attack, and the scenario's "before" cache keyed by content.
"""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
from graph_fixtures import needs_torch_geometric, tiny_scenario

from obliviate.core.checkpoint import state_sha256
from obliviate.core.errors import InvalidRequestError
from obliviate.graph.metrics import (
    EdgeMembershipAttack,
    deleted_edge_auc,
    df_scores,
    gnndelete_mi_ratio,
    membership_ratio,
)

# -- df_auc / df_aup ---------------------------------------------------------------------------


def test_df_scores_of_a_hand_computed_case_and_its_complement_to_ours():
    # Df (label 0): 0.1, 0.4; retained (label 1): 0.3, 0.5. Every draw takes both retained edges.
    # AUC: pairs (r > d): 0.3>0.1, 0.5>0.1, 0.5>0.4 -> 3/4. Ranked 0.5(+) 0.4(-) 0.3(+) 0.1(-):
    # precision at the positives 1/1 and 2/3 -> AP = (1 + 2/3) / 2 = 5/6.
    deleted, retained = np.array([0.1, 0.4]), np.array([0.3, 0.5])
    auc, aup = df_scores(deleted, retained)
    assert auc == pytest.approx(0.75)
    assert aup == pytest.approx(5 / 6)
    assert deleted_edge_auc(deleted, retained) == pytest.approx(1 - auc)


def test_df_scores_count_ties_half_in_the_auc_and_together_in_the_precision():
    # Df: 0.2, 0.5; retained: 0.5, 0.7. AUC: 1 + 0.5 (tie) + 1 + 1 -> 3.5/4 = 0.875.
    # AP: at 0.7 TP=1 FP=0 -> 1; at 0.5 (a positive tied with a negative) TP=2 FP=1 -> 2/3.
    auc, aup = df_scores(torch.tensor([0.2, 0.5]), torch.tensor([0.5, 0.7]))
    assert auc == pytest.approx(0.875)
    assert aup == pytest.approx(5 / 6)


def test_the_500_draw_average_where_every_draw_gives_the_same_answer():
    # Five retained edges, all scored 0.6, two deleted edges: any draw of two retained edges
    # gives AUC (1 + 0) / 2 = 0.5 (0.6 > 0.1, 0.6 < 0.9) and AP 2/3 (both positives at 0.6 with
    # TP=2, FP=1), so the mean over 500 draws is exactly that.
    auc, aup = df_scores([0.1, 0.9], [0.6] * 5, draws=500, seed=3)
    assert auc == pytest.approx(0.5, abs=1e-12)
    assert aup == pytest.approx(2 / 3, abs=1e-12)
    # Every retained edge above every deleted one: 1 and 1 whatever the draw.
    assert df_scores([0.1, 0.2], [0.5, 0.6, 0.7, 0.8, 0.9]) == pytest.approx((1.0, 1.0))


def test_df_scores_equal_the_reference_loop_over_500_seeded_draws_with_sklearn():
    from sklearn.metrics import average_precision_score, roc_auc_score

    rng = np.random.default_rng(0)
    deleted = rng.integers(0, 8, 30).astype(float)  # integer scores: many ties
    retained = rng.integers(2, 10, 200).astype(float)
    draws = np.random.default_rng(5)
    aucs, aps = [], []
    for _ in range(500):
        chosen = retained[draws.choice(retained.size, deleted.size, replace=False)]
        labels = np.r_[np.zeros(deleted.size), np.ones(deleted.size)]
        scores = np.r_[deleted, chosen]
        aucs.append(roc_auc_score(labels, scores))
        aps.append(average_precision_score(labels, scores))
    auc, aup = df_scores(deleted, retained, seed=5)
    assert auc == pytest.approx(np.mean(aucs), abs=1e-12)
    assert aup == pytest.approx(np.mean(aps), abs=1e-12)
    assert np.std(aucs) > 0.01  # the draws differ: the average is over distinct answers


def test_df_scores_refuse_an_empty_side():
    with pytest.raises(InvalidRequestError):
        df_scores([], [0.1, 0.2])
    with pytest.raises(InvalidRequestError):
        df_scores([0.1], [0.2], draws=0)


# -- MI ratio ---------------------------------------------------------------------------------


def test_gnndelete_mi_ratio_is_the_per_edge_mean_of_after_over_before():
    before, after = np.array([0.5, 0.2, 0.8]), np.array([0.25, 0.4, 0.8])
    # per edge 0.5, 2, 1 -> mean 7/6; ours divides the means the other way: 0.5 / (1.45 / 3).
    assert gnndelete_mi_ratio(before, after) == pytest.approx(7 / 6)
    assert membership_ratio(before.mean(), after.mean()) == pytest.approx(0.5 / (1.45 / 3))
    assert gnndelete_mi_ratio(before, before) == pytest.approx(1.0)
    with pytest.raises(InvalidRequestError):
        gnndelete_mi_ratio(before, after[:2])


def test_the_attack_learns_present_pairs_and_the_ratio_falls_when_they_look_absent():
    # Nodes 0-9 embed near +1, nodes 10-19 near -1: pairs among the first are "present".
    gen = torch.Generator().manual_seed(0)
    z = torch.cat([torch.ones(10, 8), -torch.ones(10, 8)]) + 0.1 * torch.randn(20, 8, generator=gen)
    first, second = torch.combinations(torch.arange(10)).t(), torch.combinations(torch.arange(10, 20)).t()
    features = EdgeMembershipAttack.features(z, torch.cat([first, second], dim=1))
    labels = torch.cat([torch.ones(first.size(1)), torch.zeros(second.size(1))]).long()
    torch.manual_seed(0)
    attack = EdgeMembershipAttack(8).fit(features, labels, epochs=200, lr=0.01, seed=0)
    before = attack.present_probability(EdgeMembershipAttack.features(z, first))
    assert before.min() > 0.9
    # "After": the same deleted pairs, now embedded like the absent group.
    moved = z.clone()
    moved[:10] = z[10:]
    after = attack.present_probability(EdgeMembershipAttack.features(moved, first))
    assert after.max() < 0.1
    assert gnndelete_mi_ratio(before, after) < 0.12
    assert gnndelete_mi_ratio(before, before) == pytest.approx(1.0)


# -- the scenario -----------------------------------------------------------------------------


def test_the_before_cache_is_keyed_by_the_originals_content_not_its_identity():
    needs_torch_geometric()
    scenario = tiny_scenario("edges:0.1")
    original = scenario.original()
    first = scenario.audit(original, original=original)
    assert list(scenario._presence_before) == [state_sha256(original)]
    assert first["mi_ratio"] == pytest.approx(1.0) and first["mi_ratio_ours"] == pytest.approx(1.0)
    # A copy (another object, the same weights) reuses the entry.
    twin = copy.deepcopy(original)
    assert scenario.audit(original, original=twin)["mi_ratio"] == pytest.approx(1.0)
    assert len(scenario._presence_before) == 1
    # The same object changed in place is another reference: a new entry, not the stale one.
    changed = copy.deepcopy(original)
    key_before = state_sha256(changed)
    scenario.audit(changed, original=changed)
    with torch.no_grad():
        for p in changed.parameters():
            p.mul_(-1.0)
    again = scenario.audit(changed, original=changed)
    assert state_sha256(changed) != key_before
    assert state_sha256(changed) in scenario._presence_before
    assert len(scenario._presence_before) == 2
    assert again["mi_ratio"] == pytest.approx(1.0) and again["mi_ratio_ours"] == pytest.approx(1.0)


def test_gold_scores_a_higher_df_auc_than_the_original_and_the_identity_does_not(edge_scenarios, median):
    # Measured at seeds 0-2: df_auc original 0.72/0.72/0.74, gold 0.83/0.88/0.86; deleted_auc
    # (one draw, the complement convention) original 0.29/0.26/0.24.
    rows = []
    for scenario in edge_scenarios:
        original = scenario.original()
        rows.append(
            (
                scenario.audit(original, original=original),
                scenario.audit(scenario.gold(), original=original),
                scenario.audit(copy.deepcopy(original), original=original),  # the identity unlearner
            )
        )
    assert median(a["df_auc"] - b["df_auc"] for b, a, _ in rows) > 0.05
    assert median(a["df_aup"] - b["df_aup"] for b, a, _ in rows) > 0.05
    assert not median(i["df_auc"] - b["df_auc"] for b, _, i in rows) > 0.05
    for audits in rows:
        for audit in audits:
            assert audit["df_auc"] == pytest.approx(1 - audit["deleted_auc"], abs=0.1)
            assert np.isfinite(audit["mi_ratio"]) and audit["mi_ratio"] > 0
