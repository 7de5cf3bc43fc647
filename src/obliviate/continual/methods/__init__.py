"""Continual methods; importing this package registers them all."""

from obliviate.continual.methods import cl_unlearn, derpp, er, finetune, lwf, retrain  # noqa: F401
