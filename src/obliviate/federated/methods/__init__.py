"""Federated unlearning methods; importing this package registers them all."""

from obliviate.federated.methods import conda, federaser, finetune, neggrad, pga, retrain  # noqa: F401
