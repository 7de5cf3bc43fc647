"""Built-in valuation methods; importing this package registers them.

``ecoval`` (the reconstruction of EcoVal), and the baselines ``loo``, ``tmc_shapley``,
``knn_shapley``, ``data_oob`` and ``random``.
"""

from __future__ import annotations

from obliviate.valuation.methods.data_oob import DataOOB
from obliviate.valuation.methods.ecoval import EcoVal
from obliviate.valuation.methods.knn_shapley import KNNShapley
from obliviate.valuation.methods.loo import LeaveOneOut
from obliviate.valuation.methods.random import RandomValuation
from obliviate.valuation.methods.tmc_shapley import TMCShapley

__all__ = ["DataOOB", "EcoVal", "KNNShapley", "LeaveOneOut", "RandomValuation", "TMCShapley"]
