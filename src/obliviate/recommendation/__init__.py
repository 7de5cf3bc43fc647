"""Recommendation unlearning: MMRecUN (reverse BPR) and baselines for (multi-modal) recommenders.

Scenario :class:`~obliviate.recommendation.scenario.RecommendationScenario`; data in
:mod:`~obliviate.recommendation.data`; backbones (BPR-MF, VBPR-style, LightGCN-style, each
with any number of item modality matrices) in :mod:`~obliviate.recommendation.models`;
ranking metrics in :mod:`~obliviate.recommendation.metrics`; methods in
:mod:`obliviate.recommendation.methods`.
"""

from __future__ import annotations

from obliviate.recommendation.data import (
    InteractionData,
    InteractionSet,
    from_table,
    load_amazon_baby,
    load_inter_file,
    load_item_features,
    make_synthetic,
)
from obliviate.recommendation.models import VBPR, LightGCN, MatrixFactorization, build_model
from obliviate.recommendation.scenario import RecommendationScenario

__all__ = [
    "VBPR",
    "InteractionData",
    "InteractionSet",
    "LightGCN",
    "MatrixFactorization",
    "RecommendationScenario",
    "build_model",
    "from_table",
    "load_amazon_baby",
    "load_inter_file",
    "load_item_features",
    "make_synthetic",
]
