"""Causal language models and tokenizers for the llm task, and the few calls every method uses.

Built in: a small ``GPT2LMHeadModel`` made from a ``GPT2Config`` (no hub files) and a
tokenizer trained on the corpus with ``tokenizers`` (word-level for the generated corpus,
byte-level BPE for TOFU and user files), wrapped as a ``PreTrainedTokenizerFast``. A user's
model is any local Hugging Face folder that ``AutoModelForCausalLM`` and ``AutoTokenizer``
load (:func:`load_model_dir`).

A question-answer pair is encoded as ``prompt = "question: {q} answer:"`` followed by the
answer tokens and the end-of-sequence token; the loss and every score use the answer tokens
only (labels ``-100`` elsewhere), as TOFU fine-tunes and evaluates.
"""

from __future__ import annotations

import inspect
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import torch
from torch import nn

from obliviate.core.errors import DataError, MissingDependencyError

PROMPT = "question: {q} answer:"
IGNORE = -100


def require_transformers() -> Any:
    """Import ``transformers`` or say which extra installs it."""
    try:
        import transformers
    except ImportError as exc:  # pragma: no cover - the extra is installed in CI
        raise MissingDependencyError(
            "the llm task needs Hugging Face transformers: pip install 'obliviate[llm]'"
        ) from exc
    return transformers


@dataclass(frozen=True)
class GPTRecipe:
    """Size of the built-in GPT-2 model."""

    n_layer: int = 2
    n_embd: int = 128
    n_head: int = 4
    n_positions: int = 64

    def as_dict(self) -> dict[str, int]:
        return dict(self.__dict__)


def train_tokenizer(texts: Sequence[str], *, kind: str = "word", vocab_size: int = 4000) -> Any:
    """A tokenizer trained on ``texts`` only (``kind="word"``: whitespace/punctuation words,
    exact for the generated corpus; ``"bpe"``: byte-level BPE with ``vocab_size`` tokens).

    Returns a ``transformers.PreTrainedTokenizerFast`` with ``<eos>``, ``<pad>``, ``<unk>``.
    """
    require_transformers()
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    specials = ["<pad>", "<eos>", "<unk>"]
    if kind == "word":
        tokenizer = Tokenizer(models.WordLevel(unk_token="<unk>"))
        tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
        trainer = trainers.WordLevelTrainer(special_tokens=specials, min_frequency=1)
        tokenizer.decoder = decoders.WordPiece(prefix="##")
    elif kind == "bpe":
        tokenizer = Tokenizer(models.BPE(unk_token="<unk>"))
        tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
        tokenizer.decoder = decoders.ByteLevel()
        trainer = trainers.BpeTrainer(
            vocab_size=vocab_size, special_tokens=specials, initial_alphabet=pre_tokenizers.ByteLevel.alphabet()
        )
    else:
        raise DataError(f"tokenizer kind must be 'word' or 'bpe'; got {kind!r}")
    tokenizer.train_from_iterator(
        [PROMPT.format(q=t) for t in texts] if kind == "word" else list(texts) + [PROMPT.format(q="")],
        trainer=trainer,
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=tokenizer, eos_token="<eos>", pad_token="<pad>", unk_token="<unk>"
    )


def build_gpt2(vocab_size: int, recipe: GPTRecipe = GPTRecipe(), *, eos_id: int = 1, pad_id: int = 0) -> nn.Module:
    """A freshly initialised ``GPT2LMHeadModel`` of ``recipe``'s size (drawn from torch's
    current random state: seed it first)."""
    require_transformers()
    from transformers import GPT2Config, GPT2LMHeadModel

    config = GPT2Config(
        vocab_size=vocab_size,
        n_positions=recipe.n_positions,
        n_embd=recipe.n_embd,
        n_layer=recipe.n_layer,
        n_head=recipe.n_head,
        resid_pdrop=0.0,
        embd_pdrop=0.0,
        attn_pdrop=0.0,
        bos_token_id=eos_id,
        eos_token_id=eos_id,
        pad_token_id=pad_id,
        tie_word_embeddings=True,
    )
    return GPT2LMHeadModel(config)


def load_model_dir(path: str | os.PathLike) -> tuple[nn.Module, Any]:
    """A user's local Hugging Face causal LM and its tokenizer (never downloads).

    Raises:
        DataError: the folder is missing or is not a causal-LM folder with a tokenizer.
    """
    require_transformers()
    from transformers import AutoModelForCausalLM, AutoTokenizer

    folder = Path(path)
    if not (folder / "config.json").is_file():
        raise DataError(
            f"'{folder}' is not a Hugging Face model folder (no config.json); save one with "
            "model.save_pretrained(DIR) and tokenizer.save_pretrained(DIR)"
        )
    try:
        tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
        model = AutoModelForCausalLM.from_pretrained(folder, local_files_only=True)
    except (OSError, ValueError) as exc:
        raise DataError(f"cannot load a causal LM and tokenizer from '{folder}': {exc}") from None
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token or tokenizer.unk_token
    model.eval()
    return model, tokenizer


def fresh_like(model: nn.Module) -> nn.Module:
    """A freshly initialised model of ``model``'s architecture (``from_config``; seed first)."""
    require_transformers()
    from transformers import AutoModelForCausalLM

    return AutoModelForCausalLM.from_config(model.config)


# -- encoding -----------------------------------------------------------------------------------

def _ids(tokenizer: Any, text: str) -> list[int]:
    return list(tokenizer(text, add_special_tokens=False)["input_ids"])


def encode_pairs(
    tokenizer: Any, questions: Sequence[str], answers: Sequence[str], *, max_length: int = 64
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Right-padded ``(input_ids, attention_mask, labels)`` of prompt + answer + eos; labels
    are ``-100`` except on the answer tokens and the eos. Too-long prompts are cut from the
    left so that the answer is always kept."""
    eos = tokenizer.eos_token_id
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else (eos or 0)
    rows, labels = [], []
    for question, answer in zip(questions, answers):
        prompt = _ids(tokenizer, PROMPT.format(q=question))
        target = _ids(tokenizer, " " + answer) + ([eos] if eos is not None else [])
        prompt = prompt[-(max_length // 2):]
        target = target[: max_length - len(prompt)]
        rows.append(prompt + target)
        labels.append([IGNORE] * len(prompt) + target)
    width = max(len(r) for r in rows)
    input_ids = torch.full((len(rows), width), pad, dtype=torch.long)
    attention = torch.zeros((len(rows), width), dtype=torch.long)
    label_tensor = torch.full((len(rows), width), IGNORE, dtype=torch.long)
    for i, (row, label) in enumerate(zip(rows, labels)):
        input_ids[i, : len(row)] = torch.tensor(row)
        attention[i, : len(row)] = 1
        label_tensor[i, : len(label)] = torch.tensor(label)
    return input_ids, attention, label_tensor


class PairBatches:
    """Re-iterable of shuffled ``(input_ids, attention_mask, labels)`` batches of QA pairs;
    the order of each pass depends on ``seed`` and the pass number only."""

    def __init__(self, tokenizer: Any, questions: Sequence[str], answers: Sequence[str], *,
                 batch_size: int = 32, seed: int = 0, max_length: int = 64):
        self.tensors = encode_pairs(tokenizer, questions, answers, max_length=max_length)
        self.batch_size = batch_size
        self.seed = seed
        self._epoch = 0

    def __len__(self) -> int:
        return (len(self.tensors[0]) + self.batch_size - 1) // self.batch_size

    def batch(self, index: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        ids, mask, labels = (t[index] for t in self.tensors)
        width = int(mask.sum(dim=1).max())
        return ids[:, :width], mask[:, :width], labels[:, :width]

    def __iter__(self):
        generator = torch.Generator().manual_seed(self.seed * 100_003 + self._epoch)
        self._epoch += 1
        order = torch.randperm(len(self.tensors[0]), generator=generator)
        for start in range(0, len(order), self.batch_size):
            yield self.batch(order[start : start + self.batch_size])

    def cycle(self):
        """Batches forever (pass after pass)."""
        while True:
            yield from self


def token_logprobs(model: nn.Module, input_ids: torch.Tensor, attention: torch.Tensor,
                   labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-token ``log p(label)`` of the shifted labels and the mask of answer tokens."""
    logits = model(input_ids=input_ids, attention_mask=attention).logits[:, :-1].float()
    targets = labels[:, 1:]
    mask = targets != IGNORE
    logp = torch.log_softmax(logits, dim=-1).gather(-1, targets.clamp(min=0).unsqueeze(-1)).squeeze(-1)
    return logp * mask, mask


def answer_nll(model: nn.Module, batch: tuple) -> torch.Tensor:
    """Per-example mean negative log-likelihood of the answer tokens."""
    logp, mask = token_logprobs(model, *batch)
    return -(logp.sum(dim=1) / mask.sum(dim=1).clamp(min=1))


def lm_loss(model: nn.Module, batch: tuple) -> torch.Tensor:
    """Mean cross-entropy over every answer token of the batch (the fine-tuning loss)."""
    logp, mask = token_logprobs(model, *batch)
    return -logp.sum() / mask.sum().clamp(min=1)


def model_device(model: nn.Module) -> torch.device:
    for parameter in model.parameters():
        return parameter.device
    return torch.device("cpu")


@torch.no_grad()
def score_pairs(model: nn.Module, tokenizer: Any, questions: Sequence[str], answers: Sequence[str], *,
                batch_size: int = 128, max_length: int = 64) -> dict[str, torch.Tensor]:
    """Teacher-forced scores of each answer: ``nll`` (mean over answer tokens, eos excluded),
    ``exact`` (1 when greedy decoding reproduces every answer token: the arg-max at each
    answer position is the answer's token), ``token_logprobs`` (list of per-token values)."""
    was_training = model.training
    model.eval()
    device = model_device(model)
    ids, mask, labels = encode_pairs(tokenizer, questions, answers, max_length=max_length)
    eos = tokenizer.eos_token_id
    nll, exact, per_token = [], [], []
    for start in range(0, len(ids), batch_size):
        part = [t[start : start + batch_size].to(device) for t in (ids, mask, labels)]
        width = int(part[1].sum(dim=1).max())
        b_ids, b_mask, b_labels = (t[:, :width] for t in part)
        logits = model(input_ids=b_ids, attention_mask=b_mask).logits[:, :-1].float()
        targets = b_labels[:, 1:]
        answer = (targets != IGNORE) & (targets != eos) if eos is not None else targets != IGNORE
        logp = torch.log_softmax(logits, dim=-1).gather(-1, targets.clamp(min=0).unsqueeze(-1)).squeeze(-1)
        counts = answer.sum(dim=1).clamp(min=1)
        nll.append((-(logp * answer).sum(dim=1) / counts).cpu())
        hits = (logits.argmax(dim=-1) == targets) | ~answer
        exact.append(hits.all(dim=1).float().cpu())
        for row in range(len(b_ids)):
            per_token.append(logp[row][answer[row]].cpu())
    if was_training:
        model.train()
    return {"nll": torch.cat(nll), "exact": torch.cat(exact), "token_logprobs": per_token}


def _cache_argument(model: nn.Module) -> str | None:
    """The name under which ``model.forward`` takes its key/value cache: ``cache``
    (transformers 5), ``past_key_values`` (transformers 4), or ``None``."""
    try:
        names = inspect.signature(model.forward).parameters
    except (TypeError, ValueError):
        return None
    return next((name for name in ("cache", "past_key_values") if name in names), None)


@torch.no_grad()
def greedy_answers(model: nn.Module, tokenizer: Any, questions: Sequence[str], *, max_new_tokens: int = 12,
                   stop_at_eos: bool = True, batch_size: int = 64, use_cache: bool = True) -> list[list[int]]:
    """Greedy continuations of each prompt (token ids, eos removed), through ``model(...)``
    only, so any causal LM works. Prompts are left-padded with explicit position ids.

    With ``use_cache`` (default) the model's key/value cache (``past_key_values``) is kept
    between steps, so each new token costs one position instead of the whole sequence; a
    model that returns no cache is run on the whole sequence at every step, as with
    ``use_cache=False``. Both give the same tokens (a test checks it)."""
    was_training = model.training
    model.eval()
    device = model_device(model)
    cache_argument = _cache_argument(model) if use_cache else None
    eos = tokenizer.eos_token_id
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else (eos or 0)
    outputs: list[list[int]] = []
    for start in range(0, len(questions), batch_size):
        prompts = [_ids(tokenizer, PROMPT.format(q=q)) for q in questions[start : start + batch_size]]
        width = max(len(p) for p in prompts)
        ids = torch.full((len(prompts), width), pad, dtype=torch.long)
        mask = torch.zeros_like(ids)
        for i, p in enumerate(prompts):
            ids[i, width - len(p):] = torch.tensor(p)
            mask[i, width - len(p):] = 1
        ids, mask = ids.to(device), mask.to(device)
        done = torch.zeros(len(prompts), dtype=torch.bool, device=device)
        generated = []
        limit = getattr(model.config, "n_positions", None) or getattr(model.config, "max_position_embeddings", None)
        cache, fresh = None, ids  # fresh: the positions the model has not seen yet
        for _ in range(max_new_tokens):
            if limit is not None and ids.shape[1] >= limit:
                break
            positions = (mask.cumsum(dim=1) - 1).clamp(min=0)
            if use_cache and cache_argument:
                output = model(input_ids=fresh, attention_mask=mask, position_ids=positions[:, -fresh.shape[1]:],
                               use_cache=True, **{cache_argument: cache})
                cache = getattr(output, "cache", None) or getattr(output, "past_key_values", None)
                if cache is None:  # the model keeps no cache: whole sequence from the next step on
                    use_cache = False
            else:
                output = model(input_ids=ids, attention_mask=mask, position_ids=positions)
            logits = output.logits[:, -1]
            if not stop_at_eos and eos is not None:
                logits[:, eos] = float("-inf")
            token = logits.argmax(dim=-1)
            generated.append(token)
            if stop_at_eos and eos is not None:
                done |= token == eos
            ids = torch.cat([ids, token[:, None]], dim=1)
            fresh = token[:, None]
            mask = torch.cat([mask, torch.ones_like(token)[:, None]], dim=1)
            if bool(done.all()):
                break
        rows = torch.stack(generated, dim=1).cpu().tolist() if generated else [[] for _ in prompts]
        for row in rows:
            if stop_at_eos and eos is not None and eos in row:
                row = row[: row.index(eos)]
            outputs.append(row)
    if was_training:
        model.train()
    return outputs
