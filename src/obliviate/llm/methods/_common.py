"""What the llm methods share: the request check, batches of QA pairs and the stopping probe."""

from __future__ import annotations

from typing import Any, Sequence

import torch
from torch import nn

from obliviate.core.contracts import UnlearningRequest
from obliviate.core.errors import InvalidRequestError, UnsupportedModelError
from obliviate.llm.corpus import QAItem
from obliviate.llm.metrics import rouge_l_recall
from obliviate.llm.models import PairBatches, greedy_answers, score_pairs

LLM_KINDS = frozenset({"fact", "entities", "facts", "ids"})
SHORT_ANSWER_TOKENS = 3
DEFAULT_TRAINING = {"epochs": 25, "lr": 1e-3, "batch_size": 16, "optimizer": "adamw", "weight_decay": 0.0, "max_length": 64}


def check_llm(model: Any, request: UnlearningRequest, where: str) -> Any:
    """The request's tokenizer, after checking the model is a causal LM and the parts are QA items.

    Raises:
        UnsupportedModelError: the model has no ``config`` (not a Hugging Face causal LM).
        InvalidRequestError: no tokenizer in ``request.extras`` or parts that are not QA items.
    """
    if not isinstance(model, nn.Module) or not hasattr(model, "config"):
        raise UnsupportedModelError(
            f"{where} works on Hugging Face causal LMs (AutoModelForCausalLM); got {type(model).__name__}"
        )
    tokenizer = request.extras.get("tokenizer")
    if tokenizer is None:
        raise InvalidRequestError(f"{where} needs the tokenizer in request.extras['tokenizer']; build the request with LLMScenario.request()")
    for part, name in ((request.forget, "forget"), (request.retain, "retain")):
        if part is not None and not all(isinstance(item, QAItem) for item in part):
            raise InvalidRequestError(f"{where}: request.{name} must be a list of obliviate.llm.corpus.QAItem")
    return tokenizer


def training(request: UnlearningRequest) -> dict[str, Any]:
    """The scenario's training recipe (epochs, lr, batch size, optimizer, max length)."""
    return {**DEFAULT_TRAINING, **request.extras.get("training", {})}


def batches(tokenizer: Any, items: Sequence[QAItem], request: UnlearningRequest, *, batch_size: int,
            seed: int, answers: Sequence[str] | None = None, questions: Sequence[str] | None = None) -> PairBatches:
    """Shuffled batches of ``items`` (their answers, or ``answers`` instead)."""
    return PairBatches(
        tokenizer,
        list(questions) if questions is not None else [i.question for i in items],
        list(answers) if answers is not None else [i.answer for i in items],
        batch_size=batch_size, seed=seed, max_length=training(request)["max_length"],
    )


def still_produced(model: nn.Module, tokenizer: Any, questions: Sequence[str], answers: Sequence[str], *,
                   max_length: int = 64, recall_threshold: float = 0.5) -> torch.Tensor:
    """1 where the model still gives the true answer: exact match for short answers (at most
    3 tokens), ROUGE-L recall of the greedy answer at least ``recall_threshold`` for longer ones."""
    exact = score_pairs(model, tokenizer, questions, answers, max_length=max_length)["exact"].bool()
    lengths = [len(tokenizer(" " + a, add_special_tokens=False)["input_ids"]) for a in answers]
    long_rows = [i for i, n in enumerate(lengths) if n > SHORT_ANSWER_TOKENS]
    if long_rows:
        generated = greedy_answers(model, tokenizer, [questions[i] for i in long_rows], max_new_tokens=max(lengths) + 2)
        for row, tokens in zip(long_rows, generated):
            reference = tokenizer(" " + answers[row], add_special_tokens=False)["input_ids"]
            exact[row] = exact[row] or rouge_l_recall(tokens, reference) >= recall_threshold
    return exact


class Cycled:
    """Re-iterable of ``steps`` batches drawn from one or two endless batch streams, zipped."""

    def __init__(self, steps: int, *streams: PairBatches):
        self.steps = steps
        self.iterators = [s.cycle() for s in streams]

    def __iter__(self):
        for _ in range(self.steps):
            parts = [next(it) for it in self.iterators]
            yield tuple(t for part in parts for t in part)

    def __len__(self) -> int:
        return self.steps
