"""``retrain``: the gold stream -- a fresh network trained on the whole stream with every
forgotten sample removed (``cl`` learning rule, unlearning steps skipped)."""

from __future__ import annotations

from obliviate.continual import engine
from obliviate.continual.methods._common import CONTINUAL_KINDS, stream_context
from obliviate.continual.state import Buffer, StreamState
from obliviate.core.contracts import Unlearner, UnlearningRequest
from obliviate.core.registry import register
from obliviate.core.training import fresh_model


@register("continual", "retrain")
class Retrain(Unlearner):
    """Retrain the stream from scratch without the forgotten data."""

    exact = True
    forget_kinds = CONTINUAL_KINDS
    _parameter_constraints = {}

    def __init__(self):
        pass

    def _unlearn(self, model, request: UnlearningRequest):
        ctx = stream_context(request, "retrain")
        model = fresh_model(model, seed=request.seed, factory=request.model_factory)
        forgotten = {int(i) for ids in ctx["forget_ids"].values() for i in ids}
        state = StreamState(buffer=Buffer(ctx["state"].buffer.size), forgotten=forgotten)
        names = set(engine.Settings.__dataclass_fields__)
        settings = engine.Settings(**{k: v for k, v in ctx.get("settings", {}).items() if k in names})
        rows = engine.run(model, state, ctx["ops"], ctx["data"], ctx["forget_ids"], "cl", settings, request.seed,
                          request.model_factory, skip_unlearn=True)
        return model, {"accuracy_matrix": rows, "operations": [str(op) for op in ctx["ops"]],
                       "buffer_ids": [int(i) for i in state.buffer.ids], "steps": state.iteration,
                       "stream_state": state}
