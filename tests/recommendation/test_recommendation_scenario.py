"""The scenario's audit, its data hooks, the bench runner and the forget-and-certify path."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

import obliviate
from conftest import tiny_scenario
from obliviate.bench.forget import forget_saved_model
from obliviate.bench.runner import run_bench
from obliviate.core.checkpoint import save_model
from obliviate.core.errors import InvalidRequestError
from obliviate.recommendation.scenario import RecommendationScenario

AUDIT_KEYS = {
    "recall@10", "recall@20", "ndcg@10", "ndcg@20", "precision@10", "precision@20",
    "forget_hit@10", "forget_hit@20", "forget_recall@20", "forget_rank", "heldout_rank",
    "retain_recall@20", "mia",
}


def test_the_audit_is_a_flat_dict_of_figures_in_range_and_leaves_the_graph_alone():
    scenario = tiny_scenario(model="lightgcn")
    original, gold = scenario.original(), scenario.gold()
    graph_before = original.graph_pairs.clone()
    audit = scenario.audit(original, original=original, gold=gold)
    assert set(audit) == AUDIT_KEYS | {"gold_overlap@20"}
    assert all(isinstance(v, float) and 0.0 <= v <= 1.0 for v in audit.values())
    assert torch.equal(original.graph_pairs, graph_before)
    assert scenario.audit(gold, gold=gold)["gold_overlap@20"] == pytest.approx(1.0)


def test_forgotten_users_and_withdrawn_items_leave_the_test_utility():
    users = tiny_scenario("users:0.1")
    gone = np.unique(users.forget_pairs[:, 0])
    assert not np.isin(users.test_pairs()[:, 0], gone).any()
    assert np.isin(users.heldout_pairs()[:, 0], gone).all() and len(users.heldout_pairs())
    items = tiny_scenario("items:0.1")
    withdrawn = np.unique(items.forget_pairs[:, 1])
    assert not np.isin(items.test_pairs()[:, 1], withdrawn).any()
    assert np.isin(items.heldout_pairs()[:, 1], withdrawn).all()


def test_a_figure_that_cannot_be_computed_is_nan_with_a_reason_and_the_deletion_completes(tmp_path):
    base = tiny_scenario()
    data = base.data
    user, item = data.train[0]
    ids = tmp_path / "one.txt"
    ids.write_text(f"{data.user_label(user)}\t{data.item_label(item)}\n")
    scenario = RecommendationScenario(dataset=data, forget=f"ids:{ids}", seed=0, epochs=4)
    original = scenario.original()
    result = obliviate.get_method("recommendation", "mmrecun")().unlearn(original, scenario.request())
    audit = scenario.audit(result.model)
    assert math.isnan(audit["mia"]) and "at least two" in scenario.audit_notes["mia"]
    assert not math.isnan(audit["recall@20"])
    assert scenario.forget_ids == [f"{data.user_label(user)}\t{data.item_label(item)}"]


def test_bad_scenario_options_are_refused_clearly():
    with pytest.raises(InvalidRequestError, match="unknown backbone"):
        RecommendationScenario(model="ncf")
    with pytest.raises(InvalidRequestError, match="disagree"):
        RecommendationScenario(model="mf", backbone="vbpr")
    with pytest.raises(InvalidRequestError, match="unknown dataset"):
        RecommendationScenario(dataset="movielens")
    assert RecommendationScenario(backbone="lightgcn").model == "lightgcn"


def test_the_bench_runner_reports_rows_with_gold_and_speedup():
    report = run_bench(
        "recommendation",
        methods="mmrecun",
        seeds=1,
        options={"forget": "interactions:0.05", "model": "mf", "epochs": 6},
        progress=False,
    )
    rows = {row["method"]: row for row in report["summary"]}
    assert set(rows) == {"original", "gold", "mmrecun"}
    for metric in ("recall@20", "ndcg@20", "forget_hit@20", "mia"):
        assert rows["mmrecun"][metric]["mean"] is not None
        assert "gap_to_gold" in rows["mmrecun"] and metric in rows["mmrecun"]["gap_to_gold"]
    assert rows["mmrecun"]["speedup"]["mean"] > 0 and rows["gold"]["seconds"]["mean"] > 0


def test_a_saved_model_is_unlearned_and_certified(tmp_path):
    options = {"dataset": "synthetic", "forget": "items:0.05", "model": "vbpr", "epochs": 6}
    scenario = RecommendationScenario(seed=0, **options)
    weights = save_model(scenario.original(), tmp_path / "model.safetensors")
    outcome = forget_saved_model(
        "recommendation", model_file=weights, method="mmrecun", out_dir=tmp_path / "out", options=options, seed=0
    )
    certificate = json.loads(outcome.certificate_path.read_text())
    assert outcome.model_path.is_file()
    assert certificate["method"]["name"] == "mmrecun" and "forget_hit@20" in certificate["audit"]


def test_a_users_own_table_file_and_own_ids_go_through_the_forget_path(tmp_path):
    rng = np.random.default_rng(0)
    rows = [(f"user-{u}", f"sku-{i}") for u in range(40) for i in rng.choice(30, 8, replace=False)]
    table = tmp_path / "interactions.csv"
    table.write_text("customer,product\n" + "".join(f"{u},{i}\n" for u, i in rows))
    ids = tmp_path / "forget.txt"
    options = {"table": str(table), "user_column": "customer", "item_column": "product", "forget": f"ids:{ids}",
               "model": "mf", "epochs": 4}
    scenario = RecommendationScenario(seed=0, **options)
    user, item = scenario.data.train[0]  # the forget set is read lazily: name a training pair now
    ids.write_text(f"{scenario.data.user_label(user)}\t{scenario.data.item_label(item)}\n")
    assert scenario.data.user_label(user).startswith("user-") and scenario.forget_ids == [ids.read_text().strip()]
    weights = save_model(scenario.original(), tmp_path / "model.safetensors")
    outcome = forget_saved_model(
        "recommendation", model_file=weights, method="mmrecun", out_dir=tmp_path / "out", options=options, seed=0
    )
    assert outcome.certificate_path.is_file()
    assert math.isnan(outcome.audit["mia"]) and "mia" in outcome.notes
