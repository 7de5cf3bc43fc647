"""The shared shape of a continual method: apply the request's unlearning step with the
method's rule, then the rest of the stream (see :mod:`obliviate.continual.engine`)."""

from __future__ import annotations

import copy
from dataclasses import fields
from typing import Any, ClassVar

from obliviate.continual import engine
from obliviate.core.contracts import Unlearner, UnlearningRequest
from obliviate.core.errors import InvalidRequestError
from obliviate.core.params import Interval

CONTINUAL_KINDS = frozenset({"class", "ids"})

COMMON_CONSTRAINTS = {
    "unlearn_epochs": [Interval(int, 1, None)],
    "unlearn_lr": [Interval(float, 0, None, closed="neither")],
}


def stream_context(request: UnlearningRequest, name: str) -> dict[str, Any]:
    """The stream parts of ``request.extras``, or a typed error saying how to build them."""
    missing = [k for k in ("ops", "state", "data", "forget_ids") if k not in request.extras]
    if missing:
        raise InvalidRequestError(
            f"continual/{name} needs the stream state in request.extras (missing: {', '.join(missing)}); "
            "build the request with obliviate.continual.scenario.ContinualScenario(...).request()"
        )
    return request.extras


class ContinualUnlearner(Unlearner):
    """Runs the rest of the stream from the request's state with learning rule ``rule``."""

    rule: ClassVar[str] = "er"
    forget_kinds = CONTINUAL_KINDS

    def _settings(self, request: UnlearningRequest) -> engine.Settings:
        given = dict(request.extras.get("settings", {}))
        names = {f.name for f in fields(engine.Settings)}
        for key, value in self.get_params().items():
            if key in names:
                given[key] = value
        return engine.Settings(**{k: v for k, v in given.items() if k in names})

    def _unlearn(self, model, request: UnlearningRequest):
        ctx = stream_context(request, self.name)
        state = copy.deepcopy(ctx["state"])
        rows = engine.run(model, state, ctx["ops"], ctx["data"], ctx["forget_ids"], self.rule,
                          self._settings(request), request.seed, request.model_factory)
        matrix = [list(r) for r in ctx.get("rows", [])] + rows
        return model, {
            "accuracy_matrix": matrix,
            "operations": [str(op) for op in ctx["ops"]],
            "buffer_ids": [int(i) for i in state.buffer.ids],
            "steps": state.iteration,
            "stream_state": state,
        }
