"""Diffusion unlearning methods; importing this package registers them all."""

from obliviate.diffusion.methods import (  # noqa: F401
    concept_ablation,
    esd,
    retrain,
    salun,
    sdd,
)
