"""Loaders on small files made here (FER2013 CSV, class folders, clip folders) and the stand-ins."""

from __future__ import annotations

import csv

import numpy as np
import pytest
from PIL import Image

from obliviate.core.errors import DataError, InvalidParameterError
from obliviate.nas.data import (
    MOTION_CLASSES,
    load_digits_images,
    load_fer2013_csv,
    load_image_folder,
    load_micro_sequences,
    make_digits_motion,
)


def _write_fer(path, rows):
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["emotion", "pixels", "Usage"])
        writer.writerows(rows)


def test_fer2013_csv_reads_pixels_labels_and_usage(tmp_path):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(6, 4, 4))
    usage = ["Training", "Training", "PublicTest", "PrivateTest", "Training", "PrivateTest"]
    _write_fer(
        tmp_path / "fer.csv",
        [[i % 7, " ".join(map(str, img.ravel())), u] for i, (img, u) in enumerate(zip(images, usage))],
    )
    data = load_fer2013_csv(tmp_path / "fer.csv")
    assert data.images.shape == (6, 1, 4, 4)
    assert np.allclose(data.images[:, 0] * 255, images, atol=1e-4)
    assert data.labels.tolist() == [0, 1, 2, 3, 4, 5]
    assert data.classes[3] == "happy"
    assert data.split.tolist() == ["train", "train", "val", "test", "train", "test"]
    assert load_fer2013_csv(tmp_path / "fer.csv", size=8).images.shape == (6, 1, 8, 8)


@pytest.mark.parametrize(
    "row, message",
    [
        ([0, "1 2 3", "Training"], "square"),
        ([0, "1 2 3 300", "Training"], "0..255"),
        (["x", "1 2 3 4", "Training"], "integer"),
        ([0, "1 2 3 4", "Validation"], "Usage"),
    ],
)
def test_fer2013_csv_bad_rows_get_data_errors_naming_the_line(tmp_path, row, message):
    _write_fer(tmp_path / "bad.csv", [[1, "1 2 3 4", "Training"], row])
    with pytest.raises(DataError, match=message) as info:
        load_fer2013_csv(tmp_path / "bad.csv")
    assert "line 3" in str(info.value)


def test_fer2013_csv_missing_file_and_columns(tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        load_fer2013_csv(tmp_path / "nope.csv")
    (tmp_path / "cols.csv").write_text("label,image\n1,2\n")
    with pytest.raises(DataError, match="emotion,pixels"):
        load_fer2013_csv(tmp_path / "cols.csv")


def _png(path, array):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.asarray(array, dtype=np.uint8)).save(path)


def test_image_folder_reads_one_class_per_folder(tmp_path):
    for k, name in enumerate(["anger", "happy", "surprise"]):
        for i in range(2):
            _png(tmp_path / name / f"img{i}.png", np.full((5, 5), 40 * k + i))
    (tmp_path / "notes.txt").write_text("ignored")
    data = load_image_folder(tmp_path)
    assert data.classes == ("anger", "happy", "surprise")
    assert data.labels.tolist() == [0, 0, 1, 1, 2, 2]
    assert data.images[2, 0, 0, 0] == pytest.approx(40 / 255)
    assert load_image_folder(tmp_path, size=8).images.shape == (6, 1, 8, 8)


def test_image_folder_errors(tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        load_image_folder(tmp_path / "missing")
    _png(tmp_path / "only" / "a.png", np.zeros((4, 4)))
    with pytest.raises(DataError, match="two class folders"):
        load_image_folder(tmp_path)
    _png(tmp_path / "other" / "b.png", np.zeros((6, 6)))
    with pytest.raises(DataError, match="different sizes"):
        load_image_folder(tmp_path)
    (tmp_path / "other" / "c.png").write_bytes(b"not an image")
    with pytest.raises(DataError, match="cannot read image"):
        load_image_folder(tmp_path, size=4)


def _clip(folder, values):
    # frame names sort naturally: img9 before img10
    for t, value in zip((9, 10, 11), values):
        _png(folder / f"img{t}.jpg" if False else folder / f"img{t}.png", np.full((4, 4), value))


def test_micro_sequences_with_a_labels_csv(tmp_path):
    root = tmp_path / "clips"
    _clip(root / "sub01" / "EP01", [10, 20, 30])
    _clip(root / "sub01" / "EP02", [30, 20, 10])
    _clip(root / "sub02" / "EP01", [5, 5, 5])
    (tmp_path / "labels.csv").write_text(
        "Subject,Filename,Estimated Emotion\n1,EP01,happiness\nsub01,EP02,disgust\n2,EP01,happiness\n"
    )
    data = load_micro_sequences(root, tmp_path / "labels.csv")
    assert data.classes == ("disgust", "happiness")
    assert data.labels.tolist() == [1, 0, 1]
    assert data.subjects.tolist() == ["sub01", "sub01", "sub02"]
    assert np.allclose(data.clips[0][:, 0, 0] * 255, [10, 20, 30])  # img9, img10, img11 in order
    images = data.to_images("dynamic")
    assert images.subjects.tolist() == data.subjects.tolist()
    assert images.images[0, 0].max() == pytest.approx(1.0) and images.images[1, 0].min() == pytest.approx(
        -1.0
    )
    assert np.all(images.images[2] == 0)  # a constant clip


def test_micro_sequences_in_label_subject_clip_folders(tmp_path):
    _clip(tmp_path / "negative" / "s1" / "s1_ne_01", [1, 2, 3])
    _clip(tmp_path / "positive" / "s2" / "s2_po_01", [3, 2, 1])
    data = load_micro_sequences(tmp_path)
    assert data.classes == ("negative", "positive") and data.subjects.tolist() == ["s1", "s2"]


def test_micro_sequences_errors(tmp_path):
    root = tmp_path / "clips"
    _clip(root / "sub01" / "EP01", [1, 2, 3])
    (tmp_path / "labels.csv").write_text("subject,clip,label\nsub01,EP09,happy\n")
    with pytest.raises(DataError, match="no clip folder"):
        load_micro_sequences(root, tmp_path / "labels.csv")
    (tmp_path / "cols.csv").write_text("who,what\nsub01,EP01\n")
    with pytest.raises(DataError, match="column named"):
        load_micro_sequences(root, tmp_path / "cols.csv")
    (tmp_path / "one.csv").write_text("subject,clip,label\nsub01,EP01,happy\n")
    with pytest.raises(DataError, match="at least two"):
        load_micro_sequences(root, tmp_path / "one.csv")
    _png(root / "sub01" / "EP02" / "only.png", np.zeros((4, 4)))
    (tmp_path / "short.csv").write_text("subject,clip,label\nsub01,EP01,happy\nsub01,EP02,sad\n")
    with pytest.raises(DataError, match="at least 2 frames"):
        load_micro_sequences(root, tmp_path / "short.csv")


def test_builtin_stand_ins():
    digits = load_digits_images()
    assert digits.images.shape == (1797, 1, 8, 8) and 0 <= digits.images.min() and digits.images.max() <= 1
    clips = make_digits_motion(subjects=3, clips_per_class=2, frames=6, size=12, seed=0)
    assert len(clips.clips) == 3 * 2 * len(MOTION_CLASSES) and clips.clips[0].shape == (6, 12, 12)
    assert sorted(set(clips.subjects)) == ["s00", "s01", "s02"]
    assert np.bincount(clips.labels).tolist() == [6] * len(MOTION_CLASSES)
    again = make_digits_motion(subjects=3, clips_per_class=2, frames=6, size=12, seed=0)
    assert all(np.array_equal(a, b) for a, b in zip(clips.clips, again.clips))
    with pytest.raises(InvalidParameterError, match="subjects >= 2"):
        make_digits_motion(subjects=1)
