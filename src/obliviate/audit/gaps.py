"""Gaps to gold: how far an audited figure lies from the gold model's (retrained) figure.

Every audit figure is read against the gold model, which never saw the forget data. The
gap is the signed difference ``value - gold_value``: 0 is ideal, and its sign says on
which side of gold the method landed (e.g. a positive forget-accuracy gap means the model
still recognises more of the forget set than a model retrained without it).
"""

from __future__ import annotations

import math
from typing import Mapping


def gap_to_gold(value: float, gold_value: float) -> float:
    """Signed gap ``value - gold_value`` (NaN when either side is NaN or not a number).

    Args:
        value: the audited model's figure.
        gold_value: the gold model's figure for the same metric.

    Returns:
        The difference, a float.
    """
    try:
        value, gold_value = float(value), float(gold_value)
    except (TypeError, ValueError):
        return math.nan
    return value - gold_value


def gaps_to_gold(audit: Mapping[str, float], gold_audit: Mapping[str, float]) -> dict[str, float]:
    """Gap to gold of every metric present in both audits, keyed by metric name.

    Args:
        audit: metric name -> figure of the audited model.
        gold_audit: metric name -> figure of the gold model.

    Returns:
        ``{name: audit[name] - gold_audit[name]}`` for the shared names, in ``audit``'s order.
    """
    return {name: gap_to_gold(value, gold_audit[name]) for name, value in audit.items() if name in gold_audit}
