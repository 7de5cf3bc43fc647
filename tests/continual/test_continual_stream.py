"""Stream parsing, the reservoir buffer and resumable safetensors state."""

from __future__ import annotations

import copy

import pytest
import torch

from obliviate.continual import engine
from obliviate.continual.state import Buffer, load_stream_state, save_stream_state
from obliviate.continual.stream import parse_stream, read_ids
from obliviate.core.errors import DataError, InvalidRequestError


def test_parse_stream_reads_learn_unlearn_and_ids(tmp_path):
    ops = parse_stream("learn:0-1, learn:2+4, unlearn:2, unlearn:ids:f.txt", num_classes=10)
    assert [op.kind for op in ops] == ["learn", "learn", "unlearn", "unlearn"]
    assert ops[1].classes == (2, 4) and ops[3].ids_file == "f.txt"
    assert str(ops[0]) == "learn:0-1"


@pytest.mark.parametrize("bad", ["teach:0-1", "learn:0-1,learn:1-2", "learn:0-1,unlearn:5", "learn:0-12", "learn:a"])
def test_malformed_streams_raise_a_typed_error(bad):
    with pytest.raises(InvalidRequestError):
        parse_stream(bad, num_classes=10)


def test_ids_file_is_checked(tmp_path):
    path = tmp_path / "ids.txt"
    path.write_text("3\n1 # a comment\n3\n")
    assert read_ids(path, 10).tolist() == [1, 3]
    path.write_text("11\n")
    with pytest.raises(DataError):
        read_ids(path, 10)
    with pytest.raises(DataError):
        read_ids(tmp_path / "missing.txt", 10)


def test_reservoir_buffer_is_bounded_and_never_takes_excluded_ids():
    b = Buffer(size=20)
    g = torch.Generator().manual_seed(0)
    x = torch.randn(100, 3)
    y = torch.arange(100) % 4
    b.add(x, y, torch.randn(100, 4), torch.arange(100), 0, g, exclude={5, 6, 7})
    assert len(b) == 20 and b.seen == 97
    assert not {5, 6, 7} & set(b.ids.tolist())
    removed = b.remove({int(i) for i in b.ids[:3]})
    assert removed == 3 and len(b) == 17


def test_saved_state_resumes_the_stream_identically(tmp_path, continual_runs):
    sc = continual_runs.scenarios[0]
    model, state, _ = sc._prefix()
    path = tmp_path / "stream.safetensors"
    save_stream_state(path, model, state, {"stream": sc.stream})
    fresh = sc.new_model()
    loaded, meta = load_stream_state(path, fresh)
    assert meta == {"stream": sc.stream} and loaded.done == state.done
    assert torch.equal(loaded.buffer.ids, state.buffer.ids)
    a, b = copy.deepcopy(model), fresh
    sa, sb = copy.deepcopy(state), loaded
    ra = engine.run(a, sa, sc.ops, sc.data, sc.step_ids, "cl", sc.settings, 0)
    rb = engine.run(b, sb, sc.ops, sc.data, sc.step_ids, "cl", sc.settings, 0)
    assert ra == rb
    assert all(torch.equal(u, v) for u, v in zip(a.state_dict().values(), b.state_dict().values()))
    assert not path.read_bytes().startswith(b"\x80")  # safetensors, not a pickle


def test_a_sample_deletion_purges_exactly_those_samples(tmp_path):
    from obliviate.continual.scenario import ContinualScenario
    from obliviate.core.registry import get_method
    from obliviate.data.datasets import load_classification

    data = load_classification("digits", seed=0)
    chosen = [int(i) for i in (data.y_train == 0).nonzero()[0][:15]]
    path = tmp_path / "forget.txt"
    path.write_text("\n".join(map(str, chosen)))
    sc = ContinualScenario(seed=0, stream=f"learn:0-1,learn:2-3,unlearn:ids:{path}")
    assert sc.forget_classes == () and sorted(sc.forgotten.tolist()) == sorted(chosen)
    assert len(sc.request().forget) == 15
    result = get_method("continual", "cl_unlearn")().unlearn(sc.original(), sc.request())
    assert not set(result.info["buffer_ids"]) & set(chosen)
    metrics = sc.audit(result.model)
    gold = sc.audit(get_method("continual", "retrain")().unlearn(sc.original(), sc.request()).model)
    # 15 digits of a class gold still knows: gold classifies them from the rest of the class.
    assert abs(metrics["forgotten_accuracy"] - gold["forgotten_accuracy"]) <= 0.1
    assert metrics["retained_accuracy"] > 0.9
