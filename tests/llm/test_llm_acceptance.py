"""Acceptance checks of the llm task over seeds 0-2 (median), each failing for the do-nothing control.

Generated corpus (20 entities x 3 attributes, 3 trained phrasings and 2 held-out ones per
fact), a 2-layer GPT-2 trained from scratch, forget one fact: ``unstar`` must take exact
match to 0 on the trained and on the held-out phrasings while exact match on hard retain
(the entity's other facts, other entities sharing the forgotten value) stays within 0.1 of
the original's. ``grad_diff`` is measured on the same split.
"""

from __future__ import annotations

import math

import pytest

from obliviate.bench.runner import build_unlearner

HARD_RETAIN_TOLERANCE = 0.1
KEYS = ("forget_em", "paraphrase_em", "hard_retain_em", "retain_em")


def run(method, scenarios):
    rows = []
    for scenario in scenarios:
        result = method.unlearn(scenario.original(), scenario.request())
        audit = scenario.exact_matches(result.model)
        original = scenario.exact_matches(scenario.original())
        rows.append({**{k: audit[k] for k in KEYS}, "hard_retain_drop": original["hard_retain_em"] - audit["hard_retain_em"],
                     "original_forget_em": original["forget_em"]})
    return rows


def targeted_forgetting(rows, median) -> bool:
    return (
        median(r["forget_em"] for r in rows) == 0.0
        and median(r["paraphrase_em"] for r in rows) == 0.0
        and median(r["hard_retain_drop"] for r in rows) <= HARD_RETAIN_TOLERANCE
    )


@pytest.fixture(scope="module")
def unstar_rows(fact_scenarios):
    return run(build_unlearner("llm", "unstar"), fact_scenarios)


def test_original_knows_the_fact_it_must_forget(fact_scenarios, median):
    audits = [s.exact_matches(s.original()) for s in fact_scenarios]
    assert median(a["forget_em"] for a in audits) == 1.0
    assert median(a["hard_retain_em"] for a in audits) >= 0.9


def test_unstar_forgets_one_fact_on_trained_and_heldout_phrasings_and_keeps_hard_retain(unstar_rows, median):
    assert targeted_forgetting(unstar_rows, median), unstar_rows


def test_identity_fails_the_targeted_forgetting_check(fact_scenarios, identity, median):
    rows = run(identity, fact_scenarios)
    assert median(r["forget_em"] for r in rows) == 1.0
    assert not targeted_forgetting(rows, median)


def test_grad_diff_is_measured_on_the_same_split(fact_scenarios, unstar_rows, median):
    rows = run(build_unlearner("llm", "grad_diff"), fact_scenarios)
    for row in rows:
        assert all(math.isfinite(row[k]) for k in KEYS)
    # Same split as unstar: the same forget facts, hence the same original figures.
    assert [r["original_forget_em"] for r in rows] == [r["original_forget_em"] for r in unstar_rows]
    print("grad_diff median:", {k: median(r[k] for r in rows) for k in (*KEYS, "hard_retain_drop")})
