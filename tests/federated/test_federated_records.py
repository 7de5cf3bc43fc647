"""The server's contribution records: what is accumulated, and that it survives a restart."""

from __future__ import annotations

import json

import pytest
import torch

from obliviate.core.errors import DataError
from obliviate.federated.records import ContributionRecorder, FederationRecords


def states(seed: int) -> dict[int, dict[str, torch.Tensor]]:
    generator = torch.Generator().manual_seed(seed)
    return {
        c: {"w": torch.randn(3, 2, generator=generator), "n": torch.tensor(5, dtype=torch.int64)} for c in (0, 1, 2)
    }


def test_records_accumulate_absolute_updates_and_reload_identically(tmp_path):
    start = {"w": torch.zeros(3, 2), "n": torch.tensor(0, dtype=torch.int64)}
    recorder = ContributionRecorder(tmp_path, start, [0, 1, 2])
    round1, round2 = states(1), states(2)
    recorder.record_round(start, round1, {0: 10, 1: 20, 2: 30})
    second_global = {"w": torch.full((3, 2), 0.5), "n": torch.tensor(5)}
    recorder.record_round(second_global, round2, {0: 10, 1: 20, 2: 30})

    records = FederationRecords.load(tmp_path)
    assert records.rounds == 2 and records.clients == [0, 1, 2] and records.keys == ["w"]
    assert records.num_examples == {0: 10, 1: 20, 2: 30}
    for c in (0, 1, 2):
        update1 = round1[c]["w"] - start["w"]
        update2 = round2[c]["w"] - second_global["w"]
        torch.testing.assert_close(records.contribution(c)["w"], update1.abs() + update2.abs(), rtol=0, atol=1e-6)
        torch.testing.assert_close(records.first_update(c)["w"], update1, rtol=0, atol=0)
        torch.testing.assert_close(records.last_update(c)["w"], update2, rtol=0, atol=0)
        torch.testing.assert_close(records.update_norms()[1, c, 0], torch.linalg.vector_norm(update2), rtol=1e-6, atol=0)
    assert torch.equal(records.initial_state()["w"], start["w"])


def test_each_round_writes_only_the_participants_files(tmp_path):
    start = {"w": torch.zeros(3, 2)}
    recorder = ContributionRecorder(tmp_path, start, [0, 1, 2])
    updates = {c: {"w": s["w"]} for c, s in states(1).items()}
    recorder.record_round(start, updates, {0: 1, 1: 1, 2: 1})
    untouched = (tmp_path / "clients" / "client0002.safetensors").stat().st_mtime_ns
    later = {c: {"w": s["w"]} for c, s in states(2).items() if c != 2}
    recorder.record_round(start, later, {0: 1, 1: 1})
    assert (tmp_path / "clients" / "client0002.safetensors").stat().st_mtime_ns == untouched
    entry = 6 * 4
    # round 1: contribution + last + first per client; round 2: contribution + last for two clients
    norms = lambda rounds: rounds * 3 * 1 * 4  # noqa: E731
    assert recorder.bytes_per_round == [3 * 3 * entry + norms(1), 2 * 2 * entry + norms(2)]
    records = FederationRecords.load(tmp_path)
    assert records.written == {0: 2, 1: 2, 2: 1} and records.first_round == {0: 1, 1: 1, 2: 1}
    torch.testing.assert_close(records.last_update(2)["w"], updates[2]["w"])  # its own last round
    torch.testing.assert_close(records.contribution(2)["w"], updates[2]["w"].abs())
    assert float(records.update_norms()[1, 2, 0]) == 0.0  # sat out round 2
    torch.testing.assert_close(records.contribution(0)["w"], updates[0]["w"].abs() + later[0]["w"].abs())
    assert len(records.seconds_per_round) == 2


def test_records_cut_off_between_two_writes_are_refused(tmp_path):
    start = {"w": torch.zeros(3, 2)}
    recorder = ContributionRecorder(tmp_path, start, [0, 1, 2])
    recorder.record_round(start, {c: {"w": s["w"]} for c, s in states(1).items()}, {0: 1, 1: 1, 2: 1})
    meta = json.loads((tmp_path / "meta.json").read_text())
    meta["rounds"] = 2  # as if the process died after writing meta.json for a round not yet saved
    meta["written"]["0"] = 2
    (tmp_path / "meta.json").write_text(json.dumps(meta))
    with pytest.raises(DataError, match="cut off"):
        FederationRecords.load(tmp_path).contribution(0)
    with pytest.raises(DataError, match="cut off"):
        FederationRecords.load(tmp_path).update_norms()


def test_missing_records_say_how_to_make_them(tmp_path):
    with pytest.raises(DataError, match="original"):
        FederationRecords.load(tmp_path / "nothing")
