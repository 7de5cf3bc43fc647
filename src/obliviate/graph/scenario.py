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

The original model is trained on the whole training graph; the gold model from scratch on
the graph left after the deletion. **Every model is audited on the graph left after the
deletion** (deleted edges are gone from message passing for all of them), so the audit
measures what the weights still remember, not what the input graph still shows.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

from obliviate.core.cache import cache_path, train_or_load
from obliviate.core.contracts import UnlearningRequest
from obliviate.core.errors import InvalidForgetSpecError, InvalidRequestError
from obliviate.core.timing import count_flops
from obliviate.core.training import default_device
from obliviate.data.forget import ForgetSpec, parse_forget_spec
from obliviate.graph.data import GraphData, GraphPart, load_graph
from obliviate.graph.metrics import deleted_edge_auc, link_scores, membership_probability, membership_ratio
from obliviate.graph.models import build_model
from obliviate.graph.structure import (
    NegativeSampler,
    incident_pairs,
    remove_pairs,
    to_message_passing,
)
from obliviate.graph.training import train_graph

FORGET_KINDS = frozenset({"edges", "class-edges", "nodes", "class-nodes"})
LINK_KINDS = frozenset({"edges", "class-edges"})
EDGE_SCOPES = ("random", "within", "across")
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


@dataclass
class GraphScenario:
    """Graph unlearning scenario.

    Args:
        dataset: ``"csbm"`` (synthetic, built in), ``"cora"`` or ``"citeseer"`` (Planetoid
            files), or a :class:`~obliviate.graph.data.GraphData`.
        forget: ``edges:<fraction>``, ``class-edges:<k>``, ``nodes:<fraction>`` or
            ``class-nodes:<k>``.
        model: encoder, ``"gcn"``, ``"gat"`` or ``"gin"``.
        seed: seeds the graph (csbm), the splits, the forget draw, initialisation and training.
        epochs: training steps of original and gold (default: the recipe's).
        edge_scope: for ``edges:``, draw among ``"random"``, ``"within"`` or ``"across"``
            community edges.
        cache_dir: where trained models are cached (``None``: no cache).
        data_dir: folder of the Planetoid files; default ``$OBLIVIATE_DATA_DIR/planetoid``.
        device: ``"cpu"``, ``"cuda"`` or ``None`` (CUDA when available).
        progress: show progress bars while training.
    """

    dataset: str | GraphData = "csbm"
    forget: str | ForgetSpec = "edges:0.05"
    model: str = "gcn"
    seed: int = 0
    epochs: int | None = None
    edge_scope: str = "random"
    cache_dir: str | os.PathLike | None = None
    data_dir: str | os.PathLike | None = None
    device: str | None = None
    progress: bool = False
    task: str = field(default="graph", init=False)

    def __post_init__(self) -> None:
        self.spec = parse_forget_spec(self.forget, allowed=FORGET_KINDS)
        if self.edge_scope not in EDGE_SCOPES:
            raise InvalidRequestError(f"edge_scope must be one of {', '.join(EDGE_SCOPES)}; got {self.edge_scope!r}")
        if self.edge_scope != "random" and self.spec.kind != "edges":
            raise InvalidRequestError(f"edge_scope={self.edge_scope!r} applies to 'edges:' specs only")
        self.objective = "link" if self.spec.kind in LINK_KINDS else "node"
        base = LINK_RECIPE if self.objective == "link" else NODE_RECIPE
        epochs = self.epochs or DEFAULT_EPOCHS.get((self.dataset_name, self.objective), base.epochs)
        self.recipe = GraphRecipe(**{**base.as_dict(), "epochs": epochs})
        self._graph: GraphData | None = self.dataset if isinstance(self.dataset, GraphData) else None
        self._split: _Split | None = None
        self._original: nn.Module | None = None
        self._gold: nn.Module | None = None
        self._membership_before: dict[int, float] = {}
        self.training_seconds: dict[str, float] = {}

    # -- data ---------------------------------------------------------------------------
    @property
    def graph(self) -> GraphData:
        """The whole graph."""
        if self._graph is None:
            self._graph = load_graph(str(self.dataset), data_dir=self.data_dir, seed=self.seed)
        return self._graph

    @property
    def dataset_name(self) -> str:
        """The data set's name."""
        return self.dataset.name if isinstance(self.dataset, GraphData) else str(self.dataset)

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
        if self.objective == "link":
            order = torch.from_numpy(rng.permutation(graph.pairs.size(1)))
            n_test = max(1, int(round(LINK_SPLIT[2] * order.numel())))
            n_val = max(1, int(round(LINK_SPLIT[1] * order.numel())))
            test_pairs = graph.pairs[:, order[:n_test]]
            val_pairs = graph.pairs[:, order[n_test : n_test + n_val]]
            train_pairs = graph.pairs[:, order[n_test + n_val :]]
            negatives = NegativeSampler(n, graph.pairs, seed=self.seed + 1).sample(n_test + n_val, unique=True)
            forget_pairs = self._select_forget_pairs(train_pairs, rng)
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
            )
        order = torch.from_numpy(rng.permutation(n))
        n_train = int(round(NODE_SPLIT[0] * n))
        n_val = int(round(NODE_SPLIT[1] * n))
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
        )

    def _select_forget_pairs(self, train_pairs: torch.Tensor, rng: np.random.Generator) -> torch.Tensor:
        y = self.graph.y
        same = y[train_pairs[0]] == y[train_pairs[1]]
        if self.spec.kind == "class-edges":
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
        return train_pairs[:, chosen]

    def _select_forget_nodes(self, train_nodes: torch.Tensor, rng: np.random.Generator) -> torch.Tensor:
        if self.spec.kind == "class-nodes":
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
        and ``forget_classes``.
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
        )

    # -- models -------------------------------------------------------------------------
    def _device(self) -> torch.device:
        return torch.device(self.device) if self.device else default_device()

    def new_model(self) -> nn.Module:
        """A freshly initialised network of the scenario's recipe (seeded)."""
        graph = self.graph
        out = self.recipe.embedding if self.objective == "link" else graph.num_classes
        model = build_model(
            self.model,
            in_features=graph.num_features,
            out_features=out,
            num_nodes=graph.num_nodes,
            hidden=self.recipe.hidden,
            num_layers=self.recipe.num_layers,
            dropout=self.recipe.dropout,
            seed=self.seed,
        )
        return model.to(self._device())

    def _config(self, which: str) -> dict[str, Any]:
        return {
            "which": which,
            "dataset": self.dataset_name,
            "graph": self.graph.fingerprint(),
            "forget": str(self.spec) if which == "gold" else self.objective,
            "edge_scope": self.edge_scope if which == "gold" else None,
            "model": self.model,
            "seed": self.seed,
            "recipe": self.recipe.as_dict(),
            "version": 1,
        }

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

    def _membership(self, z: torch.Tensor) -> float:
        split = self.split
        return membership_probability(
            _decode(z, split.retain_pairs),
            _decode(z, split.test_pairs),
            _decode(z, split.forget_pairs),
            seed=self.seed,
        )

    def _edge_membership_auc(self, z: torch.Tensor) -> float:
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
            return float("nan")
        forget_losses = torch.nn.functional.softplus(-_decode(z, split.forget_pairs)).detach().numpy()
        test_losses = torch.nn.functional.softplus(-_decode(z, split.test_pairs[:, torch.from_numpy(chosen)]))
        return loss_mia_auc(forget_losses, test_losses.detach().numpy(), seed=self.seed)

    def audit(
        self, model: nn.Module, *, original: nn.Module | None = None, gold: nn.Module | None = None
    ) -> dict[str, float]:
        """Audit ``model`` on the graph left after the deletion.

        Link prediction (edge deletion): ``test_auc``, ``test_aup`` (test edges against as
        many non-edges), ``deleted_auc`` (deleted edges against as many retained training
        edges; lower means more forgotten, gold is the reference), ``mi_ratio``
        (membership probability of the deleted edges under the original divided by that
        under ``model``; see :mod:`obliviate.graph.metrics`), ``mia_auc`` (loss attack on the
        deleted edges against held-out test edges joining the same classes).

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
            test_auc, test_aup = link_scores(_decode(out, split.test_pairs), _decode(out, split.test_negatives))
            metrics["test_auc"] = test_auc
            metrics["test_aup"] = test_aup
            metrics["deleted_auc"] = deleted_edge_auc(
                _decode(out, split.forget_pairs), _decode(out, split.retained_sample)
            )
            reference = original if original is not None else self.original()
            key = id(reference)
            if key not in self._membership_before:
                self._membership_before[key] = self._membership(self.outputs(reference))
            metrics["mi_ratio"] = membership_ratio(self._membership_before[key], self._membership(out))
            metrics["mia_auc"] = self._edge_membership_auc(out)
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


def _decode(z: torch.Tensor, pairs: torch.Tensor) -> torch.Tensor:
    return (z[pairs[0]] * z[pairs[1]]).sum(dim=-1)


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
            "mi_ratio",
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
    )
