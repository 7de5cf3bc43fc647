"""Classification unlearning methods; importing this package registers them all."""

from obliviate.classification.methods import finetune, retrain  # noqa: F401
