"""The bench runner on the real classification task: digits, forget class 3, tiny epochs.

One module-wide bench (2 seeds, retrain as gold, finetune, and a method that refuses the
forget kind) feeds most tests, so the costly part -- training -- happens once.
"""

from __future__ import annotations

import json
import statistics

import pytest

from obliviate.bench.runner import build_unlearner, resolve_methods, resolve_seeds, run_bench
from obliviate.classification.methods.finetune import Finetune
from obliviate.core import registry
from obliviate.core.errors import InvalidParameterError, InvalidRequestError, RegistryError
from obliviate.report.schema import summary_row, validate_report

ACCEPTANCE_METRICS = ("forget_accuracy", "retain_accuracy", "test_accuracy", "mia", "seconds", "speedup")
OPTIONS = {"dataset": "digits", "forget": "class:3", "epochs": 3}


class RandomOnlyFinetune(Finetune):
    """finetune that declares support for random forgetting only (so class:3 is refused)."""

    forget_kinds = frozenset({"random"})


@pytest.fixture(scope="module")
def report():
    with pytest.MonkeyPatch.context() as patch:
        registry.methods("classification")  # load the real methods before adding the test one
        patch.setitem(registry._METHODS["classification"], "random_only", RandomOnlyFinetune)
        RandomOnlyFinetune.task, RandomOnlyFinetune.name = "classification", "random_only"
        return run_bench(
            "classification",
            methods=["finetune", "random_only"],
            seeds=2,
            options=OPTIONS,
            method_params={"finetune": {"epochs": 1}},
            count_flops=True,
            progress=False,
        )


def _runs(report, method):
    return {run["seed"]: run for run in report["runs"] if run["method"] == method}


def test_summary_has_original_gold_and_method_rows_with_mean_and_std(report):
    assert [row["method"] for row in report["summary"]] == ["original", "gold", "finetune", "random_only"]
    for name in ("gold", "finetune"):
        row = summary_row(report, name)
        assert row["runs"] == 2
        for key in ACCEPTANCE_METRICS:
            assert set(row[key]) == {"mean", "std", "n"}
            assert isinstance(row[key]["mean"], float) and row[key]["std"] >= 0.0
    assert report["seeds"] == [0, 1] and report["methods"] == ["finetune", "random_only"]
    assert report["params"]["finetune"]["epochs"] == 1 and "retrain" in report["params"]


def test_gold_is_retrain_which_forgets_the_class_the_original_knows(report):
    gold, original = summary_row(report, "gold"), summary_row(report, "original")
    # A network that never saw class 3 practically never predicts it; the original does.
    assert gold["forget_accuracy"]["mean"] <= 0.05
    assert original["forget_accuracy"]["mean"] >= 0.5
    assert gold["speedup"]["mean"] == 1.0 and gold["speedup"]["std"] == 0.0
    assert all(value["mean"] == 0.0 and value["std"] == 0.0 for value in gold["gap_to_gold"].values())


def test_speedup_is_gold_seconds_over_method_seconds_of_the_same_seed(report):
    gold, finetune = _runs(report, "gold"), _runs(report, "finetune")
    for seed in (0, 1):
        assert finetune[seed]["seconds"] > 0
        assert finetune[seed]["speedup"] == pytest.approx(gold[seed]["seconds"] / finetune[seed]["seconds"], rel=1e-12)
    expected = statistics.mean(finetune[s]["speedup"] for s in (0, 1))
    assert summary_row(report, "finetune")["speedup"]["mean"] == pytest.approx(expected, rel=1e-12)


def test_gap_to_gold_is_value_minus_gold_paired_by_seed(report):
    gold, finetune = _runs(report, "gold"), _runs(report, "finetune")
    row = summary_row(report, "finetune")
    for metric in report["metrics"]:
        gaps = [finetune[s]["metrics"][metric] - gold[s]["metrics"][metric] for s in (0, 1)]
        assert row["gap_to_gold"][metric]["mean"] == pytest.approx(statistics.mean(gaps), abs=1e-12)
        assert row["gap_to_gold"][metric]["std"] == pytest.approx(statistics.stdev(gaps), abs=1e-12)
        values = [finetune[s]["metrics"][metric] for s in (0, 1)]
        assert row[metric]["mean"] == pytest.approx(statistics.mean(values), abs=1e-12)


def test_flops_are_counted_in_a_separate_run_on_the_first_seed_only(report):
    for name in ("gold", "finetune"):
        runs = _runs(report, name)
        assert isinstance(runs[0]["flops"], int) and runs[0]["flops"] > 0
        assert runs[1]["flops"] is None
    # retrain trains 3 epochs from scratch, finetune 1 epoch on the same retain data.
    ratio = _runs(report, "gold")[0]["flops"] / _runs(report, "finetune")[0]["flops"]
    assert ratio == pytest.approx(3.0, rel=0.05)


def test_a_method_that_refuses_the_forget_kind_is_skipped_with_its_reason(report):
    runs = _runs(report, "random_only")
    assert all(run["status"] == "skipped" and "forget kind 'class'" in run["reason"] for run in runs.values())
    row = summary_row(report, "random_only")
    assert row["runs"] == 0 and "forget kind 'class'" in row["skipped"]


def test_report_is_valid_json_with_environment(report):
    validate_report(json.loads(json.dumps(report, allow_nan=False)))
    env = report["environment"]
    assert env["device"] == "cpu" and "torch" in env["packages"] and env["python"]
    assert report["options"] == {"dataset": "digits", "forget": "class:3", "model": "cnn", "epochs": 3}


def test_unknown_method_is_refused_before_any_training():
    with pytest.raises(RegistryError, match="no method 'nope'.*retrain"):
        resolve_methods("classification", ["finetune", "nope"])
    assert resolve_methods("classification", "retrain,finetune,finetune") == ["finetune"]
    assert "retrain" not in resolve_methods("classification", "all")


@pytest.mark.parametrize(
    ("params", "message"),
    [({"epochz": 1}, "no parameter 'epochz'.*epochs"), ({"epochs": 0}, "epochs")],
)
def test_bad_method_parameters_are_refused_with_the_parameter_named(params, message):
    with pytest.raises(InvalidParameterError, match=message):
        build_unlearner("classification", "finetune", params)


def test_parameters_for_a_method_that_is_not_benched_are_refused():
    with pytest.raises(InvalidParameterError, match="'ssd', which is not benched"):
        run_bench("classification", methods=["finetune"], seeds=1, method_params={"ssd": {}}, progress=False)


@pytest.mark.parametrize("seeds", [0, -1, [], [0, 0], [-2], True, 101, [2**32], list(range(101))])
def test_bad_seeds_are_refused(seeds):
    with pytest.raises(InvalidRequestError):
        resolve_seeds(seeds)


def test_seeds_as_count_or_list():
    assert resolve_seeds(3) == [0, 1, 2]
    assert resolve_seeds([4, 1]) == [4, 1]


def test_an_option_the_task_does_not_take_is_a_clear_error():
    with pytest.raises(InvalidRequestError, match="does not take one of the options"):
        run_bench("classification", methods=["finetune"], seeds=1, options={"clients": 3}, progress=False)


class CrashesAlways(Finetune):
    def _unlearn(self, model, request):
        raise ValueError("a bug in the method")


def test_a_failing_flop_count_or_method_is_recorded_and_the_bench_goes_on():
    import obliviate.core.contracts as contracts

    def broken_counter(fn):
        raise RuntimeError("not supported under the counter")

    with pytest.MonkeyPatch.context() as patch:
        registry.methods("classification")
        patch.setitem(registry._METHODS["classification"], "always_crash", CrashesAlways)
        CrashesAlways.task, CrashesAlways.name = "classification", "always_crash"
        patch.setattr(contracts, "count_flops", broken_counter)
        report = run_bench(
            "classification",
            methods=["always_crash", "finetune"],
            seeds=1,
            options=OPTIONS,
            method_params={"finetune": {"epochs": 1}},
            count_flops=True,
            progress=False,
        )
    counted = _runs(report, "finetune")[0]
    assert counted["status"] == "ok" and counted["flops"] is None and counted["metrics"]
    assert "FLOPs not counted: RuntimeError" in counted["info"]["flops_error"]
    crashed = _runs(report, "always_crash")[0]
    assert crashed["status"] == "skipped" and "ValueError: a bug in the method" in crashed["reason"]


def test_unsir_runs_under_the_flop_counter(tiny_request):
    from obliviate.classification.methods.unsir import Unsir

    model, request = tiny_request
    result = Unsir(noise_steps=2, repair_epochs=1).unlearn(model, request, count_flops_too=True)
    assert result.flops > 0


def test_the_paper_preset_takes_each_methods_paper_params():
    ssd = build_unlearner("classification", "ssd", preset="paper")
    assert ssd.alpha == 10.0 and ssd.importance == "batch" and ssd.data_importance_on == "train"
    assert build_unlearner("classification", "ssd", {"alpha": 3.0}, preset="paper").alpha == 3.0
    with pytest.raises(InvalidParameterError, match="preset"):
        build_unlearner("classification", "ssd", preset="mine")


@pytest.fixture(scope="module")
def tiny_request():
    import torch
    from torch.utils.data import TensorDataset

    from obliviate.classification.models import build_model
    from obliviate.core.contracts import UnlearningRequest
    from obliviate.core.training import fit
    from obliviate.data.datasets import load_classification
    from obliviate.data.forget import parse_forget_spec

    data = load_classification("digits", seed=0)
    x, y = torch.from_numpy(data.x_train[:200]), torch.from_numpy(data.y_train[:200])
    model = build_model("mlp", data.input_shape, data.num_classes, seed=0)
    fit(model, TensorDataset(x, y), epochs=3, seed=0)
    forget = y == 3
    return model, UnlearningRequest(
        forget=TensorDataset(x[forget], y[forget]),
        retain=TensorDataset(x[~forget], y[~forget]),
        spec=parse_forget_spec("class:3"),
        num_classes=10,
        extras={"forget_classes": (3,)},
    )
