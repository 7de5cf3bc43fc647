"""Concept unlearning in class-conditional diffusion models, and the partial-diffusion audit
of "Unlearning or Concealment?" (CCS, CRS, concealment)."""

from obliviate.diffusion.scenario import DiffusionScenario

__all__ = ["DiffusionScenario"]
