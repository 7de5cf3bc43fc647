"""Client partitions, the backdoor trigger and client shards on disk."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch.utils.data import TensorDataset

from obliviate.core.errors import InvalidRequestError
from obliviate.federated.data import Backdoor, dirichlet_partition, iid_partition, read_shard, write_shards


def labels(n_per_class: int = 60, classes: int = 10) -> np.ndarray:
    return np.repeat(np.arange(classes), n_per_class)


def test_dirichlet_partition_deals_every_example_once_and_repeats_with_its_seed():
    y = labels()
    parts = dirichlet_partition(y, 10, 0.5, seed=3)
    together = np.sort(np.concatenate(parts))
    np.testing.assert_array_equal(together, np.arange(len(y)))
    again = dirichlet_partition(y, 10, 0.5, seed=3)
    assert all(np.array_equal(a, b) for a, b in zip(parts, again))
    assert min(len(p) for p in parts) >= 2


def test_small_alpha_gives_clients_fewer_classes_than_an_iid_split():
    y = labels()

    def mean_classes(parts):
        return np.mean([len(np.unique(y[p])) for p in parts])

    skewed = mean_classes(dirichlet_partition(y, 10, 0.1, seed=0))
    iid = mean_classes(iid_partition(len(y), 10, seed=0))
    # IID shards of 60 examples almost surely hold all 10 classes; Dirichlet(0.1) few.
    assert iid >= 9.5
    assert skewed <= 5.0


def test_partitions_refuse_more_clients_than_the_data_allows():
    with pytest.raises(InvalidRequestError, match="fewer clients"):
        dirichlet_partition(labels(1, 5), 10, 0.5, seed=0)
    with pytest.raises(InvalidRequestError, match="at least 2 clients"):
        iid_partition(10, 1, seed=0)


def test_backdoor_stamps_only_the_bottom_right_patch_and_relabels_to_the_target():
    images = np.zeros((3, 1, 8, 8), dtype=np.float32)
    backdoor = Backdoor(target=7, rate=1.0)
    stamped = backdoor.apply(images)
    assert backdoor.side(8) == 2
    assert stamped[:, :, 6:, 6:].min() == 1.0
    assert stamped.sum() == 3 * 4  # four pixels per image, nothing else
    assert images.sum() == 0  # the input is left alone
    x, y = backdoor.poison(images, np.array([1, 2, 3]), mean_size=6, seed=0)
    assert len(x) == 6 and set(y.tolist()) == {7}


def test_shards_round_trip_through_safetensors(tmp_path):
    data = TensorDataset(torch.arange(12, dtype=torch.float32).view(3, 1, 2, 2), torch.tensor([0, 1, 2]))
    write_shards(tmp_path, {4: data})
    back = read_shard(tmp_path, 4)
    assert torch.equal(back.tensors[0], data.tensors[0]) and torch.equal(back.tensors[1], data.tensors[1])
