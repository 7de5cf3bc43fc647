"""Acceptance on the built-in synthetic set (VBPR-style, 5% of the interactions), 3 seeds, medians.

* ``mmrecun`` brings the forget hit rate @20 to within 0.05 of gold's, keeps Recall@20 within
  10% of the original's, and beats ``reverse_bpr`` (no forward term) on Recall@20;
* the membership attack tells an overfit model's members (AUC > 0.8) and gives about 0.5
  for gold.

Each check is also run on a do-nothing control (the original model returned unchanged, or
an untrained network for the attack), which must fail it.
"""

from __future__ import annotations

import statistics

import pytest

import obliviate

HIT_TOLERANCE = 0.05
RECALL_TOLERANCE = 0.10


@pytest.fixture(scope="module")
def outcomes(acceptance_scenarios) -> list[dict]:
    rows = []
    for scenario in acceptance_scenarios:
        original, request = scenario.original(), scenario.request()
        gold = obliviate.get_method("recommendation", "retrain")().unlearn(original, request).model
        row = {"original": scenario.audit(original), "gold": scenario.audit(gold)}
        for name in ("mmrecun", "reverse_bpr"):
            row[name] = scenario.audit(obliviate.get_method("recommendation", name)().unlearn(original, request).model)
        row["identity"] = row["original"]  # the do-nothing control: the original, unchanged
        rows.append(row)
    return rows


def forget_hit_gap(rows: list[dict], method: str) -> float:
    return statistics.median(abs(r[method]["forget_hit@20"] - r["gold"]["forget_hit@20"]) for r in rows)


def recall_ratio(rows: list[dict], method: str) -> float:
    return statistics.median(r[method]["recall@20"] / r["original"]["recall@20"] for r in rows)


def test_mmrecun_drops_the_forget_hit_rate_to_gold_and_keeps_recall(outcomes):
    assert forget_hit_gap(outcomes, "mmrecun") <= HIT_TOLERANCE, [
        (r["mmrecun"]["forget_hit@20"], r["gold"]["forget_hit@20"]) for r in outcomes
    ]
    assert recall_ratio(outcomes, "mmrecun") >= 1 - RECALL_TOLERANCE


def test_the_identity_control_fails_the_forgetting_check(outcomes):
    assert forget_hit_gap(outcomes, "identity") > HIT_TOLERANCE


def test_mmrecun_beats_reverse_bpr_on_recall(outcomes):
    assert statistics.median(r["mmrecun"]["recall@20"] - r["reverse_bpr"]["recall@20"] for r in outcomes) > 0


def test_the_membership_attack_tells_an_overfit_models_members_and_not_golds(outcomes, acceptance_scenarios):
    assert statistics.median(r["original"]["mia"] for r in outcomes) > 0.8
    assert abs(statistics.median(r["gold"]["mia"] for r in outcomes) - 0.5) < 0.1
    untrained = [scenario.audit(scenario.new_model())["mia"] for scenario in acceptance_scenarios]
    assert abs(statistics.median(untrained) - 0.5) < 0.1  # the control: no member is told apart
