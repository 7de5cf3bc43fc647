"""Continual learning with unlearning: one model learns class-incremental tasks and forgets
classes or samples on request (operation streams such as
``learn:0-1,learn:2-3,learn:4-5,unlearn:2-3,learn:6-7``)."""

from obliviate.continual.state import Buffer, StreamState, load_stream_state, save_stream_state
from obliviate.continual.stream import Operation, parse_stream

__all__ = ["Buffer", "Operation", "StreamState", "load_stream_state", "parse_stream", "save_stream_state"]
