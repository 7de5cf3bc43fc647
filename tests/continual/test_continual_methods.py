"""Contract of every continual method and the baselines' behaviour on the digits stream."""

from __future__ import annotations

import pytest
import torch

from obliviate.continual.scenario import bench_spec
from obliviate.core.contracts import UnlearningRequest
from obliviate.core.errors import InvalidParameterError, InvalidRequestError
from obliviate.core.registry import get_method, methods

NAMES = ("cl_unlearn", "finetune", "er", "der++", "lwf")


def test_registry_lists_the_continual_methods():
    assert set(NAMES) | {"retrain"} <= set(methods("continual"))


@pytest.mark.parametrize("name", NAMES + ("retrain",))
def test_returns_a_new_model_of_the_same_type_and_keys_and_leaves_the_input_alone(name, continual_runs):
    sc = continual_runs.scenarios[0]
    original = sc.original()
    before = {k: v.clone() for k, v in original.state_dict().items()}
    result = continual_runs.result(name, 0)
    assert type(result.model) is type(original)
    assert result.model.state_dict().keys() == original.state_dict().keys()
    assert all(torch.equal(before[k], v) for k, v in original.state_dict().items())
    assert len(result.info["accuracy_matrix"]) == len(sc.ops)
    assert not set(result.info["buffer_ids"]) & {int(i) for i in sc.forgotten}


def test_finetune_forgets_old_tasks_while_replay_keeps_them(continual_runs):
    sc = continual_runs.scenarios[0]
    ft = sc.audit(continual_runs.result("finetune", 0).model)
    er = sc.audit(continual_runs.result("er", 0).model)
    assert ft["bwt"] < -0.5 and er["bwt"] > -0.2
    assert er["retained_accuracy"] > ft["retained_accuracy"] + 0.3


@pytest.mark.parametrize("name", NAMES)
def test_bad_parameters_and_requests_raise_typed_errors(name, continual_runs):
    with pytest.raises(InvalidParameterError):
        get_method("continual", name)(unlearn_epochs=0)
    sc = continual_runs.scenarios[0]
    request = sc.request()
    bare = UnlearningRequest(forget=request.forget, retain=request.retain)
    with pytest.raises(InvalidRequestError, match="ContinualScenario"):
        get_method("continual", name)().unlearn(sc.original(), bare)


def test_same_seed_gives_identical_weights(continual_runs):
    sc = continual_runs.scenarios[1]
    a = get_method("continual", "cl_unlearn")().unlearn(sc.original(), sc.request()).model
    b = continual_runs.result("cl_unlearn", 1).model
    assert all(torch.equal(u, v) for u, v in zip(a.state_dict().values(), b.state_dict().values()))


def test_audit_reports_the_issue_metrics(continual_runs):
    sc = continual_runs.scenarios[0]
    metrics = sc.audit(continual_runs.result("cl_unlearn", 0).model)
    for key in ("retained_accuracy", "forgotten_accuracy", "bwt", "mia", "mia_auc", "task0_accuracy", "task3_accuracy"):
        assert key in metrics
    assert 0.0 <= metrics["mia"] <= 1.0


def test_bench_spec_demo_runs_every_method_through_the_runner():
    from obliviate.bench.runner import run_bench

    spec = bench_spec()
    assert spec.task == "continual" and len(spec.demo) == 1
    config = spec.demo[0]
    report = run_bench(spec, methods=list(config.methods), seeds=config.seeds,
                       options={**config.options, **spec.quick_options}, progress=False)
    runs = {r["method"]: r for r in report["runs"]}
    assert set(config.methods) | {"gold", "original"} <= set(runs)
    assert all(r["status"] == "ok" for r in runs.values()), [r["reason"] for r in runs.values()]
    assert all("retained_accuracy" in r["metrics"] for r in runs.values())


def test_the_published_codes_teacher_setting_runs_and_still_purges_the_buffer(continual_runs):
    from obliviate.bench.runner import build_unlearner

    method = build_unlearner("continual", "cl_unlearn", preset="paper")
    assert method.reset_teacher is False
    sc = continual_runs.scenarios[0]
    result = method.unlearn(sc.original(), sc.request())
    assert not set(result.info["buffer_ids"]) & {int(i) for i in sc.forgotten}
    assert sc.audit(result.model)["forgotten_accuracy"] <= 0.05
