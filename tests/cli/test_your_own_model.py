"""A user's own network and data through ``obliviate forget`` and ``obliviate verify``.

The network is a plain ``nn.Sequential`` the toolkit did not define, built by the user's
factory ``usernet_e2e:build``; the data is a CSV with the user's ids and split.
"""

from __future__ import annotations

import json
import sys

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from obliviate.cli.main import app
from obliviate.core.checkpoint import save_model
from obliviate.core.training import fit

FACTORY_SOURCE = '''
from torch import nn


def build():
    return nn.Sequential(nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 10))
'''


@pytest.fixture(scope="module")
def user_files(tmp_path_factory):
    """usernet_e2e.py, data.csv (ids like "row-17", a split column) and the user's trained weights."""
    from sklearn.datasets import load_digits

    root = tmp_path_factory.mktemp("user")
    (root / "usernet_e2e.py").write_text(FACTORY_SOURCE)
    digits = load_digits()
    rng = np.random.default_rng(0)
    split = np.where(rng.random(len(digits.target)) < 0.25, "test", "train")
    header = ["id", *[f"px{i}" for i in range(64)], "label", "split"]
    rows = [
        [f"row-{i}", *map(str, (digits.data[i] / 16.0).round(4)), str(digits.target[i]), split[i]]
        for i in range(len(digits.target))
    ]
    (root / "data.csv").write_text("\n".join(",".join(r) for r in [header, *rows]) + "\n")
    sys.path.insert(0, str(root))
    from usernet_e2e import build  # the user's own module

    torch.manual_seed(0)
    model = build()
    train = split == "train"
    x = torch.tensor(digits.data[train] / 16.0, dtype=torch.float32)
    y = torch.tensor(digits.target[train])
    fit(model, torch.utils.data.TensorDataset(x, y), epochs=15, seed=0)
    save_model(model, root / "mine.safetensors")
    test_ids = [f"row-{i}" for i in np.flatnonzero(~train)]
    threes = [f"row-{i}" for i in np.flatnonzero(train & (digits.target == 3))]
    yield root, threes, test_ids
    sys.path.remove(str(root))


def _forget(root, ids_file, out, *extra):
    return CliRunner().invoke(
        app,
        ["forget", "--task", "classification", "--model-file", str(root / "mine.safetensors"),
         "--factory", "usernet_e2e:build", "--data", str(root / "data.csv"), "--label-column", "label",
         "--id-column", "id", "--split-column", "split", "--forget", f"ids:{ids_file}", "--method", "finetune",
         "--set", "epochs=2", "--out", str(out), "--quiet", *extra],
    )


def test_forget_the_users_own_ids_from_their_own_network_and_verify(user_files, tmp_path):
    root, threes, _ = user_files
    ids = tmp_path / "ids.txt"
    ids.write_text("\n".join(threes) + "\n")
    result = _forget(root, ids, tmp_path / "deletion")
    assert result.exit_code == 0, result.output
    cert = json.loads((tmp_path / "deletion" / "certificate.json").read_text())
    assert cert["forget_set"]["count"] == len(threes)
    assert cert["request"]["model"] == "usernet_e2e:build" and cert["request"]["data_sha256"]
    assert cert["request"]["data_split"]["test"] > 0
    verified = CliRunner().invoke(
        app,
        ["verify", str(tmp_path / "deletion" / "certificate.json"), "--model", str(tmp_path / "deletion" / "model.safetensors"),
         "--before", str(root / "mine.safetensors"), "--ids", str(ids)],
    )
    assert verified.exit_code == 0, verified.output
    # The same deletion again into the same folder is refused; --force allows it.
    again = _forget(root, ids, tmp_path / "deletion")
    assert again.exit_code == 2 and "already holds" in again.output
    assert _forget(root, ids, tmp_path / "deletion", "--force").exit_code == 0


def test_one_record_is_forgotten_and_the_attack_is_reported_not_applicable(user_files, tmp_path):
    root, threes, _ = user_files
    ids = tmp_path / "one.txt"
    ids.write_text(threes[0] + "\n")
    result = _forget(root, ids, tmp_path / "one")
    assert result.exit_code == 0, result.output
    cert = json.loads((tmp_path / "one" / "certificate.json").read_text())
    assert cert["forget_set"]["count"] == 1
    assert cert["audit"]["mia_auc"]["value"] is None
    assert "not applicable" in cert["request"]["not_applicable"]["mia_auc"]
    assert "mia_auc: not applicable" in result.stdout


def test_held_out_or_unknown_ids_are_refused_before_anything_is_written(user_files, tmp_path):
    root, _, test_ids = user_files
    ids = tmp_path / "ids.txt"
    ids.write_text(test_ids[0] + "\n")
    result = _forget(root, ids, tmp_path / "out")
    assert result.exit_code == 2 and "held-out (test) rows" in result.output
    ids.write_text("row-999999\n")
    result = _forget(root, ids, tmp_path / "out")
    assert result.exit_code == 2 and "not in the data's id column" in result.output
    assert not (tmp_path / "out").exists()


def test_non_finite_weights_are_refused(user_files, tmp_path):
    root, threes, _ = user_files
    from usernet_e2e import build

    broken = build()
    with torch.no_grad():
        broken[0].weight[0, 0] = float("nan")
    save_model(broken, tmp_path / "broken.safetensors")
    ids = tmp_path / "ids.txt"
    ids.write_text(threes[0] + "\n")
    result = CliRunner().invoke(
        app,
        ["forget", "--model-file", str(tmp_path / "broken.safetensors"), "--factory", "usernet_e2e:build",
         "--data", str(root / "data.csv"), "--label-column", "label", "--id-column", "id", "--split-column", "split",
         "--forget", f"ids:{ids}", "--method", "finetune", "--out", str(tmp_path / "out"), "--quiet"],
    )
    assert result.exit_code == 2 and "NaN or infinite weights" in result.output
    assert not (tmp_path / "out").exists()


def test_an_unwritable_out_is_refused_before_any_computation(user_files, tmp_path):
    root, threes, _ = user_files
    ids = tmp_path / "ids.txt"
    ids.write_text(threes[0] + "\n")
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    result = _forget(root, ids, blocker)
    assert result.exit_code == 2 and "is a file, not a folder" in result.output


def test_a_bad_factory_is_one_clear_line(user_files, tmp_path):
    root, threes, _ = user_files
    ids = tmp_path / "ids.txt"
    ids.write_text(threes[0] + "\n")
    result = CliRunner().invoke(
        app,
        ["forget", "--model-file", str(root / "mine.safetensors"), "--factory", "no_such_module:build",
         "--data", str(root / "data.csv"), "--label-column", "label", "--split-column", "split",
         "--forget", "class:3", "--method", "finetune", "--out", str(tmp_path / "out"), "--quiet"],
    )
    assert result.exit_code == 2 and "cannot import the factory's module 'no_such_module'" in result.output


def test_audit_gives_the_bench_figures_for_the_users_model_on_their_data(user_files, tmp_path):
    root, threes, _ = user_files
    ids = tmp_path / "ids.txt"
    ids.write_text("\n".join(threes) + "\n")
    assert _forget(root, ids, tmp_path / "deletion").exit_code == 0
    common = ["--task", "classification", "--factory", "usernet_e2e:build", "--data", str(root / "data.csv"),
              "--label-column", "label", "--id-column", "id", "--split-column", "split", "--forget", f"ids:{ids}"]
    result = CliRunner().invoke(
        app,
        ["audit", "--model-file", str(tmp_path / "deletion" / "model.safetensors"), *common,
         "--original", str(root / "mine.safetensors"), "--relearn", "--json"],
    )
    assert result.exit_code == 0, result.output
    figures = json.loads(result.stdout)["figures"]
    for key in ("forget_accuracy", "retain_accuracy", "test_accuracy", "mia", "mia_auc", "relearn_steps"):
        assert key in figures
    before = json.loads(
        CliRunner().invoke(app, ["audit", "--model-file", str(root / "mine.safetensors"), *common, "--json"]).stdout
    )["figures"]
    assert before["forget_accuracy"] > 0.9  # the user's model knows the rows named by ids.txt
    missing = CliRunner().invoke(app, ["audit", "--model-file", str(root / "mine.safetensors"), *common, "--relearn"])
    assert missing.exit_code == 2 and "--original" in missing.output
