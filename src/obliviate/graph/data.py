"""Graph data: the Planetoid citation graphs from their raw files, and a synthetic CSBM graph.

**Planetoid** (Yang, Cohen & Salakhutdinov, ICML 2016; files of ``kimiyoung/planetoid``):
eight files ``ind.<name>.{x,y,tx,ty,allx,ally,graph,test.index}``. Seven are Python-2
pickles of SciPy sparse matrices, NumPy arrays and a ``defaultdict`` adjacency list. They
are read only after their sha256 matches, and only through :class:`RestrictedUnpickler`,
which admits the handful of classes those files contain and refuses every other global
(a pickle can otherwise run arbitrary code). Nodes are assembled as in Kipf & Welling's
GCN code: training-and-unlabelled rows (``allx``) then test rows (``tx``) put back at the
positions listed in ``test.index``; test ids missing from the files (CiteSeer's isolated
nodes) get zero features and label 0, as in that code.

**CSBM** (contextual stochastic block model; Deshpande et al., NeurIPS 2018): ``k``
communities of equal expected size; a pair inside a community is an edge with probability
``p_in``, across communities with ``p_out``; node features are the community's mean vector
plus Gaussian noise. It is synthetic, ships with no file, and is the built-in default.
"""

from __future__ import annotations

import hashlib
import io
import os
import pickle
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from obliviate.core.errors import DataError, InvalidRequestError
from obliviate.data.checksums import shared_data_dir, verify_files
from obliviate.graph.structure import canonical_pairs

PLANETOID_SOURCE = "https://github.com/kimiyoung/planetoid (folder data/)"
PLANETOID_PARTS = ("x", "y", "tx", "ty", "allx", "ally", "graph", "test.index")

# sha256 of the files of kimiyoung/planetoid @ af6abf4 (byte-identical in tkipf/gcn).
PLANETOID_CHECKSUMS: dict[str, dict[str, str]] = {
    "cora": {
        "x": "23cfa55d91c6f624233f5eb7b6e3f141f1bd2b2ae39608a63cf5d084bb27baab",
        "y": "94465c14eb53e04ca262198dcbb2521ee8af60fb3f3d546cd6ca24a511b0e7d1",
        "tx": "b9afbaa4a400df991f6f02ef677e1e44da55ffc04801fd02f9e673987829226a",
        "ty": "41f5ac76596a1699cc33f53084a2419e92961c42bb75f36fc38e616d348532ad",
        "allx": "9419ba2f26f5c35243db64aba110e0f35a04851609e0dc5433450676ca6b8543",
        "ally": "2b998f5cc7fedc86e7f97ca2498f47a1ffc1462c29e2d578b23bf3f62b6e7d71",
        "graph": "58f13302f39dde8852dad6fe6d15b89b077b6d7f837626bce671ef80344b383d",
        "test.index": "297ce89af2b51a6a194181c7dbe1796c6a1cf9cd9349a88383b1b1e227867875",
    },
    "citeseer": {
        "x": "d20de19150741e555de0ed037195630fc194114ebc7fd72ced62810148aa22f6",
        "y": "8ba87e515d8e3ee3cf52f6d2c5b86aa73f11ecad825a808455209ec26cd54924",
        "tx": "539a8906a2da97628d212f2fdd668c109a8b3f0d36574b59e5d3fd5b5303da21",
        "ty": "55e5bd1ba1e733a04598753ad1a8d57957f4b8f89e74519f41f4f4938767e4ce",
        "allx": "2ac30345d95c9ec933a817ee0bdd6a5f077f8c184a20e696910192d534414668",
        "ally": "f704b2d986dde6c2669934de1f3ae5696a6cf9455c0f6b2646a2d135ea0a1c95",
        "graph": "d79a4ef9d3e7169aee8946145f6b7306e35bc79bffad26346cfb94e10e9912a7",
        "test.index": "2af990671580b6b2df5d158d1038f8292e30c9cd821b5453f399659b25b723d4",
    },
}


SPLIT_CODES = {"train": 0, "validation": 1, "test": 2}
UNUSED = -1


@dataclass(frozen=True)
class GraphData:
    """An undirected node-labelled graph with node features.

    Attributes:
        name: data set name (``"cora"``, ``"csbm"``, ...).
        x: float32 node features, ``(num_nodes, num_features)``.
        y: int64 node labels (class or community), ``(num_nodes,)``.
        pairs: undirected edges as ``(2, E)`` pairs ``u < v``, each edge once, no
            self-loops. PyG's ``edge_index`` holds both directions of every edge: turn it
            into pairs with :func:`graph_from_arrays` / :func:`from_pyg`, never pass it
            here (a held-out edge would still pass messages the other way).
        num_classes: number of label values.
        synthetic: True for generated graphs.
        node_split: the user's node split (int8 per node: 0 train, 1 validation, 2 test,
            -1 none), or ``None`` (the scenario draws one).
        pair_split: the user's edge split, the same codes per pair, or ``None``.
        node_ids: the user's id of each node (int64), or ``None`` (ids are positions).
        edge_ids: ``(2, K)``: the user's edge ids (row 0) and the pair each names (row 1);
            several ids may name one pair (PyG lists both directions). ``None``: an
            edge's id is its position in ``pairs``.

    Raises:
        DataError: for shapes that disagree, labels out of range, or pairs that are not
            canonical (naming how many edges appear in both directions).
    """

    name: str
    x: torch.Tensor
    y: torch.Tensor
    pairs: torch.Tensor
    num_classes: int
    synthetic: bool = False
    node_split: torch.Tensor | None = None
    pair_split: torch.Tensor | None = None
    node_ids: torch.Tensor | None = None
    edge_ids: torch.Tensor | None = None

    def __post_init__(self) -> None:
        _check_graph(self)

    @property
    def num_nodes(self) -> int:
        """Number of nodes."""
        return int(self.x.size(0))

    @property
    def num_features(self) -> int:
        """Length of a node's feature vector."""
        return int(self.x.size(1))

    def fingerprint(self) -> str:
        """sha256 over features, labels, edges and the user's split (identifies the graph in cache keys)."""
        digest = hashlib.sha256(self.name.encode())
        for tensor in (self.x, self.y, self.pairs, self.node_split, self.pair_split):
            if tensor is None:
                digest.update(b"none")
                continue
            digest.update(str(tuple(tensor.shape)).encode())
            digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
        return digest.hexdigest()

    @property
    def digest(self) -> str:
        """The graph's sha256 (:meth:`fingerprint`), as certificates record a data set."""
        return self.fingerprint()

    def node_labels(self) -> torch.Tensor:
        """The user's id of every node (positions when the graph has no ids of its own)."""
        return self.node_ids if self.node_ids is not None else torch.arange(self.num_nodes)

    def pair_labels(self) -> torch.Tensor:
        """One id per pair: the smallest user edge id naming it (its position without user ids)."""
        if self.edge_ids is None:
            return torch.arange(self.pairs.size(1))
        first = torch.full((self.pairs.size(1),), torch.iinfo(torch.long).max, dtype=torch.long)
        return first.scatter_reduce(0, self.edge_ids[1], self.edge_ids[0], reduce="amin")

    def node_positions(self, ids: np.ndarray | torch.Tensor) -> torch.Tensor:
        """Positions of the nodes with the user's ``ids``.

        Raises:
            InvalidForgetSpecError: naming ids the graph does not have.
        """
        return _positions(torch.as_tensor(np.asarray(ids), dtype=torch.long), self.node_labels(), "node")

    def pair_positions(self, ids: np.ndarray | torch.Tensor) -> torch.Tensor:
        """Indices into ``pairs`` of the edges with the user's edge ``ids`` (sorted, each pair once).

        Raises:
            InvalidForgetSpecError: naming ids the graph does not have (self-loops are dropped,
                so their ids are unknown).
        """
        ids = torch.as_tensor(np.asarray(ids), dtype=torch.long)
        if self.edge_ids is None:
            return torch.unique(_positions(ids, torch.arange(self.pairs.size(1)), "edge"))
        where = _positions(ids, self.edge_ids[0], "edge")
        return torch.unique(self.edge_ids[1][where])


def _positions(ids: torch.Tensor, labels: torch.Tensor, what: str) -> torch.Tensor:
    from obliviate.core.errors import InvalidForgetSpecError

    order = torch.argsort(labels)
    sorted_labels = labels[order]
    slot = torch.searchsorted(sorted_labels, ids).clamp(max=max(labels.numel() - 1, 0))
    found = sorted_labels[slot] == ids if labels.numel() else torch.zeros_like(ids, dtype=torch.bool)
    if not bool(found.all()):
        missing = ids[~found][:5].tolist()
        hint = " (self-loops are dropped, so their ids name nothing)" if what == "edge" else ""
        raise InvalidForgetSpecError(f"the graph has no {what} with id {missing}{hint}")
    return order[slot]


def _check_graph(graph: GraphData) -> None:
    x, y, pairs = graph.x, graph.y, graph.pairs
    if not isinstance(x, torch.Tensor) or x.dim() != 2:
        raise DataError(f"graph '{graph.name}': x must be a (num_nodes, num_features) tensor")
    n = x.size(0)
    if not isinstance(y, torch.Tensor) or tuple(y.shape) != (n,) or y.dtype != torch.long:
        raise DataError(f"graph '{graph.name}': y must be an int64 tensor of one label per node ({n})")
    if n and (int(y.min()) < 0 or int(y.max()) >= graph.num_classes):
        raise DataError(f"graph '{graph.name}': labels must lie in 0..{graph.num_classes - 1}")
    if not isinstance(pairs, torch.Tensor) or pairs.dim() != 2 or pairs.size(0) != 2 or pairs.dtype != torch.long:
        raise DataError(f"graph '{graph.name}': pairs must be an int64 tensor of shape (2, E)")
    if pairs.numel():
        if int(pairs.min()) < 0 or int(pairs.max()) >= n:
            raise DataError(f"graph '{graph.name}': pairs name nodes outside 0..{n - 1}")
        keys = pairs[0] * n + pairs[1]
        both = torch.isin(keys, pairs[1] * n + pairs[0]) & (pairs[0] != pairs[1])
        if not bool((pairs[0] < pairs[1]).all()) or torch.unique(keys).numel() != keys.numel():
            share = float(both.float().mean())
            raise DataError(
                f"graph '{graph.name}': pairs must hold each undirected edge once as u < v, without self-loops; "
                f"{share:.0%} of these appear in both directions, as in PyG's edge_index. Build the graph with "
                "obliviate.graph.data.from_pyg / graph_from_arrays, or pass canonical_pairs(edge_index): a held-out "
                "edge listed twice would still pass messages in its other direction"
            )
    for field_name, tensor, size in (("node_split", graph.node_split, n), ("pair_split", graph.pair_split, pairs.size(1))):
        if tensor is None:
            continue
        if tuple(tensor.shape) != (size,) or not bool(torch.isin(tensor.long(), torch.tensor([-1, 0, 1, 2])).all()):
            raise DataError(f"graph '{graph.name}': {field_name} must hold one code in -1, 0, 1, 2 per element ({size})")
    if graph.node_ids is not None:
        ids = graph.node_ids
        if tuple(ids.shape) != (n,) or torch.unique(ids).numel() != n:
            raise DataError(f"graph '{graph.name}': node_ids must give {n} distinct ids, one per node")
    if graph.edge_ids is not None:
        ids = graph.edge_ids
        if ids.dim() != 2 or ids.size(0) != 2 or torch.unique(ids[0]).numel() != ids.size(1):
            raise DataError(f"graph '{graph.name}': edge_ids must be (2, K) with distinct ids in row 0")
        if ids.numel() and (int(ids[1].min()) < 0 or int(ids[1].max()) >= pairs.size(1)):
            raise DataError(f"graph '{graph.name}': edge_ids name pairs outside 0..{pairs.size(1) - 1}")


# -- the user's own graph ---------------------------------------------------------------------

NPZ_KEYS = (
    "x",
    "edge_index",
    "y",
    "train_mask",
    "val_mask",
    "test_mask",
    "train_edge_mask",
    "val_edge_mask",
    "test_edge_mask",
    "node_id",
    "edge_id",
)


def _tensor(value: object, what: str, dtype: torch.dtype | None = None) -> torch.Tensor | None:
    if value is None:
        return None
    try:
        tensor = torch.as_tensor(np.asarray(value.detach().cpu() if isinstance(value, torch.Tensor) else value))
    except (TypeError, ValueError) as exc:
        raise DataError(f"{what} is not an array ({exc})") from None
    return tensor if dtype is None else tensor.to(dtype)


def _split_codes(masks: dict[str, torch.Tensor | None], size: int, what: str) -> torch.Tensor | None:
    given = {name: mask for name, mask in masks.items() if mask is not None}
    if not given:
        return None
    codes = torch.full((size,), UNUSED, dtype=torch.int8)
    for name, mask in given.items():
        mask = mask.to(torch.bool).reshape(-1)
        if mask.numel() != size:
            raise DataError(f"{what} mask '{name}' has {mask.numel()} entries; expected {size}")
        if bool((codes[mask] != UNUSED).any()):
            raise DataError(f"{what} masks overlap: an element is in '{name}' and in another split")
        codes[mask] = SPLIT_CODES[name]
    return codes


def graph_from_arrays(
    x: object,
    edge_index: object,
    y: object = None,
    *,
    train_mask: object = None,
    val_mask: object = None,
    test_mask: object = None,
    train_edge_mask: object = None,
    val_edge_mask: object = None,
    test_edge_mask: object = None,
    node_ids: object = None,
    edge_ids: object = None,
    num_classes: int | None = None,
    name: str = "user-graph",
) -> GraphData:
    """A :class:`GraphData` from a user's arrays, PyG conventions accepted.

    ``edge_index`` may list an undirected edge in both directions (as PyG does), repeat it,
    or hold self-loops: it is canonicalised to one pair ``u < v`` per edge (self-loops
    dropped; GCN-style layers add their own), so a held-out edge cannot pass messages in
    its other direction. The graph is treated as undirected. Edge ``k`` of the user is
    column ``k`` of ``edge_index`` (or ``edge_ids[k]``); both directions of an edge name the
    same pair.

    Args:
        x: node features ``(num_nodes, num_features)``.
        edge_index: ``(2, K)`` node positions.
        y: int labels per node (``None``: one dummy class, link prediction only).
        train_mask, val_mask, test_mask: boolean node masks (the user's node split).
        train_edge_mask, val_edge_mask, test_edge_mask: boolean masks over the columns of
            ``edge_index`` (the user's edge split); both directions of an edge must agree.
        node_ids: the user's id of each node (default: positions).
        edge_ids: the user's id of each column of ``edge_index`` (default: column positions).
        num_classes: label count (default ``max(y) + 1``).
        name: the graph's name.

    Raises:
        DataError: for shapes that disagree, non-integer labels, overlapping masks, or an
            edge whose two directions sit in different splits.
    """
    features = _tensor(x, "x", torch.float32)
    if features is None or features.dim() != 2:
        raise DataError("x must be a (num_nodes, num_features) array of node features")
    n = features.size(0)
    edges = _tensor(edge_index, "edge_index")
    if edges is None or edges.dim() != 2 or edges.size(0) != 2:
        raise DataError("edge_index must be a (2, K) array of node positions")
    if edges.numel() and (edges.is_floating_point() or int(edges.min()) < 0 or int(edges.max()) >= n):
        raise DataError(f"edge_index must hold integer node positions in 0..{n - 1}")
    edges = edges.long()
    labels = _tensor(y, "y")
    if labels is None:
        labels, classes = torch.zeros(n, dtype=torch.long), 1
    else:
        labels = labels.reshape(-1) if labels.dim() == 2 and labels.size(1) == 1 else labels
        if labels.is_floating_point() or labels.dim() != 1 or labels.numel() != n:
            raise DataError(f"y must hold one integer label per node ({n}); got shape {tuple(labels.shape)}")
        labels = labels.long()
        classes = num_classes if num_classes is not None else int(labels.max()) + 1 if n else 1
    column_ids = _tensor(edge_ids, "edge_ids", torch.long)
    if column_ids is None:
        column_ids = torch.arange(edges.size(1))
    elif column_ids.reshape(-1).numel() != edges.size(1):
        raise DataError(f"edge_ids must give one id per column of edge_index ({edges.size(1)})")
    column_ids = column_ids.reshape(-1)

    keep = edges[0] != edges[1]
    low = torch.minimum(edges[0], edges[1])[keep]
    high = torch.maximum(edges[0], edges[1])[keep]
    keys, pair_of = torch.unique(low * n + high, return_inverse=True)
    pairs = torch.stack([keys // n, keys % n]) if keys.numel() else torch.empty(2, 0, dtype=torch.long)
    pair_split = None
    column_codes = _split_codes(
        {"train": _tensor(train_edge_mask, "train_edge_mask"), "validation": _tensor(val_edge_mask, "val_edge_mask"),
         "test": _tensor(test_edge_mask, "test_edge_mask")},
        edges.size(1),
        "edge",
    )
    if column_codes is not None:
        codes = column_codes[keep].long()
        low_code = torch.full((pairs.size(1),), 9, dtype=torch.long).scatter_reduce(0, pair_of, codes, reduce="amin")
        high_code = torch.full((pairs.size(1),), -9, dtype=torch.long).scatter_reduce(0, pair_of, codes, reduce="amax")
        if bool((low_code != high_code).any()):
            bad = int(torch.nonzero(low_code != high_code)[0])
            raise DataError(
                f"edge ({int(pairs[0, bad])}, {int(pairs[1, bad])}) sits in different edge splits in its two "
                "directions; put both directions of an undirected edge in the same split"
            )
        pair_split = low_code.to(torch.int8)
    node_split = _split_codes(
        {"train": _tensor(train_mask, "train_mask"), "validation": _tensor(val_mask, "val_mask"),
         "test": _tensor(test_mask, "test_mask")},
        n,
        "node",
    )
    user_node_ids = _tensor(node_ids, "node_ids", torch.long)
    return GraphData(
        name=name,
        x=features,
        y=labels,
        pairs=pairs,
        num_classes=classes,
        node_split=node_split,
        pair_split=pair_split,
        node_ids=None if user_node_ids is None else user_node_ids.reshape(-1),
        edge_ids=torch.stack([column_ids[keep], pair_of]),
    )


def from_pyg(
    data: object, *, name: str = "user-graph", node_ids: object = None, edge_ids: object = None
) -> GraphData:
    """A :class:`GraphData` from a torch-geometric ``Data`` (see :func:`graph_from_arrays`).

    Reads ``x``, ``edge_index``, ``y`` and, where present, the split masks ``train_mask``,
    ``val_mask``, ``test_mask`` (nodes) and ``train_edge_mask``, ``val_edge_mask``,
    ``test_edge_mask`` (columns of ``edge_index``).

    Args:
        data: the ``Data`` object.
        name: the graph's name.
        node_ids, edge_ids: the user's ids, as arrays or as names of attributes of ``data``
            (default: the attributes ``node_id`` / ``edge_id`` if present, else positions).

    Raises:
        DataError: when ``x`` or ``edge_index`` is missing, or as :func:`graph_from_arrays`.
    """
    def attribute(key: str) -> object:
        return getattr(data, key, None)

    for key in ("x", "edge_index"):
        if attribute(key) is None:
            raise DataError(f"the PyG Data has no '{key}'; graph unlearning needs node features and edges")
    node_ids = attribute(node_ids) if isinstance(node_ids, str) else node_ids
    edge_ids = attribute(edge_ids) if isinstance(edge_ids, str) else edge_ids
    return graph_from_arrays(
        attribute("x"),
        attribute("edge_index"),
        attribute("y"),
        train_mask=attribute("train_mask"),
        val_mask=attribute("val_mask"),
        test_mask=attribute("test_mask"),
        train_edge_mask=attribute("train_edge_mask"),
        val_edge_mask=attribute("val_edge_mask"),
        test_edge_mask=attribute("test_edge_mask"),
        node_ids=node_ids if node_ids is not None else attribute("node_id"),
        edge_ids=edge_ids if edge_ids is not None else attribute("edge_id"),
        name=name,
    )


def load_graph_npz(path: str | os.PathLike, *, name: str | None = None) -> GraphData:
    """A :class:`GraphData` from a ``.npz`` of arrays (read without unpickling).

    Keys: ``x`` and ``edge_index`` (required), ``y``, ``train_mask``, ``val_mask``,
    ``test_mask``, ``train_edge_mask``, ``val_edge_mask``, ``test_edge_mask``, ``node_id``,
    ``edge_id`` (optional; see :func:`graph_from_arrays`). Write one with
    ``numpy.savez(path, x=..., edge_index=..., ...)``.

    Raises:
        DataError: the file is missing or unreadable, holds object arrays or unknown keys,
            or lacks ``x`` / ``edge_index``.
    """
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {key: archive[key] for key in archive.files}
    except FileNotFoundError:
        raise DataError(f"graph file '{path}' does not exist") from None
    except (OSError, ValueError) as exc:
        raise DataError(f"graph file '{path}' is not a readable .npz of plain arrays ({exc})") from None
    unknown = sorted(set(arrays) - set(NPZ_KEYS))
    if unknown:
        raise DataError(f"graph file '{path}' has unknown arrays {unknown}; the known ones are: {', '.join(NPZ_KEYS)}")
    missing = [key for key in ("x", "edge_index") if key not in arrays]
    if missing:
        raise DataError(f"graph file '{path}' lacks {', '.join(missing)}; graph unlearning needs node features and edges")
    return graph_from_arrays(
        arrays["x"],
        arrays["edge_index"],
        arrays.get("y"),
        train_mask=arrays.get("train_mask"),
        val_mask=arrays.get("val_mask"),
        test_mask=arrays.get("test_mask"),
        train_edge_mask=arrays.get("train_edge_mask"),
        val_edge_mask=arrays.get("val_edge_mask"),
        test_edge_mask=arrays.get("test_edge_mask"),
        node_ids=arrays.get("node_id"),
        edge_ids=arrays.get("edge_id"),
        name=name or path.stem,
    )


# -- restricted unpickling ----------------------------------------------------------------


def _allowed_globals() -> dict[tuple[str, str], object]:
    import collections

    import scipy.sparse as sp

    try:  # NumPy 2 moved the array reconstructor to numpy._core.
        from numpy._core.multiarray import _reconstruct
    except ImportError:  # pragma: no cover - NumPy 1.x
        from numpy.core.multiarray import _reconstruct
    return {
        ("scipy.sparse.csr", "csr_matrix"): sp.csr_matrix,
        ("scipy.sparse._csr", "csr_matrix"): sp.csr_matrix,
        ("numpy.core.multiarray", "_reconstruct"): _reconstruct,
        ("numpy._core.multiarray", "_reconstruct"): _reconstruct,
        ("numpy", "ndarray"): np.ndarray,
        ("numpy", "dtype"): np.dtype,
        ("collections", "defaultdict"): collections.defaultdict,
        ("__builtin__", "list"): list,
        ("builtins", "list"): list,
        ("__builtin__", "dict"): dict,
        ("builtins", "dict"): dict,
    }


class RestrictedUnpickler(pickle.Unpickler):
    """An unpickler that admits only the classes the Planetoid files contain.

    Allowed: ``scipy.sparse.csr_matrix``, NumPy's ``ndarray``, ``dtype`` and array
    reconstructor, ``collections.defaultdict``, and the builtins ``list`` and ``dict``.
    Any other global (``os.system``, ``builtins.eval``, ...) raises :class:`DataError`
    before it is looked up, so a tampered file cannot run code.
    """

    def find_class(self, module: str, name: str) -> object:
        """The allowed class named ``module.name``.

        Raises:
            DataError: for any global outside the allow-list.
        """
        allowed = _allowed_globals()
        try:
            return allowed[(module, name)]
        except KeyError:
            raise DataError(
                f"refusing to unpickle '{module}.{name}': Planetoid files hold only sparse "
                "matrices, arrays and adjacency lists; the file is not a genuine Planetoid file"
            ) from None


def restricted_load(data: bytes, *, what: str = "pickle") -> object:
    """Unpickle ``data`` (Python-2 pickles: ``encoding="latin1"``) with :class:`RestrictedUnpickler`.

    Raises:
        DataError: for a forbidden class or a malformed pickle.
    """
    try:
        return RestrictedUnpickler(io.BytesIO(data), encoding="latin1").load()
    except DataError:
        raise
    except Exception as exc:  # malformed stream: report it as bad data, not a crash
        raise DataError(f"{what} is not a readable pickle ({type(exc).__name__}: {exc})") from None


def _as_dense_array(obj: object, what: str) -> np.ndarray:
    import scipy.sparse as sp

    if isinstance(obj, sp.csr_matrix):
        # Rebuild from the raw arrays so a forged object cannot smuggle odd attributes.
        matrix = sp.csr_matrix(
            (np.asarray(obj.data), np.asarray(obj.indices), np.asarray(obj.indptr)), shape=obj.shape
        )
        matrix.check_format(full_check=True)
        array = matrix.toarray()
    elif isinstance(obj, np.ndarray):
        array = obj
    else:
        raise DataError(f"{what} holds a {type(obj).__name__}; expected a sparse matrix or an array")
    if array.dtype == object or array.ndim != 2:
        raise DataError(f"{what} must be a 2-D numeric array; got dtype {array.dtype}, shape {array.shape}")
    return np.asarray(array, dtype=np.float32)


def planetoid_dir(data_dir: str | os.PathLike | None) -> Path:
    """The folder holding ``ind.*`` files: ``data_dir`` (or its ``planetoid/``), else
    ``$OBLIVIATE_DATA_DIR/planetoid``.

    Raises:
        DataError: when neither is given.
    """
    if data_dir is None:
        root = shared_data_dir()
        if root is None:
            raise DataError(
                "no folder for the Planetoid files: pass data_dir=... or set OBLIVIATE_DATA_DIR "
                f"to a folder holding planetoid/ind.<name>.* (get them from {PLANETOID_SOURCE})"
            )
        return root / "planetoid"
    folder = Path(data_dir)
    if (folder / "planetoid").is_dir():
        return folder / "planetoid"
    return folder


def load_planetoid(
    name: str = "cora",
    data_dir: str | os.PathLike | None = None,
    *,
    checksums: dict[str, str] | None = None,
) -> GraphData:
    """Load a Planetoid graph from its raw ``ind.<name>.*`` files, verifying their sha256.

    Args:
        name: graph name as in the file names (``cora``, ``citeseer``, or another graph
            shipped in the same format).
        data_dir: the folder with the files (or its parent holding ``planetoid/``);
            default ``$OBLIVIATE_DATA_DIR/planetoid``.
        checksums: sha256 per part (``"x"``, ``"y"``, ..., ``"test.index"``); required for
            a name without built-in checksums (those: ``cora``, ``citeseer``).

    Returns:
        A :class:`GraphData` with every node, its features and label, and the undirected
        edges of the adjacency lists (self-loops and duplicate pairs removed).

    Raises:
        DataError: a file is missing, fails its checksum, holds a forbidden class, or has
            an unexpected shape.
        InvalidRequestError: a name without built-in checksums and none given.
    """
    name = name.lower()
    expected = checksums if checksums is not None else PLANETOID_CHECKSUMS.get(name)
    if expected is None:
        raise InvalidRequestError(
            f"no built-in checksums for Planetoid graph '{name}' (known: "
            f"{', '.join(sorted(PLANETOID_CHECKSUMS))}); pass checksums={{part: sha256}} for "
            f"the parts {', '.join(PLANETOID_PARTS)}"
        )
    missing = [part for part in PLANETOID_PARTS if part not in expected]
    if missing:
        raise InvalidRequestError(f"checksums for '{name}' lack the parts: {', '.join(missing)}")
    folder = planetoid_dir(data_dir)
    verify_files(folder, {f"ind.{name}.{part}": expected[part] for part in PLANETOID_PARTS}, source=PLANETOID_SOURCE)

    def read(part: str) -> object:
        path = folder / f"ind.{name}.{part}"
        return restricted_load(path.read_bytes(), what=str(path))

    x, tx, allx = (_as_dense_array(read(part), f"ind.{name}.{part}") for part in ("x", "tx", "allx"))
    ty, ally = (_as_dense_array(read(part), f"ind.{name}.{part}") for part in ("ty", "ally"))
    graph = read("graph")
    if not isinstance(graph, dict):
        raise DataError(f"ind.{name}.graph holds a {type(graph).__name__}; expected an adjacency dict")
    try:
        test_index = np.array(
            [int(line) for line in (folder / f"ind.{name}.test.index").read_text().split()], dtype=np.int64
        )
    except ValueError:
        raise DataError(f"ind.{name}.test.index must hold one integer per line") from None

    if tx.shape[0] != ty.shape[0] or allx.shape[0] != ally.shape[0] or tx.shape[1] != allx.shape[1]:
        raise DataError(f"Planetoid '{name}': feature and label files disagree in shape")
    if len(test_index) != tx.shape[0]:
        raise DataError(f"Planetoid '{name}': test.index lists {len(test_index)} ids for {tx.shape[0]} test rows")
    del x  # the labelled training rows are the first rows of allx as well
    sorted_test = np.sort(test_index)
    low, high = int(sorted_test[0]), int(sorted_test[-1])
    if low != allx.shape[0]:
        raise DataError(f"Planetoid '{name}': test ids start at {low}, expected {allx.shape[0]}")
    # Test ids absent from tx (isolated nodes) get zero rows, as in the GCN reference code.
    span = high - low + 1
    tx_full = np.zeros((span, tx.shape[1]), dtype=np.float32)
    ty_full = np.zeros((span, ty.shape[1]), dtype=np.float32)
    tx_full[sorted_test - low] = tx
    ty_full[sorted_test - low] = ty
    features = np.concatenate([allx, tx_full])
    onehot = np.concatenate([ally, ty_full])
    features[test_index] = features[sorted_test]
    onehot[test_index] = onehot[sorted_test]
    labels = onehot.argmax(axis=1)

    num_nodes = features.shape[0]
    sources, targets = [], []
    for node, neighbours in graph.items():
        if not isinstance(node, (int, np.integer)) or not isinstance(neighbours, (list, tuple)):
            raise DataError(f"ind.{name}.graph must map node ids to lists of node ids")
        for other in neighbours:
            sources.append(int(node))
            targets.append(int(other))
    edges = torch.tensor([sources, targets], dtype=torch.long)
    if edges.numel() and (edges.min() < 0 or edges.max() >= num_nodes):
        raise DataError(f"ind.{name}.graph names nodes outside 0..{num_nodes - 1}")
    return GraphData(
        name=name,
        x=torch.from_numpy(features),
        y=torch.from_numpy(labels.astype(np.int64)),
        pairs=canonical_pairs(edges),
        num_classes=int(onehot.shape[1]),
    )


# -- synthetic ------------------------------------------------------------------------------


def make_csbm(
    num_nodes: int = 300,
    num_classes: int = 4,
    num_features: int = 512,
    *,
    average_degree: float = 8.0,
    homophily: float = 0.8,
    feature_signal: float = 1.0,
    seed: int = 0,
) -> GraphData:
    """A contextual stochastic block model graph (synthetic; Deshpande et al., NeurIPS 2018).

    Communities ``c_i`` are drawn uniformly. Pair ``(i, j)`` is an edge with probability
    ``p_in`` when ``c_i = c_j`` and ``p_out`` otherwise, chosen so that a node has
    ``average_degree`` neighbours in expectation, a share ``homophily`` of them inside
    its community. Features: ``x_i = feature_signal * mu_{c_i} + eps_i`` with
    ``mu_c ~ N(0, I / num_features)`` scaled to unit norm and ``eps_i ~ N(0, I / num_features)``.

    Args:
        num_nodes, num_classes, num_features: sizes.
        average_degree: expected degree.
        homophily: expected fraction of a node's edges inside its community, in [0, 1].
        feature_signal: distance of the community means from the origin (signal to noise).
        seed: seeds every draw.

    Returns:
        A :class:`GraphData` named ``"csbm"`` with ``synthetic=True``.

    Raises:
        InvalidRequestError: for sizes or probabilities out of range.
    """
    if num_nodes < 4 or num_classes < 2 or num_features < 1:
        raise InvalidRequestError("csbm needs num_nodes >= 4, num_classes >= 2 and num_features >= 1")
    if not 0.0 <= homophily <= 1.0 or average_degree <= 0:
        raise InvalidRequestError("csbm needs 0 <= homophily <= 1 and average_degree > 0")
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, num_classes, size=num_nodes)
    block = num_nodes / num_classes
    p_in = min(1.0, average_degree * homophily / max(block - 1, 1))
    p_out = min(1.0, average_degree * (1 - homophily) / max(num_nodes - block, 1))
    sources, targets = [], []
    for i in range(num_nodes - 1):
        others = np.arange(i + 1, num_nodes)
        prob = np.where(labels[others] == labels[i], p_in, p_out)
        linked = others[rng.random(others.size) < prob]
        sources.append(np.full(linked.size, i))
        targets.append(linked)
    edges = np.stack([np.concatenate(sources), np.concatenate(targets)])
    means = rng.normal(size=(num_classes, num_features))
    means /= np.linalg.norm(means, axis=1, keepdims=True)
    noise = rng.normal(scale=1.0 / np.sqrt(num_features), size=(num_nodes, num_features))
    features = feature_signal * means[labels] + noise
    return GraphData(
        name="csbm",
        x=torch.tensor(features, dtype=torch.float32),
        y=torch.tensor(labels, dtype=torch.long),
        pairs=canonical_pairs(torch.from_numpy(edges)),
        num_classes=num_classes,
        synthetic=True,
    )


DATASETS = ("csbm", "cora", "citeseer")


def load_graph(name: str, *, data_dir: str | os.PathLike | None = None, seed: int = 0) -> GraphData:
    """Load a graph by name: ``csbm`` (synthetic, seeded by ``seed``), a Planetoid graph, or
    a ``.npz`` file of arrays (:func:`load_graph_npz`).

    Raises:
        InvalidRequestError: for an unknown name.
        DataError: for missing or altered Planetoid files.
    """
    if name == "csbm":
        return make_csbm(seed=seed)
    if name in PLANETOID_CHECKSUMS:
        return load_planetoid(name, data_dir)
    if name.endswith(".npz") or Path(name).is_file():
        return load_graph_npz(name)
    raise InvalidRequestError(
        f"unknown graph data set '{name}'; choose one of: {', '.join(DATASETS)}, give a .npz file of arrays "
        "(load_graph_npz), or pass a GraphData or a PyG Data as dataset"
    )


@dataclass(frozen=True)
class GraphPart:
    """One part of a graph unlearning request: a graph to pass messages on and its elements.

    Attributes:
        x: node features (all nodes; a deleted node keeps its row but loses its edges).
        y: node labels.
        edge_index: the message-passing edges of this part (both directions of each pair).
        pairs: the part's edges as ``(2, k)`` pairs ``u < v`` (link objective: the
            supervised edges; node deletion: the edges removed with the deleted nodes).
        nodes: the part's nodes (node objective: the labelled nodes).
        objective: ``"link"`` (link prediction) or ``"node"`` (node classification).
        negatives: fixed non-edge pairs scored against ``pairs`` (validation parts), or ``None``.
    """

    x: torch.Tensor
    y: torch.Tensor
    edge_index: torch.Tensor
    pairs: torch.Tensor
    nodes: torch.Tensor
    objective: str
    negatives: torch.Tensor | None = None

    @property
    def num_nodes(self) -> int:
        """Number of nodes of the graph."""
        return int(self.x.size(0))

    def __len__(self) -> int:
        """Number of elements: pairs for the link objective, nodes for the node objective."""
        return int(self.pairs.size(1) if self.objective == "link" else self.nodes.numel())
