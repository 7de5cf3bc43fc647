"""The recommendation scenario: interactions, a recommender recipe, a forget spec and a seed.

It trains the original recommender on every training interaction and the gold one from
scratch on the retained interactions only (forward BPR, MMRec's loss), caches both,
builds the :class:`~obliviate.core.contracts.UnlearningRequest`, and audits any model.

Audit protocol (one full ranking per user; see :mod:`obliviate.recommendation.metrics`):

* every model ranks all items except the user's **retained** training items (after the
  deletion the service no longer holds the forgotten interactions, so it cannot mask
  them), and graph models propagate over the retained interactions — the audit measures
  what the weights still remember, not what the input still shows;
* utility: ``recall@K``, ``ndcg@K``, ``precision@K`` (K = 10, 20) on the test split,
  without the test interactions of forgotten users (``users:``) or withdrawn items
  (``items:``);
* forgetting: ``forget_hit@K`` (share of forgotten interactions whose item is still in its
  user's top-K), ``forget_recall@20``, ``forget_rank`` (mean rank percentile of the
  forgotten items, 0 = top) beside ``heldout_rank`` (the same for the held-out test
  interactions the membership attack uses as non-members), and ``gold_overlap@20`` (share of the top-20 lists of the
  affected users shared with gold);
* ``retain_recall@20``: how well retained training items are still ranked (nothing masked);
* ``mia``: AUC of a rank-based membership attack on forgotten interactions against
  non-members from the same distribution — the test interactions of the same users
  (``interactions:``, ``users:``, ``ids:``) or of the same items (``items:``); 0.5 is no
  signal and gold is the reference.

A figure that cannot be computed is NaN; :attr:`RecommendationScenario.audit_notes` says why.
"""

from __future__ import annotations

import contextlib
import inspect
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping

import numpy as np
import torch
from torch import nn

from obliviate.core.cache import cache_path, train_or_load
from obliviate.core.contracts import UnlearningRequest
from obliviate.core.errors import InvalidRequestError, UnsupportedModelError
from obliviate.core.factory import factory_name
from obliviate.core.training import default_device
from obliviate.data.forget import ForgetSpec
from obliviate.recommendation.data import (
    InteractionData,
    InteractionSet,
    from_table,
    load_amazon_baby,
    make_synthetic,
    parse_recommendation_forget,
    select_forget,
)
from obliviate.recommendation.metrics import (
    masked_user_scores,
    membership_auc,
    metrics_from_hits,
    ranking_pass,
)
from obliviate.recommendation.models import BACKBONES, build_model, graph_of, resolve_factory, set_graph
from obliviate.recommendation.training import train_bpr

DATASETS = ("synthetic", "amazon-baby")
KS = (10, 20)


@dataclass(frozen=True)
class RecommendationRecipe:
    """How original and gold are built and trained (also what ``retrain`` uses).

    Attributes:
        dim: embedding width.
        layers: propagation steps of graph models.
        epochs: passes over the training pairs.
        lr: Adam learning rate.
        batch_size: triples per step.
        reg: L2 weight on the batch embeddings.
    """

    dim: int = 32
    layers: int = 2
    epochs: int = 40
    lr: float = 0.01
    batch_size: int = 256
    reg: float = 1e-4

    def as_dict(self) -> dict[str, Any]:
        """The recipe as a plain dict (stored in requests and cache keys)."""
        return dict(self.__dict__)


RECIPES = {
    "synthetic": RecommendationRecipe(dim=32, layers=2, epochs=40, lr=0.01, batch_size=256, reg=1e-4),
    "amazon-baby": RecommendationRecipe(dim=64, layers=2, epochs=20, lr=0.01, batch_size=2048, reg=0.1),
}
# Measured on a 5,000-user sample of Amazon Baby (Recall@20 on test): MF 0.052 at reg 0.1
# (0.022 at 0.01: the embeddings memorise), LightGCN 0.075 at reg 0.03 (0.066 at 0.01).
RECIPE_OVERRIDES = {("amazon-baby", "lightgcn"): {"reg": 0.03}}
# A user's own data set gets the small recipe below this many training pairs, else the large one.
LARGE_DATA = 20_000


@dataclass
class RecommendationScenario:
    """Recommendation unlearning scenario.

    Args:
        dataset: ``"synthetic"`` (built in, generated from ``seed``), ``"amazon-baby"``
            (files under ``data_dir``) or an :class:`~obliviate.recommendation.data.InteractionData`
            (e.g. from :func:`~obliviate.recommendation.data.from_table`).
        forget: ``interactions:<f>``, ``users:<f>``, ``items:<f>`` or ``ids:<file>``.
        model: a backbone (``"mf"``, ``"vbpr"`` (default), ``"lightgcn"``) or a factory, a
            callable or ``"package.module:callable"``, returning a recommender (see
            :mod:`obliviate.recommendation.models`): called as ``factory(data)`` with the
            :class:`~obliviate.recommendation.data.InteractionData` when it takes an
            argument, else as ``factory()``.
        backbone: another name for ``model`` (the bench CLI's ``--option backbone=...``).
        seed: seeds the synthetic data, the forget draw, initialisation and training.
        epochs, dim, lr, reg: override the recipe (:data:`RECIPES`; a user's own data set
            gets the synthetic recipe below 20,000 training pairs, Amazon Baby's above).
        item_features: for ``amazon-baby``: ``{modality: "file.npy"}``, or ``"random"`` for
            two placeholder Gaussian matrices (``image`` 64, ``text`` 32 columns) that carry
            no information and only exercise the modality path; ``None``: no modality.
        max_users: keep a seeded random subset of this many users (``amazon-baby``).
        table: a user's own interactions file instead of ``dataset``: a CSV with the columns
            ``user_column``, ``item_column`` and optionally ``split_column``
            (``train``/``val``/``test`` or 0/1/2), or an MMRec ``.inter`` file;
            ``item_features`` then maps modality names to ``.npy`` files whose rows follow
            the item ids in sorted order.
        cache_dir: where trained models are cached (``None``: no cache).
        data_dir: folder of ``amazon-baby/``; default ``$OBLIVIATE_DATA_DIR``.
        device: ``"cpu"``, ``"cuda"`` or ``None`` (CUDA when available).
        progress: show progress bars while training.
    """

    dataset: str | InteractionData = "synthetic"
    forget: str | ForgetSpec = "interactions:0.05"
    model: str | Callable[..., nn.Module] | None = None
    backbone: str | None = None
    seed: int = 0
    epochs: int | None = None
    dim: int | None = None
    lr: float | None = None
    reg: float | None = None
    item_features: Mapping[str, str | os.PathLike] | str | None = None
    max_users: int | None = None
    table: str | os.PathLike | None = None
    user_column: str = "user"
    item_column: str = "item"
    split_column: str | None = None
    cache_dir: str | os.PathLike | None = None
    data_dir: str | os.PathLike | None = None
    device: str | None = None
    progress: bool = False
    task: str = field(default="recommendation", init=False)

    def __post_init__(self) -> None:
        if self.backbone is not None and self.model is not None and self.model != self.backbone:
            raise InvalidRequestError(f"model={self.model!r} and backbone={self.backbone!r} disagree; give one of them")
        self.model = self.model if self.model is not None else (self.backbone or "vbpr")
        self.backbone = self.model if isinstance(self.model, str) else None
        if isinstance(self.model, str) and ":" not in self.model and self.model not in BACKBONES:
            raise InvalidRequestError(
                f"unknown backbone '{self.model}'; choose one of {', '.join(BACKBONES)} or give a factory "
                "'package.module:callable'"
            )
        if self.table is not None:
            self.dataset = self._load_table()
        if isinstance(self.dataset, str) and self.dataset not in DATASETS:
            raise InvalidRequestError(
                f"unknown dataset '{self.dataset}'; choose one of {', '.join(DATASETS)} or pass an InteractionData"
            )
        self.spec = parse_recommendation_forget(self.forget)
        if isinstance(self.dataset, InteractionData):
            family = "amazon-baby" if len(self.dataset.train) >= LARGE_DATA else "synthetic"
        else:
            family = self.dataset
        base = {**RECIPES[family].as_dict(), **RECIPE_OVERRIDES.get((family, self.model), {})}
        given = (("epochs", self.epochs), ("dim", self.dim), ("lr", self.lr), ("reg", self.reg))
        overrides = {key: value for key, value in given if value is not None}
        self.recipe = RecommendationRecipe(**{**base, **overrides})
        self._data: InteractionData | None = self.dataset if isinstance(self.dataset, InteractionData) else None
        self._forget_rows: np.ndarray | None = None
        self._original: nn.Module | None = None
        self._gold: nn.Module | None = None
        self._gold_tops: dict[int, np.ndarray] = {}
        self.training_seconds: dict[str, float] = {}
        self.audit_notes: dict[str, str] = {}

    # -- construction from a user's table ------------------------------------------------
    def _load_table(self) -> InteractionData:
        import pandas as pd

        from obliviate.core.errors import DataError
        from obliviate.recommendation.data import load_inter_file, load_item_features

        path = Path(self.table)
        if not path.is_file():
            raise DataError(f"interactions table '{path}' does not exist")
        if path.suffix == ".inter":
            data = load_inter_file(path)
        else:
            data = from_table(
                pd.read_csv(path, dtype=str),
                user_col=self.user_column,
                item_col=self.item_column,
                split_col=self.split_column,
                name=path.stem,
                seed=self.seed,
            )
        if isinstance(self.item_features, Mapping) and self.item_features:
            data.item_features = load_item_features(self.item_features, num_items=data.num_items)
            data.__post_init__()
        return data

    @classmethod
    def from_table(
        cls,
        table: Any,
        *,
        user_col: str = "user",
        item_col: str = "item",
        split_col: str | None = None,
        item_features: Mapping[str, np.ndarray] | None = None,
        feature_item_ids: Any = None,
        name: str = "user-data",
        **options: Any,
    ) -> RecommendationScenario:
        """A scenario on a user's own interactions table (see
        :func:`~obliviate.recommendation.data.from_table`); ``options`` are the scenario's
        other arguments (``forget``, ``model``, ``seed``, ...)."""
        data = from_table(
            table,
            user_col=user_col,
            item_col=item_col,
            split_col=split_col,
            item_features=item_features,
            feature_item_ids=feature_item_ids,
            name=name,
            seed=int(options.get("seed", 0)),
        )
        return cls(dataset=data, **options)

    # -- data ---------------------------------------------------------------------------
    @property
    def dataset_name(self) -> str:
        """The data set's name."""
        return self.dataset.name if isinstance(self.dataset, InteractionData) else str(self.dataset)

    @property
    def data(self) -> InteractionData:
        """The interactions and item modalities."""
        if self._data is None:
            if self.dataset == "synthetic":
                self._data = make_synthetic(seed=self.seed)
            else:
                files = None if isinstance(self.item_features, str) else self.item_features
                data = load_amazon_baby(self.data_dir, item_features=files, max_users=self.max_users, seed=self.seed)
                if self.item_features == "random":
                    rng = np.random.default_rng(10_007 + self.seed)
                    data.item_features = {
                        "image": rng.standard_normal((data.num_items, 64)).astype(np.float32),
                        "text": rng.standard_normal((data.num_items, 32)).astype(np.float32),
                    }
                elif isinstance(self.item_features, str):
                    raise InvalidRequestError(
                        f"item_features must be a mapping of modality -> .npy file, 'random' or None; got {self.item_features!r}"
                    )
                self._data = data
        return self._data

    @property
    def forget_rows(self) -> np.ndarray:
        """Indices into the training pairs of the interactions to forget."""
        if self._forget_rows is None:
            self._forget_rows = select_forget(self.spec, self.data, seed=self.seed)
        return self._forget_rows

    @property
    def forget_indices(self) -> np.ndarray:
        """The same as :attr:`forget_rows` (the name the bench's forget path looks for)."""
        return self.forget_rows

    @property
    def forget_pairs(self) -> np.ndarray:
        """The forgotten ``(user, item)`` pairs."""
        return self.data.train[self.forget_rows]

    @property
    def retain_pairs(self) -> np.ndarray:
        """The retained training pairs."""
        keep = np.ones(len(self.data.train), dtype=bool)
        keep[self.forget_rows] = False
        return self.data.train[keep]

    @property
    def forget_ids(self) -> list[str]:
        """The forgotten interactions in the data set's own ids, ``"user<TAB>item"``."""
        data = self.data
        return [f"{data.user_label(u)}\t{data.item_label(i)}" for u, i in self.forget_pairs]

    def heldout_pairs(self) -> np.ndarray:
        """Non-members from the forget set's distribution: test pairs of the same users, or
        of the same items for ``items:`` (validation pairs are left to the methods, e.g.
        for a stopping rule, so that the audit does not reuse them)."""
        heldout = self.data.test
        forget = self.forget_pairs
        column = 1 if self.spec.kind == "items" else 0
        return heldout[np.isin(heldout[:, column], np.unique(forget[:, column]))]

    def test_pairs(self) -> np.ndarray:
        """Test pairs the utility is measured on (without forgotten users or withdrawn items)."""
        test = self.data.test
        if self.spec.kind == "users":
            return test[~np.isin(test[:, 0], np.unique(self.forget_pairs[:, 0]))]
        if self.spec.kind == "items":
            return test[~np.isin(test[:, 1], np.unique(self.forget_pairs[:, 1]))]
        return test

    def _part(self, pairs: np.ndarray) -> InteractionSet:
        return InteractionSet(pairs, self.data.num_users, self.data.num_items)

    def request(self) -> UnlearningRequest:
        """The unlearning request.

        ``forget``/``retain``/``validation``: :class:`~obliviate.recommendation.data.InteractionSet`
        parts (forgotten, retained training and validation pairs). ``model_factory``:
        :meth:`new_model`. ``extras``: ``training`` (the recipe), ``graph`` (the pairs graph
        models serve from after the deletion: the retained ones), ``num_users``, ``num_items``.
        """
        retain = self.retain_pairs
        return UnlearningRequest(
            forget=self._part(self.forget_pairs),
            retain=self._part(retain),
            validation=self._part(self.data.val),
            spec=self.spec,
            seed=self.seed,
            model_factory=self.new_model,
            extras={
                "training": self.recipe.as_dict(),
                "graph": torch.as_tensor(retain, dtype=torch.long),
                "num_users": self.data.num_users,
                "num_items": self.data.num_items,
            },
        )

    # -- models -------------------------------------------------------------------------
    def _device(self) -> torch.device:
        return torch.device(self.device) if self.device else default_device()

    def new_model(self) -> nn.Module:
        """A freshly initialised recommender of the scenario's recipe (seeded)."""
        data = self.data
        if isinstance(self.model, str) and self.model in BACKBONES:
            model = build_model(
                self.model,
                num_users=data.num_users,
                num_items=data.num_items,
                item_features=data.item_features,
                dim=self.recipe.dim,
                layers=self.recipe.layers,
                graph=data.train,
                seed=self.seed,
            )
        else:
            factory = resolve_factory(self.model)
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(self.seed)
                model = factory(data) if _takes_an_argument(factory) else factory()
            if not isinstance(model, nn.Module):
                raise UnsupportedModelError(
                    f"the model factory returned {type(model).__name__}; it must return a torch.nn.Module recommender"
                )
        return model.to(self._device())

    def _model_name(self) -> str:
        return factory_name(self.model)

    def _config(self, which: str) -> dict[str, Any]:
        return {
            "which": which,
            "dataset": self.dataset_name,
            "data": self.data.fingerprint(),
            "forget": str(self.spec) if which == "gold" else None,
            "model": self._model_name(),
            "seed": self.seed,
            "recipe": self.recipe.as_dict(),
            "version": 1,
        }

    def _train(self, which: str, pairs: np.ndarray) -> nn.Module:
        config = self._config(which)
        model = self.new_model()
        recipe = self.recipe

        def train(net: nn.Module) -> None:
            train_bpr(
                net,
                torch.as_tensor(pairs, dtype=torch.long),
                num_items=self.data.num_items,
                epochs=recipe.epochs,
                lr=recipe.lr,
                batch_size=recipe.batch_size,
                reg=recipe.reg,
                seed=self.seed,
                progress=self.progress,
                desc=f"{which} ({self.dataset_name})",
            )

        path = cache_path(self.cache_dir, f"recommendation-{which}", config)
        self.training_seconds[which] = train_or_load(model, train, path=path, config=config, seed=self.seed)
        set_graph(model, torch.as_tensor(pairs, dtype=torch.long))
        return model

    def original(self) -> nn.Module:
        """The recommender trained on every training interaction (cached)."""
        if self._original is None:
            self._original = self._train("original", self.data.train)
        return self._original

    def gold(self) -> nn.Module:
        """The recommender retrained from scratch on the retained interactions (cached)."""
        if self._gold is None:
            self._gold = self._train("gold", self.retain_pairs)
        return self._gold

    # -- audit --------------------------------------------------------------------------
    @contextlib.contextmanager
    def _serving(self, model: nn.Module) -> Iterator[nn.Module]:
        """Graph models propagate over the retained pairs while audited; restored after."""
        before = graph_of(model)
        set_graph(model, torch.as_tensor(self.retain_pairs, dtype=torch.long))
        try:
            yield model
        finally:
            if before is not None:
                set_graph(model, before)

    def _rankings(self, model: nn.Module):
        data = self.data
        with self._serving(model):
            return ranking_pass(
                model,
                num_users=data.num_users,
                num_items=data.num_items,
                mask=self.retain_pairs,
                relevant={"test": self.test_pairs(), "forget": self.forget_pairs},
                unmasked_relevant={"retain": self.retain_pairs},
                percentile_pairs={"forget": self.forget_pairs, "heldout": self.heldout_pairs()},
                k_max=max(KS),
            )

    def audit(
        self, model: nn.Module, *, original: nn.Module | None = None, gold: nn.Module | None = None
    ) -> dict[str, float]:
        """Audit ``model`` (see the module docstring for every figure).

        Returns a flat dict: ``recall@K``, ``ndcg@K``, ``precision@K`` (K = 10, 20),
        ``forget_hit@K``, ``forget_recall@20``, ``forget_rank``, ``heldout_rank``,
        ``retain_recall@20``, ``mia`` and, with ``gold``, ``gold_overlap@20``. NaN marks a
        figure that cannot be computed; :attr:`audit_notes` then holds the reason.
        """
        self.audit_notes = {}
        result = self._rankings(model)
        metrics: dict[str, float] = {}
        for k in KS:
            test = metrics_from_hits(result.hits["test"], result.counts["test"], k)
            metrics[f"recall@{k}"] = test["recall"]
            metrics[f"ndcg@{k}"] = test["ndcg"]
            metrics[f"precision@{k}"] = test["precision"]
        for k in KS:
            metrics[f"forget_hit@{k}"] = metrics_from_hits(result.hits["forget"], result.counts["forget"], k)["hit_rate"]
        forget20 = metrics_from_hits(result.hits["forget"], result.counts["forget"], 20)
        metrics["forget_recall@20"] = forget20["recall"]
        metrics["forget_rank"] = float(np.mean(result.percentiles["forget"]))
        heldout = result.percentiles["heldout"]
        metrics["heldout_rank"] = float(np.mean(heldout)) if len(heldout) else float("nan")
        if not len(heldout):
            self.audit_notes["heldout_rank"] = "no held-out interaction shares the forget set's users/items"
        metrics["retain_recall@20"] = metrics_from_hits(
            result.unmasked_hits["retain"], result.unmasked_counts["retain"], 20
        )["recall"]
        try:
            metrics["mia"] = membership_auc(result.percentiles["forget"], heldout, seed=self.seed)
        except InvalidRequestError as exc:
            metrics["mia"] = float("nan")
            self.audit_notes["mia"] = f"not applicable: {exc}"
        if gold is not None:
            metrics["gold_overlap@20"] = self._gold_overlap(model, gold)
        if not result.finite:
            for name in metrics:
                metrics[name] = float("nan")
            self.audit_notes["all"] = "the model gave NaN or infinite scores"
        return metrics

    def _top_lists(self, model: nn.Module, users: np.ndarray) -> np.ndarray:
        data = self.data
        with self._serving(model):
            return _masked_top(model, users, self.retain_pairs, data.num_items, 20)

    def _gold_overlap(self, model: nn.Module, gold: nn.Module) -> float:
        """Mean share of the top-20 items that ``model`` and ``gold`` give the forget set's users."""
        users = np.unique(self.forget_pairs[:, 0])
        key = id(gold)
        if key not in self._gold_tops:
            self._gold_tops = {key: self._top_lists(gold, users)}
        mine = self._top_lists(model, users)
        theirs = self._gold_tops[key]
        shared = [np.intersect1d(a, b).size for a, b in zip(mine, theirs)]
        return float(np.mean(shared) / mine.shape[1])


def _takes_an_argument(factory: Callable[..., Any]) -> bool:
    try:
        parameters = inspect.signature(factory).parameters.values()
    except (TypeError, ValueError):
        return True
    return any(
        p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.VAR_POSITIONAL) and p.default is p.empty
        for p in parameters
    )


def _masked_top(model: nn.Module, users: np.ndarray, mask_pairs: np.ndarray, num_items: int, k: int) -> np.ndarray:
    tops = [scores.topk(min(k, num_items), dim=1).indices.numpy() for _, scores in masked_user_scores(model, users, mask_pairs, num_items)]
    return np.concatenate(tops) if tops else np.empty((0, k), dtype=np.int64)


def bench_spec():
    """Bench/demo description of the recommendation task (see :mod:`obliviate.bench.tasks`).

    The demo runs on the built-in synthetic multi-modal set (no data needed): the VBPR-style
    backbone forgetting 5% of the interactions, one seed.
    """
    from obliviate.bench.tasks import DemoConfig, TaskSpec

    def make_scenario(*, seed: int = 0, **options: Any) -> RecommendationScenario:
        return RecommendationScenario(seed=seed, **options)

    methods = ("finetune", "neggrad", "reverse_bpr", "mmrecun")
    return TaskSpec(
        task="recommendation",
        make_scenario=make_scenario,
        metrics=(
            "recall@20",
            "ndcg@20",
            "precision@20",
            "forget_hit@20",
            "forget_recall@20",
            "mia",
            "forget_rank",
            "heldout_rank",
            "retain_recall@20",
            "gold_overlap@20",
            "recall@10",
            "ndcg@10",
            "precision@10",
            "forget_hit@10",
        ),
        higher_is_better=frozenset(
            {"recall@20", "ndcg@20", "precision@20", "recall@10", "ndcg@10", "precision@10", "gold_overlap@20"}
        ),
        demo=(
            DemoConfig(
                "synthetic multi-modal set (VBPR-style), forget 5% of the interactions",
                {"dataset": "synthetic", "forget": "interactions:0.05", "model": "vbpr"},
                methods,
            ),
        ),
        default_options={"dataset": "synthetic", "forget": "interactions:0.05"},
        quick_options={"epochs": 10},
    )
