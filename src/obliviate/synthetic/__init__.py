"""Synthetic tabular data: TabSynDex scoring, generators to score, and cross-checks.

* :func:`tabsyndex` scores a synthetic table against the real one (the published keys
  ``score``, ``basic_score``, ``corr_score``, ``ml_score``, ``sup_score``, ``pmse_score``), in the
  default mode or, with ``faithful=True``, as the published code computes it.
* :func:`association_matrix`, :func:`pearson`, :func:`correlation_ratio`, :func:`theils_u`:
  the association measures of its correlation component.
* :func:`make_generator` / :func:`generator_names`: ``bootstrap``, ``independent``,
  ``gaussian_copula``, ``smote``, ``vae`` (and ``ctgan``, ``tvae`` with ``obliviate[synthetic]``).
* :class:`TabSynDexTracker` follows a generator's training; :func:`plot_training_curve` and
  :func:`plot_components` draw the results.
* :func:`sdmetrics_quality`: SDMetrics' quality report, when installed.
"""

from __future__ import annotations

from obliviate.synthetic.associations import association_matrix, correlation_ratio, pearson, theils_u
from obliviate.synthetic.crosscheck import sdmetrics_available, sdmetrics_quality
from obliviate.synthetic.generators import (
    Generator,
    generator_names,
    get_generator,
    make_generator,
    register_generator,
)
from obliviate.synthetic.score import PUBLISHED_KEYS, TabSynDexResult, tabsyndex
from obliviate.synthetic.tracking import TabSynDexTracker, plot_components, plot_training_curve

__all__ = [
    "PUBLISHED_KEYS",
    "Generator",
    "TabSynDexResult",
    "TabSynDexTracker",
    "association_matrix",
    "correlation_ratio",
    "generator_names",
    "get_generator",
    "make_generator",
    "pearson",
    "plot_components",
    "plot_training_curve",
    "register_generator",
    "sdmetrics_available",
    "sdmetrics_quality",
    "tabsyndex",
    "theils_u",
]
