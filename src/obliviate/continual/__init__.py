"""Continual learning with unlearning: one model learns class-incremental tasks and forgets
classes or samples on request (operation streams such as
``learn:0-1,learn:2-3,learn:4-5,unlearn:2-3,learn:6-7``)."""

from obliviate.continual.state import Buffer, StreamState, load_stream_state, save_stream_state
from obliviate.continual.stream import Operation, parse_stream

__all__ = ["Buffer", "Operation", "StreamState", "load_stream_state", "parse_stream", "run_stream", "save_stream_state"]


def __getattr__(name: str):
    if name == "run_stream":  # imported on use: it loads the data sets and the engine
        from obliviate.continual.run import run_stream

        return run_stream
    raise AttributeError(f"module 'obliviate.continual' has no attribute {name!r}")
