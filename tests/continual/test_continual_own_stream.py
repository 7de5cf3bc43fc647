"""A user's stream: run it step by step, certify a deletion with `obliviate forget`, resume it."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_digits
from typer.testing import CliRunner

from obliviate.bench.forget import forget_saved_model
from obliviate.cli.main import app
from obliviate.continual import run_stream
from obliviate.continual.state import load_stream_state
from obliviate.core.checkpoint import save_model
from obliviate.core.errors import DataError, InvalidRequestError
from obliviate.core.recipes import build_model

STREAM = "learn:0-1,learn:2-3,learn:4-5,unlearn:2-3,learn:6-7"


def _state_model(path):
    model = build_model("mlp", (64,), 10, seed=0)
    state, meta = load_stream_state(path, model)
    return model, state, meta


def test_run_stops_before_the_deletion_and_forget_certifies_it_then_the_stream_resumes(tmp_path):
    state_file = tmp_path / "stream.safetensors"
    first = run_stream(STREAM, state_file, epochs=2)
    assert first.done == 3 and first.next_deletion == "unlearn:2-3" and len(first.rows) == 3
    _, before, _ = _state_model(state_file)
    assert np.isin(before.buffer.y.numpy(), [2, 3]).any()  # the buffer holds what the deletion must purge

    outcome = forget_saved_model("continual", model_file=state_file, method="cl_unlearn", out_dir=tmp_path / "del",
                                 options={"forget": "class:2-3", "epochs": 2})
    assert outcome.audit["forgotten_accuracy"] <= 0.05
    cert = outcome.certificate
    assert cert["forget_set"]["count"] == len(_train_positions_of([2, 3]))
    _, after, meta = _state_model(outcome.model_path)
    assert after.done == 4 and not np.isin(after.buffer.y.numpy(), [2, 3]).any()
    assert {int(i) for i in after.buffer.ids}.isdisjoint(after.forgotten) and len(after.forgotten) == cert["forget_set"]["count"]

    verified = CliRunner().invoke(app, ["verify", str(outcome.certificate_path), "--model", str(outcome.model_path),
                                        "--before", str(state_file)])
    assert verified.exit_code == 0, verified.output

    resumed = run_stream(STREAM, outcome.model_path, epochs=2, out=tmp_path / "next.safetensors")
    assert resumed.applied == ["learn:6-7"] and resumed.done == 5
    _, final, _ = _state_model(tmp_path / "next.safetensors")
    assert final.forgotten == after.forgotten
    assert not np.isin(final.buffer.ids.numpy(), sorted(final.forgotten)).any()  # never re-enters
    # the certified file is left as it was
    assert CliRunner().invoke(app, ["verify", str(outcome.certificate_path), "--model", str(outcome.model_path)]).exit_code == 0


def _train_positions_of(classes):
    from obliviate.data.datasets import load_classification

    data = load_classification("digits", seed=0)
    return np.flatnonzero(np.isin(data.y_train, classes))


def test_a_stream_that_does_not_continue_the_saved_one_is_refused(tmp_path):
    state_file = tmp_path / "s.safetensors"
    run_stream("learn:0-1,learn:2-3", state_file, epochs=1)
    with pytest.raises(InvalidRequestError, match="must start with"):
        run_stream("learn:0-1,learn:4-5", state_file, epochs=1)
    with pytest.raises(InvalidRequestError, match="next one is not a deletion"):
        forget_saved_model("continual", model_file=state_file, method="er", out_dir=tmp_path / "o",
                           options={"epochs": 1, "stream": "learn:0-1,learn:2-3,unlearn:0-1"})


def test_plain_weights_are_not_a_stream_state(tmp_path):
    weights = tmp_path / "plain.safetensors"
    save_model(build_model("mlp", (64,), 10, seed=0), weights)
    with pytest.raises(DataError, match="not a stream state"):
        forget_saved_model("continual", model_file=weights, method="er", out_dir=tmp_path / "o",
                           options={"forget": "class:2-3", "epochs": 1})


def test_users_table_with_ids_through_the_cli(tmp_path):
    digits = load_digits()
    keep = np.isin(digits.target, [0, 1, 2, 3])
    x, y = digits.data[keep], digits.target[keep]
    frame = pd.DataFrame(x, columns=[f"p{i}" for i in range(64)])
    frame["label"] = y
    frame["uid"] = [f"u{i}" for i in range(len(y))]
    frame["split"] = np.where(np.arange(len(y)) % 4 == 0, "test", "train")
    table = tmp_path / "mine.csv"
    frame.to_csv(table, index=False)
    ids = tmp_path / "forget.txt"
    train_uids = frame.loc[frame.split == "train", "uid"].tolist()
    ids.write_text("\n".join(train_uids[:5]) + "\n")
    state = tmp_path / "mine.safetensors"
    runner = CliRunner()
    ran = runner.invoke(app, ["continual", "run", "--data", str(table), "--label-column", "label", "--id-column", "uid",
                              "--split-column", "split", "--stream", f"learn:0-1,learn:2-3,unlearn:ids:{ids}",
                              "--state", str(state), "--epochs", "2", "--json"])
    assert ran.exit_code == 0, ran.output
    assert json.loads(ran.output)["next_deletion"] == f"unlearn:ids:{ids}"
    out = tmp_path / "del"
    forgot = runner.invoke(app, ["forget", "--task", "continual", "--model-file", str(state), "--forget", f"ids:{ids}",
                                 "--method", "cl_unlearn", "--out", str(out), "--data", str(table), "--label-column",
                                 "label", "--id-column", "uid", "--split-column", "split", "--option", "epochs=2", "-q"])
    assert forgot.exit_code == 0, forgot.output
    verified = runner.invoke(app, ["verify", str(out / "certificate.json"), "--model", str(out / "model.safetensors"),
                                   "--before", str(state), "--ids", str(ids)])
    assert verified.exit_code == 0, verified.output
    model = build_model("mlp", (64,), 4, seed=0)
    after, _ = load_stream_state(out / "model.safetensors", model)
    assert len(after.forgotten) == 5 and after.forgotten.isdisjoint(int(i) for i in after.buffer.ids)
