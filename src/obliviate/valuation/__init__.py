"""Data valuation: what each training point is worth to a model.

One contract for every method: ``method.fit(train, utility) -> ValuationResult`` with one
value per training point, the number of model fits used, the wall time and the
provenance. Methods: ``ecoval`` (a reconstruction of EcoVal, Tarun et al. 2024: cluster
values from a production function, plus an intrinsic part), ``loo``, ``tmc_shapley``
(Ghorbani and Zou 2019), ``knn_shapley`` (exact, Jia et al. 2019), ``data_oob`` (Kwon and
Zou 2023) and ``random``. Evaluation protocols: noisy-label detection and point removal
(:mod:`obliviate.valuation.evaluation`).

Quick use::

    from obliviate.valuation import EcoVal, Utility, load_dataset, noisy_label_detection

    data = load_dataset("breast_cancer", seed=0).with_label_noise(0.1, seed=0)
    utility = Utility(data.x_valid, data.y_valid)          # logistic regression by default
    result = EcoVal(seed=0).fit(data.train, utility)
    print(result.model_fits, noisy_label_detection(result, data.noisy))
    result.to_pandas().sort_values("value").head()
"""

from __future__ import annotations

from obliviate.valuation.base import Valuation, get_valuation, register_valuation, valuation_methods
from obliviate.valuation.data import TrainSet, ValuationData, flip_labels, load_adult, load_builtin, load_csv
from obliviate.valuation.data import load as load_dataset
from obliviate.valuation.evaluation import (
    RemovalCurve,
    noisy_label_detection,
    plot_removal_curves,
    point_removal_curve,
    random_removal_curve,
)
from obliviate.valuation.methods import DataOOB, EcoVal, KNNShapley, LeaveOneOut, RandomValuation, TMCShapley
from obliviate.valuation.result import ValuationResult
from obliviate.valuation.utility import Utility

__all__ = [
    "DataOOB",
    "EcoVal",
    "KNNShapley",
    "LeaveOneOut",
    "RandomValuation",
    "RemovalCurve",
    "TMCShapley",
    "TrainSet",
    "Utility",
    "Valuation",
    "ValuationData",
    "ValuationResult",
    "flip_labels",
    "get_valuation",
    "load_adult",
    "load_builtin",
    "load_csv",
    "load_dataset",
    "noisy_label_detection",
    "plot_removal_curves",
    "point_removal_curve",
    "random_removal_curve",
    "register_valuation",
    "valuation_methods",
]
