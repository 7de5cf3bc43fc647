"""Checkpoints: safetensors round trips, atomic writes, typed errors, weight hashes."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from obliviate.core.checkpoint import (
    atomic_write_bytes,
    atomic_write_text,
    config_hash,
    load_into,
    load_state,
    save_model,
    state_sha256,
)
from obliviate.core.errors import DataError


def model(seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))


def test_save_and_load_round_trip_is_bit_identical_with_metadata(tmp_path):
    original = model()
    metadata = {"recipe": "mlp", "seed": 3, "accuracy": 0.9731, "classes": [0, 1]}
    path = save_model(original, tmp_path / "model.safetensors", metadata)
    state, loaded_metadata = load_state(path)
    assert loaded_metadata == metadata
    assert list(state) and set(state) == set(original.state_dict())
    for key, tensor in original.state_dict().items():
        assert state[key].dtype == tensor.dtype
        assert torch.equal(state[key], tensor)
    fresh = model(seed=1)
    assert load_into(fresh, path) == metadata
    assert state_sha256(fresh) == state_sha256(original)


def test_tensors_sharing_memory_are_saved_apart(tmp_path):
    shared = nn.Linear(3, 3)
    tied = nn.Sequential(shared, shared)  # the same weights under two keys
    path = save_model(tied, tmp_path / "tied.safetensors")
    state, _ = load_state(path)
    assert torch.equal(state["0.weight"], state["1.weight"])


def test_atomic_writes_leave_only_the_target_file(tmp_path):
    atomic_write_text(tmp_path / "sub" / "a.txt", "first")
    atomic_write_text(tmp_path / "sub" / "a.txt", "second")
    save_model(model(), tmp_path / "sub" / "m.safetensors")
    assert sorted(p.name for p in (tmp_path / "sub").iterdir()) == ["a.txt", "m.safetensors"]
    assert (tmp_path / "sub" / "a.txt").read_text() == "second"


def test_a_failed_atomic_write_keeps_the_old_file_and_removes_the_temporary(tmp_path):
    target = tmp_path / "a.bin"
    atomic_write_bytes(target, b"old")

    class Unwritable:  # bytes-like objects only: writing this raises TypeError mid-write
        pass

    with pytest.raises(TypeError):
        atomic_write_bytes(target, Unwritable())  # type: ignore[arg-type]
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["a.bin"]


def test_loading_a_file_that_is_not_safetensors_raises_data_error(tmp_path):
    bogus = tmp_path / "model.safetensors"
    bogus.write_bytes(b"\x80\x04 this is a pickle, not safetensors")
    with pytest.raises(DataError, match="not a readable safetensors checkpoint"):
        load_state(bogus)
    with pytest.raises(DataError, match="does not exist"):
        load_state(tmp_path / "missing.safetensors")


def test_loading_into_a_different_architecture_raises_data_error(tmp_path):
    path = save_model(model(), tmp_path / "model.safetensors")
    with pytest.raises(DataError, match="does not fit this model"):
        load_into(nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 2)), path)  # shapes differ
    with pytest.raises(DataError, match="does not fit this model"):
        load_into(nn.Sequential(nn.Linear(4, 2)), path)  # keys differ


def test_state_sha256_changes_when_one_weight_changes_and_not_otherwise():
    first, twin = model(), model()
    assert state_sha256(first) == state_sha256(twin)
    assert state_sha256(first) == state_sha256(first.state_dict())
    with torch.no_grad():
        twin[2].bias[1] = torch.nextafter(twin[2].bias[1], torch.tensor(1.0))  # one ulp
    assert state_sha256(first) != state_sha256(twin)


def test_state_sha256_depends_on_dtype_and_key_names():
    state = {"w": torch.zeros(2, 2)}
    assert state_sha256(state) != state_sha256({"w": torch.zeros(2, 2, dtype=torch.float64)})
    assert state_sha256(state) != state_sha256({"v": torch.zeros(2, 2)})


def test_state_sha256_hashes_models_with_batchnorm_counters():
    # BatchNorm keeps a 0-dimensional int64 counter (num_batches_tracked) in its state_dict.
    net = nn.Sequential(nn.Linear(2, 2), nn.BatchNorm1d(2))
    before = state_sha256(net)
    net.train()
    net(torch.randn(4, 2))  # one forward pass in training mode increments the counter
    assert state_sha256(net) != before


def test_config_hash_is_stable_and_order_independent():
    assert config_hash({"a": 1, "b": [1, 2]}) == config_hash({"b": [1, 2], "a": 1})
    assert config_hash({"a": 1}) != config_hash({"a": 2})
    assert len(config_hash({"a": 1})) == 16
