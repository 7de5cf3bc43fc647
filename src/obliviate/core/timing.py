"""Cost measurement: wall-clock seconds and FLOPs counted by torch's FLOP counter."""

from __future__ import annotations

import time
from typing import Any, Callable

import torch


class Stopwatch:
    """Context manager measuring wall-clock seconds (synchronising CUDA when used)."""

    def __enter__(self) -> Stopwatch:
        _synchronize()
        self._start = time.perf_counter()
        self.seconds = 0.0
        return self

    def __exit__(self, *exc: Any) -> None:
        _synchronize()
        self.seconds = time.perf_counter() - self._start


def _synchronize() -> None:
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        torch.cuda.synchronize()


def count_flops(fn: Callable[[], Any]) -> tuple[Any, int]:
    """Run ``fn`` under :class:`torch.utils.flop_counter.FlopCounterMode` and count its FLOPs.

    The counter records matrix multiplications and convolutions (forward and backward),
    which dominate the cost of the networks used here. Counting slows the call down, so
    seconds must be measured in a separate, uncounted run.

    Returns:
        ``(fn's return value, total FLOPs)``.
    """
    from torch.utils.flop_counter import FlopCounterMode

    with FlopCounterMode(display=False) as counter:
        result = fn()
    return result, int(counter.get_total_flops())


def speedup(gold_seconds: float, method_seconds: float) -> float:
    """``gold_seconds / method_seconds``: how many times faster than retraining from scratch."""
    if method_seconds <= 0:
        return float("inf")
    return gold_seconds / method_seconds
