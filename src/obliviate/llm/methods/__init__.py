"""LLM unlearning methods; importing this package registers them all."""

from obliviate.llm.methods import (  # noqa: F401
    answer_swap,
    grad_ascent,
    grad_diff,
    idk,
    npo,
    retrain,
    unstar,
)
