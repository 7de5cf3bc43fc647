"""EmoNAS: differentiable architecture search for macro- and micro-expression recognition.

A companion tool of obliviate (not an unlearning task: no gold model, no forget request). It
searches lightweight image networks with DARTS' gradient-based search (first order, second order
as an option), derives the discrete genotype, retrains it from scratch and reports accuracy,
UAR/UF1, parameters, FLOPs and CPU latency per image beside a random architecture from the same
space and a hand-designed small CNN. Micro-expression clips become single frames by dynamic
imaging (approximate rank pooling, Bilen et al. 2016) and are scored leave-one-subject-out.

Source: "EmoNAS" (see the project's abstracts); DARTS: Liu, Simonyan and Yang, ICLR 2019.

Facial data: load it with :func:`load_fer2013_csv`, :func:`load_image_folder` or
:func:`load_micro_sequences`. The built-in runs use stand-ins, not faces: scikit-learn's real
digit images (``digits``) and clips made by moving and deforming them (``digits-motion``).
"""

from __future__ import annotations

from obliviate.nas.data import (
    ImageData,
    SequenceData,
    load_digits_images,
    load_fer2013_csv,
    load_image_folder,
    load_micro_sequences,
    make_digits_motion,
)
from obliviate.nas.metrics import accuracy, confusion_matrix, uar, uf1
from obliviate.nas.model import (
    DerivedNetwork,
    Genotype,
    SearchNetwork,
    SmallCNN,
    derive_genotype,
    random_genotype,
)
from obliviate.nas.ops import DARTS_PRIMITIVES, PRIMITIVES, MixedOp
from obliviate.nas.pipeline import run_holdout, run_loso
from obliviate.nas.protocols import loso_splits, stratified_split
from obliviate.nas.rank_pooling import dynamic_image, rank_pooling_coefficients
from obliviate.nas.search import SearchResult, measure_cost, search_architecture

__all__ = [
    "DARTS_PRIMITIVES", "PRIMITIVES", "DerivedNetwork", "Genotype", "ImageData", "MixedOp", "SearchNetwork", "SearchResult",
    "SequenceData", "SmallCNN", "accuracy", "confusion_matrix", "derive_genotype", "dynamic_image", "load_digits_images",
    "load_fer2013_csv", "load_image_folder", "load_micro_sequences", "loso_splits", "make_digits_motion", "measure_cost",
    "random_genotype", "rank_pooling_coefficients", "run_holdout", "run_loso", "search_architecture", "stratified_split",
    "uar", "uf1",
]  # fmt: skip
