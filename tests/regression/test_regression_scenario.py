"""The regression scenario: audit figures and their reasons, a user's own data and model
factory, the deletion path with a certificate, and the bench command."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

import obliviate
from obliviate.audit.certificate import verify_certificate
from obliviate.bench.forget import forget_saved_model
from obliviate.core.checkpoint import save_model
from obliviate.core.errors import DataError, InvalidRequestError
from obliviate.data.regression import from_series
from obliviate.regression.scenario import RegressionScenario, bench_spec
from obliviate.report.schema import validate_report

AUDIT_KEYS = {
    "forget_l1", "retain_l1", "test_l1", "forget_mse", "retain_mse", "test_mse", "mia", "mia_auc",
}


def test_audit_reports_errors_membership_and_distance_to_gold(diabetes_scenarios):
    scenario = diabetes_scenarios[0]
    original, gold = scenario.original(), scenario.gold()
    audit = scenario.audit(original, original=original, gold=gold)
    assert AUDIT_KEYS | {"test_forget_l1", "test_retain_l1", "wasserstein_to_gold"} <= set(audit)
    errors = np.abs(scenario.predictions(original, "forget") - scenario.targets("forget"))
    assert audit["forget_l1"] == pytest.approx(errors.mean())
    assert audit["forget_mse"] == pytest.approx((errors**2).mean(), rel=1e-6)
    assert scenario.audit(gold, gold=gold)["wasserstein_to_gold"] == 0.0
    # The original still fits its forget rows far better than gold does, and the attacks see it.
    gold_audit = scenario.audit(gold)
    assert audit["forget_l1"] < 0.5 * gold_audit["forget_l1"]
    assert audit["mia"] > gold_audit["mia"] and audit["mia_auc"] > gold_audit["mia_auc"]
    assert "test rows with target in target>=200" in scenario.audit_notes["mia_auc"]


def test_deleting_one_record_completes_and_reports_the_auc_as_not_applicable(diabetes_scenarios, tmp_path: Path):
    base = diabetes_scenarios[0]
    ids_file = tmp_path / "one.txt"
    ids_file.write_text(f"{base.data.ids_train[5]}\n")
    scenario = RegressionScenario(dataset=base.data, forget=f"ids:{ids_file}", seed=0, cache_dir=base.cache_dir)
    assert scenario.forget_ids == [int(base.data.ids_train[5])]
    result = obliviate.get_method("regression", "blindspot")().unlearn(base.original(), scenario.request())
    audit = scenario.audit(result.model, gold=scenario.gold())
    assert math.isnan(audit["mia_auc"]) and "not applicable" in scenario.audit_notes["mia_auc"]
    assert math.isfinite(audit["forget_l1"]) and math.isfinite(audit["wasserstein_to_gold"])


def test_a_period_without_held_out_windows_has_no_auc_and_says_so():
    data = from_series(np.sin(np.arange(150) / 4.0) * 10 + 20, window=6, seed=0)
    # Windows 10-19 (times 16-25) form a training block: no test window lies in that period.
    scenario = RegressionScenario(dataset=data, forget="time:16-25", seed=0, epochs=5)
    assert scenario.model is None and scenario.recipe_name == "conv1d"
    audit = scenario.audit(scenario.original())
    assert math.isnan(audit["mia_auc"]) and math.isnan(audit["test_forget_l1"])
    assert "held-out windows with time in 16-25" in scenario.audit_notes["mia_auc"]


FACTORY_MODULE = '''
import torch
from torch import nn


class HouseNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(4, 16), nn.Tanh())
        self.out = nn.Linear(16, 1)

    def forward(self, x):
        return 50.0 + 10.0 * self.out(self.body(x))


def make():
    return HouseNet()
'''


@pytest.fixture
def user_factory(tmp_path: Path, monkeypatch) -> str:
    (tmp_path / "my_house_models.py").write_text(FACTORY_MODULE)
    monkeypatch.syspath_prepend(str(tmp_path))
    yield "my_house_models:make"
    sys.modules.pop("my_house_models", None)


def test_a_users_arrays_ids_split_and_factory_make_a_scenario(user_factory, tmp_path: Path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(120, 4))
    y = 50 + 10 * x[:, 0] + rng.normal(scale=1.0, size=120)
    ids = [f"house-{i}" for i in range(120)]
    split = ["test" if i % 5 == 0 else "train" for i in range(120)]
    (tmp_path / "forget.txt").write_text("house-1\nhouse-2\nhouse-3\n")
    kwargs = dict(ids=ids, split=split, factory=user_factory, seed=0, epochs=20, cache_dir=tmp_path / "cache")
    scenario = RegressionScenario.from_arrays(x, y, forget=f"ids:{tmp_path / 'forget.txt'}", **kwargs)
    assert scenario.forget_ids == ["house-1", "house-2", "house-3"]
    assert scenario.recipe_name == "factory"
    original = scenario.original()
    assert type(original).__name__ == "HouseNet"
    request = scenario.request()
    for name in ("retrain", "blindspot"):
        result = obliviate.get_method("regression", name)().unlearn(original, request)
        assert type(result.model).__name__ == "HouseNet" and result.info["fresh_model"] == "factory"
    # A second scenario with the same data and factory loads the cached weights.
    again = RegressionScenario.from_arrays(x, y, forget="range:target>=60", **kwargs)
    reloaded = again.original()
    assert all(torch.equal(a, b) for a, b in zip(original.state_dict().values(), reloaded.state_dict().values()))
    ranged = again.audit(reloaded)
    assert set(ranged) >= AUDIT_KEYS


def test_an_unknown_factory_string_is_refused_with_the_fix():
    with pytest.raises(InvalidRequestError, match="cannot import"):
        RegressionScenario(dataset="diabetes", factory="no_such_module_here:make")
    with pytest.raises(InvalidRequestError, match="package.module:callable"):
        RegressionScenario(dataset="diabetes", factory="just-a-name")


def test_relearn_time_of_gold_exceeds_the_originals(diabetes_scenarios):
    scenario = diabetes_scenarios[1]
    original, gold = scenario.original(), scenario.gold()
    assert scenario.audit(original, original=original, relearn=True)["relearn_steps"] == 0
    gold_audit = scenario.audit(gold, original=original, relearn=True)
    assert gold_audit["relearn_steps"] > 0 and gold_audit["relearn_random_steps"] > 0


def test_forget_saved_model_writes_weights_and_a_certificate_that_verifies(diabetes_scenarios, tmp_path: Path):
    scenario = diabetes_scenarios[0]
    weights = save_model(scenario.original(), tmp_path / "mine.safetensors")
    outcome = forget_saved_model(
        "regression",
        model_file=weights,
        method="blindspot",
        out_dir=tmp_path / "deletion",
        options={"dataset": "diabetes", "forget": "range:target>=200"},
        seed=0,
    )
    assert outcome.model_path.is_file() and outcome.certificate_path.is_file()
    certificate = json.loads(outcome.certificate_path.read_text())
    assert certificate["forget_set"]["count"] == len(scenario.forget_indices)
    assert verify_certificate(certificate, outcome.model, forget_ids=scenario.forget_ids)
    assert "forget_l1" in certificate["audit"]


def test_the_bench_command_prints_a_report_with_gold_and_speedup():
    from obliviate.cli.main import app

    result = CliRunner().invoke(
        app,
        ["bench", "regression", "--dataset", "diabetes", "--forget", "range:target>=200", "--methods",
         "blindspot,finetune", "--seeds", "1", "--epochs", "30", "--json", "--quiet"],
    )
    assert result.exit_code == 0, result.output
    report = validate_report(json.loads(result.stdout))
    rows = {row["method"]: row for row in report["summary"]}
    assert list(rows) == ["original", "gold", "blindspot", "finetune"]
    for key in ("forget_l1", "retain_l1", "test_l1", "mia", "seconds", "speedup"):
        assert rows["blindspot"][key]["mean"] is not None, key
    assert rows["gold"]["speedup"]["mean"] == 1.0


def test_the_demo_configuration_is_a_quick_diabetes_run():
    spec = bench_spec()
    assert spec.task == "regression" and len(spec.demo) == 1
    config = spec.demo[0]
    assert config.options["dataset"] == "diabetes" and config.seeds == 1
    assert set(config.methods) <= set(obliviate.methods("regression"))


def test_a_users_csv_goes_through_the_deletion_path_with_its_own_ids(tmp_path: Path):
    rng = np.random.default_rng(1)
    lines = ["house,rooms,area,kind,price,split"]
    for i in range(150):
        rooms, area = rng.integers(1, 6), rng.uniform(20, 200)
        kind = ["flat", "house"][i % 2]
        price = 50 + 20 * rooms + 0.5 * area + rng.normal(scale=5)
        lines.append(f"H{i:04d},{rooms},{area:.1f},{kind},{price:.2f},{'test' if i % 4 == 0 else 'train'}")
    table = tmp_path / "houses.csv"
    table.write_text("\n".join(lines) + "\n")
    (tmp_path / "forget.txt").write_text("H0001\nH0002\nH0003\nH0005\n")
    options = {
        "table": str(table), "target": "price", "id_column": "house", "split_column": "split",
        "forget": f"ids:{tmp_path / 'forget.txt'}", "epochs": 30,
    }
    scenario = bench_spec().make_scenario(seed=0, dataset="diabetes", **options)
    assert scenario.dataset_name == "houses" and scenario.forget_ids == ["H0001", "H0002", "H0003", "H0005"]
    weights = save_model(scenario.original(), tmp_path / "houses.safetensors")
    outcome = forget_saved_model(
        "regression", model_file=weights, method="finetune", out_dir=tmp_path / "out", options=options, seed=0,
        with_gold=True,
    )
    certificate = json.loads(outcome.certificate_path.read_text())
    assert certificate["forget_set"]["count"] == 4
    assert verify_certificate(certificate, outcome.model, forget_ids=["H0001", "H0002", "H0003", "H0005"])
    assert certificate["audit"]["forget_l1"]["gap_to_gold"] is not None


def test_arrays_saved_with_savez_make_a_scenario_without_pickle(tmp_path: Path):
    rng = np.random.default_rng(2)
    x = rng.normal(size=(60, 3)).astype(np.float32)
    path = tmp_path / "mine.npz"
    np.savez(path, x=x, y=x[:, 0] * 3, ids=np.asarray([f"r{i}" for i in range(60)]), split=np.arange(60) % 3 == 0)
    scenario = bench_spec().make_scenario(seed=0, arrays=str(path), forget="range:target>=2", epochs=5)
    assert scenario.dataset_name == "mine"
    assert all(i.startswith("r") for i in scenario.forget_ids)
    assert len(scenario.data.y_test) == 20
    np.savez(tmp_path / "bad.npz", y=x[:, 0])
    with pytest.raises(DataError, match="no array"):
        bench_spec().make_scenario(seed=0, arrays=str(tmp_path / "bad.npz"), forget="random:0.1")
