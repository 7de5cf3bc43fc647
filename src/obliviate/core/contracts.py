"""Contracts shared by every task: the request, the result and the unlearner base class.

An unlearner is configured by keyword-only hyper-parameters (stored unchanged, validated
against the class's ``_parameter_constraints`` when it is built, after ``set_params`` and
again at ``unlearn``) and exposes one call,
``unlearn(model, request) -> UnlearningResult``. It never mutates the model it receives.

The task contract (every task package follows it):

* **Your own model.** A model is given as weights plus a built-in recipe name or a factory
  (``"package.module:callable"`` or a callable, :mod:`obliviate.core.factory`) that builds
  the untrained network. Every method of a task works on any model of the task's kind (any
  ``nn.Module`` classifier, any PyG model taking ``(x, edge_index)``, ...). Where a method
  needs a fresh model (``retrain``, an incompetent teacher, a relearn probe, a federated
  client) it uses :attr:`UnlearningRequest.model_factory` through
  :func:`obliviate.core.training.fresh_model`, never a copy of trained weights.
* **Your own data.** Data come in the formats users have (CSV, Parquet, ``.npz``, PyG
  ``Data``), with the user's ids (``ids:<file>`` names their values) and their train/test
  split; nothing is re-standardised unless asked.
* **One path for a deletion.** ``obliviate forget --task T`` writes model and certificate
  together or not at all; ``obliviate verify`` checks one certificate or a chain.
* **Audit rule.** Membership attacks compare the forget set with same-distribution
  non-members (:func:`obliviate.audit.mia.matched_nonmembers`); relearn probes measure
  recovery on held-out examples beside gold's and a random network's time; a metric that
  cannot be computed is NaN with its reason in ``scenario.audit_notes``, and the deletion
  still completes.
* **Acceptance.** Every acceptance check holds for the median over 3 seeds and fails for a
  do-nothing (identity) unlearner.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import inspect
import random
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol, runtime_checkable

import numpy as np
import torch

from obliviate.core.errors import InvalidParameterError, InvalidRequestError, UnsupportedModelError
from obliviate.core.params import validate_params
from obliviate.core.seeding import seed_everything
from obliviate.core.timing import Stopwatch, count_flops


@dataclass
class UnlearningRequest:
    """What a method receives: the data to forget, the data to keep, and context.

    Attributes:
        forget: the forget part (task-specific container, e.g. a ``TensorDataset``).
        retain: the retain part, or ``None`` when the caller has no retain data.
        validation: optional held-out data (never used for training by the methods).
        spec: the forget spec this request was built from (``None`` if built by hand).
        num_classes: number of output classes, where the task has classes.
        seed: the seed every random choice of the method derives from.
        extras: task-specific context (e.g. the graph, the federation's records).
        model_factory: a callable building the untrained network; where a method needs a
            fresh model (``retrain``, an incompetent teacher) it calls this, else it resets
            a copy of the model (:func:`obliviate.core.training.fresh_model`).
    """

    forget: Any
    retain: Any = None
    validation: Any = None
    spec: Any = None
    num_classes: int | None = None
    seed: int = 0
    extras: dict[str, Any] = field(default_factory=dict)
    model_factory: Any = None


@dataclass
class UnlearningResult:
    """What every method returns.

    Attributes:
        model: the unlearned model (same type and state_dict keys as the input).
        seconds: wall-clock seconds spent in the method.
        flops: FLOPs counted during the method, or ``None`` when not counted.
        info: method-specific diagnostics (losses, number of steps, ...).
    """

    model: Any
    seconds: float
    flops: int | None = None
    info: dict[str, Any] = field(default_factory=dict)


class Unlearner:
    """Base class of every unlearning method.

    Subclasses declare ``_parameter_constraints`` and the tags below, define a
    keyword-only ``__init__`` that stores each argument unchanged under its own name,
    and implement ``_unlearn(model, request)`` returning the model (or ``(model, info)``).

    Class attributes:
        name, task: set by :func:`obliviate.core.registry.register`.
        needs_retain: the method reads retain data.
        needs_training_data: the method needs any of the original training data.
        exact: the result is distributed as retraining would be (only ``retrain``).
        forget_kinds: forget-spec kinds the method supports.
        paper_params: the paper's own hyper-parameters beside the defaults.
    """

    name: ClassVar[str] = "unnamed"
    task: ClassVar[str] = "unknown"
    needs_retain: ClassVar[bool] = True
    needs_training_data: ClassVar[bool] = True
    exact: ClassVar[bool] = False
    forget_kinds: ClassVar[frozenset[str]] = frozenset()
    _parameter_constraints: ClassVar[dict[str, list]] = {}
    paper_params: ClassVar[dict[str, Any]] = {}
    """The source paper's (or its public code's) settings, where they differ from the
    defaults tuned here; ``build_unlearner(..., params="paper")`` and the CLI's
    ``--params paper`` use them. Empty: the defaults are the paper's, or it gives none."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """Wrap the subclass's ``__init__`` so that hyper-parameters are checked when the
        method is built: an unknown name or a value outside the constraints table fails
        at once, with the parameter named, not later at ``unlearn``."""
        super().__init_subclass__(**kwargs)
        init = cls.__dict__.get("__init__")
        if init is None or getattr(init, "_validates", False):
            return

        @functools.wraps(init)
        def checked_init(self: Unlearner, *args: Any, **params: Any) -> None:
            if args:
                raise InvalidParameterError(
                    f"{type(self).__name__} takes keyword arguments only (e.g. {type(self).__name__}(epochs=3))"
                )
            known = type(self)._param_names()
            unknown = sorted(set(params) - set(known))
            if unknown:
                raise InvalidParameterError(
                    f"{self.task}/{self.name} has no parameter {', '.join(repr(p) for p in unknown)}; "
                    f"its parameters are: {', '.join(known) or 'none'}"
                )
            init(self, **params)
            if type(self).__init__ is checked_init:
                self._validate_params()

        checked_init._validates = True  # type: ignore[attr-defined]
        cls.__init__ = checked_init  # type: ignore[method-assign]

    @classmethod
    def _param_names(cls) -> list[str]:
        signature = inspect.signature(inspect.unwrap(cls.__init__))
        return [
            p.name
            for p in signature.parameters.values()
            if p.name != "self" and p.kind is inspect.Parameter.KEYWORD_ONLY
        ]

    def get_params(self) -> dict[str, Any]:
        """The hyper-parameters as given to ``__init__``."""
        return {name: getattr(self, name) for name in self._param_names()}

    def set_params(self, **params: Any) -> Unlearner:
        """Change hyper-parameters (validated at the next ``unlearn``); returns ``self``."""
        known = set(self._param_names())
        for key, value in params.items():
            if key not in known:
                raise InvalidParameterError(
                    f"{self.task}/{self.name} has no parameter '{key}'; "
                    f"its parameters are: {', '.join(sorted(known))}"
                )
            setattr(self, key, value)
        return self

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({args})"

    def _validate_params(self) -> None:
        validate_params(self._parameter_constraints, self.get_params(), f"{self.task}/{self.name}")

    def _validate_request(self, model: Any, request: UnlearningRequest) -> None:
        if not isinstance(request, UnlearningRequest):
            raise InvalidRequestError(
                f"{self.task}/{self.name}: expected an UnlearningRequest, got "
                f"{type(request).__name__}; build one with scenario.request() or "
                "UnlearningRequest(forget=..., retain=...)"
            )
        if request.forget is None or _length(request.forget) == 0:
            raise InvalidRequestError(
                f"{self.task}/{self.name}: the forget set is empty; nothing to unlearn"
            )
        if self.needs_retain and (request.retain is None or _length(request.retain) == 0):
            raise InvalidRequestError(
                f"{self.task}/{self.name} needs retain data but the request has none; "
                "pass retain=... or pick a method with needs_retain=False"
            )
        spec = request.spec
        kind = getattr(spec, "kind", None)
        if kind is not None and self.forget_kinds and kind not in self.forget_kinds:
            raise InvalidRequestError(
                f"{self.task}/{self.name} does not support forget kind '{kind}'; "
                f"it supports: {', '.join(sorted(self.forget_kinds))}"
            )
        if isinstance(model, torch.nn.Module) is False and self._needs_torch_module():
            raise UnsupportedModelError(
                f"{self.task}/{self.name} works on torch.nn.Module models; got {type(model).__name__}"
            )

    def _needs_torch_module(self) -> bool:
        return True

    def unlearn(
        self, model: Any, request: UnlearningRequest, *, count_flops_too: bool = False
    ) -> UnlearningResult:
        """Unlearn ``request.forget`` from a copy of ``model``.

        Args:
            model: the trained model; it is not modified.
            request: forget/retain data and context.
            count_flops_too: also count FLOPs (slower; seconds then include the counter's
                overhead, so benchmarks time an uncounted run separately).

        Returns:
            An :class:`UnlearningResult` holding a new model of the same type.

        Raises:
            InvalidParameterError: a hyper-parameter is outside its declared range.
            InvalidRequestError: the request cannot be served by this method.
        """
        self._validate_params()
        self._validate_request(model, request)
        work = copy.deepcopy(model)

        def call() -> Any:
            return self._unlearn(work, request)

        flops = None
        with _preserved_random_state(model), Stopwatch() as watch:
            seed_everything(request.seed)
            if count_flops_too:
                out, flops = count_flops(call)
            else:
                out = call()
        if isinstance(out, tuple):
            out_model, info = out
        else:
            out_model, info = out, {}
        if isinstance(out_model, torch.nn.Module):
            out_model.eval()
        return UnlearningResult(model=out_model, seconds=watch.seconds, flops=flops, info=dict(info))

    def _unlearn(self, model: Any, request: UnlearningRequest) -> Any:  # pragma: no cover
        raise NotImplementedError


@contextlib.contextmanager
def _preserved_random_state(model: Any):
    """Seed freely inside; leave Python's, NumPy's and torch's global generators (CPU and
    the model's CUDA device) as the caller had them."""
    python_state, numpy_state = random.getstate(), np.random.get_state()
    devices = []
    if torch.cuda.is_available() and isinstance(model, torch.nn.Module):
        devices = sorted({p.device.index or 0 for p in model.parameters() if p.device.type == "cuda"})
    try:
        with torch.random.fork_rng(devices=devices):
            yield
    finally:
        random.setstate(python_state)
        np.random.set_state(numpy_state)


def _length(data: Any) -> int:
    try:
        return len(data)
    except TypeError:
        return 1


@runtime_checkable
class Scenario(Protocol):
    """A dataset, a model recipe, a forget spec and a seed.

    It trains the original model (all data) and the gold model (retrained from scratch on
    the retain data only), caches both, builds the request, and audits any model against
    both references.
    """

    task: str
    seed: int

    def original(self) -> Any: ...

    def gold(self) -> Any: ...

    def request(self) -> UnlearningRequest: ...

    def audit(self, model: Any, *, original: Any = None, gold: Any = None) -> dict[str, float]: ...
