"""A user's own network (a factory, not a recipe) trained and unlearned on every client."""

from __future__ import annotations

import pytest

pytest.importorskip("flwr", reason="the federated task needs obliviate[federated] (flwr[simulation])")

import obliviate  # noqa: E402
from obliviate.core.errors import InvalidRequestError  # noqa: E402
from obliviate.federated import FederatedScenario  # noqa: E402


def test_a_factory_built_network_is_trained_retrained_and_unlearned_on_every_client(tmp_path):
    scenario = FederatedScenario(
        dataset="digits", clients=4, forget="client:0", model="federated.federated_factories:build", rounds=4, seed=0,
        cache_dir=tmp_path,
    )
    original, gold = scenario.original(), scenario.gold()
    assert type(original).__name__ == "RawDigitsNet"
    assert scenario.audit(original)["test_accuracy"] > 0.6
    request = scenario.request()
    assert request.model_factory is not None
    for name in ("retrain", "conda"):
        result = obliviate.get_method("federated", name)().unlearn(original, request)
        assert type(result.model).__name__ == "RawDigitsNet"
        assert set(result.model.state_dict()) == {"w1", "b1", "w2"}
    # retrain rebuilds with the factory (a reset could not re-draw raw parameters) and matches gold.
    retrained = obliviate.get_method("federated", "retrain")().unlearn(original, request).model
    assert all((retrained.state_dict()[k] == gold.state_dict()[k]).all() for k in gold.state_dict())


def test_a_factory_clients_cannot_import_is_refused():
    with pytest.raises(InvalidRequestError, match="package.module:callable"):
        FederatedScenario(dataset="digits", clients=4, forget="client:0", model=lambda: None)


def test_forgetting_two_clients_end_to_end(tmp_path):
    scenario = FederatedScenario(
        dataset="digits", clients=6, forget="client:0,3", rounds=4, seed=1, cache_dir=tmp_path
    )
    original, gold = scenario.original(), scenario.gold()
    request = scenario.request()
    assert scenario.forget_clients == (0, 3) and request.extras["forget_clients"] == (0, 3)
    forgotten = len(scenario.client_data(0)) + len(scenario.client_data(3))
    assert len(request.forget) == forgotten
    retrained = obliviate.get_method("federated", "retrain")().unlearn(original, request).model
    assert all((retrained.state_dict()[k] == gold.state_dict()[k]).all() for k in gold.state_dict())
    conda = obliviate.get_method("federated", "conda")().unlearn(original, request)
    assert 0 < conda.info["dampened_fraction"] < 0.5
    assert set(scenario.audit(conda.model, gold=gold)) >= {"forget_accuracy", "retain_accuracy", "mia_auc", "js_to_gold"}


def test_the_users_federation_forgets_a_client_through_the_cli_and_verifies(tmp_path):
    import json

    from typer.testing import CliRunner

    from obliviate.cli.main import app
    from obliviate.core.checkpoint import save_model

    options = {"clients": 4, "rounds": 4}
    trained = FederatedScenario(
        dataset="digits", forget="client:0", model="federated.federated_factories:build", seed=0,
        cache_dir=tmp_path / "server", **options,
    )
    save_model(trained.original(), tmp_path / "global.safetensors")
    runner = CliRunner()
    result = runner.invoke(
        app,
        ["forget", "--task", "federated", "--model-file", str(tmp_path / "global.safetensors"),
         "--factory", "federated.federated_factories:build", "--dataset", "digits", "--forget", "client:0",
         "--option", "clients=4", "--option", "rounds=4", "--option", f"records={trained.records_dir}",
         "--method", "conda", "--out", str(tmp_path / "deletion"), "--quiet"],
    )
    assert result.exit_code == 0, result.output
    cert = json.loads((tmp_path / "deletion" / "certificate.json").read_text())
    assert cert["task"] == "federated" and cert["request"]["model"] == "federated.federated_factories:build"
    verified = runner.invoke(
        app,
        ["verify", str(tmp_path / "deletion" / "certificate.json"), "--model", str(tmp_path / "deletion" / "model.safetensors"),
         "--before", str(tmp_path / "global.safetensors")],
    )
    assert verified.exit_code == 0, verified.output
