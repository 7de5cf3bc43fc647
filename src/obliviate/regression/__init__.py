"""Regression unlearning: scenario, models, metrics and methods (Tarun et al., ICML 2023)."""

from obliviate.regression.scenario import RegressionScenario

__all__ = ["RegressionScenario"]
