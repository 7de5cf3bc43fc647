"""A user's own diffusers UNet2DModel goes through the same methods, audit, bench and deletion path."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

import obliviate
from obliviate.diffusion.models import conditioning_parameter_names
from obliviate.diffusion.scenario import DiffusionScenario

pytest.importorskip("diffusers")

TINY = {"steps": 4, "sampling_steps": 4, "samples_per_class": 2, "attack_samples": 4, "batch_size": 32}


@pytest.fixture(scope="module")
def unet_scenario():
    return DiffusionScenario(forget="concept:3", model="diffusion_factories:tiny_unet", seed=0, **TINY)


def test_a_diffusers_unet_runs_through_the_methods_and_the_audit(unet_scenario):
    import diffusers

    original, gold, request = unet_scenario.original(), unet_scenario.gold(), unet_scenario.request()
    assert isinstance(original, diffusers.UNet2DModel)
    names = conditioning_parameter_names(original)
    assert any(n.startswith("class_embedding") for n in names) and any("time_emb_proj" in n for n in names)
    for name in ("esd_x", "esd_u", "concept_ablation", "sdd", "salun", "retrain"):
        params = {"steps": 1} if name != "retrain" else {"steps": 2}
        if name not in ("retrain", "salun"):
            params["pool_size"] = 4
        result = obliviate.get_method("diffusion", name)(**params).unlearn(original, request)
        assert isinstance(result.model, diffusers.UNet2DModel)
        assert result.model.state_dict().keys() == original.state_dict().keys()
    audit = unet_scenario.audit(result.model, original=original, gold=gold)
    assert set(audit) == {"forget_rate", "retain_accuracy", "kid", "ccs", "crs", "concealment", "psi_star", "ccs_binary"}
    for key in ("forget_rate", "retain_accuracy", "ccs", "crs", "concealment"):
        assert np.isfinite(audit[key])
    assert len(unet_scenario.curves["ccs"]) == 5
    assert unet_scenario.audit(gold, original=original, gold=gold)["concealment"] == 0.0


def test_psi_ends_of_the_attack_are_the_two_unets_samplers(unet_scenario):
    original, gold = unet_scenario.original(), unet_scenario.gold()
    attack = unet_scenario.attack(gold, original)
    labels = torch.full((4,), 3, dtype=torch.long)
    seed = unet_scenario._attack_seed()
    assert torch.allclose(attack[0], unet_scenario.sampler.generate(gold, labels, seed), atol=1e-5)
    assert torch.allclose(attack[4], unet_scenario.sampler.generate(original, labels, seed), atol=1e-5)


def test_the_bench_runner_and_the_cli_bench_the_task(tmp_path):
    from typer.testing import CliRunner

    from obliviate.bench.runner import run_bench
    from obliviate.cli.main import app

    options = {"forget": "concept:3", "steps": 20, "width": 32, "sampling_steps": 5, "samples_per_class": 4,
               "attack_samples": 8}
    report = run_bench("diffusion", methods="esd_x,salun", seeds=1, options=options,
                       method_params={"esd_x": {"steps": 3}, "salun": {"steps": 3}}, progress=False)
    rows = {row["method"]: row for row in report["summary"]}
    assert {"original", "gold", "esd_x", "salun"} <= set(rows)
    for metric in ("forget_rate", "retain_accuracy", "kid", "ccs", "crs", "concealment", "psi_star"):
        assert metric in report["metrics"]
    assert rows["gold"]["concealment"]["mean"] == 0.0
    assert rows["esd_x"]["speedup"]["mean"] > 0
    args = ["bench", "diffusion", "--forget", "concept:3", "--methods", "sdd", "--seeds", "1", "--json", "-q",
            "--set", "sdd.steps=2"] + [f"--option={k}={v}" for k, v in options.items() if k != "forget"]
    outcome = CliRunner().invoke(app, args)
    assert outcome.exit_code == 0, outcome.output
    report = json.loads(outcome.stdout[outcome.stdout.index("{"):])
    assert {row["method"] for row in report["summary"]} == {"original", "gold", "sdd"}


def test_obliviate_forget_certifies_a_deletion_from_a_users_unet(tmp_path):
    from typer.testing import CliRunner

    from obliviate.cli.main import app
    from obliviate.core.checkpoint import save_model

    scenario = DiffusionScenario(forget="concept:3", model="diffusion_factories:tiny_unet", seed=0, **TINY)
    weights = save_model(scenario.original(), tmp_path / "mine.safetensors")
    args = ["forget", "--task", "diffusion", "--model-file", str(weights), "--factory", "diffusion_factories:tiny_unet",
            "--forget", "concept:3", "--method", "esd_x", "--set", "steps=1", "--set", "pool_size=4", "-q"]
    args += [f"--option={k}={v}" for k, v in TINY.items()]
    outcome = CliRunner().invoke(app, [*args, "--out", str(tmp_path / "deletion")])
    assert outcome.exit_code == 0, outcome.output
    certificate = json.loads((tmp_path / "deletion" / "certificate.json").read_text())
    assert certificate["method"]["name"] == "esd_x"
    assert (tmp_path / "deletion" / "model.safetensors").is_file()
    refused = CliRunner().invoke(app, [*args, "--data", str(weights), "--out", str(tmp_path / "other")])
    assert refused.exit_code != 0 and "not supported yet" in refused.output
    assert not (tmp_path / "other").exists()
