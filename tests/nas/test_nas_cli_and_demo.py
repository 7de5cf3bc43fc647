"""``obliviate nas search`` in-process (JSON figures, typed errors) and the demo section."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from obliviate.cli.main import app
from obliviate.nas.demo import run_demo_section


def test_search_digits_json_has_genotype_costs_and_both_controls():
    result = CliRunner().invoke(
        app, ["nas", "search", "--dataset", "digits", "--epochs", "1", "--max-images", "300", "--json", "-q"]
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["protocol"] == "holdout" and report["search"]["genotype"]["normal"]
    assert set(report["models"]) == {"searched", "random", "hand_cnn"}
    assert report["train_images"] + report["test_images"] == 300
    for row in report["models"].values():
        assert {"accuracy", "uar", "uf1", "parameters", "flops", "latency_ms"} <= set(row)
        assert 0.0 <= row["accuracy"] <= 1.0 and row["parameters"] > 0


def test_search_digits_motion_loso_json_has_uf1_and_uar(tmp_path):
    arguments = [
        "nas",
        "search",
        "--dataset",
        "digits-motion",
        "--protocol",
        "loso",
        "--epochs",
        "1",
        "--json",
        "-q",
        "--out",
        str(tmp_path),
    ]
    result = CliRunner().invoke(app, arguments)
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["protocol"] == "loso" and report["search_subjects"] == ["s05", "s06", "s07"]
    assert set(report["evaluated_subjects"]).isdisjoint(report["search_subjects"])
    assert all(0.0 <= row["uf1"] <= 1.0 and 0.0 <= row["uar"] <= 1.0 for row in report["models"].values())
    assert json.loads((tmp_path / "report.json").read_text())["models"].keys() == report["models"].keys()


@pytest.mark.parametrize(
    "arguments, message",
    [
        (["--dataset", "faces"], "--dataset must be one of"),
        (["--dataset", "digits", "--protocol", "loso"], "needs clips with subject ids"),
        (["--dataset", "fer2013"], "needs --path"),
        (["--dataset", "fer2013", "--path", "missing.csv"], "does not exist"),
        (["--dataset", "digits", "--order", "third"], "order must be one of"),
    ],
)
def test_bad_search_options_exit_2_with_one_line(arguments, message):
    result = CliRunner().invoke(app, ["nas", "search", *arguments, "--epochs", "1", "-q"])
    assert result.exit_code == 2, result.output
    assert message in result.output


def test_demo_section_writes_its_files_and_dynamic_images_beat_mean_frames(tmp_path):
    section = run_demo_section(tmp_path, quick=True)
    for path in section["paths"].values():
        assert path.is_file() and path.stat().st_size > 0
    assert section["summary"] and "searched (DARTS)" in section["table_markdown"]
    micro = section["micro"]["models"]
    assert micro["hand_cnn"]["uf1"] > micro["hand_cnn_mean_frames"]["uf1"]


def test_search_on_user_clip_folders_runs_loso_with_a_search_per_fold(tmp_path):
    import numpy as np
    from PIL import Image

    rows = ["subject,clip,label"]
    rng = np.random.default_rng(0)
    for s in range(3):
        for c in range(4):
            label = ("rising", "falling")[c % 2]
            folder = tmp_path / "clips" / f"sub{s + 1:02d}" / f"EP{c:02d}"
            folder.mkdir(parents=True)
            for t in range(4):
                level = 40 * t if label == "rising" else 160 - 40 * t
                frame = np.clip(level + rng.normal(0, 10, (8, 8)), 0, 255).astype(np.uint8)
                Image.fromarray(frame).save(folder / f"img{t + 1}.png")
            rows.append(f"{s + 1},EP{c:02d},{label}")
    (tmp_path / "labels.csv").write_text("\n".join(rows) + "\n")
    arguments = [
        "nas",
        "search",
        "--dataset",
        "micro",
        "--path",
        str(tmp_path / "clips"),
        "--labels",
        str(tmp_path / "labels.csv"),
    ]
    result = CliRunner().invoke(app, [*arguments, "--epochs", "1", "--json", "-q"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["protocol"] == "loso" and report["search_scope"].startswith("per fold")
    assert [fold["subject"] for fold in report["folds"]] == ["sub01", "sub02", "sub03"]
    assert all("genotype" in fold for fold in report["folds"]) and report["classes"] == ["falling", "rising"]
