"""The Planetoid loader (checksums, restricted unpickling, Kipf node order) and the CSBM generator."""

from __future__ import annotations

import collections
import os
import pickle
import shutil
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
import torch

from obliviate.core.errors import DataError, InvalidRequestError
from obliviate.data.checksums import sha256_file
from obliviate.graph.data import (
    PLANETOID_PARTS,
    RestrictedUnpickler,
    load_planetoid,
    make_csbm,
    restricted_load,
)


class _RunsCommand:
    def __init__(self, command: str):
        self.command = command

    def __reduce__(self):
        return (os.system, (self.command,))


def _write_fake_planetoid(
    folder: Path, name: str = "fake", test_index: tuple[int, ...] = (9, 7, 8)
) -> tuple[dict[str, str], np.ndarray, np.ndarray, set]:
    """Planetoid files for a graph whose nodes 0..6 are in allx and whose test nodes are
    listed out of order in ``test_index`` (ids of the range that are not listed have no row).

    Returns the checksums, each node's true feature row and label, and the undirected edges.
    """
    test_index = list(test_index)
    n = max(test_index) + 1
    rng = np.random.default_rng(0)
    features = rng.integers(0, 2, size=(n, 5)).astype(np.float32)
    features[:, 0] = np.arange(n)  # makes every row identify its node
    labels = np.arange(n) % 3
    onehot = np.eye(3, dtype=np.float32)[labels]
    graph = collections.defaultdict(list)
    edges = {(0, 1), (1, 2), (2, 9), (3, 7), (7, 8), (4, 4)}
    for u, v in edges:
        graph[u].append(v)
        graph[v].append(u)
    parts = {
        "x": sp.csr_matrix(features[:4]),
        "y": onehot[:4],
        "allx": sp.csr_matrix(features[:7]),
        "ally": onehot[:7],
        "tx": sp.csr_matrix(features[test_index]),
        "ty": onehot[test_index],
        "graph": graph,
    }
    for part, value in parts.items():
        (folder / f"ind.{name}.{part}").write_bytes(pickle.dumps(value, protocol=4))
    (folder / f"ind.{name}.test.index").write_text("\n".join(str(i) for i in test_index) + "\n")
    checksums = {part: sha256_file(folder / f"ind.{name}.{part}") for part in PLANETOID_PARTS}
    undirected = {(min(u, v), max(u, v)) for u, v in edges if u != v}
    return checksums, features, labels, undirected


def test_restricted_unpickler_round_trips_the_classes_planetoid_files_hold():
    matrix = sp.csr_matrix(np.array([[0, 1.5], [2, 0]], dtype=np.float32))
    adjacency = collections.defaultdict(list, {0: [1, 2], 2: [0]})
    array = np.arange(6, dtype=np.int64).reshape(2, 3)
    loaded = restricted_load(pickle.dumps((matrix, adjacency, array), protocol=4))
    assert (loaded[0] != matrix).nnz == 0
    assert loaded[1] == adjacency and isinstance(loaded[1], collections.defaultdict)
    assert np.array_equal(loaded[2], array)


def test_restricted_unpickler_refuses_other_globals_without_running_them(tmp_path):
    marker = tmp_path / "ran"
    payload = pickle.dumps(_RunsCommand(f"touch {marker}"), protocol=4)
    with pytest.raises(DataError, match="refusing to unpickle"):
        restricted_load(payload)
    assert not marker.exists()
    with pytest.raises(DataError, match="refusing to unpickle 'builtins.eval'"):
        RestrictedUnpickler.find_class(None, "builtins", "eval")


def test_planetoid_loader_puts_test_rows_back_at_their_listed_ids(tmp_path):
    checksums, features, labels, edges = _write_fake_planetoid(tmp_path)
    graph = load_planetoid("fake", tmp_path, checksums=checksums)
    assert graph.num_nodes == 10 and graph.num_features == 5 and graph.num_classes == 3
    assert torch.equal(graph.x, torch.from_numpy(features))
    assert torch.equal(graph.y, torch.from_numpy(labels))
    # The self-loop (4, 4) is dropped and each undirected edge kept once, as u < v.
    assert {tuple(pair) for pair in graph.pairs.t().tolist()} == edges


def test_planetoid_test_ids_without_a_row_become_featureless_nodes_as_in_citeseer(tmp_path):
    # Ids 7..10 are the test range but 9 is not listed: it gets a zero row and label 0,
    # the convention of the GCN reference code for CiteSeer's isolated nodes.
    checksums, features, labels, _ = _write_fake_planetoid(tmp_path, test_index=(10, 7, 8))
    graph = load_planetoid("fake", tmp_path, checksums=checksums)
    assert graph.num_nodes == 11
    listed = [i for i in range(11) if i != 9]
    assert torch.equal(graph.x[listed], torch.from_numpy(features[listed]))
    assert torch.equal(graph.y[listed], torch.from_numpy(labels[listed]))
    assert graph.x[9].abs().sum() == 0 and graph.y[9] == 0


def test_planetoid_loader_refuses_a_tampered_file(tmp_path):
    checksums, *_ = _write_fake_planetoid(tmp_path)
    path = tmp_path / "ind.fake.tx"
    data = bytearray(path.read_bytes())
    data[-3] ^= 0x01
    path.write_bytes(bytes(data))
    with pytest.raises(DataError, match="ind.fake.tx' fails its checksum"):
        load_planetoid("fake", tmp_path, checksums=checksums)


def test_planetoid_loader_refuses_a_forbidden_class_even_with_a_matching_checksum(tmp_path):
    checksums, *_ = _write_fake_planetoid(tmp_path)
    marker = tmp_path / "ran"
    path = tmp_path / "ind.fake.graph"
    path.write_bytes(pickle.dumps(_RunsCommand(f"touch {marker}"), protocol=4))
    checksums["graph"] = sha256_file(path)
    with pytest.raises(DataError, match="refusing to unpickle"):
        load_planetoid("fake", tmp_path, checksums=checksums)
    assert not marker.exists()


def test_planetoid_loader_names_the_missing_file_and_its_source(tmp_path):
    checksums, *_ = _write_fake_planetoid(tmp_path)
    (tmp_path / "ind.fake.ally").unlink()
    with pytest.raises(DataError, match=r"missing data file .*ind\.fake\.ally.*kimiyoung/planetoid"):
        load_planetoid("fake", tmp_path, checksums=checksums)


def test_cora_without_a_data_folder_says_where_to_point(monkeypatch):
    from obliviate.graph.scenario import GraphScenario

    monkeypatch.delenv("OBLIVIATE_DATA_DIR", raising=False)
    with pytest.raises(DataError, match="set OBLIVIATE_DATA_DIR"):
        GraphScenario(dataset="cora").request()


def test_a_graph_without_built_in_checksums_needs_them_given(tmp_path):
    with pytest.raises(InvalidRequestError, match="no built-in checksums for Planetoid graph 'fake'"):
        load_planetoid("fake", tmp_path)


def _shared_planetoid() -> Path:
    root = os.environ.get("OBLIVIATE_DATA_DIR")
    if not root:
        pytest.skip("OBLIVIATE_DATA_DIR is not set: point it at the shared data folder to test Cora")
    return Path(root) / "planetoid"


@pytest.mark.data
def test_cora_matches_its_published_statistics():
    graph = load_planetoid("cora", _shared_planetoid())
    assert (graph.num_nodes, graph.num_features, graph.num_classes) == (2708, 1433, 7)
    # 5278 undirected edges = 10556 directed entries of PyG's edge_index.
    assert graph.pairs.size(1) == 5278
    assert torch.bincount(graph.y).tolist() == [351, 217, 418, 818, 426, 298, 180]
    assert set(torch.unique(graph.x).tolist()) == {0.0, 1.0}


@pytest.mark.data
def test_cora_loader_refuses_a_tampered_copy(tmp_path):
    source = _shared_planetoid()
    for part in PLANETOID_PARTS:
        shutil.copy(source / f"ind.cora.{part}", tmp_path / f"ind.cora.{part}")
    path = tmp_path / "ind.cora.graph"
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))
    with pytest.raises(DataError, match="ind.cora.graph' fails its checksum"):
        load_planetoid("cora", tmp_path)


def test_csbm_is_seeded_and_has_the_requested_degree_and_homophily():
    graph = make_csbm(num_nodes=400, num_classes=4, num_features=8, average_degree=8, homophily=0.8, seed=3)
    again = make_csbm(num_nodes=400, num_classes=4, num_features=8, average_degree=8, homophily=0.8, seed=3)
    assert torch.equal(graph.pairs, again.pairs) and torch.equal(graph.x, again.x)
    assert graph.synthetic and graph.name == "csbm"
    mean_degree = 2 * graph.pairs.size(1) / graph.num_nodes
    within = float((graph.y[graph.pairs[0]] == graph.y[graph.pairs[1]]).float().mean())
    assert mean_degree == pytest.approx(8, abs=0.6)  # binomial spread at 1600 edges: sd about 0.2
    assert within == pytest.approx(0.8, abs=0.04)  # sd about 0.01
    # Features are informative: each node is nearer its own community's mean than another's.
    means = torch.stack([graph.x[graph.y == c].mean(0) for c in range(4)])
    nearest = torch.cdist(graph.x, means).argmin(1)
    assert float((nearest == graph.y).float().mean()) > 0.9
