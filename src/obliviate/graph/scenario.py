"""The graph scenario: a graph, a GNN recipe, a forget spec (edges or nodes) and a seed.

Edge deletion (``edges:<fraction>``, ``class-edges:<k>``) is studied on **link
prediction**, node deletion (``nodes:<fraction>``, ``class-nodes:<k>``) on **node
classification**, as in GNNDelete (Cheng et al., ICLR 2023) and D2DGN (Sinha et al., 2023).

Splits (seeded):

* link prediction: the undirected edges are split 85% training / 5% validation / 10% test;
  validation and test get as many sampled non-edges. Messages pass over training edges.
  ``edges:f`` deletes ``round(f * training edges)`` training edges drawn at random
  (``edge_scope="random"``), among edges inside a community (``"within"``: endpoints with
  the same label) or across communities (``"across"``); ``class-edges:k`` deletes every
  training edge whose endpoints both carry label ``k``.
* node classification: nodes are split 60% training / 20% validation / 20% test; messages
  pass over every edge. ``nodes:f`` deletes ``round(f * training nodes)`` training nodes
  at random, ``class-nodes:k`` every training node of class ``k``; a deleted node loses its
  label and all its edges (it stays as an isolated node so that it can be audited).

**Your own graph and model.** ``dataset`` may be a PyG ``Data`` or a ``.npz`` of arrays
(:func:`~obliviate.graph.data.from_pyg`, :func:`~obliviate.graph.data.load_graph_npz`): its
``edge_index`` is canonicalised (each undirected edge once), its split masks
(``train_mask``/``val_mask``/``test_mask`` for nodes, ``*_edge_mask`` for edges) replace the
drawn split, and ``ids:<file>`` forgets the nodes (``ids_of="nodes"``) or edges
(``ids_of="edges"``) with the user's ids listed in the file (``node_id``/``edge_id``, else
positions; an edge's id is its column in ``edge_index``, either direction). Without a user
split, the named elements are kept out of the held-out draw, so any of them can be
forgotten. ``model`` is a recipe (``gcn``, ``gat``, ``gin``, ``sage``) or a factory: a
zero-argument callable, or a ``"package.module:callable"`` string, building the untrained
network (any module whose ``forward(x, edge_index)`` runs PyG message-passing layers); the
request hands the factory to the methods that need a fresh network (``retrain``, D2DGN's
destroyer).

The original model is trained on the whole training graph; the gold model from scratch on
the graph left after the deletion. **Every model is audited on the graph left after the
deletion** (deleted edges are gone from message passing for all of them), so the audit
measures what the weights still remember, not what the input graph still shows.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
import torch
from torch import nn

from obliviate.core.cache import cache_path, train_or_load
from obliviate.core.contracts import UnlearningRequest
from obliviate.core.errors import (
    DataError,
    InvalidForgetSpecError,
    InvalidRequestError,
    UnsupportedModelError,
)
from obliviate.core.factory import build_with, factory_name, load_factory
from obliviate.core.timing import count_flops
from obliviate.core.training import default_device
from obliviate.data.forget import ForgetSpec, parse_forget_spec, read_ids_file
from obliviate.graph.adapters import check_graph_model, decode_pairs, probe_layers
from obliviate.graph.data import GraphData, GraphPart, from_pyg, load_graph
from obliviate.graph.metrics import (
    EdgeMembershipAttack,
    deleted_edge_auc,
    df_scores,
    gnndelete_mi_ratio,
    link_scores,
    membership_probability,
    membership_ratio,
)
from obliviate.graph.models import ENCODERS, recipe_factory
from obliviate.graph.structure import (
    NegativeSampler,
    incident_pairs,
    remove_pairs,
    to_message_passing,
)
from obliviate.graph.training import train_graph

FORGET_KINDS = frozenset({"edges", "class-edges", "nodes", "class-nodes", "ids"})
LINK_KINDS = frozenset({"edges", "class-edges"})
EDGE_SCOPES = ("random", "within", "across")
IDS_OF = ("nodes", "edges")
LINK_SPLIT = (0.85, 0.05, 0.10)
NODE_SPLIT = (0.60, 0.20, 0.20)


@dataclass(frozen=True)
class GraphRecipe:
    """How the original and gold models are built and trained (also what ``retrain`` uses).

    Attributes:
        epochs: full-graph Adam steps.
        lr, weight_decay: Adam settings.
        hidden: width of the hidden layers.
        embedding: output width of link-prediction models (node models output the classes).
        dropout: dropout on each layer's input during training.
        num_layers: message-passing layers.
    """

    epochs: int = 200
    lr: float = 0.01
    weight_decay: float = 0.0
    hidden: int = 64
    embedding: int = 32
    dropout: float = 0.0
    num_layers: int = 2

    def as_dict(self) -> dict[str, Any]:
        """The recipe as a plain dict (stored in requests and cache keys)."""
        return dict(self.__dict__)


LINK_RECIPE = GraphRecipe(epochs=200, lr=0.01, weight_decay=0.0, hidden=64, embedding=32, dropout=0.0)
NODE_RECIPE = GraphRecipe(epochs=200, lr=0.01, weight_decay=5e-4, hidden=64, dropout=0.5)
# The small synthetic graph needs longer link training before the original memorises its
# training edges (which is what there is to unlearn).
DEFAULT_EPOCHS = {("csbm", "link"): 400}


@dataclass
class _Split:
    train_pairs: torch.Tensor  # pairs the original is taught (link) / every edge (node)
    forget_pairs: torch.Tensor  # deleted edges (link) / edges of the deleted nodes (node)
    retain_pairs: torch.Tensor
    train_nodes: torch.Tensor
    forget_nodes: torch.Tensor
    retain_nodes: torch.Tensor
    val_nodes: torch.Tensor
    test_nodes: torch.Tensor
    val_pairs: torch.Tensor
    val_negatives: torch.Tensor
    test_pairs: torch.Tensor
    test_negatives: torch.Tensor
    retained_sample: torch.Tensor  # retained training pairs compared with the deleted ones
    forget_pair_index: torch.Tensor  # positions in graph.pairs of the deleted edges (link)


@dataclass
class GraphScenario:
    """Graph unlearning scenario.

    Args:
        dataset: ``"csbm"`` (synthetic, built in), ``"cora"`` or ``"citeseer"`` (Planetoid
            files), a ``.npz`` file of arrays, a PyG ``Data``, or a
            :class:`~obliviate.graph.data.GraphData`.
        forget: ``edges:<fraction>``, ``class-edges:<k>``, ``nodes:<fraction>``,
            ``class-nodes:<k>`` or ``ids:<file>`` (one user id per line).
        model: a recipe, ``"gcn"``, ``"gat"``, ``"gin"`` or ``"sage"``, or a factory of your own
            network: a zero-argument callable or a ``"package.module:callable"`` string
            returning it untrained (seeded by the scenario before the call).
        seed: seeds the graph (csbm), the splits, the forget draw, initialisation and training.
        epochs: training steps of original and gold (default: the recipe's).
        edge_scope: for ``edges:``, draw among ``"random"``, ``"within"`` or ``"across"``
            community edges.
        cache_dir: where trained models are cached (``None``: no cache).
        data_dir: folder of the Planetoid files; default ``$OBLIVIATE_DATA_DIR/planetoid``.
        device: ``"cpu"``, ``"cuda"`` or ``None`` (CUDA when available).
        progress: show progress bars while training.
        ids_of: for ``ids:``, whether the file lists node ids (``"nodes"``, node
            classification) or edge ids (``"edges"``, link prediction).
    """

    dataset: Any = "csbm"
    forget: str | ForgetSpec = "edges:0.05"
    model: str | Callable[[], nn.Module] = "gcn"
    seed: int = 0
    epochs: int | None = None
    edge_scope: str = "random"
    cache_dir: str | os.PathLike | None = None
    data_dir: str | os.PathLike | None = None
    device: str | None = None
    progress: bool = False
    ids_of: str = "nodes"
    task: str = field(default="graph", init=False)

    def __post_init__(self) -> None:
        self.spec = parse_forget_spec(self.forget, allowed=FORGET_KINDS)
        if self.edge_scope not in EDGE_SCOPES:
            raise InvalidRequestError(f"edge_scope must be one of {', '.join(EDGE_SCOPES)}; got {self.edge_scope!r}")
        if self.edge_scope != "random" and self.spec.kind != "edges":
            raise InvalidRequestError(f"edge_scope={self.edge_scope!r} applies to 'edges:' specs only")
        if self.ids_of not in IDS_OF:
            raise InvalidRequestError(f"ids_of must be one of {', '.join(IDS_OF)}; got {self.ids_of!r}")
        if self.ids_of != "nodes" and self.spec.kind != "ids":
            raise InvalidRequestError(f"ids_of={self.ids_of!r} applies to 'ids:' specs only")
        link = self.spec.kind in LINK_KINDS or (self.spec.kind == "ids" and self.ids_of == "edges")
        self.objective = "link" if link else "node"
        self._factory = _resolve_model(self.model)
        if not isinstance(self.dataset, (str, os.PathLike, GraphData)):
            if getattr(self.dataset, "edge_index", None) is None:
                raise InvalidRequestError(
                    f"dataset must be a built-in name, a .npz file, a PyG Data or a GraphData; got {type(self.dataset).__name__}"
                )
            self.dataset = from_pyg(self.dataset)
        base = LINK_RECIPE if self.objective == "link" else NODE_RECIPE
        epochs = self.epochs or DEFAULT_EPOCHS.get((self.dataset_name, self.objective), base.epochs)
        self.recipe = GraphRecipe(**{**base.as_dict(), "epochs": epochs})
        self._graph: GraphData | None = self.dataset if isinstance(self.dataset, GraphData) else None
        self._split: _Split | None = None
        self._original: nn.Module | None = None
        self._gold: nn.Module | None = None
        self._membership_before: dict[str, float] = {}  # keyed by the reference's state_sha256
        self._presence_before: dict[str, np.ndarray] = {}  # keyed by the reference's state_sha256
        self._shadow: nn.Module | None = None
        self._attack: EdgeMembershipAttack | None = None
        self._named: torch.Tensor | None = None
        self._named_ids: list[int] | None = None
        self.training_seconds: dict[str, float] = {}
        self.audit_notes: dict[str, str] = {}

    @classmethod
    def from_pyg(
        cls, data: Any, *, node_ids: Any = None, edge_ids: Any = None, name: str = "user-graph", **options: Any
    ) -> GraphScenario:
        """A scenario on a user's own PyG ``Data`` (see :func:`~obliviate.graph.data.from_pyg`);
        ``options`` are the scenario's other arguments (``forget``, ``model``, ``seed``, ...)."""
        return cls(dataset=from_pyg(data, name=name, node_ids=node_ids, edge_ids=edge_ids), **options)

    # -- data ---------------------------------------------------------------------------
    @property
    def graph(self) -> GraphData:
        """The whole graph."""
        if self._graph is None:
            self._graph = load_graph(os.fspath(self.dataset), data_dir=self.data_dir, seed=self.seed)
        return self._graph

    @property
    def data(self) -> GraphData:
        """The whole graph (the name every task's scenario gives its data)."""
        return self.graph

    @property
    def dataset_name(self) -> str:
        """The data set's name."""
        return self.dataset.name if isinstance(self.dataset, GraphData) else os.fspath(self.dataset)

    @property
    def forget_classes(self) -> tuple[int, ...]:
        """The classes named by ``class-nodes:`` / ``class-edges:`` specs, else ``()``."""
        return tuple(self.spec.value) if self.spec.kind.startswith("class-") else ()

    @property
    def split(self) -> _Split:
        """Training/validation/test elements and the forget/retain parts (computed once)."""
        if self._split is None:
            self._split = self._make_split()
        return self._split

    def _make_split(self) -> _Split:
        graph = self.graph
        n = graph.num_nodes
        rng = np.random.default_rng(self.seed)
        empty_pairs = torch.empty(2, 0, dtype=torch.long)
        empty_nodes = torch.empty(0, dtype=torch.long)
        for k in self.forget_classes:
            if k >= graph.num_classes:
                raise InvalidForgetSpecError(
                    f"class {k} does not exist: '{graph.name}' has classes 0..{graph.num_classes - 1}"
                )
        named = self.named_forget
        if self.objective == "link":
            total = graph.pairs.size(1)
            if graph.pair_split is not None:
                codes = graph.pair_split.long()
                test_index, val_index, train_index = (torch.nonzero(codes == c).squeeze(1) for c in (2, 1, 0))
                if test_index.numel() == 0 or train_index.numel() == 0:
                    raise DataError(f"the edge split of '{graph.name}' needs at least one training and one test edge")
            else:
                n_test = max(1, int(round(LINK_SPLIT[2] * total)))
                n_val = max(1, int(round(LINK_SPLIT[1] * total)))
                if named is None:
                    order = torch.from_numpy(rng.permutation(total))
                    forced = empty_nodes
                else:  # the named edges are kept out of the held-out draw
                    others = torch.nonzero(~torch.isin(torch.arange(total), named)).squeeze(1)
                    order = others[torch.from_numpy(rng.permutation(others.numel()))]
                    forced = named
                test_index = order[:n_test]
                val_index = order[n_test : n_test + n_val]
                train_index = torch.cat([order[n_test + n_val :], forced])
            test_pairs = graph.pairs[:, test_index]
            val_pairs = graph.pairs[:, val_index]
            train_pairs = graph.pairs[:, train_index]
            n_test, n_val = test_index.numel(), val_index.numel()
            negatives = NegativeSampler(n, graph.pairs, seed=self.seed + 1).sample(n_test + n_val, unique=True)
            chosen = self._select_forget_pairs(train_pairs, train_index, rng)
            forget_pairs = train_pairs[:, chosen]
            retain_pairs = remove_pairs(train_pairs, forget_pairs, n)
            all_nodes = torch.arange(n)
            sample = torch.from_numpy(
                rng.choice(retain_pairs.size(1), min(forget_pairs.size(1), retain_pairs.size(1)), replace=False)
            )
            return _Split(
                train_pairs=train_pairs,
                forget_pairs=forget_pairs,
                retain_pairs=retain_pairs,
                train_nodes=all_nodes,
                forget_nodes=empty_nodes,
                retain_nodes=all_nodes,
                val_nodes=empty_nodes,
                test_nodes=empty_nodes,
                val_pairs=val_pairs,
                val_negatives=negatives[:, n_test:],
                test_pairs=test_pairs,
                test_negatives=negatives[:, :n_test],
                retained_sample=retain_pairs[:, sample],
                forget_pair_index=train_index[chosen],
            )
        if graph.num_classes < 2:
            raise DataError(
                f"node deletion is studied on node classification, and '{graph.name}' has no labels (y) with at "
                "least two classes; give labels, or forget edges (edges:, ids: with ids_of='edges')"
            )
        if graph.node_split is not None:
            codes = graph.node_split.long()
            train_nodes, val_nodes, test_nodes = (torch.nonzero(codes == c).squeeze(1) for c in (0, 1, 2))
            if train_nodes.numel() == 0 or test_nodes.numel() == 0:
                raise DataError(f"the node split of '{graph.name}' needs at least one training and one test node")
        else:
            n_train = int(round(NODE_SPLIT[0] * n))
            n_val = int(round(NODE_SPLIT[1] * n))
            if named is None:
                order = torch.from_numpy(rng.permutation(n))
            else:  # the named nodes come first: they are training nodes
                others = torch.nonzero(~torch.isin(torch.arange(n), named)).squeeze(1)
                order = torch.cat([named, others[torch.from_numpy(rng.permutation(others.numel()))]])
                n_train = max(n_train, named.numel())
            train_nodes = torch.sort(order[:n_train]).values
            val_nodes = torch.sort(order[n_train : n_train + n_val]).values
            test_nodes = torch.sort(order[n_train + n_val :]).values
        forget_nodes = self._select_forget_nodes(train_nodes, rng)
        removed = incident_pairs(graph.pairs, forget_nodes, n)
        return _Split(
            train_pairs=graph.pairs,
            forget_pairs=removed,
            retain_pairs=remove_pairs(graph.pairs, removed, n),
            train_nodes=train_nodes,
            forget_nodes=forget_nodes,
            retain_nodes=train_nodes[~torch.isin(train_nodes, forget_nodes)],
            val_nodes=val_nodes,
            test_nodes=test_nodes,
            val_pairs=empty_pairs,
            val_negatives=empty_pairs,
            test_pairs=empty_pairs,
            test_negatives=empty_pairs,
            retained_sample=empty_pairs,
            forget_pair_index=empty_nodes,
        )

    @property
    def named_forget(self) -> torch.Tensor | None:
        """For ``ids:``, the positions of the named nodes or of the named edges' pairs; else ``None``.

        Raises:
            InvalidForgetSpecError: the file is missing or malformed, empty, repeats an id, or
                names an id the graph does not have.
        """
        if self.spec.kind != "ids":
            return None
        if self._named is None:
            ids = read_ids_file(self.spec.value)
            if ids.size == 0:
                raise InvalidForgetSpecError(f"ids file '{self.spec.value}' lists no id: the forget set is empty")
            unique, counts = np.unique(ids, return_counts=True)
            if (counts > 1).any():
                raise InvalidForgetSpecError(
                    f"ids file '{self.spec.value}' repeats the ids {unique[counts > 1][:5].tolist()}; list each once"
                )
            graph = self.graph
            if self.ids_of == "edges":
                self._named = graph.pair_positions(unique)
            else:
                self._named = torch.sort(graph.node_positions(unique)).values
            self._named_ids = unique.tolist()
        return self._named

    @property
    def forget_ids(self) -> list[int]:
        """The forgotten elements in the user's ids (what the certificate records).

        ``ids:``: the ids of the file. Otherwise the node ids of the deleted nodes, or one
        edge id per deleted edge (the smallest id naming it: with a PyG ``edge_index``, a
        column of it; for built-in graphs, the position in ``graph.pairs``).
        """
        split = self.split
        if self._named_ids is not None:
            return list(self._named_ids)
        if self.objective == "link":
            return self.graph.pair_labels()[split.forget_pair_index].tolist()
        return self.graph.node_labels()[split.forget_nodes].tolist()

    def _select_forget_pairs(
        self, train_pairs: torch.Tensor, train_index: torch.Tensor, rng: np.random.Generator
    ) -> torch.Tensor:
        """Columns of ``train_pairs`` to delete."""
        y = self.graph.y
        same = y[train_pairs[0]] == y[train_pairs[1]]
        if self.spec.kind == "ids":
            named = self.named_forget
            inside = torch.isin(train_index, named)
            if int(inside.sum()) != named.numel():
                held = self.graph.pair_labels()[named[~torch.isin(named, train_index)]][:5].tolist()
                raise InvalidForgetSpecError(
                    f"edges {held} are validation or test edges in the graph's split: the model never trained "
                    "on them, so there is nothing to forget; list training edges only"
                )
            chosen = torch.nonzero(inside).squeeze(1)
        elif self.spec.kind == "class-edges":
            inside = torch.isin(y[train_pairs[0]], torch.tensor(self.forget_classes)) & same
            chosen = torch.nonzero(inside).squeeze(1)
            if chosen.numel() == 0:
                raise InvalidForgetSpecError(f"no training edge joins two nodes of class {self.forget_classes}")
        else:
            candidates = {"random": torch.ones_like(same), "within": same, "across": ~same}[self.edge_scope]
            pool = torch.nonzero(candidates).squeeze(1).numpy()
            count = max(1, int(round(float(self.spec.value) * train_pairs.size(1))))
            if count > pool.size:
                raise InvalidForgetSpecError(
                    f"'{self.spec}' with edge_scope={self.edge_scope!r} asks for {count} edges but only "
                    f"{pool.size} training edges qualify; lower the fraction"
                )
            chosen = torch.from_numpy(np.sort(rng.choice(pool, count, replace=False)))
        if chosen.numel() >= train_pairs.size(1):
            raise InvalidForgetSpecError("the forget set is every training edge: nothing would be left to retain")
        return chosen

    def _select_forget_nodes(self, train_nodes: torch.Tensor, rng: np.random.Generator) -> torch.Tensor:
        if self.spec.kind == "ids":
            named = self.named_forget
            outside = named[~torch.isin(named, train_nodes)]
            if outside.numel():
                ids = self.graph.node_labels()[outside][:5].tolist()
                raise InvalidForgetSpecError(
                    f"nodes {ids} are not training nodes in the graph's split (validation, test or unlabelled): "
                    "the model never trained on their labels; list training nodes only"
                )
            chosen = named
        elif self.spec.kind == "class-nodes":
            chosen = train_nodes[torch.isin(self.graph.y[train_nodes], torch.tensor(self.forget_classes))]
            if chosen.numel() == 0:
                raise InvalidForgetSpecError(f"no training node has class {self.forget_classes}")
        else:
            count = max(1, int(round(float(self.spec.value) * train_nodes.numel())))
            chosen = torch.sort(train_nodes[torch.from_numpy(rng.choice(train_nodes.numel(), count, replace=False))]).values
        if chosen.numel() >= train_nodes.numel():
            raise InvalidForgetSpecError("the forget set is every training node: nothing would be left to retain")
        return chosen

    def _part(self, which: str) -> GraphPart:
        split, graph = self.split, self.graph
        full = to_message_passing(split.train_pairs)
        kept = to_message_passing(split.retain_pairs)
        link = self.objective == "link"
        parts = {
            "train": (full, split.train_pairs, split.train_nodes, None),
            "forget": (full, split.forget_pairs, split.forget_nodes, None),
            "retain": (kept, split.retain_pairs, split.retain_nodes, None),
            "validation": (kept, split.val_pairs, split.val_nodes, split.val_negatives if link else None),
            "test": (kept, split.test_pairs, split.test_nodes, split.test_negatives if link else None),
        }
        edge_index, pairs, nodes, negatives = parts[which]
        device = self._device()
        return GraphPart(
            x=graph.x.to(device),
            y=graph.y.to(device),
            edge_index=edge_index.to(device),
            pairs=pairs.to(device),
            nodes=nodes.to(device),
            objective=self.objective,
            negatives=None if negatives is None else negatives.to(device),
        )

    def request(self) -> UnlearningRequest:
        """The unlearning request.

        ``forget``: the deleted edges (link) or deleted nodes with their edges (node), on
        the graph as it was (``edge_index`` still holds them). ``retain``: the training
        elements left, on the graph after the deletion. ``validation``: validation elements
        on the graph after the deletion. ``extras``: ``objective``, ``training`` (the recipe)
        and ``forget_classes``. ``model_factory``: the zero-argument factory of fresh
        networks (the recipe's, or the user's own).
        """
        return UnlearningRequest(
            forget=self._part("forget"),
            retain=self._part("retain"),
            validation=self._part("validation"),
            spec=self.spec,
            num_classes=self.graph.num_classes,
            seed=self.seed,
            extras={
                "objective": self.objective,
                "training": self.recipe.as_dict(),
                "forget_classes": self.forget_classes,
            },
            model_factory=self.model_factory,
        )

    # -- models -------------------------------------------------------------------------
    def _device(self) -> torch.device:
        return torch.device(self.device) if self.device else default_device()

    @property
    def model_factory(self) -> Callable[[], nn.Module]:
        """A zero-argument factory of untrained networks: the user's, or the recipe's for this graph."""
        if self._factory is not None:
            return self._factory
        graph = self.graph
        return recipe_factory(
            self.model,
            in_features=graph.num_features,
            out_features=self.recipe.embedding if self.objective == "link" else graph.num_classes,
            num_nodes=graph.num_nodes,
            hidden=self.recipe.hidden,
            num_layers=self.recipe.num_layers,
            dropout=self.recipe.dropout,
        )

    @property
    def model_name(self) -> str:
        """The recipe's name, or ``factory:<module>:<name>`` for a user's factory."""
        if self._factory is None:
            return str(self.model)
        return f"factory:{factory_name(self.model)}"

    def new_model(self) -> nn.Module:
        """A freshly initialised network: the factory called with torch seeded by the scenario's seed.

        Raises:
            UnsupportedModelError: a user's factory returns something that is not a graph
                network for this graph (no message-passing layers, a ``forward`` that does
                not take ``(x, edge_index)``, or for node classification an output width
                other than the number of classes).
        """
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.seed)
            model = build_with(self.model_factory, where=f"the model factory {self.model_name}")
        if self._factory is not None:
            check_graph_model(model, f"the model factory {self.model_name}")
            graph = self.graph
            edge_index = to_message_passing(self.split.train_pairs)
            probe_layers(model, graph.x, edge_index)
            with torch.no_grad():
                model.eval()
                width = model(graph.x, edge_index).size(1)
            if self.objective == "node" and width != graph.num_classes:
                raise UnsupportedModelError(
                    f"the model factory {self.model_name} builds a network with {width} outputs per node; node "
                    f"classification on '{graph.name}' needs {graph.num_classes} (one logit per class)"
                )
        return model.to(self._device())

    def load_model(self, path: str | os.PathLike) -> nn.Module:
        """A network of this scenario (:meth:`new_model`) holding the safetensors weights at
        ``path``, GNNDelete's attached operators included (the model after an earlier
        deletion loads too), in eval mode.

        Raises:
            DataError: the file is unreadable or does not fit the recipe or factory.
        """
        from obliviate.graph.adapters import load_graph_weights

        model = self.new_model()
        load_graph_weights(model, path)
        return model.eval()

    def _config(self, which: str) -> dict[str, Any]:
        config = {
            "which": which,
            "dataset": self.dataset_name,
            "graph": self.graph.fingerprint(),
            "forget": str(self.spec) if which == "gold" else self.objective,
            "edge_scope": self.edge_scope if which == "gold" else None,
            "model": self.model_name,
            "seed": self.seed,
            "recipe": self.recipe.as_dict(),
            "version": 1,
        }
        if self.spec.kind == "ids":
            # Named elements change the drawn split (they stay in training) and the gold model.
            config["named"] = {"of": self.ids_of, "positions": self.named_forget.tolist()}
        if self._factory is not None:
            from obliviate.core.checkpoint import state_sha256

            config["initial_weights"] = state_sha256(self.new_model())
        return config

    def _train(self, which: str, part: GraphPart) -> nn.Module:
        config = self._config(which)
        model = self.new_model()

        def train(net: nn.Module) -> None:
            train_graph(
                net,
                part,
                epochs=self.recipe.epochs,
                lr=self.recipe.lr,
                weight_decay=self.recipe.weight_decay,
                seed=self.seed,
                progress=self.progress,
                desc=f"{which} ({self.dataset_name})",
            )

        path = cache_path(self.cache_dir, f"graph-{which}", config)
        self.training_seconds[which] = train_or_load(model, train, path=path, config=config, seed=self.seed)
        return model

    def original(self) -> nn.Module:
        """The model trained on the whole training graph (cached)."""
        if self._original is None:
            self._original = self._train("original", self._part("train"))
        return self._original

    def gold(self) -> nn.Module:
        """The model retrained from scratch on the graph left after the deletion (cached)."""
        if self._gold is None:
            self._gold = self._train("gold", self._part("retain"))
        return self._gold

    def shadow(self) -> nn.Module:
        """GNNDelete's shadow model (cached): a fresh network (:meth:`new_model`, so the same
        initial weights as the original) trained with the recipe on the held-out **test**
        edges only, messages passing over them.

        Raises:
            InvalidRequestError: the scenario is not an edge deletion (link prediction).
        """
        if self.objective != "link":
            raise InvalidRequestError("the shadow model serves the link membership attack (edge deletion) only")
        if self._shadow is None:
            split, graph, device = self.split, self.graph, self._device()
            part = GraphPart(
                x=graph.x.to(device),
                y=graph.y.to(device),
                edge_index=to_message_passing(split.test_pairs).to(device),
                pairs=split.test_pairs.to(device),
                nodes=split.test_nodes.to(device),
                objective="link",
            )
            self._shadow = self._train("shadow", part)
        return self._shadow

    def membership_attack(self) -> EdgeMembershipAttack:
        """GNNDelete's link membership attack, trained once on the shadow model (cached).

        Features are ``[z_u, z_v]`` of the shadow's embeddings on its own graph (the test
        edges). Present (label 1): the shadow's training edges and the test non-edges.
        Absent (label 0): validation edges and non-edges, the target's training edges, and
        as many further sampled non-edges as there are test edges (the reference's "all"
        attack). Trained for 50 epochs on every pair (the reference also keeps the epoch
        with the best F1 on a 20% validation split; here there is none).
        """
        if self._attack is None:
            split, graph = self.split, self.graph
            shadow = self.shadow()
            was_training = shadow.training
            shadow.eval()
            try:
                with torch.no_grad():
                    z = shadow(graph.x.to(self._device()), to_message_passing(split.test_pairs).to(self._device())).cpu()
            finally:
                shadow.train(was_training)
            known = torch.cat([split.train_pairs, split.val_pairs, split.test_pairs], dim=1)
            extra = NegativeSampler(graph.num_nodes, known, seed=self.seed + 1).sample(split.test_pairs.size(1))
            present = torch.cat([split.test_pairs, split.test_negatives], dim=1)
            absent = torch.cat([split.val_pairs, split.val_negatives, split.train_pairs, extra], dim=1)
            features = EdgeMembershipAttack.features(z, torch.cat([present, absent], dim=1))
            labels = torch.cat([torch.ones(present.size(1)), torch.zeros(absent.size(1))]).long()
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(self.seed)
                attack = EdgeMembershipAttack(z.size(1))
            self._attack = attack.fit(features, labels, seed=self.seed, batch_size=512)
        return self._attack

    def _presence(self, z: torch.Tensor) -> np.ndarray:
        """The attack's per-edge probability that each deleted edge is present, from embeddings ``z``."""
        return self.membership_attack().present_probability(
            EdgeMembershipAttack.features(z, self.split.forget_pairs)
        )

    # -- audit --------------------------------------------------------------------------
    @torch.no_grad()
    def outputs(self, model: nn.Module) -> torch.Tensor:
        """``model``'s node outputs on the graph left after the deletion (CPU tensor)."""
        part = self._part("retain")
        was_training = model.training
        model.eval()
        try:
            return model(part.x, part.edge_index).cpu()
        finally:
            model.train(was_training)

    def forward_flops(self, model: nn.Module) -> int:
        """FLOPs of one forward pass on the graph left after the deletion, counted by
        :func:`obliviate.core.timing.count_flops` (matrix products; sparse message passing
        adds no counted FLOPs)."""
        part = self._part("retain")
        was_training = model.training
        model.eval()
        try:
            with torch.no_grad():
                return count_flops(lambda: model(part.x, part.edge_index))[1]
        finally:
            model.train(was_training)

    def _membership(self, model: nn.Module, z: torch.Tensor) -> float:
        split = self.split
        return membership_probability(
            decode_pairs(model, z, split.retain_pairs),
            decode_pairs(model, z, split.test_pairs),
            decode_pairs(model, z, split.forget_pairs),
            seed=self.seed,
        )

    def _edge_membership_auc(self, model: nn.Module, z: torch.Tensor) -> float:
        """Loss attack AUC of the deleted edges against held-out test edges of the same kinds.

        An edge's loss is the link-prediction cross-entropy ``-log sigmoid(z_u . z_v)``; its
        kind is the pair of its endpoints' classes, so a deletion concentrated on one class
        is compared with held-out edges of that class (:func:`obliviate.audit.mia.matched_nonmembers`).
        """
        from obliviate.audit.mia import loss_mia_auc, matched_nonmembers

        split, y = self.split, self.graph.y
        classes = int(y.max()) + 1
        chosen = matched_nonmembers(
            _edge_kinds(y, split.forget_pairs, classes), _edge_kinds(y, split.test_pairs, classes), seed=self.seed
        )
        if min(len(chosen), split.forget_pairs.shape[1]) < 2:
            self.audit_notes["mia_auc"] = (
                f"not applicable: the loss attack needs at least two deleted edges and two matched held-out "
                f"edges; got {split.forget_pairs.shape[1]} and {len(chosen)}"
            )
            return float("nan")
        forget_losses = torch.nn.functional.softplus(-decode_pairs(model, z, split.forget_pairs)).detach().numpy()
        test_losses = torch.nn.functional.softplus(
            -decode_pairs(model, z, split.test_pairs[:, torch.from_numpy(chosen)])
        )
        return loss_mia_auc(forget_losses, test_losses.detach().numpy(), seed=self.seed)

    def audit(
        self, model: nn.Module, *, original: nn.Module | None = None, gold: nn.Module | None = None
    ) -> dict[str, float]:
        """Audit ``model`` on the graph left after the deletion.

        Link prediction (edge deletion), formulas in :mod:`obliviate.graph.metrics`:
        ``test_auc``, ``test_aup`` (test edges against as many non-edges); ``deleted_auc``
        (ours: deleted edges labelled 1 against one draw of as many retained training edges
        labelled 0; lower means more forgotten, gold is the reference); ``df_auc``,
        ``df_aup`` (GNNDelete's convention: deleted edges labelled 0 against retained edges
        labelled 1, mean over 500 seeded draws; higher means more forgotten; on one draw
        ``df_auc = 1 - deleted_auc``); ``mi_ratio`` (GNNDelete's: per-edge mean of
        ``P_after / P_before``, the probability that a deleted edge is present under one
        attack trained on a shadow model, :meth:`membership_attack`, applied to ``model``
        and to the original); ``mi_ratio_ours`` (mean membership probability of the deleted
        edges under the original divided by that under ``model``, each from an attack fitted
        on that model's own logits); ``mia_auc`` (loss attack on the deleted edges against
        held-out test edges joining the same classes). The "before" figures are cached by
        the original's content (:func:`obliviate.core.checkpoint.state_sha256`).

        Node classification (node deletion): ``deleted_accuracy``, ``retain_accuracy``,
        ``test_accuracy`` (without the forgotten classes for ``class-nodes``, whose test
        nodes give ``test_forget_accuracy``), ``mia`` (entropy-SVC membership of the deleted
        nodes, :func:`obliviate.audit.mia.entropy_svc_mia`), ``mia_auc`` (loss attack on the
        deleted nodes against test nodes with their label mix,
        :func:`obliviate.audit.mia.membership_auc`), and with ``gold`` the
        ``js_to_gold`` divergence of the deleted nodes' predictions.

        Both: ``forward_flops``, FLOPs of one forward pass.
        """
        split = self.split
        out = self.outputs(model)
        metrics: dict[str, float] = {}
        if self.objective == "link":
            test_auc, test_aup = link_scores(
                decode_pairs(model, out, split.test_pairs), decode_pairs(model, out, split.test_negatives)
            )
            metrics["test_auc"] = test_auc
            metrics["test_aup"] = test_aup
            if split.forget_pairs.size(1) >= 2:
                metrics["deleted_auc"] = deleted_edge_auc(
                    decode_pairs(model, out, split.forget_pairs), decode_pairs(model, out, split.retained_sample)
                )
            else:
                metrics["deleted_auc"] = float("nan")
                self.audit_notes["deleted_auc"] = (
                    "not applicable: one deleted edge against one retained edge gives an AUC of 0 or 1"
                )
            deleted_logits = decode_pairs(model, out, split.forget_pairs)
            metrics["df_auc"], metrics["df_aup"] = df_scores(
                deleted_logits, decode_pairs(model, out, split.retain_pairs), seed=self.seed
            )
            from obliviate.core.checkpoint import state_sha256

            reference = original if original is not None else self.original()
            key = state_sha256(reference)
            if key not in self._membership_before:
                reference_out = self.outputs(reference)
                self._membership_before[key] = self._membership(reference, reference_out)
                self._presence_before[key] = self._presence(reference_out)
            metrics["mi_ratio"] = gnndelete_mi_ratio(self._presence_before[key], self._presence(out))
            metrics["mi_ratio_ours"] = membership_ratio(self._membership_before[key], self._membership(model, out))
            metrics["mia_auc"] = self._edge_membership_auc(model, out)
        else:
            from obliviate.audit.divergence import js_divergence
            from obliviate.audit.mia import entropy_svc_mia, membership_auc

            y = self.graph.y
            probs = torch.softmax(out, dim=1)
            correct = probs.argmax(1) == y
            metrics["deleted_accuracy"] = float(correct[split.forget_nodes].float().mean())
            metrics["retain_accuracy"] = float(correct[split.retain_nodes].float().mean())
            test_nodes = split.test_nodes
            if self.forget_classes:
                in_forget = torch.isin(y[test_nodes], torch.tensor(self.forget_classes))
                metrics["test_accuracy"] = float(correct[test_nodes[~in_forget]].float().mean())
                metrics["test_forget_accuracy"] = float(correct[test_nodes[in_forget]].float().mean())
            else:
                metrics["test_accuracy"] = float(correct[test_nodes].float().mean())
            metrics["mia"] = entropy_svc_mia(
                probs[split.retain_nodes].numpy(),
                probs[test_nodes].numpy(),
                probs[split.forget_nodes].numpy(),
                seed=self.seed,
            )
            metrics["mia_auc"] = membership_auc(
                probs[split.forget_nodes].numpy(),
                y[split.forget_nodes].numpy(),
                probs[test_nodes].numpy(),
                y[test_nodes].numpy(),
                seed=self.seed,
            )
            if not np.isfinite(metrics["mia_auc"]):
                self.audit_notes["mia_auc"] = (
                    f"not applicable: the loss attack needs at least two deleted nodes and two held-out test nodes "
                    f"of their classes; got {split.forget_nodes.numel()} deleted nodes"
                )
            if gold is not None:
                gold_probs = torch.softmax(self.outputs(gold), dim=1)
                metrics["js_to_gold"] = js_divergence(
                    probs[split.forget_nodes].numpy(), gold_probs[split.forget_nodes].numpy()
                )
        metrics["forward_flops"] = float(self.forward_flops(model))
        return metrics


def _edge_kinds(y: torch.Tensor, pairs: torch.Tensor, num_classes: int) -> np.ndarray:
    """An edge's kind for the non-member rule: the unordered pair of its endpoints' classes."""
    a, b = y[pairs[0]], y[pairs[1]]
    return (torch.minimum(a, b) * num_classes + torch.maximum(a, b)).numpy()


def _resolve_model(model: Any) -> Callable[[], nn.Module] | None:
    """``None`` for a built-in recipe name, else the user's zero-argument factory.

    Raises:
        InvalidRequestError: an unknown recipe, or a factory string that does not resolve.
    """
    if callable(model) and not isinstance(model, str):
        return model
    if isinstance(model, str) and ":" in model:
        return load_factory(model)
    if model in ENCODERS:
        return None
    raise InvalidRequestError(
        f"unknown graph model {model!r}; choose a recipe ({', '.join(ENCODERS)}) or give a factory: a zero-argument "
        "callable, or a 'package.module:callable' string, returning the untrained network"
    )



def bench_spec():
    """Bench/demo description of the graph task (see :mod:`obliviate.bench.tasks`).

    The demo runs on the built-in synthetic graph (no data needed): 5% of the edges deleted
    (link prediction), then every training node of community 0 (node classification).
    """
    from obliviate.bench.tasks import DemoConfig, TaskSpec

    def make_scenario(*, seed: int = 0, **options: Any) -> GraphScenario:
        return GraphScenario(seed=seed, **options)

    methods = ("finetune", "grad_ascent", "gnndelete", "d2dgn")
    return TaskSpec(
        task="graph",
        make_scenario=make_scenario,
        metrics=(
            "test_auc",
            "test_aup",
            "deleted_auc",
            "df_auc",
            "df_aup",
            "mi_ratio",
            "mi_ratio_ours",
            "deleted_accuracy",
            "retain_accuracy",
            "test_accuracy",
            "mia",
            "mia_auc",
            "forward_flops",
        ),
        higher_is_better=frozenset({"test_auc", "test_aup", "retain_accuracy", "test_accuracy"}),
        demo=(
            DemoConfig(
                "synthetic graph (CSBM, GCN), forget 5% of the edges",
                {"dataset": "csbm", "forget": "edges:0.05"},
                methods,
            ),
            DemoConfig(
                "synthetic graph (CSBM, GCN), forget the training nodes of community 0",
                {"dataset": "csbm", "forget": "class-nodes:0"},
                methods,
            ),
        ),
        default_options={"dataset": "csbm", "forget": "edges:0.05", "model": "gcn"},
        quick_options={"epochs": 20},
        count_flops=True,
        user_data_option="dataset",
    )
