"""Recommenders: BPR matrix factorisation, a VBPR-style model and a LightGCN-style graph model,
each taking any number of item modality matrices (zero, one or several).

The interface every recommender follows (the toolkit's own and a user's):

* ``forward(users, items) -> scores``: ``users`` is ``(B,)``; ``items`` is ``(B,)`` or
  ``(B, k)``; the scores have the shape of ``items`` (higher = more relevant);
* optional ``score_all(users) -> (B, num_items)`` (full ranking; otherwise it is computed
  through ``forward``);
* optional ``set_graph(pairs)`` for models that propagate over the interaction graph
  (``pairs``: ``(n, 2)`` training ``(user, item)`` pairs, not weights: kept out of the
  state_dict);
* optional ``l2_penalty(users, items) -> scalar``: the squared L2 norm of the batch's
  embeddings (and projected modality vectors) per example, the regulariser of the BPR
  objective.

Models (``dim``: embedding width):

* ``mf`` — BPR-MF (Rendle et al., UAI 2009): ``s(u, i) = p_u . q_i``.
* ``vbpr`` — after VBPR (He & McAuley, AAAI 2016) as implemented in MMRec: the item vector
  is ``[q_i, sum_m W_m f_i^m]`` (ID embedding beside the projected modality features),
  the user vector ``[p_u, theta_u]``; with no modality it reduces to ``mf``.
* ``lightgcn`` — LightGCN (He et al., SIGIR 2020) with modality features: initial item
  vectors ``q_i + sum_m W_m f_i^m``, initial user vectors ``p_u``, ``L`` propagation steps
  ``E^{k+1} = D^{-1/2} A D^{-1/2} E^k`` over the user-item graph (sparse products), final
  vectors the mean of ``E^0..E^L``; scores are dot products.

Modality matrices are standardised per column and scaled by ``1/sqrt(d_m)`` once, when the
model is built; they are buffers outside the state_dict (data, not weights).
"""

from __future__ import annotations

from typing import Any, Callable, Mapping

import numpy as np
import torch
from torch import nn

from obliviate.core.errors import InvalidRequestError, UnsupportedModelError

BACKBONES = ("mf", "vbpr", "lightgcn")
EMBEDDING_STD = 0.1


def _standardise(matrix: np.ndarray | torch.Tensor) -> torch.Tensor:
    tensor = torch.as_tensor(np.asarray(matrix), dtype=torch.float32)
    mean = tensor.mean(dim=0, keepdim=True)
    std = tensor.std(dim=0, keepdim=True).clamp_min(1e-6) if tensor.size(0) > 1 else torch.ones_like(mean)
    return (tensor - mean) / std / tensor.size(1) ** 0.5


def _pair_scores(user_vectors: torch.Tensor, item_vectors: torch.Tensor, users: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
    u = user_vectors[users]
    v = item_vectors[items]
    if items.dim() == 2:
        return (u.unsqueeze(1) * v).sum(dim=-1)
    return (u * v).sum(dim=-1)


class EmbeddingRecommender(nn.Module):
    """Base of the built-in recommenders: scoring from user and item vectors.

    Subclasses implement :meth:`representations` (all user vectors, all item vectors).
    """

    num_users: int
    num_items: int

    def representations(self) -> tuple[torch.Tensor, torch.Tensor]:  # pragma: no cover - abstract
        raise NotImplementedError

    def forward(self, users: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        """Scores of ``(users[b], items[b])`` (``items`` ``(B,)``) or ``items[b, j]`` (``(B, k)``)."""
        user_vectors, item_vectors = self.representations()
        return _pair_scores(user_vectors, item_vectors, users, items)

    def score_all(self, users: torch.Tensor) -> torch.Tensor:
        """Scores of every item for each user: ``(len(users), num_items)``."""
        user_vectors, item_vectors = self.representations()
        return user_vectors[users] @ item_vectors.T

    def l2_penalty(self, users: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        """``(sum ||p_u||^2 + sum ||q_i||^2) / B`` over the batch's ID embeddings."""
        raise NotImplementedError


class MatrixFactorization(EmbeddingRecommender):
    """BPR-MF: ``s(u, i) = p_u . q_i`` (Rendle et al., UAI 2009).

    Args:
        num_users, num_items: index ranges.
        dim: embedding width.
    """

    def __init__(self, num_users: int, num_items: int, *, dim: int = 32):
        super().__init__()
        self.num_users, self.num_items, self.dim = int(num_users), int(num_items), int(dim)
        self.user_embedding = nn.Parameter(torch.empty(self.num_users, self.dim))
        self.item_embedding = nn.Parameter(torch.empty(self.num_items, self.dim))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Embeddings ``~ N(0, 0.1^2)``."""
        nn.init.normal_(self.user_embedding, std=EMBEDDING_STD)
        nn.init.normal_(self.item_embedding, std=EMBEDDING_STD)

    def representations(self) -> tuple[torch.Tensor, torch.Tensor]:
        return self.user_embedding, self.item_embedding

    def l2_penalty(self, users: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        return (self.user_embedding[users].pow(2).sum() + self.item_embedding[items].pow(2).sum()) / users.numel()


class _Modalities(nn.Module):
    """Per-modality linear projections of fixed item feature matrices into ``dim``."""

    def __init__(self, item_features: Mapping[str, Any] | None, num_items: int, dim: int):
        super().__init__()
        self.names = tuple(item_features or {})
        self.projections = nn.ModuleDict()
        for index, name in enumerate(self.names):
            features = _standardise(item_features[name])
            if features.size(0) != num_items:
                raise InvalidRequestError(
                    f"modality '{name}' has {features.size(0)} rows; the model has {num_items} items"
                )
            self.register_buffer(f"features_{index}", features, persistent=False)
            self.projections[str(index)] = nn.Linear(features.size(1), dim, bias=False)

    def __len__(self) -> int:
        return len(self.names)

    def forward(self) -> torch.Tensor | None:
        """``sum_m W_m f^m`` for every item, or ``None`` without modalities."""
        total = None
        for index in range(len(self.names)):
            projected = self.projections[str(index)](getattr(self, f"features_{index}"))
            total = projected if total is None else total + projected
        return total


class VBPR(EmbeddingRecommender):
    """VBPR-style: item ``[q_i, sum_m W_m f_i^m]``, user ``[p_u, theta_u]`` (He & McAuley, AAAI 2016).

    Args:
        num_users, num_items: index ranges.
        item_features: modality name -> ``(num_items, d_m)`` matrix (may be empty: then MF).
        dim: width of the ID part and of the modality part.
    """

    def __init__(self, num_users: int, num_items: int, *, item_features: Mapping[str, Any] | None = None, dim: int = 32):
        super().__init__()
        self.num_users, self.num_items, self.dim = int(num_users), int(num_items), int(dim)
        self.modalities = _Modalities(item_features, self.num_items, self.dim)
        user_width = self.dim * (2 if len(self.modalities) else 1)
        self.user_embedding = nn.Parameter(torch.empty(self.num_users, user_width))
        self.item_embedding = nn.Parameter(torch.empty(self.num_items, self.dim))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Embeddings ``~ N(0, 0.1^2)`` (the projections reset themselves)."""
        nn.init.normal_(self.user_embedding, std=EMBEDDING_STD)
        nn.init.normal_(self.item_embedding, std=EMBEDDING_STD)

    def representations(self) -> tuple[torch.Tensor, torch.Tensor]:
        content = self.modalities()
        items = self.item_embedding if content is None else torch.cat([self.item_embedding, content], dim=1)
        return self.user_embedding, items

    def l2_penalty(self, users: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        return _penalty(self, users, items)


def _penalty(model: nn.Module, users: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
    """``(sum ||p_u||^2 + sum ||q_i||^2 + sum ||sum_m W_m f_i^m||^2) / B``: the projected
    modality vectors are penalised like the ID embeddings they sit beside (otherwise
    high-dimensional features become an unregularised second item embedding)."""
    total = model.user_embedding[users].pow(2).sum() + model.item_embedding[items].pow(2).sum()
    content = model.modalities()
    if content is not None:
        total = total + content[items].pow(2).sum()
    return total / users.numel()


def normalized_adjacency(pairs: torch.Tensor, num_users: int, num_items: int) -> torch.Tensor:
    """``D^{-1/2} A D^{-1/2}`` of the bipartite user-item graph as a coalesced sparse COO tensor.

    Nodes are users ``0..U-1`` then items ``U..U+I-1``; ``A`` holds both directions of
    each pair; isolated nodes get zero rows.
    """
    pairs = torch.as_tensor(pairs, dtype=torch.long).reshape(-1, 2)
    size = num_users + num_items
    rows = torch.cat([pairs[:, 0], pairs[:, 1] + num_users])
    cols = torch.cat([pairs[:, 1] + num_users, pairs[:, 0]])
    degree = torch.bincount(rows, minlength=size).float()
    inv_sqrt = degree.clamp_min(1.0).rsqrt() * (degree > 0)
    values = inv_sqrt[rows] * inv_sqrt[cols]
    return torch.sparse_coo_tensor(
        torch.stack([rows, cols]), values, (size, size), check_invariants=False
    ).coalesce()


class LightGCN(EmbeddingRecommender):
    """LightGCN-style graph recommender with modality features (He et al., SIGIR 2020).

    Args:
        num_users, num_items: index ranges.
        item_features: modality name -> ``(num_items, d_m)`` matrix (may be empty).
        dim: embedding width.
        layers: propagation steps ``L``.
        graph: ``(n, 2)`` training pairs to propagate over (``set_graph`` changes it).
    """

    def __init__(
        self,
        num_users: int,
        num_items: int,
        *,
        item_features: Mapping[str, Any] | None = None,
        dim: int = 32,
        layers: int = 2,
        graph: Any = None,
    ):
        super().__init__()
        self.num_users, self.num_items, self.dim, self.layers = int(num_users), int(num_items), int(dim), int(layers)
        self.modalities = _Modalities(item_features, self.num_items, self.dim)
        self.user_embedding = nn.Parameter(torch.empty(self.num_users, self.dim))
        self.item_embedding = nn.Parameter(torch.empty(self.num_items, self.dim))
        self.adjacency: torch.Tensor | None = None
        self.set_graph(torch.empty(0, 2, dtype=torch.long) if graph is None else graph)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Embeddings ``~ N(0, 0.1^2)`` (the projections reset themselves)."""
        nn.init.normal_(self.user_embedding, std=EMBEDDING_STD)
        nn.init.normal_(self.item_embedding, std=EMBEDDING_STD)

    def set_graph(self, pairs: Any) -> None:
        """Propagate over these ``(user, item)`` pairs from now on."""
        device = self.user_embedding.device if hasattr(self, "user_embedding") else torch.device("cpu")
        self.graph_pairs = torch.as_tensor(pairs, dtype=torch.long).reshape(-1, 2).cpu()
        self.adjacency = normalized_adjacency(self.graph_pairs, self.num_users, self.num_items).to(device)

    def _apply(self, fn, recurse=True):
        module = super()._apply(fn, recurse)
        if self.adjacency is not None:
            self.adjacency = fn(self.adjacency)
        return module

    def representations(self) -> tuple[torch.Tensor, torch.Tensor]:
        content = self.modalities()
        items = self.item_embedding if content is None else self.item_embedding + content
        layer = torch.cat([self.user_embedding, items], dim=0)
        total = layer
        for _ in range(self.layers):
            layer = torch.sparse.mm(self.adjacency, layer)
            total = total + layer
        final = total / (self.layers + 1)
        return final[: self.num_users], final[self.num_users :]

    def l2_penalty(self, users: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        return _penalty(self, users, items)


def build_model(
    name: str,
    *,
    num_users: int,
    num_items: int,
    item_features: Mapping[str, Any] | None = None,
    dim: int = 32,
    layers: int = 2,
    graph: Any = None,
    seed: int = 0,
) -> nn.Module:
    """A freshly initialised built-in recommender (seeded; the global RNG is left untouched).

    Args:
        name: ``"mf"``, ``"vbpr"`` or ``"lightgcn"``.
        num_users, num_items: index ranges.
        item_features: modality matrices (ignored by ``mf``).
        dim: embedding width.
        layers: propagation steps (``lightgcn``).
        graph: training pairs to propagate over (``lightgcn``).
        seed: seeds the initialisation.

    Raises:
        InvalidRequestError: for an unknown name.
    """
    if name not in BACKBONES:
        raise InvalidRequestError(f"unknown recommender '{name}'; choose one of: {', '.join(BACKBONES)}")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        if name == "mf":
            return MatrixFactorization(num_users, num_items, dim=dim)
        if name == "vbpr":
            return VBPR(num_users, num_items, item_features=item_features, dim=dim)
        return LightGCN(num_users, num_items, item_features=item_features, dim=dim, layers=layers, graph=graph)


def resolve_factory(factory: str | Callable[..., nn.Module]) -> Callable[..., nn.Module]:
    """A model factory given as a callable or as ``"package.module:callable"``
    (:func:`obliviate.core.factory.load_factory`).

    Raises:
        InvalidRequestError: when the string is malformed or names nothing callable.
    """
    from obliviate.core.factory import load_factory

    return load_factory(factory)


def check_recommender(model: Any, owner: str) -> nn.Module:
    """Refuse anything that is not a ``torch.nn.Module`` recommender.

    Raises:
        UnsupportedModelError: naming the interface that is needed.
    """
    if not isinstance(model, nn.Module):
        raise UnsupportedModelError(
            f"{owner} works on torch.nn.Module recommenders with forward(users, items) -> scores; "
            f"got {type(model).__name__}"
        )
    return model


def model_num_items(model: nn.Module, fallback: int | None = None) -> int:
    """The number of items a recommender ranks (its ``num_items``, else ``fallback``)."""
    value = getattr(model, "num_items", None)
    if value is None:
        if fallback is None:
            raise UnsupportedModelError("the recommender has no num_items attribute; set it or pass the item count")
        return int(fallback)
    return int(value)


def score_all_items(model: nn.Module, users: torch.Tensor, num_items: int) -> torch.Tensor:
    """Scores of every item for ``users``: ``model.score_all`` or ``forward`` over the full grid."""
    score_all = getattr(model, "score_all", None)
    if callable(score_all):
        return score_all(users)
    items = torch.arange(num_items, device=users.device).expand(users.numel(), num_items)
    return model(users, items)


def set_graph(model: nn.Module, pairs: torch.Tensor) -> None:
    """Call ``model.set_graph(pairs)`` where the model propagates over a graph."""
    setter = getattr(model, "set_graph", None)
    if callable(setter):
        setter(pairs)


def graph_of(model: nn.Module) -> torch.Tensor | None:
    """The pairs a graph model propagates over (``None`` for other models)."""
    return getattr(model, "graph_pairs", None)
