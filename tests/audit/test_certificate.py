"""Deletion certificates: content, determinism, tamper evidence, atomic writing."""

from __future__ import annotations

import copy
import hashlib
import json
import platform
from datetime import datetime, timezone

import numpy as np
import pytest
import torch
from torch import nn

import obliviate
from obliviate.audit.certificate import (
    forget_ids_sha256,
    make_certificate,
    read_certificate,
    verify_certificate,
    write_certificate,
)
from obliviate.audit.gaps import gap_to_gold, gaps_to_gold
from obliviate.core.checkpoint import state_sha256
from obliviate.core.errors import DataError, InvalidParameterError, InvalidRequestError

ISSUED = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)


def tiny_model(seed: int) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))


def certificate(**overrides):
    before, after = tiny_model(0), tiny_model(1)
    arguments = dict(
        model_before=before,
        model_after=after,
        forget_ids=[7, 3, 11],
        method="finetune",
        params={"epochs": 5, "lr": 1e-3, "betas": (0.9, 0.999)},
        audit={"forget_accuracy": 0.25, "mia": 0.5, "zrf": float("nan")},
        gold_audit={"forget_accuracy": 0.2, "mia": 0.5},
        task="classification",
        dataset="digits",
        forget_spec="random:0.1",
        created=ISSUED,
    )
    arguments.update(overrides)
    return make_certificate(**arguments), arguments


def test_certificate_records_hashes_method_audit_gaps_and_versions():
    cert, arguments = certificate()
    assert cert["schema"] == "obliviate.certificate" and cert["schema_version"] == 1
    assert cert["model"]["sha256_before"] == state_sha256(arguments["model_before"])
    assert cert["model"]["sha256_after"] == state_sha256(arguments["model_after"])
    assert cert["model"]["sha256_before"] != cert["model"]["sha256_after"]
    assert cert["forget_set"] == {
        "count": 3,
        "sha256": hashlib.sha256(b"3\n7\n11\n").hexdigest(),
        "encoding": cert["forget_set"]["encoding"],
    }
    assert cert["method"] == {"name": "finetune", "params": {"epochs": 5, "lr": 1e-3, "betas": [0.9, 0.999]}}
    assert cert["audit"]["forget_accuracy"] == {"value": 0.25, "gold": 0.2, "gap_to_gold": pytest.approx(0.05)}
    assert cert["audit"]["mia"]["gap_to_gold"] == 0.0
    assert cert["audit"]["zrf"] == {"value": None}  # NaN has no strict-JSON form
    assert cert["created_utc"] == "2026-01-02T03:04:05Z"
    assert cert["versions"] == {
        "obliviate": obliviate.__version__,
        "torch": torch.__version__,
        "numpy": np.__version__,
        "python": platform.python_version(),
    }
    assert (cert["task"], cert["dataset"], cert["forget_spec"]) == ("classification", "digits", "random:0.1")


def test_identical_inputs_give_identical_certificates_and_hashes():
    first, _ = certificate()
    second, _ = certificate(model_before=tiny_model(0), model_after=tiny_model(1), forget_ids=np.array([11, 7, 3]))
    assert first == second
    assert len(first["certificate_sha256"]) == 64


def test_forget_ids_hash_ignores_order_and_container_but_not_content():
    reference = forget_ids_sha256([3, 7, 11])
    assert forget_ids_sha256(np.array([11, 3, 7])) == reference
    assert forget_ids_sha256(torch.tensor([7, 11, 3])) == reference
    assert forget_ids_sha256([3, 7, 12]) != reference
    assert forget_ids_sha256(["b", "a"]) == hashlib.sha256(b"a\nb\n").hexdigest()


@pytest.mark.parametrize(
    "bad, message",
    [([], "empty"), (np.array([True, False]), "boolean mask"), ([1, "a"], "all integers or all strings"), ("17", "not a single string")],
)
def test_forget_ids_hash_refuses_ambiguous_identifiers(bad, message):
    with pytest.raises(InvalidRequestError, match=message):
        forget_ids_sha256(bad)


def test_verification_passes_for_the_certified_weights_and_fails_after_tampering():
    cert, arguments = certificate()
    after = arguments["model_after"]
    assert verify_certificate(cert, after, model_before=arguments["model_before"], forget_ids=[3, 7, 11])
    tampered = copy.deepcopy(after)
    with torch.no_grad():
        tampered[0].weight[0, 0] += 1e-6
    assert not verify_certificate(cert, tampered)
    assert not verify_certificate(cert, after, forget_ids=[3, 7])
    assert not verify_certificate(cert, after, model_before=after)


def test_verification_fails_when_the_certificate_itself_is_edited():
    cert, arguments = certificate()
    edited = copy.deepcopy(cert)
    edited["audit"]["forget_accuracy"]["value"] = 0.2
    assert not verify_certificate(edited, arguments["model_after"])
    stripped = {k: v for k, v in cert.items() if k != "certificate_sha256"}
    assert not verify_certificate(stripped, arguments["model_after"])
    with pytest.raises(DataError, match="not an obliviate certificate"):
        verify_certificate({"schema": "something else"}, arguments["model_after"])


def test_written_certificate_reads_back_and_verifies_leaving_no_temporary_files(tmp_path):
    cert, arguments = certificate()
    path = write_certificate(cert, tmp_path / "deletions" / "cert.json")
    assert sorted(p.name for p in path.parent.iterdir()) == ["cert.json"]
    json.loads(path.read_text())  # strict JSON (no NaN)
    loaded = read_certificate(path)
    assert loaded == cert
    assert verify_certificate(loaded, arguments["model_after"])


def test_reading_a_broken_certificate_raises_data_error(tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        read_certificate(tmp_path / "missing.json")
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    with pytest.raises(DataError, match="not valid JSON"):
        read_certificate(broken)


def test_naive_timestamps_are_refused():
    with pytest.raises(InvalidParameterError, match="timezone-aware"):
        certificate(created=datetime(2026, 1, 1))


def test_gap_to_gold_is_the_signed_difference():
    assert gap_to_gold(0.3, 0.1) == pytest.approx(0.2, abs=1e-15)
    assert gap_to_gold(0.1, 0.3) == pytest.approx(-0.2, abs=1e-15)
    assert np.isnan(gap_to_gold(float("nan"), 0.3))
    assert gaps_to_gold({"a": 1.0, "b": 2.0}, {"b": 0.5, "c": 9.0}) == {"b": 1.5}
