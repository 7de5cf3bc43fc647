"""The valuation contract: ``Valuation.fit(train, utility) -> ValuationResult``.

A valuation method takes keyword-only hyper-parameters (stored unchanged, validated at
``fit`` time against a declared constraints table), and one call, ``fit``, that values
every point of a :class:`~obliviate.valuation.data.TrainSet` with respect to a
:class:`~obliviate.valuation.utility.Utility` and returns a
:class:`~obliviate.valuation.result.ValuationResult` carrying one value per point, the
number of model fits used, the wall time and the provenance. Methods register under a
name with :func:`register_valuation`; :func:`get_valuation` and :func:`valuation_methods`
look them up.
"""

from __future__ import annotations

import inspect
import platform
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable, ClassVar, TypeVar

import numpy as np

from obliviate.core.errors import InvalidParameterError, InvalidRequestError, RegistryError
from obliviate.core.params import NONE, InstanceOf, Interval, validate_params
from obliviate.valuation.data import TrainSet
from obliviate.valuation.result import ValuationResult
from obliviate.valuation.utility import Utility

_VALUATIONS: dict[str, type[Valuation]] = {}

T = TypeVar("T", bound=type)


@dataclass
class Computed:
    """What a method's ``_compute`` returns to :meth:`Valuation.fit`."""

    values: np.ndarray
    model_fits: int
    extra: dict[str, np.ndarray] = field(default_factory=dict)
    info: dict[str, Any] = field(default_factory=dict)


class Valuation:
    """Base class of every valuation method.

    Subclasses declare ``_parameter_constraints``, a keyword-only ``__init__`` that stores
    each argument under its own name, and ``_compute(train, utility) -> Computed``.

    Common hyper-parameters:
        seed: seeds every random draw (the same seed gives the same values on CPU).
        n_jobs: joblib workers for the model fits (``None``: the active
            ``joblib.parallel_config``, 1 outside one).
        progress: show a progress bar over model fits.
    """

    name: ClassVar[str] = "unnamed"
    uses_model: ClassVar[bool] = True
    _parameter_constraints: ClassVar[dict[str, list]] = {}
    _common_constraints: ClassVar[dict[str, list]] = {
        "seed": [Interval(int, 0, None)],
        "n_jobs": [NONE, Interval(int, -1, None)],
        "progress": [InstanceOf(bool)],
    }

    def __init__(self, *, seed: int = 0, n_jobs: int | None = None, progress: bool = False):
        self.seed = seed
        self.n_jobs = n_jobs
        self.progress = progress

    @classmethod
    def _param_names(cls) -> list[str]:
        names = []
        for klass in cls.__mro__:
            if "__init__" not in vars(klass):
                continue
            for p in inspect.signature(klass.__init__).parameters.values():
                if p.kind is inspect.Parameter.KEYWORD_ONLY and p.name not in names:
                    names.append(p.name)
        return names

    def get_params(self) -> dict[str, Any]:
        """The hyper-parameters as given to ``__init__``."""
        return {name: getattr(self, name) for name in self._param_names()}

    def set_params(self, **params: Any) -> Valuation:
        """Change hyper-parameters (validated at the next ``fit``); returns ``self``."""
        known = set(self._param_names())
        for key, value in params.items():
            if key not in known:
                raise InvalidParameterError(
                    f"valuation/{self.name} has no parameter '{key}'; its parameters are: {', '.join(sorted(known))}"
                )
            setattr(self, key, value)
        return self

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({args})"

    def _validate_params(self) -> None:
        constraints = {**self._common_constraints, **self._parameter_constraints}
        validate_params(constraints, self.get_params(), f"valuation/{self.name}")

    def fit(self, train: TrainSet, utility: Utility) -> ValuationResult:
        """Value every point of ``train`` with respect to ``utility``.

        Args:
            train: the points to value (features, labels, ids).
            utility: how a subset is scored (model, validation data, metric).

        Returns:
            A :class:`ValuationResult` in training-set order.

        Raises:
            InvalidParameterError: for a hyper-parameter outside its declared range.
            InvalidRequestError: for a ``train`` or ``utility`` of the wrong type.
        """
        self._validate_params()
        if not isinstance(train, TrainSet):
            raise InvalidRequestError(
                f"valuation/{self.name}: train must be a TrainSet, got {type(train).__name__}; "
                "build one with TrainSet(x, y, ids) or TrainSet.from_pandas(frame, target=...)"
            )
        if not isinstance(utility, Utility):
            raise InvalidRequestError(
                f"valuation/{self.name}: utility must be a Utility, got {type(utility).__name__}; "
                "build one with Utility(x_valid, y_valid, model=...)"
            )
        if train.x.shape[1] != utility.x_valid.shape[1]:
            raise InvalidRequestError(
                f"valuation/{self.name}: training points have {train.x.shape[1]} features but the "
                f"validation data has {utility.x_valid.shape[1]}; encode both the same way"
            )
        utility = utility.with_classes(train.y)
        started = time.perf_counter()
        computed = self._compute(train, utility)
        seconds = time.perf_counter() - started
        values = np.asarray(computed.values, dtype=np.float64)
        if values.shape != (len(train),):
            raise RuntimeError(f"{self.name} returned {values.shape} values for {len(train)} points")
        return ValuationResult(
            method=self.name,
            values=values,
            ids=train.ids,
            model_fits=int(computed.model_fits),
            seconds=seconds,
            params=self.get_params(),
            provenance=self._provenance(train, utility, computed.info),
            extra=computed.extra,
        )

    def _compute(self, train: TrainSet, utility: Utility) -> Computed:  # pragma: no cover - abstract
        raise NotImplementedError

    def _provenance(self, train: TrainSet, utility: Utility, info: dict[str, Any]) -> dict[str, Any]:
        import hashlib

        import joblib
        import sklearn

        from obliviate import __version__

        digest = hashlib.sha256(np.ascontiguousarray(train.x).tobytes())
        digest.update(np.asarray(train.y).astype(str).tobytes())
        return {
            "method": self.name,
            "reference": (type(self).__doc__ or "").strip().splitlines()[0] if type(self).__doc__ else "",
            "train": {"name": train.name, "n": len(train), "features": int(train.x.shape[1]), "sha256": digest.hexdigest()},
            "utility": utility.describe() if self.uses_model else {**utility.describe(), "model": "not used"},
            "versions": {
                "obliviate": __version__,
                "numpy": np.__version__,
                "scikit-learn": sklearn.__version__,
                "joblib": joblib.__version__,
                "python": platform.python_version(),
            },
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            **info,
        }


def register_valuation(name: str, *, force: bool = False) -> Callable[[T], T]:
    """Class decorator registering a valuation method under ``name`` (sets ``cls.name``).

    Raises:
        RegistryError: if the name is taken and ``force`` is false.
    """

    def decorator(cls: T) -> T:
        if name in _VALUATIONS and _VALUATIONS[name] is not cls and not force:
            raise RegistryError(
                f"valuation method '{name}' is already registered (by {_VALUATIONS[name].__module__}."
                f"{_VALUATIONS[name].__qualname__}); pick another name or pass force=True"
            )
        cls.name = name
        _VALUATIONS[name] = cls  # type: ignore[assignment]
        return cls

    return decorator


def _load_methods() -> None:
    import obliviate.valuation.methods  # noqa: F401  (registers the built-in methods)


def valuation_methods() -> list[str]:
    """Names of the registered valuation methods, sorted."""
    _load_methods()
    return sorted(_VALUATIONS)


def get_valuation(name: str) -> type[Valuation]:
    """The valuation class registered under ``name``.

    Raises:
        RegistryError: for an unknown name (the message lists the known ones).
    """
    _load_methods()
    if name not in _VALUATIONS:
        raise RegistryError(f"unknown valuation method '{name}'; choose one of: {', '.join(sorted(_VALUATIONS))}")
    return _VALUATIONS[name]
