"""Acceptance of ``cl_unlearn`` on ``learn:0-1,learn:2-3,learn:4-5,unlearn:2-3,learn:6-7``
(digits, median over seeds 0-2); the identity control must fail."""

from __future__ import annotations

import numpy as np

from controls import ACCEPTANCE_SEEDS, Identity, median_over

STEP = 3  # index of unlearn:2-3 in the stream
FORGOTTEN_TASK = 1
RETAINED_TASKS = (0, 2)


def _after_step(runs, name, seed, unlearner=None):
    """(forgotten accuracy, retained accuracy) right after the unlearning step and before it."""
    sc = runs.scenarios[seed]
    result = runs.result(name, seed, unlearner)
    matrix = result.info.get("accuracy_matrix")
    if matrix is None:  # a method that did not run the stream: its model is the pre-step one
        row = sc.request().extras["rows"][STEP - 1]
        matrix = [row] * (STEP + 1)
    before = sc.request().extras["rows"][STEP - 1]
    after = matrix[STEP]
    return after[FORGOTTEN_TASK], float(np.mean([after[t] for t in RETAINED_TASKS])), float(
        np.mean([before[t] for t in RETAINED_TASKS])
    )


def _gold_after_step(runs, seed):
    return runs.result("retrain", seed).info["accuracy_matrix"][STEP][FORGOTTEN_TASK]


def _passes(runs, name, unlearner=None) -> dict[str, bool]:
    forgot_gap, kept_gap, final_gap, clean = [], [], [], []
    for seed in ACCEPTANCE_SEEDS:
        forgotten, retained, before = _after_step(runs, name, seed, unlearner)
        forgot_gap.append(abs(forgotten - _gold_after_step(runs, seed)))
        kept_gap.append(abs(retained - before))
        sc = runs.scenarios[seed]
        final = sc.audit(runs.result(name, seed, unlearner).model)["forgotten_accuracy"]
        final_gap.append(abs(final - sc.audit(runs.result("retrain", seed).model)["forgotten_accuracy"]))
        result = runs.result(name, seed, unlearner)
        ids = result.info.get("buffer_ids", [int(i) for i in sc.request().extras["state"].buffer.ids])
        clean.append(not (set(ids) & {int(i) for i in sc.forgotten}))
    return {
        "forgets_like_gold": median_over(forgot_gap) <= 0.05 and median_over(final_gap) <= 0.05,
        "keeps_retained": median_over(kept_gap) <= 0.05,
        "buffer_clean": all(clean),
    }


def test_cl_unlearn_forgets_classes_2_3_like_gold_keeps_the_rest_and_purges_its_buffer(continual_runs):
    checks = _passes(continual_runs, "cl_unlearn")
    assert checks == {"forgets_like_gold": True, "keeps_retained": True, "buffer_clean": True}


def test_the_identity_control_fails_the_forgetting_and_buffer_checks(continual_runs):
    checks = _passes(continual_runs, "identity", Identity())
    # Doing nothing keeps retained accuracy by definition; it must fail the other two.
    assert not checks["forgets_like_gold"]
    assert not checks["buffer_clean"]


def test_the_original_knows_the_classes_gold_never_saw(continual_runs):
    for seed in ACCEPTANCE_SEEDS:
        sc = continual_runs.scenarios[seed]
        assert sc.audit(sc.original())["forgotten_accuracy"] > 0.8
        assert _gold_after_step(continual_runs, seed) < 0.05
