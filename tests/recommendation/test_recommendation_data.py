"""Interaction data: the synthetic set, a user's own table, MMRec files, features, forget specs, Amazon Baby."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from obliviate.core.errors import DataError, InvalidForgetSpecError
from obliviate.recommendation.data import (
    AMAZON_BABY_CHECKSUMS,
    from_table,
    load_amazon_baby,
    load_inter_file,
    load_item_features,
    make_synthetic,
    parse_recommendation_forget,
    select_forget,
)


def _keys(pairs: np.ndarray, num_items: int) -> set:
    return set((pairs[:, 0] * num_items + pairs[:, 1]).tolist())


def test_synthetic_set_is_named_synthetic_seeded_and_split_disjointly():
    data = make_synthetic(seed=3)
    again = make_synthetic(seed=3)
    assert data.synthetic and "synthetic" in data.name
    assert data.fingerprint() == again.fingerprint() != make_synthetic(seed=4).fingerprint()
    assert set(data.modalities) == {"image", "text"}
    assert data.item_features["image"].shape == (data.num_items, 32)
    train, val, test = (_keys(p, data.num_items) for p in (data.train, data.val, data.test))
    assert not (train & val) and not (train & test) and not (val & test)
    # Every user has held-out interactions (the membership attack's non-members).
    assert set(np.unique(data.test[:, 0])) == set(range(data.num_users))


def test_synthetic_features_carry_the_item_factors():
    # Items close in "image" space should be close in "text" space: both project the same factors.
    data = make_synthetic(seed=0, feature_noise=0.1)
    image = data.item_features["image"] - data.item_features["image"].mean(0)
    text = data.item_features["text"] - data.item_features["text"].mean(0)
    gram_image, gram_text = image @ image.T, text @ text.T
    upper = np.triu_indices(data.num_items, 1)
    assert np.corrcoef(gram_image[upper], gram_text[upper])[0, 1] > 0.5


def test_a_users_own_table_keeps_their_ids_and_split():
    table = pd.DataFrame(
        {
            "customer": ["ann", "ann", "ann", "bob", "bob", "cy", "cy", "cy"],
            "product": ["p1", "p2", "p3", "p1", "p9", "p2", "p9", "p3"],
            "part": ["train", "train", "test", 0, 2, "train", "valid", "test"],
        }
    )
    features = {"image": np.arange(8, dtype=np.float32).reshape(4, 2)}
    data = from_table(
        table, user_col="customer", item_col="product", split_col="part",
        item_features=features, feature_item_ids=["p9", "p3", "p2", "p1"],
    )
    assert data.num_users == 3 and data.num_items == 4
    assert len(data.train) == 4 and len(data.val) == 1 and len(data.test) == 3
    assert [data.user_label(u) for u in range(3)] == ["ann", "bob", "cy"]
    # The feature row of each item follows feature_item_ids, not the table order.
    p9 = list(data.item_ids).index("p9")
    assert data.item_features["image"][p9].tolist() == [0.0, 1.0]


def test_a_table_without_a_split_column_is_split_per_user():
    rng = np.random.default_rng(0)
    table = {"user": np.repeat(np.arange(20), 10), "item": np.concatenate([rng.permutation(50)[:10] for _ in range(20)])}
    data = from_table(table, seed=0)
    assert len(data.train) + len(data.val) + len(data.test) == 200
    assert set(np.unique(data.test[:, 0]).tolist()) == set(range(20))


def test_bad_split_values_and_missing_columns_are_data_errors():
    with pytest.raises(DataError, match="split column"):
        from_table({"user": [1, 2], "item": [1, 2], "s": ["train", "holdout"]}, split_col="s")
    with pytest.raises(DataError, match="no column 'item'"):
        from_table({"user": [1], "thing": [2]})
    with pytest.raises(DataError, match="twice"):
        from_table({"user": [1, 1, 2], "item": [5, 5, 5], "s": ["train", "train", "train"]}, split_col="s")


def test_mmrec_inter_files_are_read_with_their_x_label_split(tmp_path):
    path = tmp_path / "toy.inter"
    path.write_text("userID\titemID\tx_label\n0\t10\t0\n0\t11\t0\n0\t12\t2\n1\t10\t0\n1\t12\t1\n")
    data = load_inter_file(path)
    assert (len(data.train), len(data.val), len(data.test)) == (3, 1, 1)
    assert data.name == "toy"


def test_feature_files_are_read_without_pickle_and_checked(tmp_path):
    good = tmp_path / "image.npy"
    np.save(good, np.ones((5, 3)))
    assert load_item_features({"image": good}, num_items=5)["image"].shape == (5, 3)
    with pytest.raises(DataError, match="one row per item"):
        load_item_features({"image": good}, num_items=6)
    objects = tmp_path / "objects.npy"
    np.save(objects, np.array([{"a": 1}] * 5, dtype=object), allow_pickle=True)
    with pytest.raises(DataError, match="object arrays are refused"):
        load_item_features({"text": objects}, num_items=5)
    with pytest.raises(DataError, match="does not exist"):
        load_item_features({"text": tmp_path / "none.npy"}, num_items=5)


def test_forget_specs_select_interactions_users_and_items():
    data = make_synthetic(seed=0)
    rows = select_forget(parse_recommendation_forget("interactions:0.05"), data, seed=0)
    assert len(rows) == round(0.05 * len(data.train)) and len(np.unique(rows)) == len(rows)
    users = select_forget(parse_recommendation_forget("users:0.1"), data, seed=0)
    chosen = np.unique(data.train[users, 0])
    assert len(chosen) == round(0.1 * data.num_users)
    assert np.isin(data.train[:, 0], chosen).sum() == len(users)  # every interaction of those users
    items = select_forget(parse_recommendation_forget("items:0.05"), data, seed=0)
    withdrawn = np.unique(data.train[items, 1])
    assert np.isin(data.train[:, 1], withdrawn).sum() == len(items)


def test_forget_ids_files_name_interactions_in_the_users_own_ids(tmp_path):
    data = from_table({"user": ["a", "a", "b", "b"], "item": ["x", "y", "x", "z"], "s": ["train"] * 4}, split_col="s")
    ids = tmp_path / "forget.txt"
    ids.write_text("# withdrawn consent\na\ty\nb, z\n")
    rows = select_forget(parse_recommendation_forget(f"ids:{ids}"), data, seed=0)
    assert sorted((data.user_label(u), data.item_label(i)) for u, i in data.train[rows]) == [("a", "y"), ("b", "z")]
    ids.write_text("a\tq\n")
    with pytest.raises(InvalidForgetSpecError, match="unknown user"):
        select_forget(parse_recommendation_forget(f"ids:{ids}"), data, seed=0)


@pytest.mark.parametrize("spec", ["interactions:0", "interactions:abc", "class:3", "users:1.5", "modality"])
def test_malformed_forget_specs_are_refused(spec):
    with pytest.raises(InvalidForgetSpecError):
        parse_recommendation_forget(spec)


def test_an_altered_amazon_baby_file_fails_its_checksum(tmp_path):
    folder = tmp_path / "amazon-baby"
    (folder / "5-core").mkdir(parents=True)
    for name in AMAZON_BABY_CHECKSUMS:
        (folder / name).write_text(json.dumps({"0": [0]}))
    with pytest.raises(DataError, match="fails its checksum"):
        load_amazon_baby(tmp_path)
    with pytest.raises(DataError, match="does not exist"):
        load_amazon_baby(tmp_path / "elsewhere")


DATA_DIR = os.environ.get("OBLIVIATE_DATA_DIR")


@pytest.mark.data
@pytest.mark.skipif(not DATA_DIR or not (Path(DATA_DIR or ".") / "amazon-baby").is_dir(),
                    reason="needs OBLIVIATE_DATA_DIR with amazon-baby/ (see ../shared/data/INVENTORY.md)")
def test_amazon_baby_matches_its_published_statistics():
    data = load_amazon_baby()
    assert (data.num_users, data.num_items) == (19445, 7050)
    assert (len(data.train), len(data.val), len(data.test)) == (119674, 20559, 20559)
    assert data.modalities == () and not data.synthetic
    small = load_amazon_baby(max_users=500, seed=0)
    assert small.num_users == 500 and small.user_ids is not None and small.user_ids[0].startswith("A")
