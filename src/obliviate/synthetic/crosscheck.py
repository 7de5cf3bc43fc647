"""SDMetrics' single-table quality report as a cross-check of TabSynDex (optional).

SDMetrics (DataCebo, business-source licence; ``pip install 'obliviate[synthetic]'``) averages two
properties: *column shapes* (per column, 1 - Kolmogorov-Smirnov statistic for numeric columns,
1 - total variation distance for categorical ones) and *column pair trends* (per pair,
``1 - |r_R - r_S| / 2`` of Pearson correlations, or 1 - total variation distance of the
contingency tables). This module only calls it; nothing of it is needed for TabSynDex.
"""

from __future__ import annotations

import importlib.util
import time
import warnings
from typing import Any, Sequence

import pandas as pd

from obliviate.core.errors import require_extra


def sdmetrics_available() -> bool:
    """Whether the optional ``sdmetrics`` package can be imported."""
    return importlib.util.find_spec("sdmetrics") is not None


def sdmetrics_metadata(frame: pd.DataFrame, categorical: Sequence[str]) -> dict[str, Any]:
    """SDMetrics' single-table metadata: ``categorical`` or ``numerical`` per column."""
    chosen = set(categorical)
    return {"columns": {c: {"sdtype": "categorical" if c in chosen else "numerical"} for c in frame.columns}}


def sdmetrics_quality(real: pd.DataFrame, synth: pd.DataFrame, *, categorical: Sequence[str] = ()) -> dict[str, Any]:
    """SDMetrics' quality report of a synthetic table.

    Returns:
        ``{"score", "column_shapes", "column_pair_trends", "seconds"}``.

    Raises:
        MissingDependencyError: ``sdmetrics`` is not installed.
    """
    require_extra("sdmetrics", "synthetic")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from sdmetrics.reports.single_table import QualityReport

        synth = synth[list(real.columns)]
        began = time.perf_counter()
        report = QualityReport()
        report.generate(real, synth, sdmetrics_metadata(real, categorical), verbose=False)
        seconds = time.perf_counter() - began
        properties = report.get_properties().set_index("Property")["Score"]
    return {
        "score": float(report.get_score()),
        "column_shapes": float(properties.get("Column Shapes", float("nan"))),
        "column_pair_trends": float(properties.get("Column Pair Trends", float("nan"))),
        "seconds": seconds,
    }
