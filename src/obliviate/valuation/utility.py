"""The utility of a subset of the training data: fit a model on it, score it on held-out data.

    u(S) = metric( f_S(x_valid), y_valid ),    f_S = a fresh model fitted on the points S.

Every valuation method in :mod:`obliviate.valuation` is a way of spreading ``u(N) - u(∅)``
(or a related quantity) over the points; this module fixes what ``u`` is. Degenerate
subsets get the score of the natural constant predictor, without a fit:

* ``S`` empty: ``u(∅) = 1 / K`` (the expected accuracy of a uniform random guess over the
  ``K`` classes);
* all labels in ``S`` equal to ``c``: the model predicts ``c`` everywhere (scikit-learn
  classifiers refuse to fit one class), so ``u(S)`` is the frequency of ``c`` in the
  validation labels.

The model is any scikit-learn-compatible classifier (``fit`` / ``predict``, and
``predict_proba`` where probabilities are wanted), cloned for every fit, or a
zero-argument callable returning a fresh one. The default is a logistic regression.
"""

from __future__ import annotations

import warnings
from typing import Any, Callable

import numpy as np

from obliviate.core.errors import DataError, InvalidParameterError, UnsupportedModelError

METRICS = ("accuracy",)


class ConstantClassifier:
    """Predicts one class everywhere (the model of a single-class subset)."""

    def __init__(self, label: Any, classes: np.ndarray):
        self.label = label
        self.classes_ = np.asarray(classes)

    def predict(self, x: np.ndarray) -> np.ndarray:
        return np.full(len(x), self.label, dtype=self.classes_.dtype)

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        proba = np.zeros((len(x), len(self.classes_)))
        proba[:, int(np.searchsorted(self.classes_, self.label))] = 1.0
        return proba


def default_model() -> Any:
    """The default learner: L2-regularised logistic regression (lbfgs, C = 1, tolerance 1e-3, 100 iterations).

    The loose tolerance halves the solver's iterations on small subsets without changing
    validation accuracy measurably; valuation fits thousands of these models.
    """
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=1.0, max_iter=100, tol=1e-3)


class Utility:
    """Scores subsets of a training set by validation accuracy of a model fitted on them.

    Args:
        x_valid, y_valid: held-out data the fitted models are scored on.
        model: an unfitted scikit-learn-style classifier (cloned per fit), a zero-argument
            callable returning one, or ``None`` for :func:`default_model`.
        metric: ``"accuracy"`` or a callable ``metric(y_true, y_pred) -> float``.
        classes: every label the training and validation data can hold (default: the
            validation labels; methods add the training labels).

    Raises:
        DataError: for validation data of the wrong shape.
        UnsupportedModelError: for a model without ``fit`` and ``predict``.
    """

    def __init__(
        self,
        x_valid: Any,
        y_valid: Any,
        *,
        model: Any = None,
        metric: str | Callable[[np.ndarray, np.ndarray], float] = "accuracy",
        classes: Any = None,
    ):
        from obliviate.valuation.data import _as_features

        self.x_valid = _as_features(x_valid, "x_valid")
        self.y_valid = np.asarray(y_valid)
        if self.y_valid.shape != (len(self.x_valid),):
            raise DataError(
                f"y_valid must hold one label per row of x_valid: {len(self.x_valid)} rows, shape {self.y_valid.shape}"
            )
        if len(self.y_valid) == 0:
            raise DataError("the validation set is empty; the utility needs held-out points to score models on")
        if not callable(metric) and metric not in METRICS:
            raise InvalidParameterError(f"metric must be one of {', '.join(METRICS)} or a callable; got {metric!r}")
        self.metric = metric
        self.model = default_model() if model is None else model
        probe = self._new_model()
        if not (hasattr(probe, "fit") and hasattr(probe, "predict")):
            raise UnsupportedModelError(
                f"the utility's model must have fit(x, y) and predict(x) (a scikit-learn classifier); got {type(probe).__name__}"
            )
        self.classes = np.unique(self.y_valid if classes is None else np.concatenate([np.asarray(classes), self.y_valid]))

    def with_classes(self, labels: np.ndarray) -> Utility:
        """This utility with ``labels`` added to its classes (returns ``self`` if nothing changes)."""
        merged = np.unique(np.concatenate([self.classes, np.asarray(labels)]))
        if len(merged) == len(self.classes):
            return self
        clone = object.__new__(Utility)
        clone.__dict__.update(self.__dict__)
        clone.classes = merged
        return clone

    def _new_model(self) -> Any:
        if hasattr(self.model, "fit"):
            from sklearn.base import clone

            return clone(self.model)
        if callable(self.model):
            return self.model()
        return self.model

    @property
    def empty_score(self) -> float:
        """``u(∅)``: the expected accuracy of a uniform random guess, ``1 / K``."""
        return 1.0 / len(self.classes)

    def fit(self, x: np.ndarray, y: np.ndarray) -> tuple[Any, int]:
        """Fit a fresh model on ``(x, y)``.

        Returns:
            ``(model, fits)``: ``fits`` is 1 when a model was trained, 0 for the constant
            predictor of an empty or single-class subset (``model`` is then ``None`` for an
            empty subset).
        """
        if len(y) == 0:
            return None, 0
        labels = np.unique(y)
        if len(labels) == 1:
            return ConstantClassifier(labels[0], self.classes), 0
        model = self._new_model()
        with warnings.catch_warnings():
            # A capped iteration count is part of the recipe; its warning is noise here.
            warnings.simplefilter("ignore")
            model.fit(x, y)
        return model, 1

    def score_model(self, model: Any) -> float:
        """The metric of a fitted model (or ``None``: the empty set) on the validation data."""
        if model is None:
            return self.empty_score
        predicted = model.predict(self.x_valid)
        if callable(self.metric):
            return float(self.metric(self.y_valid, predicted))
        return float(np.mean(predicted == self.y_valid))

    def bootstrap_std(self, model: Any, *, draws: int = 200, seed: int = 0) -> float:
        """Standard deviation of the model's score over bootstrap resamples of the validation set.

        The sampling noise of ``u(S)`` itself (no extra fit): below it, two scores cannot
        be told apart.
        """
        if model is None:
            return 0.0
        predicted = model.predict(self.x_valid)
        rng = np.random.default_rng(seed)
        scores = []
        for _ in range(draws):
            rows = rng.integers(0, len(self.y_valid), size=len(self.y_valid))
            if callable(self.metric):
                scores.append(float(self.metric(self.y_valid[rows], predicted[rows])))
            else:
                scores.append(float(np.mean(predicted[rows] == self.y_valid[rows])))
        return float(np.std(scores))

    def evaluate(self, x: np.ndarray, y: np.ndarray) -> tuple[float, int]:
        """``(u(S), fits)`` for the subset given by its features and labels."""
        model, fits = self.fit(x, y)
        return self.score_model(model), fits

    def label_probability(self, model: Any, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """``p_model(y_i | x_i)`` for every row; ``1[predict(x_i) = y_i]`` without ``predict_proba``.

        The empty model (``None``) gives ``1 / K``.
        """
        if model is None:
            return np.full(len(y), self.empty_score)
        if hasattr(model, "predict_proba"):
            proba = model.predict_proba(x)
            model_classes = np.asarray(model.classes_)
            column = np.searchsorted(model_classes, y)
            column = np.clip(column, 0, len(model_classes) - 1)
            known = model_classes[column] == y
            out = np.zeros(len(y))
            out[known] = proba[np.flatnonzero(known), column[known]]
            return out
        return (model.predict(x) == y).astype(np.float64)

    def describe(self) -> dict[str, Any]:
        """What the utility is, for provenance."""
        metric = self.metric if isinstance(self.metric, str) else getattr(self.metric, "__name__", repr(self.metric))
        return {
            "model": repr(self._new_model()),
            "metric": metric,
            "n_valid": int(len(self.y_valid)),
            "classes": [c.item() if hasattr(c, "item") else c for c in self.classes],
            "empty_score": self.empty_score,
        }
