"""Data for expression recognition: the formats users have, and the built-in stand-ins.

User formats (each returns an :class:`ImageData` or a :class:`SequenceData`):

* :func:`load_fer2013_csv` - the FER2013 CSV, columns ``emotion,pixels,Usage``; ``pixels`` is a
  space-separated row-major grey image (48x48 in the original), ``Usage`` is ``Training``,
  ``PublicTest`` or ``PrivateTest``.
* :func:`load_image_folder` - one folder of images per class (CK+, RAF-DB, JAFFE style
  exports): ``root/<class>/<image>.png|jpg|...``.
* :func:`load_micro_sequences` - micro-expression clips as folders of frames (CASME II, SAMM,
  SMIC style): ``root/<subject>/<clip>/<frame>`` with a CSV of ``subject,clip,label`` rows, or
  without a CSV ``root/<label>/<subject>/<clip>/<frame>``. Frames are ordered by the numbers in
  their names (``img9`` before ``img10``).

Built-in stand-ins (no facial data ships with the package; these are *not* faces):

* ``digits`` - scikit-learn's 1,797 real 8x8 handwritten digits, 10 classes, standing in for a
  macro-expression image set.
* ``digits-motion`` - short clips made by moving and deforming real digit images over time
  (:func:`make_digits_motion`): the label is the motion (shift left/right, expand, contract),
  the subject is the group of source images a clip was made from. It stands in for a
  micro-expression set: a subtle, subject-specific change over time that a single frame does
  not show.
"""

from __future__ import annotations

import csv
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np

from obliviate.core.errors import DataError, InvalidParameterError
from obliviate.nas.rank_pooling import dynamic_image, mean_image

FER2013_CLASSES = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
FER2013_SPLITS = {"Training": "train", "PublicTest": "val", "PrivateTest": "test"}
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".pgm", ".tif", ".tiff", ".gif")
MOTION_CLASSES = ("shift_left", "shift_right", "expand", "contract")


@dataclass
class ImageData:
    """Grey images ``(N, 1, H, W)`` in ``[0, 1]`` (or ``[-1, 1]`` for dynamic images) with labels.

    ``split`` (``train``/``val``/``test`` per image) is kept when the file defines one (FER2013's
    ``Usage``); ``subjects`` when images come from subjects (dynamic images of clips).
    """

    images: np.ndarray
    labels: np.ndarray
    classes: tuple[str, ...]
    source: str
    split: np.ndarray | None = None
    subjects: np.ndarray | None = None

    def __post_init__(self) -> None:
        self.images = np.ascontiguousarray(self.images, dtype=np.float32)
        self.labels = np.asarray(self.labels, dtype=np.int64)
        if self.images.ndim != 4 or self.images.shape[1] != 1:
            raise DataError(f"images must have shape (N, 1, H, W); got {self.images.shape}")
        if self.images.shape[0] != self.labels.shape[0] or self.images.shape[0] == 0:
            raise DataError(
                f"{self.images.shape[0]} images but {self.labels.shape[0]} labels; need the same, positive number"
            )
        if self.labels.min() < 0 or self.labels.max() >= len(self.classes):
            raise DataError(f"labels must lie in 0..{len(self.classes) - 1} for classes {self.classes}")

    @property
    def num_classes(self) -> int:
        """The number of classes."""
        return len(self.classes)

    def subset(self, indices: np.ndarray) -> ImageData:
        """The images at ``indices`` (same classes)."""
        return ImageData(
            self.images[indices], self.labels[indices], self.classes, self.source,
            None if self.split is None else self.split[indices],
            None if self.subjects is None else self.subjects[indices],
        )  # fmt: skip


@dataclass
class SequenceData:
    """Clips of grey frames, each ``(T_i, H, W)`` in ``[0, 1]``, with a label and a subject id."""

    clips: list[np.ndarray]
    labels: np.ndarray
    subjects: np.ndarray
    classes: tuple[str, ...]
    source: str
    clip_ids: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.labels = np.asarray(self.labels, dtype=np.int64)
        self.subjects = np.asarray(self.subjects).astype(str)
        if not (len(self.clips) == self.labels.size == self.subjects.size) or not self.clips:
            raise DataError(
                f"need one label and one subject per clip; got {len(self.clips)} clips, {self.labels.size} labels, {self.subjects.size} subjects"
            )
        if not self.clip_ids:
            self.clip_ids = [f"clip{i}" for i in range(len(self.clips))]

    def to_images(self, representation: str = "dynamic") -> ImageData:
        """One image per clip: ``dynamic`` (approximate rank pooling) or ``mean`` (time average).

        The subjects are kept so that :func:`obliviate.nas.protocols.loso_splits` can use them.
        """
        if representation == "dynamic":
            pool = dynamic_image
        elif representation == "mean":
            pool = mean_image
        else:
            raise InvalidParameterError(f"representation must be 'dynamic' or 'mean'; got {representation!r}")
        images = np.stack([pool(clip) for clip in self.clips])[:, None]
        return ImageData(
            images,
            self.labels,
            self.classes,
            f"{self.source} ({representation} images)",
            subjects=self.subjects,
        )


def resize_images(images: np.ndarray, size: int) -> np.ndarray:
    """Resize ``(N, 1, H, W)`` images to ``size x size`` (area averaging down, bilinear up)."""
    import torch
    import torch.nn.functional as F

    if size < 4:
        raise InvalidParameterError(f"size must be >= 4 pixels; got {size}")
    tensor = torch.as_tensor(np.asarray(images, dtype=np.float32))
    if tensor.shape[-1] == size and tensor.shape[-2] == size:
        return tensor.numpy()
    shrinking = tensor.shape[-1] > size
    mode = "area" if shrinking else "bilinear"
    out = F.interpolate(
        tensor, size=(size, size), mode=mode, **({} if shrinking else {"align_corners": False})
    )
    return out.numpy()


def _natural_key(name: str) -> list:
    return [int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", name)]


def _read_grey(path: Path, size: int | None) -> np.ndarray:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            grey = image.convert("L")
            if size is not None and grey.size != (size, size):
                grey = grey.resize((size, size), Image.BILINEAR)
            return np.asarray(grey, dtype=np.float32) / 255.0
    except (UnidentifiedImageError, OSError) as exc:
        raise DataError(
            f"cannot read image '{path}': {exc}; give PNG, JPEG, BMP, PGM, TIFF or GIF files"
        ) from exc


def _stack(arrays: list[np.ndarray], where: str) -> np.ndarray:
    shapes = {a.shape for a in arrays}
    if len(shapes) != 1:
        raise DataError(
            f"images under '{where}' have different sizes {sorted(shapes)}; pass size=N to resize them all to NxN"
        )
    return np.stack(arrays)


def _images_in(folder: Path) -> list[Path]:
    return sorted(
        (p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS),
        key=lambda p: _natural_key(p.name),
    )


def _check_dir(root: str | os.PathLike, what: str) -> Path:
    path = Path(root)
    if not path.is_dir():
        raise DataError(f"{what} folder '{path}' does not exist or is not a folder")
    return path


def load_fer2013_csv(
    path: str | os.PathLike, *, size: int | None = None, max_rows: int | None = None
) -> ImageData:
    """Read a FER2013-format CSV (``emotion,pixels,Usage``) into :class:`ImageData`.

    Args:
        path: the CSV file (``fer2013.csv`` or any file with these columns; ``Usage`` optional).
        size: resize the square images to ``size x size`` (e.g. 24 for fast runs).
        max_rows: read at most this many rows.

    Returns:
        Images in ``[0, 1]``; classes are FER2013's seven emotions when the labels are 0..6;
        ``split`` maps ``Training``/``PublicTest``/``PrivateTest`` to ``train``/``val``/``test``.

    Raises:
        DataError: missing file or column, a pixel string that is not a square of integers in
            0..255, rows of different sizes, a label that is not a non-negative integer, an
            unknown ``Usage``.
    """
    file = Path(path)
    if not file.is_file():
        raise DataError(f"FER2013 CSV '{file}' does not exist; it needs the columns emotion,pixels,Usage")
    images, labels, usage = [], [], []
    with file.open(newline="") as handle:
        reader = csv.DictReader(handle)
        columns = {name.strip().lower(): name for name in (reader.fieldnames or [])}
        if "emotion" not in columns or "pixels" not in columns:
            raise DataError(
                f"'{file}' must have the columns emotion,pixels (and optionally Usage); found {reader.fieldnames}"
            )
        for line, row in enumerate(reader, start=2):
            if max_rows is not None and len(images) >= max_rows:
                break
            try:
                label = int(row[columns["emotion"]])
                pixels = np.array(row[columns["pixels"]].split(), dtype=np.int64)
            except (TypeError, ValueError) as exc:
                raise DataError(
                    f"'{file}' line {line}: emotion must be an integer and pixels space-separated integers ({exc})"
                ) from exc
            side = int(round(np.sqrt(pixels.size)))
            if pixels.size == 0 or side * side != pixels.size:
                raise DataError(f"'{file}' line {line}: {pixels.size} pixels do not form a square image")
            if pixels.min() < 0 or pixels.max() > 255 or label < 0:
                raise DataError(f"'{file}' line {line}: pixels must be in 0..255 and emotion >= 0")
            if images and pixels.size != images[0].size:
                raise DataError(
                    f"'{file}' line {line}: {pixels.size} pixels, but the first row has {images[0].size}"
                )
            images.append(pixels.reshape(side, side).astype(np.float32) / 255.0)
            labels.append(label)
            if "usage" in columns:
                value = (row[columns["usage"]] or "").strip()
                if value not in FER2013_SPLITS:
                    raise DataError(
                        f"'{file}' line {line}: Usage {value!r} is not one of {', '.join(FER2013_SPLITS)}"
                    )
                usage.append(FER2013_SPLITS[value])
    if not images:
        raise DataError(f"'{file}' has no data rows")
    array = np.stack(images)[:, None]
    if size is not None:
        array = resize_images(array, size)
    top = max(labels)
    classes = FER2013_CLASSES if top < len(FER2013_CLASSES) else tuple(str(i) for i in range(top + 1))
    return ImageData(
        array,
        np.asarray(labels),
        classes,
        f"FER2013 CSV {file.name}",
        split=np.asarray(usage) if usage else None,
    )


def load_image_folder(root: str | os.PathLike, *, size: int | None = None) -> ImageData:
    """Read ``root/<class>/<image>`` files (grey-converted) into :class:`ImageData`.

    Classes are the sub-folder names in sorted order.

    Raises:
        DataError: a missing folder, fewer than two class folders with images, an unreadable
            image, or images of different sizes without ``size``.
    """
    base = _check_dir(root, "image")
    classes, images, labels = [], [], []
    for folder in sorted((p for p in base.iterdir() if p.is_dir()), key=lambda p: p.name):
        files = _images_in(folder)
        if not files:
            continue
        classes.append(folder.name)
        for file in files:
            images.append(_read_grey(file, size))
            labels.append(len(classes) - 1)
    if len(classes) < 2:
        raise DataError(
            f"'{base}' needs at least two class folders with images ({', '.join(IMAGE_EXTENSIONS)}); found {len(classes)}"
        )
    return ImageData(
        _stack(images, str(base))[:, None], np.asarray(labels), tuple(classes), f"image folder {base.name}"
    )


def _read_clip(folder: Path, size: int | None) -> np.ndarray:
    files = _images_in(folder)
    if len(files) < 2:
        raise DataError(f"clip folder '{folder}' needs at least 2 frames; found {len(files)}")
    return _stack([_read_grey(f, size) for f in files], str(folder))


def _column(columns: dict[str, str], names: Sequence[str], file: Path) -> str:
    for name in names:
        if name in columns:
            return columns[name]
    raise DataError(
        f"labels CSV '{file}' needs a column named one of {list(names)}; found {list(columns.values())}"
    )


def load_micro_sequences(
    root: str | os.PathLike, labels_csv: str | os.PathLike | None = None, *, size: int | None = None
) -> SequenceData:
    """Read micro-expression clips stored as folders of frames, with subject ids.

    Two layouts:

    * with ``labels_csv``: ``root/<subject>/<clip>/<frames>`` and a CSV with columns
      ``subject``, ``clip`` (or ``filename``/``sequence``/``episode``) and ``label`` (or
      ``emotion``/``estimated emotion``), one row per clip (CASME II's coding sheet saved as
      CSV works once its columns are named so). A subject column value ``1`` also matches a
      folder ``sub01``/``s1``.
    * without: ``root/<label>/<subject>/<clip>/<frames>`` (SMIC style).

    Raises:
        DataError: missing folders or clips, a CSV row whose clip folder does not exist, clips
            with under 2 frames, frames of different sizes without ``size``, fewer than two
            classes.
    """
    base = _check_dir(root, "micro-expression")
    entries: list[tuple[Path, str, str]] = []
    if labels_csv is None:
        for label_dir in sorted(p for p in base.iterdir() if p.is_dir()):
            for subject_dir in sorted(p for p in label_dir.iterdir() if p.is_dir()):
                for clip_dir in sorted(
                    (p for p in subject_dir.iterdir() if p.is_dir()), key=lambda p: _natural_key(p.name)
                ):
                    entries.append((clip_dir, subject_dir.name, label_dir.name))
    else:
        file = Path(labels_csv)
        if not file.is_file():
            raise DataError(f"labels CSV '{file}' does not exist; it needs the columns subject,clip,label")
        subject_dirs = {p.name: p for p in base.iterdir() if p.is_dir()}
        with file.open(newline="") as handle:
            reader = csv.DictReader(handle)
            columns = {name.strip().lower(): name for name in (reader.fieldnames or [])}
            subject_col = _column(columns, ("subject", "sub"), file)
            clip_col = _column(columns, ("clip", "filename", "sequence", "episode"), file)
            label_col = _column(columns, ("label", "emotion", "estimated emotion"), file)
            for line, row in enumerate(reader, start=2):
                subject = (row[subject_col] or "").strip()
                clip = (row[clip_col] or "").strip()
                label = (row[label_col] or "").strip()
                if not subject or not clip or not label:
                    raise DataError(f"'{file}' line {line}: subject, clip and label must all be given")
                folder = _subject_folder(subject, subject_dirs)
                if folder is None or not (folder / clip).is_dir():
                    raise DataError(
                        f"'{file}' line {line}: no clip folder '{base / subject / clip}' (looked for subject '{subject}' as a folder name)"
                    )
                entries.append((folder / clip, folder.name, label))
    if not entries:
        raise DataError(f"no clip folders found under '{base}'")
    classes = tuple(sorted({label for _, _, label in entries}, key=_natural_key))
    if len(classes) < 2:
        raise DataError(f"'{base}' has clips of only {len(classes)} class(es) {classes}; need at least two")
    clips = [_read_clip(folder, size) for folder, _, _ in entries]
    if size is None and len({c.shape[1:] for c in clips}) > 1:
        raise DataError(
            f"clips under '{base}' have different frame sizes; pass size=N to resize every frame to NxN"
        )
    return SequenceData(
        clips, np.asarray([classes.index(label) for _, _, label in entries]), np.asarray([s for _, s, _ in entries]),
        classes, f"micro-expression folders {base.name}", [f"{s}/{folder.name}" for folder, s, _ in entries],
    )  # fmt: skip


def _subject_folder(subject: str, folders: dict[str, Path]) -> Path | None:
    if subject in folders:
        return folders[subject]
    if subject.isdigit():
        for name, path in folders.items():
            digits = re.sub(r"\D", "", name)
            if digits and int(digits) == int(subject):
                return path
    return None


def load_digits_images(*, size: int | None = None) -> ImageData:
    """scikit-learn's 1,797 real 8x8 digits scaled to ``[0, 1]``: the macro-expression stand-in."""
    from sklearn.datasets import load_digits

    bunch = load_digits()
    images = (bunch.images.astype(np.float32) / 16.0)[:, None]
    if size is not None:
        images = resize_images(images, size)
    return ImageData(
        images,
        bunch.target,
        tuple(str(i) for i in range(10)),
        "scikit-learn digits (stand-in for a macro-expression set)",
    )


def make_digits_motion(
    *,
    subjects: int = 6,
    clips_per_class: int = 6,
    frames: int = 8,
    size: int = 16,
    noise: float = 0.08,
    seed: int = 0,
) -> SequenceData:
    """Clips of real digit images that move or deform over time: the micro-expression stand-in.

    Each subject owns a disjoint group of source digit images (scikit-learn's digits carry no
    writer ids, so a subject is a group of source images), its own contrast and its own motion
    amplitude. A clip takes one of the subject's images, upsampled to ``size x size`` and placed
    at a random offset, and over ``frames`` frames either shifts it left or right by about one
    pixel or scales it up or down by about 8% (:data:`MOTION_CLASSES`), with Gaussian pixel noise.
    A clip's mean frame is nearly the same for opposite motions, so telling them apart needs
    the temporal order that dynamic imaging keeps.

    Raises:
        InvalidParameterError: for fewer than 2 subjects, 1 clip per class, 2 frames or a size under 8.
    """
    from scipy.ndimage import affine_transform

    if subjects < 2 or clips_per_class < 1 or frames < 2 or size < 8:
        raise InvalidParameterError(
            f"need subjects >= 2, clips_per_class >= 1, frames >= 2 and size >= 8; got {subjects}, {clips_per_class}, {frames}, {size}"
        )
    sources = load_digits_images(size=size).images[:, 0]
    rng = np.random.default_rng(seed)
    order = rng.permutation(sources.shape[0])
    per_subject = len(MOTION_CLASSES) * clips_per_class
    if subjects * per_subject > order.size:
        raise InvalidParameterError(
            f"{subjects} subjects x {per_subject} clips exceed the {order.size} source images"
        )
    centre = (size - 1) / 2.0
    clips, labels, subject_ids, clip_ids = [], [], [], []
    for s in range(subjects):
        gain = rng.uniform(0.7, 1.0)
        amplitude = rng.uniform(0.4, 1.0)
        own = order[s * per_subject : (s + 1) * per_subject]
        for k, index in enumerate(own):
            label = k % len(MOTION_CLASSES)
            offset = rng.uniform(-1.0, 1.0, size=2)
            motion = MOTION_CLASSES[label]
            sequence = []
            for t in range(frames):
                f = t / (frames - 1) - 0.5
                shift = np.array([0.0, 0.0])
                scale = 1.0
                if motion == "shift_left":
                    shift[1] = -amplitude * f * 2
                elif motion == "shift_right":
                    shift[1] = amplitude * f * 2
                elif motion == "expand":
                    scale = 1.0 + 0.06 * amplitude * f * 2
                else:
                    scale = 1.0 - 0.06 * amplitude * f * 2
                # output pixel p samples input at centre + (p - centre - offset - shift) / scale
                matrix = np.eye(2) / scale
                start = centre - (centre + offset + shift) / scale
                frame = affine_transform(sources[index], matrix, offset=start, order=1, mode="constant")
                frame = gain * frame + rng.normal(0.0, noise, size=frame.shape)
                sequence.append(np.clip(frame, 0.0, 1.0).astype(np.float32))
            clips.append(np.stack(sequence))
            labels.append(label)
            subject_ids.append(f"s{s:02d}")
            clip_ids.append(f"s{s:02d}/clip{k:03d}")
    return SequenceData(
        clips,
        np.asarray(labels),
        np.asarray(subject_ids),
        MOTION_CLASSES,
        "digits-motion (stand-in for a micro-expression set)",
        clip_ids,
    )
