"""End-to-end runs: search, derive, retrain and evaluate, with the two controls beside.

:func:`run_holdout` is the macro-expression run (single images, a test split the search never
sees); :func:`run_loso` the micro-expression run (clips turned into dynamic images,
leave-one-subject-out). Both train three networks with the same recipe (optimizer, epochs,
batch size, seed) and report accuracy, UAR, UF1, the confusion matrix, parameters, FLOPs and CPU
latency per image for each:

* ``searched`` - the genotype found by the DARTS search, retrained from scratch;
* ``random`` - a genotype drawn uniformly from the same search space (:func:`random_genotype`);
* ``hand_cnn`` - a hand-designed small CNN (:class:`SmallCNN`).

:func:`run_loso` adds ``hand_cnn_mean_frames``: the small CNN on the clips' mean frames instead
of their dynamic images, the order-blind control of dynamic imaging.
"""

from __future__ import annotations

import time
from typing import Any, Callable, Sequence

import numpy as np
import torch
from torch import nn

from obliviate.core.errors import DataError, InvalidParameterError
from obliviate.core.seeding import seed_everything
from obliviate.nas.data import ImageData, SequenceData
from obliviate.nas.metrics import classification_report
from obliviate.nas.model import DerivedNetwork, Genotype, SmallCNN, random_genotype
from obliviate.nas.ops import PRIMITIVES
from obliviate.nas.protocols import loso_splits, stratified_split
from obliviate.nas.search import SearchResult, measure_cost, predict, search_architecture, train_network

MODEL_NAMES = ("searched", "random", "hand_cnn")


def holdout_indices(data: ImageData, test_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``(train, test)`` indices: the file's own test split when it has one, else stratified."""
    if data.split is not None and np.any(data.split == "test"):
        test = np.flatnonzero(data.split == "test")
        train = np.flatnonzero(data.split != "test")
        if train.size == 0:
            raise DataError("the data has a test split but no training rows")
        return train, test
    return stratified_split(data.labels, test_fraction, seed)


def _search(data: ImageData, indices: np.ndarray, *, seed: int, **search_kwargs: Any) -> SearchResult:
    """Search on ``indices`` only, halved (stratified) into the ``w`` and the ``alpha`` split."""
    w_part, alpha_part = stratified_split(data.labels[indices], 0.5, seed + 1)
    if w_part.size == 0 or alpha_part.size == 0:
        raise DataError(
            f"the search split has too few images ({indices.size}) to halve into weight and architecture parts"
        )
    w_idx, a_idx = indices[w_part], indices[alpha_part]
    return search_architecture(
        data.images[w_idx],
        data.labels[w_idx],
        data.images[a_idx],
        data.labels[a_idx],
        num_classes=data.num_classes,
        seed=seed,
        **search_kwargs,
    )


def _builders(
    genotype: Genotype, random_arch: Genotype, in_channels: int, num_classes: int, channels: int, layers: int
) -> dict[str, Callable[[], nn.Module]]:
    return {
        "searched": lambda: DerivedNetwork(
            genotype, in_channels, num_classes, channels=channels, layers=layers
        ),
        "random": lambda: DerivedNetwork(
            random_arch, in_channels, num_classes, channels=channels, layers=layers
        ),
        "hand_cnn": lambda: SmallCNN(in_channels, num_classes),
    }


def _train_eval(
    build: Callable[[], nn.Module],
    data: ImageData,
    train: np.ndarray,
    test: np.ndarray,
    *,
    seed: int,
    epochs: int,
    lr: float,
    batch_size: int,
    progress: bool,
    desc: str,
):
    seed_everything(seed)
    model = build()
    summary = train_network(
        model,
        data.images[train],
        data.labels[train],
        epochs=epochs,
        lr=lr,
        batch_size=batch_size,
        seed=seed,
        progress=progress,
        desc=desc,
    )
    return model, predict(model, data.images[test]), summary["seconds"]


def run_holdout(
    data: ImageData,
    *,
    epochs: int = 10,
    search_epochs: int | None = None,
    order: str = "first",
    seed: int = 0,
    channels: int = 8,
    layers: int = 3,
    steps: int = 2,
    primitives: Sequence[str] = PRIMITIVES,
    batch_size: int = 128,
    search_batch_size: int | None = None,
    lr: float = 3e-3,
    test_fraction: float = 0.25,
    latency_repeats: int = 30,
    controls: bool = True,
    progress: bool = False,
) -> dict[str, Any]:
    """Search, retrain and evaluate on a hold-out test split (macro expressions).

    The test split is the data's own (``split == "test"``, e.g. FER2013's ``PrivateTest``) or a
    stratified ``test_fraction``. The search sees only the training part, halved into the
    weight and the architecture split; all three networks then train on the whole training part.
    ``batch_size`` is the training batch; ``search_batch_size`` the search's (default: the same).
    ``controls=False`` trains only the searched network.

    Returns:
        A JSON-ready dict: ``dataset``, ``classes``, sizes, ``chance`` (the test share of the most
        frequent class), ``search`` (:meth:`SearchResult.to_dict`), ``random_genotype`` and
        ``models`` -> name -> accuracy, uar, uf1, confusion, parameters, flops, latency_ms,
        train_seconds.
    """
    if epochs < 1:
        raise InvalidParameterError(f"epochs must be >= 1; got {epochs}")
    began = time.perf_counter()
    train, test = holdout_indices(data, test_fraction, seed)
    result = _search(
        data, train, seed=seed, epochs=search_epochs or epochs, order=order, channels=channels, layers=layers, steps=steps,
        primitives=primitives, batch_size=search_batch_size or batch_size, progress=progress,
    )  # fmt: skip
    random_arch = random_genotype(seed + 1000, steps=steps, primitives=primitives)
    builders = _builders(
        result.genotype, random_arch, data.images.shape[1], data.num_classes, channels, layers
    )
    models: dict[str, Any] = {}
    for name, build in builders.items():
        if not controls and name != "searched":
            continue
        model, predicted, seconds = _train_eval(
            build,
            data,
            train,
            test,
            seed=seed,
            epochs=epochs,
            lr=lr,
            batch_size=batch_size,
            progress=progress,
            desc=f"train {name}",
        )
        models[name] = {
            **classification_report(data.labels[test], predicted, data.num_classes),
            **measure_cost(model, data.images.shape[1:], repeats=latency_repeats),
            "train_seconds": seconds,
        }
    counts = np.bincount(data.labels[test], minlength=data.num_classes)
    return {
        "protocol": "holdout", "dataset": data.source, "classes": list(data.classes), "image_shape": list(data.images.shape[1:]),
        "seed": seed, "epochs": epochs, "search_epochs": search_epochs or epochs, "order": order,
        "train_images": int(train.size), "test_images": int(test.size), "chance": float(counts.max() / counts.sum()),
        "search": result.to_dict(), "random_genotype": random_arch.to_dict(), "random_genotype_text": str(random_arch),
        "models": models, "seconds": time.perf_counter() - began, "threads": torch.get_num_threads(),
    }  # fmt: skip


def run_loso(
    clips: SequenceData,
    *,
    search_subjects: Sequence[str] | None = None,
    epochs: int = 10,
    search_epochs: int | None = None,
    order: str = "first",
    seed: int = 0,
    channels: int = 8,
    layers: int = 3,
    steps: int = 2,
    primitives: Sequence[str] = PRIMITIVES,
    batch_size: int = 32,
    search_batch_size: int | None = None,
    lr: float = 3e-3,
    latency_repeats: int = 30,
    progress: bool = False,
) -> dict[str, Any]:
    """Leave-one-subject-out run on dynamic images of clips (micro expressions).

    Where the search runs:

    * ``search_subjects`` given: once, on those subjects' clips only; they are then left out
      of the LOSO evaluation, so no evaluated subject is ever seen by the search.
    * otherwise: in every fold, on that fold's training subjects only (slower, one search per
      subject).

    Predictions of all folds are pooled before UF1 and UAR are computed (MEGC 2019).

    Returns:
        A JSON-ready dict with ``folds`` (per subject: test clips, accuracy of each network,
        genotype when searched per fold), ``models`` -> name -> uf1, uar, accuracy, confusion,
        parameters, flops, latency_ms, and ``search`` (the one search, when done once).

    Raises:
        InvalidParameterError: a search subject that is not in the data, or fewer than two
            subjects left for LOSO.
    """
    began = time.perf_counter()
    dynamic = clips.to_images("dynamic")
    mean = clips.to_images("mean")
    subjects = clips.subjects
    searched_once: SearchResult | None = None
    evaluated = np.arange(subjects.size)
    if search_subjects:
        wanted = [str(s) for s in search_subjects]
        missing = sorted(set(wanted) - set(subjects.tolist()))
        if missing:
            raise InvalidParameterError(
                f"search subjects {missing} are not in the data; its subjects are {sorted(set(subjects.tolist()))}"
            )
        pool = np.flatnonzero(np.isin(subjects, wanted))
        evaluated = np.flatnonzero(~np.isin(subjects, wanted))
        searched_once = _search(
            dynamic, pool, seed=seed, epochs=search_epochs or epochs, order=order, channels=channels, layers=layers,
            steps=steps, primitives=primitives, batch_size=search_batch_size or batch_size, progress=progress,
        )  # fmt: skip
    random_arch = random_genotype(seed + 1000, steps=steps, primitives=primitives)
    names = (*MODEL_NAMES, "hand_cnn_mean_frames")
    pooled: dict[str, list[np.ndarray]] = {name: [] for name in names}
    truth: list[np.ndarray] = []
    folds = []
    last_models: dict[str, nn.Module] = {}
    search_seconds = searched_once.seconds if searched_once else 0.0
    splits = list(loso_splits(subjects[evaluated]))
    iterator: Any = splits
    if progress:
        from tqdm.auto import tqdm

        iterator = tqdm(splits, desc="LOSO folds", unit="subject", leave=False)
    for fold, (subject, train_local, test_local) in enumerate(iterator):
        train, test = evaluated[train_local], evaluated[test_local]
        if searched_once is None:
            fold_search = _search(
                dynamic, train, seed=seed + fold, epochs=search_epochs or epochs, order=order, channels=channels, layers=layers,
                steps=steps, primitives=primitives, batch_size=search_batch_size or batch_size,
            )  # fmt: skip
            genotype = fold_search.genotype
            search_seconds += fold_search.seconds
        else:
            genotype = searched_once.genotype
        builders = _builders(genotype, random_arch, 1, clips_classes(clips), channels, layers)
        builders["hand_cnn_mean_frames"] = builders["hand_cnn"]
        record: dict[str, Any] = {"subject": subject, "test_clips": int(test.size)}
        if searched_once is None:
            record["genotype"] = str(genotype)
        truth.append(dynamic.labels[test])
        for name, build in builders.items():
            images = mean if name == "hand_cnn_mean_frames" else dynamic
            model, predicted, _ = _train_eval(
                build,
                images,
                train,
                test,
                seed=seed * 1000 + fold,
                epochs=epochs,
                lr=lr,
                batch_size=batch_size,
                progress=False,
                desc=name,
            )
            pooled[name].append(predicted)
            record[f"{name}_accuracy"] = float(np.mean(predicted == dynamic.labels[test]))
            last_models[name] = model
        folds.append(record)
    y_true = np.concatenate(truth)
    models = {}
    for name in names:
        models[name] = {
            **classification_report(y_true, np.concatenate(pooled[name]), clips_classes(clips)),
            **measure_cost(last_models[name], dynamic.images.shape[1:], repeats=latency_repeats),
        }
    return {
        "protocol": "loso", "dataset": clips.source, "classes": list(clips.classes), "image_shape": list(dynamic.images.shape[1:]),
        "seed": seed, "epochs": epochs, "search_epochs": search_epochs or epochs, "order": order,
        "search_scope": "held-out subjects" if searched_once else "per fold (training subjects)",
        "search_subjects": sorted(set(subjects[np.isin(subjects, list(search_subjects or []))].tolist())),
        "evaluated_subjects": [f["subject"] for f in folds], "clips": int(evaluated.size),
        "chance": float(np.bincount(y_true).max() / y_true.size),
        "search": searched_once.to_dict() if searched_once else None, "search_seconds": search_seconds,
        "random_genotype_text": str(random_arch), "folds": folds, "models": models,
        "seconds": time.perf_counter() - began, "threads": torch.get_num_threads(),
    }  # fmt: skip


def clips_classes(clips: SequenceData) -> int:
    """The number of classes of a clip set."""
    return len(clips.classes)


LABELS = {
    "searched": "searched (DARTS)",
    "random": "random architecture",
    "hand_cnn": "hand-designed CNN",
    "hand_cnn_mean_frames": "hand-designed CNN, mean frames",
}


def render_table(report: dict[str, Any]) -> str:
    """A Markdown table of one run's networks (rendered from the report, nothing recomputed)."""
    loso = report["protocol"] == "loso"
    header = (
        "| network | UF1 | UAR | accuracy | parameters | FLOPs/image | CPU ms/image |"
        if loso
        else "| network | accuracy | UAR | UF1 | parameters | FLOPs/image | CPU ms/image |"
    )
    lines = [header, "|---|---:|---:|---:|---:|---:|---:|"]
    for name, row in report["models"].items():
        first = (
            (row["uf1"], row["uar"], row["accuracy"]) if loso else (row["accuracy"], row["uar"], row["uf1"])
        )
        lines.append(
            f"| {LABELS.get(name, name)} | {first[0]:.3f} | {first[1]:.3f} | {first[2]:.3f} | {row['parameters']:,} | "
            f"{row['flops']:,} | {row['latency_ms']:.2f} |"
        )
    search = report.get("search")
    scope = f", search on {report['search_scope']}" if loso else ""
    genotype = search["genotype_text"] if search else "one per fold"
    seconds = search["seconds"] if search else report.get("search_seconds", 0.0)
    lines.append("")
    lines.append(
        f"{report['dataset']}, {report['protocol']}{scope}; chance {report['chance']:.3f}; search {report['search_epochs']} epochs "
        f"({report['order']} order, {seconds:.1f} s); retrain {report['epochs']} epochs; {report['threads']} thread(s). Genotype: {genotype}"
    )
    return "\n".join(lines)
