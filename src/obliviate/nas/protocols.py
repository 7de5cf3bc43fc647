"""Evaluation protocols: a stratified hold-out split and leave-one-subject-out (LOSO).

LOSO is the standard micro-expression protocol (CASME II, SAMM, SMIC; MEGC 2019): every subject
is the test set once, the model is trained on all the other subjects, and the predictions of all
folds are pooled before UF1/UAR are computed. No subject is ever in both parts of a fold.
"""

from __future__ import annotations

from typing import Iterator

import numpy as np

from obliviate.core.errors import InvalidParameterError


def loso_splits(subjects) -> Iterator[tuple[str, np.ndarray, np.ndarray]]:
    """Yield ``(subject, train_indices, test_indices)`` once per distinct subject (sorted).

    Raises:
        InvalidParameterError: with fewer than two subjects (nothing to train on).
    """
    ids = np.asarray(subjects).astype(str)
    distinct = sorted(set(ids.tolist()))
    if len(distinct) < 2:
        raise InvalidParameterError(
            f"leave-one-subject-out needs at least 2 subjects; got {len(distinct)} ({distinct})"
        )
    for subject in distinct:
        test = np.flatnonzero(ids == subject)
        train = np.flatnonzero(ids != subject)
        yield subject, train, test


def stratified_split(labels, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Split indices into ``(rest, part)`` with ``part`` holding ``fraction`` of every class.

    Every class keeps at least one sample in each part when it has two or more samples.

    Raises:
        InvalidParameterError: if ``fraction`` is not in (0, 1).
    """
    if not 0.0 < fraction < 1.0:
        raise InvalidParameterError(f"fraction must be in (0, 1); got {fraction}")
    y = np.asarray(labels)
    rng = np.random.default_rng(seed)
    part: list[int] = []
    for value in np.unique(y):
        members = rng.permutation(np.flatnonzero(y == value))
        if members.size < 2:
            continue
        take = min(max(1, int(round(fraction * members.size))), members.size - 1)
        part.extend(members[:take].tolist())
    part_array = np.sort(np.asarray(part, dtype=np.int64))
    rest = np.setdiff1d(np.arange(y.size), part_array)
    return rest, part_array
