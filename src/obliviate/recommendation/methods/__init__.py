"""Recommendation unlearning methods; importing this package registers them all."""

from obliviate.recommendation.methods import finetune, mmrecun, neggrad, retrain, reverse_bpr  # noqa: F401
