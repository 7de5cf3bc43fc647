"""Interaction data for recommendation unlearning: loaders, the synthetic set, forget specs.

An :class:`InteractionData` holds implicit feedback as ``(user, item)`` index pairs split
into training, validation and test parts (the MMRec / LATTICE convention: a model trains
on the training pairs and is evaluated by full ranking with its training items masked),
plus any number of item modality matrices (``{"image": (num_items, d1), "text": ...}``,
one row per item; zero matrices is allowed).

Sources:

* :func:`make_synthetic` — the built-in **synthetic** multi-modal set: users and items
  drawn from a latent-factor model, item "image" and "text" features as noisy random
  projections of the item factors, implicit feedback sampled from the scores.
* :func:`load_amazon_baby` — Amazon Baby 5-core in the LATTICE JSON split
  (``{user: [items]}`` per part) with its id maps, checked against sha256 sums.
* :func:`from_table` — a user's own interactions table with their own ids and an optional
  split column; :func:`load_inter_file` reads MMRec's ``.inter`` format into it.
* :func:`load_item_features` — ``.npy`` modality matrices, read with ``allow_pickle=False``.

Forget specs (:func:`parse_recommendation_forget`, :func:`select_forget`):
``interactions:<f>`` (a random fraction of the training interactions), ``users:<f>``
(every training interaction of a fraction of the users), ``items:<f>`` (every training
interaction of a fraction of the items: an item withdrawn) and ``ids:<file>`` (one
``user<TAB>item`` pair per line, in the data set's own ids).
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from obliviate.core.errors import DataError, InvalidForgetSpecError, InvalidRequestError
from obliviate.data.checksums import shared_data_dir, verify_files
from obliviate.data.forget import ForgetSpec, parse_forget_spec

FORGET_KINDS = frozenset({"interactions", "users", "items", "ids"})

AMAZON_BABY_SOURCE = (
    "the LATTICE / MMRec Amazon Baby 5-core split (data/baby/5-core/{train,val,test}.json, item2id.json, "
    "user2id.json of the LATTICE or MMHCL repositories); see ../shared/data/amazon-baby/SOURCE.md"
)
# sha256 of the files listed in ../shared/data/INVENTORY.md (folder amazon-baby/).
AMAZON_BABY_CHECKSUMS: dict[str, str] = {
    "5-core/train.json": "67e9c9571d3e5978d5d5ff23a6e21ebc7638f043f963e4b004e35b3be8cb799b",
    "5-core/val.json": "30858bf9ddb07fd9eeab8f8af70ba5d4660323d2ad1460a44e445e9605d40ded",
    "5-core/test.json": "84150e1ab9d3cf9fa0a2a9f9cae3a2cef90e0c881af6dc2767ccf2bffb47478f",
    "item2id.json": "84fb081461e31be624983a78515f46f62f64f89d4f622495fb50abe49d387ad5",
    "user2id.json": "1d651c05eabbd7be60c33891beca86d1c04e8de8c93ba5b7b16926c6eaf82512",
}

SPLIT_NAMES = {
    "train": "train",
    "training": "train",
    "0": "train",
    "val": "val",
    "valid": "val",
    "validation": "val",
    "1": "val",
    "test": "test",
    "2": "test",
}


@dataclass
class InteractionData:
    """Implicit feedback split into training / validation / test pairs, with item modalities.

    Attributes:
        name: data set name; generated sets say ``synthetic`` in it.
        num_users, num_items: index ranges (users ``0..num_users-1``, items likewise).
        train, val, test: ``(n, 2)`` int64 arrays of ``(user, item)`` pairs.
        item_features: modality name -> float32 ``(num_items, d)`` matrix (may be empty).
        user_ids, item_ids: the data set's own identifier of each index (strings), or ``None``
            when the indices are the identifiers.
        synthetic: true for generated data.
    """

    name: str
    num_users: int
    num_items: int
    train: np.ndarray
    val: np.ndarray
    test: np.ndarray
    item_features: dict[str, np.ndarray] = field(default_factory=dict)
    user_ids: np.ndarray | None = None
    item_ids: np.ndarray | None = None
    synthetic: bool = False

    def __post_init__(self) -> None:
        for part in ("train", "val", "test"):
            pairs = np.asarray(getattr(self, part), dtype=np.int64).reshape(-1, 2)
            if pairs.size and (
                pairs[:, 0].min() < 0
                or pairs[:, 0].max() >= self.num_users
                or pairs[:, 1].min() < 0
                or pairs[:, 1].max() >= self.num_items
            ):
                raise DataError(
                    f"{self.name}: {part} pairs hold ids outside users 0..{self.num_users - 1} / "
                    f"items 0..{self.num_items - 1}"
                )
            setattr(self, part, pairs)
        if len(self.train) == 0:
            raise DataError(f"{self.name}: there are no training interactions")
        keys = self.train[:, 0] * self.num_items + self.train[:, 1]
        if np.unique(keys).size != keys.size:
            raise DataError(f"{self.name}: a (user, item) pair is listed twice in the training part; de-duplicate it")
        features = {}
        for name, matrix in self.item_features.items():
            matrix = np.asarray(matrix, dtype=np.float32)
            if matrix.ndim != 2 or matrix.shape[0] != self.num_items:
                raise DataError(
                    f"{self.name}: modality '{name}' must be a (num_items={self.num_items}, d) matrix; "
                    f"got shape {matrix.shape}"
                )
            if not np.isfinite(matrix).all():
                raise DataError(f"{self.name}: modality '{name}' holds NaN or infinite values")
            features[str(name)] = matrix
        self.item_features = features

    @property
    def modalities(self) -> tuple[str, ...]:
        """Names of the item modality matrices, in order."""
        return tuple(self.item_features)

    def user_label(self, index: int) -> str:
        """The data set's own id of user ``index``."""
        return str(self.user_ids[index]) if self.user_ids is not None else str(int(index))

    def item_label(self, index: int) -> str:
        """The data set's own id of item ``index``."""
        return str(self.item_ids[index]) if self.item_ids is not None else str(int(index))

    def fingerprint(self) -> str:
        """sha256 over the name, sizes, the three parts and the modality matrices."""
        digest = hashlib.sha256(f"{self.name}|{self.num_users}|{self.num_items}".encode())
        for part in (self.train, self.val, self.test):
            digest.update(str(part.shape).encode())
            digest.update(np.ascontiguousarray(part).tobytes())
        for name, matrix in self.item_features.items():
            digest.update(name.encode())
            digest.update(str(matrix.shape).encode())
            digest.update(np.ascontiguousarray(matrix).tobytes())
        return digest.hexdigest()

    def summary(self) -> dict[str, Any]:
        """Sizes and modalities, for reports."""
        return {
            "name": self.name,
            "users": self.num_users,
            "items": self.num_items,
            "train": int(len(self.train)),
            "val": int(len(self.val)),
            "test": int(len(self.test)),
            "modalities": {name: int(m.shape[1]) for name, m in self.item_features.items()},
            "synthetic": self.synthetic,
        }


# -- the built-in synthetic set -----------------------------------------------------------


def make_synthetic(
    *,
    num_users: int = 300,
    num_items: int = 200,
    latent_dim: int = 8,
    mean_interactions: float = 18.0,
    strength: float = 3.0,
    image_dim: int = 32,
    text_dim: int = 16,
    feature_noise: float = 0.5,
    seed: int = 0,
) -> InteractionData:
    """A generated multi-modal implicit-feedback set (named ``synthetic-mm``).

    Model: user factors ``p_u ~ N(0, I_d)``, item factors ``q_i ~ N(0, I_d)``, item
    popularity ``b_i ~ N(0, 0.5^2)``; affinity ``a_ui = strength * p_u.q_i / sqrt(d) + b_i``.
    User ``u`` interacts with ``n_u = 5 + Poisson(mean_interactions - 5)`` distinct items drawn
    without replacement with probabilities proportional to ``exp(a_ui)`` (Gumbel top-k).
    Item modalities are noisy random projections of the item factors:
    ``image_i = q_i A + noise * e_i``, ``A ~ N(0, 1/d)``, and likewise ``text`` with its own
    projection. Each user's items are split at random 80% / 10% / 10% into train /
    validation / test, with at least one validation and one test item.

    Args:
        num_users, num_items: sizes.
        latent_dim: ``d``.
        mean_interactions: mean number of interactions per user.
        strength: scale of the latent affinity (higher: more predictable feedback).
        image_dim, text_dim: widths of the two modality matrices (0 leaves one out).
        feature_noise: standard deviation of the feature noise.
        seed: seeds everything.

    Returns:
        An :class:`InteractionData` with ``synthetic=True``.
    """
    if num_users < 2 or num_items < 10:
        raise InvalidRequestError(f"make_synthetic needs at least 2 users and 10 items; got {num_users}, {num_items}")
    rng = np.random.default_rng(seed)
    user_factors = rng.standard_normal((num_users, latent_dim))
    item_factors = rng.standard_normal((num_items, latent_dim))
    popularity = 0.5 * rng.standard_normal(num_items)
    affinity = strength * user_factors @ item_factors.T / np.sqrt(latent_dim) + popularity
    counts = np.minimum(5 + rng.poisson(max(mean_interactions - 5.0, 0.0), num_users), num_items - 1)
    keys = affinity + rng.gumbel(size=affinity.shape)
    order = np.argsort(-keys, axis=1)
    parts: dict[str, list[np.ndarray]] = {"train": [], "val": [], "test": []}
    for user in range(num_users):
        items = rng.permutation(order[user, : counts[user]])
        n_test = max(1, int(round(0.1 * len(items))))
        n_val = max(1, int(round(0.1 * len(items))))
        for name, chosen in (
            ("test", items[:n_test]),
            ("val", items[n_test : n_test + n_val]),
            ("train", items[n_test + n_val :]),
        ):
            parts[name].append(np.stack([np.full(len(chosen), user), chosen], axis=1))
    features = {}
    for name, width in (("image", image_dim), ("text", text_dim)):
        if width > 0:
            projection = rng.standard_normal((latent_dim, width)) / np.sqrt(latent_dim)
            features[name] = (item_factors @ projection + feature_noise * rng.standard_normal((num_items, width))).astype(
                np.float32
            )
    return InteractionData(
        name="synthetic-mm",
        num_users=num_users,
        num_items=num_items,
        train=np.concatenate(parts["train"]),
        val=np.concatenate(parts["val"]),
        test=np.concatenate(parts["test"]),
        item_features=features,
        synthetic=True,
    )


# -- Amazon Baby ----------------------------------------------------------------------------


def amazon_baby_dir(data_dir: str | os.PathLike | None = None) -> Path:
    """The Amazon Baby folder: ``data_dir`` itself if it holds ``5-core/``, else
    ``data_dir/amazon-baby``; default ``$OBLIVIATE_DATA_DIR/amazon-baby``.

    Raises:
        DataError: when no folder is given and ``OBLIVIATE_DATA_DIR`` is unset.
    """
    if data_dir is None:
        root = shared_data_dir()
        if root is None:
            raise DataError(
                "Amazon Baby needs its files: set OBLIVIATE_DATA_DIR to the folder holding amazon-baby/ "
                f"or pass data_dir=...; get them from {AMAZON_BABY_SOURCE}"
            )
        data_dir = root
    folder = Path(data_dir)
    if (folder / "5-core").is_dir():
        return folder
    return folder / "amazon-baby"


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DataError(f"'{path}' is not valid JSON: {exc}") from exc


def _pairs_from_lists(table: Mapping[str, Sequence[int]]) -> np.ndarray:
    rows = [np.stack([np.full(len(items), int(user)), np.asarray(items, dtype=np.int64)], axis=1) for user, items in table.items() if len(items)]
    return np.concatenate(rows).astype(np.int64) if rows else np.empty((0, 2), dtype=np.int64)


def load_amazon_baby(
    data_dir: str | os.PathLike | None = None,
    *,
    item_features: Mapping[str, str | os.PathLike] | None = None,
    max_users: int | None = None,
    seed: int = 0,
) -> InteractionData:
    """Amazon Baby 5-core (19,445 users, 7,050 items, 160,792 interactions), LATTICE split.

    The files are checked against their sha256 sums before reading. They carry no item
    features; pass ``item_features={"image": "image_feat.npy", ...}`` (one row per item id)
    when you have them.

    Args:
        data_dir: folder holding ``5-core/`` (or its parent; see :func:`amazon_baby_dir`).
        item_features: modality name -> ``.npy`` file.
        max_users: keep a seeded random subset of this many users (and the items they
            touch, re-indexed) to make runs cheaper; ``None`` keeps everyone.
        seed: seeds the user subsample.

    Raises:
        DataError: a missing or altered file, or a feature file that does not fit.
    """
    folder = verify_files(amazon_baby_dir(data_dir), AMAZON_BABY_CHECKSUMS, source=AMAZON_BABY_SOURCE)
    parts = {name: _pairs_from_lists(_read_json(folder / "5-core" / f"{name}.json")) for name in ("train", "val", "test")}
    item2id = _read_json(folder / "item2id.json")
    user2id = _read_json(folder / "user2id.json")
    num_items, num_users = len(item2id), len(user2id)
    item_ids = np.empty(num_items, dtype=object)
    for asin, index in item2id.items():
        item_ids[int(index)] = asin
    user_ids = np.empty(num_users, dtype=object)
    for reviewer, index in user2id.items():
        user_ids[int(index)] = reviewer
    features = load_item_features(item_features, num_items=num_items) if item_features else {}
    data = InteractionData(
        name="amazon-baby",
        num_users=num_users,
        num_items=num_items,
        train=parts["train"],
        val=parts["val"],
        test=parts["test"],
        item_features=features,
        user_ids=user_ids.astype(str),
        item_ids=item_ids.astype(str),
    )
    if max_users is not None and max_users < num_users:
        data = subsample_users(data, max_users, seed=seed)
    return data


def subsample_users(data: InteractionData, count: int, *, seed: int = 0) -> InteractionData:
    """A seeded random subset of ``count`` users with every pair of theirs; users and the
    items they touch are re-indexed (their own ids are kept)."""
    if count < 2:
        raise InvalidRequestError(f"keep at least 2 users; got max_users={count}")
    rng = np.random.default_rng(seed)
    users = np.sort(rng.choice(data.num_users, count, replace=False))
    user_map = np.full(data.num_users, -1, dtype=np.int64)
    user_map[users] = np.arange(count)
    kept = {name: getattr(data, name)[user_map[getattr(data, name)[:, 0]] >= 0] for name in ("train", "val", "test")}
    items = np.unique(np.concatenate([part[:, 1] for part in kept.values()]))
    item_map = np.full(data.num_items, -1, dtype=np.int64)
    item_map[items] = np.arange(items.size)

    def remap(pairs: np.ndarray) -> np.ndarray:
        return np.stack([user_map[pairs[:, 0]], item_map[pairs[:, 1]]], axis=1)

    return InteractionData(
        name=f"{data.name}[{count} users]",
        num_users=count,
        num_items=int(items.size),
        train=remap(kept["train"]),
        val=remap(kept["val"]),
        test=remap(kept["test"]),
        item_features={name: matrix[items] for name, matrix in data.item_features.items()},
        user_ids=None if data.user_ids is None else data.user_ids[users],
        item_ids=None if data.item_ids is None else data.item_ids[items],
        synthetic=data.synthetic,
    )


def load_item_features(files: Mapping[str, str | os.PathLike], *, num_items: int) -> dict[str, np.ndarray]:
    """Read modality matrices from ``.npy`` files (one row per item id, ``allow_pickle=False``).

    Raises:
        DataError: a missing file, an object array, or a matrix without ``num_items`` rows.
    """
    features = {}
    for name, path in files.items():
        path = Path(path)
        if not path.is_file():
            raise DataError(f"item feature file '{path}' for modality '{name}' does not exist")
        try:
            matrix = np.load(path, allow_pickle=False)
        except ValueError as exc:
            raise DataError(f"'{path}' is not a plain numeric .npy array (object arrays are refused): {exc}") from exc
        if matrix.ndim != 2 or matrix.shape[0] != num_items:
            raise DataError(
                f"'{path}' (modality '{name}') must hold one row per item: expected ({num_items}, d), got {matrix.shape}"
            )
        features[name] = matrix.astype(np.float32)
    return features


# -- a user's own table ---------------------------------------------------------------------


def from_table(
    table: Any,
    *,
    user_col: str = "user",
    item_col: str = "item",
    split_col: str | None = None,
    item_features: Mapping[str, np.ndarray] | None = None,
    feature_item_ids: Sequence[Any] | None = None,
    name: str = "user-data",
    seed: int = 0,
) -> InteractionData:
    """Build :class:`InteractionData` from a table of interactions with the user's own ids.

    Args:
        table: a pandas ``DataFrame`` or a mapping of column name -> sequence.
        user_col, item_col: columns holding the user's and the item's own identifiers.
        split_col: optional column naming each row's part: ``train``/``val``/``test`` (also
            ``valid``/``validation``) or MMRec's ``x_label`` codes 0/1/2. Without it each
            user's rows are split at random 80% / 10% / 10% (seeded; users with fewer than
            three rows keep them all for training).
        item_features: modality name -> matrix, one row per item.
        feature_item_ids: the item id of each feature row (default: the items sorted by id).
        name: the data set's name.
        seed: seeds the random split.

    Raises:
        DataError: missing columns, unknown split values, duplicated training pairs,
            or feature rows that do not cover the items.
    """
    import pandas as pd

    frame = table if isinstance(table, pd.DataFrame) else pd.DataFrame(dict(table))
    for column in (user_col, item_col) + ((split_col,) if split_col else ()):
        if column not in frame.columns:
            raise DataError(f"the interactions table has no column '{column}'; its columns are {list(frame.columns)}")
    if len(frame) == 0:
        raise DataError("the interactions table is empty")
    user_codes, user_ids = pd.factorize(frame[user_col].astype(str), sort=True)
    item_codes, item_ids = pd.factorize(frame[item_col].astype(str), sort=True)
    pairs = np.stack([user_codes, item_codes], axis=1).astype(np.int64)
    if split_col:
        labels = frame[split_col].astype(str).str.strip().str.lower().map(SPLIT_NAMES)
        if labels.isna().any():
            bad = sorted(set(frame.loc[labels.isna(), split_col].astype(str)))[:5]
            raise DataError(
                f"split column '{split_col}' holds values {bad}; use train/val/test or MMRec's 0/1/2"
            )
        split = labels.to_numpy()
    else:
        split = _random_split(user_codes, seed=seed)
    features = {}
    if item_features:
        if feature_item_ids is None:
            order = np.arange(len(item_ids))
            rows_needed = len(item_ids)
            for modality, matrix in item_features.items():
                if np.asarray(matrix).shape[0] != rows_needed:
                    raise DataError(
                        f"modality '{modality}' has {np.asarray(matrix).shape[0]} rows but the table has "
                        f"{rows_needed} items; pass feature_item_ids (the item id of each row)"
                    )
        else:
            position = {str(item): row for row, item in enumerate(feature_item_ids)}
            missing = [item for item in item_ids if item not in position]
            if missing:
                raise DataError(f"feature rows are missing for items {missing[:5]}; every item needs a row")
            order = np.asarray([position[item] for item in item_ids])
        features = {modality: np.asarray(matrix)[order] for modality, matrix in item_features.items()}
    return InteractionData(
        name=name,
        num_users=len(user_ids),
        num_items=len(item_ids),
        train=pairs[split == "train"],
        val=pairs[split == "val"],
        test=pairs[split == "test"],
        item_features=features,
        user_ids=np.asarray(user_ids, dtype=str),
        item_ids=np.asarray(item_ids, dtype=str),
    )


def _random_split(user_codes: np.ndarray, *, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    split = np.full(len(user_codes), "train", dtype=object)
    order = np.argsort(user_codes, kind="stable")
    bounds = np.flatnonzero(np.diff(user_codes[order])) + 1
    for rows in np.split(order, bounds):
        if len(rows) < 3:
            continue
        rows = rng.permutation(rows)
        n_held = max(1, int(round(0.1 * len(rows))))
        split[rows[:n_held]] = "test"
        split[rows[n_held : 2 * n_held]] = "val"
    return split


def load_inter_file(path: str | os.PathLike, *, name: str | None = None, **kwargs: Any) -> InteractionData:
    """Read an MMRec ``.inter`` file (TAB-separated, header ``userID itemID x_label ...``).

    ``x_label`` 0/1/2 marks training/validation/test rows. Other keyword arguments go to
    :func:`from_table` (e.g. ``item_features``).

    Raises:
        DataError: a missing file or missing columns.
    """
    import pandas as pd

    path = Path(path)
    if not path.is_file():
        raise DataError(f"interactions file '{path}' does not exist")
    frame = pd.read_csv(path, sep="\t", dtype=str)
    split_col = "x_label" if "x_label" in frame.columns else None
    return from_table(
        frame, user_col="userID", item_col="itemID", split_col=split_col, name=name or path.stem, **kwargs
    )


# -- forget specs ---------------------------------------------------------------------------


def parse_recommendation_forget(text: str | ForgetSpec) -> ForgetSpec:
    """Parse a recommendation forget spec: ``interactions:<f>``, ``users:<f>``, ``items:<f>``
    or ``ids:<file>``.

    Raises:
        InvalidForgetSpecError: naming the accepted forms.
    """
    if isinstance(text, str) and text.strip().startswith("interactions:"):
        argument = text.strip().partition(":")[2].strip()
        try:
            fraction = float(argument)
        except ValueError:
            raise InvalidForgetSpecError(
                f"'interactions' takes a fraction in (0, 1), e.g. 'interactions:0.05'; got {argument!r}"
            ) from None
        if not 0.0 < fraction < 1.0:
            raise InvalidForgetSpecError(f"'interactions' fraction must lie strictly between 0 and 1; got {fraction}")
        return ForgetSpec("interactions", fraction)
    if isinstance(text, ForgetSpec) and text.kind == "interactions":
        return text
    try:
        return parse_forget_spec(text, allowed=FORGET_KINDS - {"interactions"})
    except InvalidForgetSpecError as exc:
        raise InvalidForgetSpecError(
            f"{exc} (recommendation takes interactions:<f>, users:<f>, items:<f> or ids:<file of user<TAB>item lines>)"
        ) from None


def select_forget(spec: ForgetSpec, data: InteractionData, *, seed: int) -> np.ndarray:
    """Indices of the training pairs a forget spec selects (sorted).

    ``interactions:f`` draws ``round(f * n_train)`` training pairs at random;
    ``users:f`` takes every training pair of ``round(f * users with training pairs)`` users;
    ``items:f`` every training pair of ``round(f * items with training pairs)`` items;
    ``ids:file`` the pairs listed in the file, one ``user<TAB>item`` (or comma/space
    separated) per line in the data set's own ids.

    Raises:
        InvalidForgetSpecError: an empty selection, every pair selected, or ids that are
            not training interactions.
    """
    rng = np.random.default_rng(seed)
    train = data.train
    if spec.kind == "interactions":
        count = max(1, int(round(float(spec.value) * len(train))))
        rows = rng.choice(len(train), count, replace=False)
    elif spec.kind in ("users", "items"):
        column = 0 if spec.kind == "users" else 1
        present = np.unique(train[:, column])
        count = max(1, int(round(float(spec.value) * present.size)))
        chosen = rng.choice(present, count, replace=False)
        rows = np.flatnonzero(np.isin(train[:, column], chosen))
    elif spec.kind == "ids":
        rows = _rows_from_ids_file(Path(spec.value), data)
    else:
        raise InvalidForgetSpecError(
            f"recommendation does not support forget kind '{spec.kind}'; use {', '.join(sorted(FORGET_KINDS))}"
        )
    rows = np.unique(rows)
    if rows.size == 0:
        raise InvalidForgetSpecError(f"'{spec}' selects no training interaction")
    if rows.size >= len(train):
        raise InvalidForgetSpecError(f"'{spec}' selects every training interaction: nothing would be left to retain")
    return rows


def _rows_from_ids_file(path: Path, data: InteractionData) -> np.ndarray:
    if not path.is_file():
        raise InvalidForgetSpecError(f"ids file '{path}' does not exist; write one 'user<TAB>item' pair per line")
    user_index = {data.user_label(u): u for u in range(data.num_users)}
    item_index = {data.item_label(i): i for i in range(data.num_items)}
    row_of = {int(u) * data.num_items + int(i): row for row, (u, i) in enumerate(data.train)}
    rows = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        fields = line.replace(",", " ").replace("\t", " ").split()
        if len(fields) != 2:
            raise InvalidForgetSpecError(f"ids file '{path}', line {number}: expected 'user<TAB>item', got {line!r}")
        user, item = fields
        if user not in user_index or item not in item_index:
            raise InvalidForgetSpecError(f"ids file '{path}', line {number}: unknown user {user!r} or item {item!r}")
        key = user_index[user] * data.num_items + item_index[item]
        if key not in row_of:
            raise InvalidForgetSpecError(
                f"ids file '{path}', line {number}: ({user}, {item}) is not a training interaction"
            )
        rows.append(row_of[key])
    return np.asarray(rows, dtype=np.int64)


# -- request parts --------------------------------------------------------------------------


@dataclass
class InteractionSet:
    """A part of an unlearning request: ``(user, item)`` index pairs and the index ranges.

    Attributes:
        pairs: ``(n, 2)`` int64 tensor.
        num_users, num_items: index ranges of the model.
    """

    pairs: Any
    num_users: int
    num_items: int

    def __post_init__(self) -> None:
        import torch

        self.pairs = torch.as_tensor(np.asarray(self.pairs), dtype=torch.long).reshape(-1, 2)

    def __len__(self) -> int:
        return int(self.pairs.shape[0])

    @property
    def users(self) -> Any:
        """The distinct users of the part (sorted tensor)."""
        import torch

        return torch.unique(self.pairs[:, 0])
