"""Scenario options are checked up front, with errors that say what to change."""

from __future__ import annotations

import pytest

from obliviate.bench.tasks import task_spec
from obliviate.core.errors import InvalidForgetSpecError, InvalidRequestError
from obliviate.federated import FederatedScenario


def test_forgetting_a_client_that_does_not_exist_is_refused():
    with pytest.raises(InvalidForgetSpecError, match="0..9"):
        FederatedScenario(clients=10, forget="client:12")
    with pytest.raises(InvalidForgetSpecError, match="one of: client"):
        FederatedScenario(forget="class:3")


def test_bad_alpha_and_dataset_are_refused():
    with pytest.raises(InvalidRequestError, match="alpha"):
        FederatedScenario(alpha=-1.0)
    with pytest.raises(InvalidRequestError, match="digits, mnist"):
        FederatedScenario(dataset="wine")


def test_iid_split_and_backdoor_only_touch_the_forgotten_clients():
    scenario = FederatedScenario(clients=5, forget="client:1,3", alpha="iid", backdoor=True, seed=2)
    sizes = [len(scenario.clean_data(c)) for c in range(5)]
    assert max(sizes) - min(sizes) <= 1
    planted = {c: len(scenario.client_data(c)) - sizes[c] for c in range(5)}
    mean = sum(sizes) / 5
    assert planted == {0: 0, 1: round(2 * mean), 2: 0, 3: round(2 * mean), 4: 0}


def test_bench_spec_names_the_federated_columns():
    spec = task_spec("federated")
    assert spec.metrics[:6] == ("test_accuracy", "retain_accuracy", "forget_accuracy", "backdoor_success",
                               "clean_target_rate", "mia")
    scenario = spec.make_scenario(seed=1, clients=4, backdoor=True, alpha=0.5)
    assert scenario.clients == 4 and scenario.planted is not None


@pytest.mark.data
def test_mnist_clients_get_shards_of_the_checksummed_test_set_with_a_larger_patch():
    import os

    if not os.environ.get("OBLIVIATE_DATA_DIR"):
        pytest.skip("set OBLIVIATE_DATA_DIR to the shared data folder (mnist-test) to run this test")
    scenario = FederatedScenario(dataset="mnist", clients=10, forget="client:0", backdoor=True, seed=0)
    sizes = [len(scenario.clean_data(c)) for c in range(10)]
    assert sum(sizes) == 8000  # the 10,000 test images split 8,000 / 2,000
    assert scenario.planted.side(28) == 4
    triggered = scenario.client_data(0).tensors[0][sizes[0]:]
    assert len(triggered) == 1600 and float(triggered[:, :, -4:, -4:].min()) == 1.0


def test_thirty_clients_train_record_and_forget_through_flower(tmp_path):
    """A 30-client federation (IID, two rounds): every client's records are written, each
    round writes two model-sized entries per participant, and ConDa and retraining forget
    client 0 on that scale."""
    from obliviate import get_method
    from obliviate.federated.records import FederationRecords

    scenario = FederatedScenario(dataset="digits", clients=30, forget="client:0", alpha="iid", seed=0, rounds=2,
                                 local_epochs=1, model="mlp", cache_dir=tmp_path)
    original = scenario.original()
    records = FederationRecords.load(scenario.records_dir)
    assert records.clients == list(range(30)) and records.rounds == 2
    assert records.written == {c: 2 for c in range(30)}
    model_bytes = sum(v.numel() * v.element_size() for k, v in original.state_dict().items() if k in records.keys)
    norms = 30 * len(records.keys) * 4
    assert records.bytes_per_round == [30 * 3 * model_bytes + norms, 30 * 2 * model_bytes + 2 * norms]
    request = scenario.request()
    conda = get_method("federated", "conda")().unlearn(original, request)
    assert 0 < conda.info["dampened"] < conda.info["total"]
    gold = get_method("federated", "retrain")().unlearn(original, request)
    assert gold.info["rounds"] == 2 and gold.info["server_seconds"] > 0 and gold.info["messaging_seconds"] >= 0
    import torch

    changed = [k for k, v in original.state_dict().items() if not torch.equal(v, conda.model.state_dict()[k])]
    assert changed and set(changed) <= set(records.keys)
    audit = scenario.audit(conda.model)
    assert all(0.0 <= audit[k] <= 1.0 for k in ("test_accuracy", "retain_accuracy", "forget_accuracy"))
