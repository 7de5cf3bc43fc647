"""Classification unlearning: scenario, models and methods."""

from obliviate.classification.scenario import ClassificationScenario

__all__ = ["ClassificationScenario"]
