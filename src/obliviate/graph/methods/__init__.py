"""Graph unlearning methods; importing this package registers them all."""

from obliviate.graph.methods import d2dgn, finetune, gnndelete, grad_ascent, retrain  # noqa: F401
