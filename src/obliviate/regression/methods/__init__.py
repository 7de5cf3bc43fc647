"""Regression unlearning methods; importing this package registers them all."""

from obliviate.regression.methods import (  # noqa: F401
    blindspot,
    finetune,
    gaussian,
    neggrad,
    retrain,
)
