"""The llm scenario: a question-answer corpus, a causal LM, a forget spec and a seed.

Built in: the generated corpus of fictitious entities (:func:`obliviate.llm.corpus.make_fact_corpus`)
and a small GPT-2 trained on it from scratch with a corpus-trained tokenizer; also ``dataset="tofu"``
(the real TOFU files, :func:`obliviate.llm.corpus.load_tofu`) or a user's JSON-lines file. A
user's own model enters as a local Hugging Face folder (``model_dir=``): it is the original
model as it is, and gold is ``AutoModelForCausalLM.from_config`` of it trained on the retain
questions. The original and gold models are cached (safetensors keyed by a hash of corpus,
tokenizer, forget spec, recipe and seed) on disk with ``cache_dir`` and in memory for the process.

Audit (:meth:`LLMScenario.audit`), one flat dict of floats (see :mod:`obliviate.llm.metrics`):

* ``forget_em``, ``paraphrase_em`` (held-out phrasings), ``hard_retain_em`` (same entity's
  other facts, other entities sharing the forgotten value), ``retain_em`` (general retain),
  and the same as ``*_rouge`` (ROUGE-L recall of the greedy answer);
* ``forget_prob``, ``retain_prob``: TOFU's answer probability; ``forget_truth_ratio``: mean
  truth ratio on forget + paraphrase questions; ``forget_quality``: KS-test p-value of those
  truth ratios against gold's (needs ``gold``);
* ``mia_auc`` (LOSS), ``mia_zlib_auc``, ``mia_mink_auc`` (Min-20% Prob): forget questions as
  members against questions about holdout entities never trained on (same attributes);
* ``relearn_em``: fine-tune a copy ``relearn_steps`` steps on half of the forget facts (for one
  fact: its trained phrasings), then exact match on the other half (its held-out phrasings);
* ``fluency``: unique 4-gram ratio of 12-token greedy continuations of the forget questions.
"""

from __future__ import annotations

import copy
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from obliviate.core.cache import cache_path, train_or_load
from obliviate.core.checkpoint import config_hash, load_state
from obliviate.core.contracts import UnlearningRequest
from obliviate.core.errors import DataError, InvalidRequestError
from obliviate.core.training import default_device
from obliviate.data.forget import ForgetSpec
from obliviate.llm.corpus import (
    FactCorpus,
    FactSplits,
    QAItem,
    load_qa_jsonl,
    load_tofu,
    make_fact_corpus,
    parse_llm_forget,
    select_forget_facts,
    split_corpus,
)
from obliviate.llm.generators import AntiSampleGenerator, TemplateGenerator
from obliviate.llm.methods._common import DEFAULT_TRAINING
from obliviate.llm.metrics import (
    answer_probability,
    forget_quality,
    membership_auc,
    min_k_score,
    rouge_l_recall,
    truth_ratio,
    unique_ngram_ratio,
    zlib_score,
)
from obliviate.llm.models import (
    GPTRecipe,
    PairBatches,
    build_gpt2,
    fresh_like,
    greedy_answers,
    lm_loss,
    load_model_dir,
    score_pairs,
    train_tokenizer,
)
from obliviate.llm.training import lm_fit

RETAIN_SAMPLE = 150
RELEARN_LR = 1e-3
_MEMORY: dict[str, tuple[dict[str, torch.Tensor], float]] = {}


@dataclass
class LLMScenario:
    """LLM unlearning scenario.

    Args:
        dataset: ``"facts"`` (generated, default), ``"tofu"`` (files under ``data_dir``), a
            path to a JSON-lines question-answer file, or a :class:`FactCorpus`.
        forget: ``fact:N``, ``entities:F``, ``facts:NAME`` (TOFU's ``forget01``...), ``ids:FILE``.
        entities, holdout, attributes: size of the generated corpus.
        model_dir: a local Hugging Face causal-LM folder (model + tokenizer) to unlearn from;
            default: the built-in GPT-2 trained here.
        n_layer, n_embd, n_head: size of the built-in GPT-2.
        seed: seeds the corpus, the forget draw, initialisation and training.
        epochs, lr, batch_size: training of the original and gold models.
        max_length: token budget of one question + answer.
        relearn_steps: fine-tuning steps of the relearn attack.
        generator: paraphrase/rationale source for ``unstar`` (default: templates).
        cache_dir: where trained models are cached on disk (``None``: memory only).
        data_dir: the folder holding ``tofu/`` (default ``$OBLIVIATE_DATA_DIR``).
        device: ``"cpu"``, ``"cuda"`` or ``None`` (CUDA when available).
        progress: show progress bars while training.
    """

    dataset: str | FactCorpus = "facts"
    forget: str | ForgetSpec = "fact:1"
    entities: int = 20
    holdout: int = 10
    attributes: int = 3
    model_dir: str | os.PathLike | None = None
    n_layer: int = 2
    n_embd: int = 128
    n_head: int = 4
    seed: int = 0
    epochs: int | None = None
    lr: float | None = None
    batch_size: int | None = None
    max_length: int | None = None
    relearn_steps: int = 5
    generator: AntiSampleGenerator | None = None
    cache_dir: str | os.PathLike | None = None
    data_dir: str | os.PathLike | None = None
    device: str | None = None
    progress: bool = False
    task: str = field(default="llm", init=False)

    def __post_init__(self) -> None:
        self.spec = parse_llm_forget(self.forget)
        self.dataset_name = self.dataset.name if isinstance(self.dataset, FactCorpus) else str(self.dataset)
        long_text = self.dataset_name != "facts"
        self.recipe = {
            **DEFAULT_TRAINING,
            "epochs": self.epochs or (DEFAULT_TRAINING["epochs"] if not long_text else 20),
            "lr": self.lr or DEFAULT_TRAINING["lr"],
            "batch_size": self.batch_size or DEFAULT_TRAINING["batch_size"],
            "max_length": self.max_length or (DEFAULT_TRAINING["max_length"] if not long_text else 128),
        }
        self._corpus: FactCorpus | None = self.dataset if isinstance(self.dataset, FactCorpus) else None
        self._tokenizer: Any = None
        self._user_model: nn.Module | None = None
        self._splits: FactSplits | None = None
        self._original: nn.Module | None = None
        self._gold: nn.Module | None = None
        self.training_seconds: dict[str, float] = {}
        self.audit_notes: dict[str, str] = {}

    # -- data -------------------------------------------------------------------------------
    @property
    def corpus(self) -> FactCorpus:
        """The question-answer corpus."""
        if self._corpus is None:
            if self.dataset_name == "facts":
                self._corpus = make_fact_corpus(
                    entities=self.entities, holdout=self.holdout, attributes=self.attributes, seed=self.seed
                )
            elif self.dataset_name == "tofu":
                self._corpus = load_tofu(self.data_dir)
            elif Path(self.dataset_name).suffix in (".jsonl", ".json") or Path(self.dataset_name).is_file():
                self._corpus = load_qa_jsonl(self.dataset_name, seed=self.seed)
            else:
                raise DataError(
                    f"unknown llm data set '{self.dataset_name}'; use 'facts', 'tofu' or a JSON-lines file of "
                    "question/answer objects"
                )
        return self._corpus

    @property
    def tokenizer(self) -> Any:
        """The model's tokenizer: the user's (``model_dir``) or one trained on the corpus."""
        if self._tokenizer is None:
            if self.model_dir is not None:
                self._user_model, self._tokenizer = load_model_dir(self.model_dir)
            else:
                kind = "word" if self.dataset_name == "facts" else "bpe"
                self._tokenizer = train_tokenizer(self.corpus.texts(), kind=kind)
        return self._tokenizer

    @property
    def splits(self) -> FactSplits:
        """Forget, paraphrase, hard-retain, retain and holdout parts."""
        if self._splits is None:
            facts = select_forget_facts(self.spec, self.corpus, seed=self.seed)
            self._splits = split_corpus(self.corpus, facts)
        return self._splits

    @property
    def forget_ids(self) -> list[str]:
        """The forgotten fact ids (``entity/attribute``), what a certificate hashes."""
        return list(self.splits.forget_facts)

    def _generator(self) -> AntiSampleGenerator:
        return self.generator if self.generator is not None else TemplateGenerator(self.corpus.templates)

    def request(self) -> UnlearningRequest:
        """The request: forget and retain questions (lists of :class:`QAItem`); extras hold the
        tokenizer, the training recipe, the hard-retain questions and the anti-sample generator."""
        splits = self.splits
        return UnlearningRequest(
            forget=splits.forget,
            retain=splits.retain,
            spec=self.spec,
            seed=self.seed,
            extras={
                "tokenizer": self.tokenizer,
                "training": dict(self.recipe),
                "hard_retain": splits.hard_retain,
                "generator": self._generator(),
            },
            model_factory=self._factory,
        )

    # -- models -----------------------------------------------------------------------------
    def _device(self) -> torch.device:
        return torch.device(self.device) if self.device else default_device()

    def _gpt_recipe(self) -> GPTRecipe:
        return GPTRecipe(n_layer=self.n_layer, n_embd=self.n_embd, n_head=self.n_head,
                         n_positions=self.recipe["max_length"])

    def _factory(self) -> nn.Module:
        """A fresh untrained model from torch's current random state (the request's ``model_factory``)."""
        tokenizer = self.tokenizer
        if self._user_model is not None:
            return fresh_like(self._user_model).to(self._device())
        model = build_gpt2(len(tokenizer), self._gpt_recipe(), eos_id=tokenizer.eos_token_id,
                           pad_id=tokenizer.pad_token_id)
        return model.to(self._device())

    def new_model(self) -> nn.Module:
        """A freshly initialised model (built-in GPT-2 or the user's architecture), seeded."""
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.seed)
            return self._factory()

    def load_model(self, model_file: str | os.PathLike) -> nn.Module:
        """The model holding ``model_file``'s weights: the user's folder when the file lies in
        ``model_dir`` (``from_pretrained``), else :meth:`new_model` filled with the weights
        (a tied output layer missing from the file is re-tied).

        Raises:
            DataError: the weights do not fit the model.
        """
        path = Path(model_file)
        if self.model_dir is not None and path.resolve().parent == Path(self.model_dir).resolve():
            self.tokenizer  # noqa: B018 - loads the user's model
            return copy.deepcopy(self._user_model).to(self._device())
        model = self.new_model()
        state, _ = load_state(path)
        tied = {"lm_head.weight"} if getattr(model.config, "tie_word_embeddings", False) else set()
        expected = set(model.state_dict())
        missing, unexpected = expected - set(state), set(state) - expected
        if unexpected or missing - tied:
            raise DataError(
                f"'{path}' does not fit the llm model: missing {sorted(missing - tied)[:5]}, unexpected "
                f"{sorted(unexpected)[:5]}; pass the model_dir it was saved from (or the built-in sizes it was trained with)"
            )
        try:
            model.load_state_dict(state, strict=False)
        except RuntimeError as exc:
            raise DataError(f"'{path}' does not fit the llm model: {exc}") from None
        model.tie_weights()
        return model

    def _config(self, which: str) -> dict[str, Any]:
        vocab = self.tokenizer.get_vocab()
        return {
            "which": which,
            "dataset": self.dataset_name,
            "corpus": self.corpus.fingerprint(),
            "tokenizer": config_hash({"vocab": sorted(vocab.items())}),
            "model_dir": os.fspath(self.model_dir) if self.model_dir is not None else None,
            "forget": self.forget_ids if which == "gold" else None,
            "model": self._gpt_recipe().as_dict(),
            "recipe": self.recipe,
            "seed": self.seed,
            "version": 1,
        }

    def _train(self, which: str, items: list[QAItem]) -> nn.Module:
        config = self._config(which)
        key = config_hash(config)
        model = self.new_model()
        if key in _MEMORY:
            state, seconds = _MEMORY[key]
            model.load_state_dict(state)
            model.eval()
            self.training_seconds[which] = seconds
            return model

        def train(net: nn.Module) -> None:
            lm_fit(
                net,
                PairBatches(self.tokenizer, [i.question for i in items], [i.answer for i in items],
                            batch_size=self.recipe["batch_size"], seed=self.seed, max_length=self.recipe["max_length"]),
                loss_fn=lm_loss, epochs=self.recipe["epochs"], lr=self.recipe["lr"],
                optimizer=self.recipe["optimizer"], weight_decay=self.recipe["weight_decay"], seed=self.seed,
                progress=self.progress, desc=f"{which} ({self.dataset_name})",
            )

        path = cache_path(self.cache_dir, f"llm-{which}", config)
        seconds = train_or_load(model, train, path=path, config=config, seed=self.seed)
        model.tie_weights()
        _MEMORY[key] = ({k: v.detach().clone() for k, v in model.state_dict().items()}, seconds)
        self.training_seconds[which] = seconds
        return model

    def original(self) -> nn.Module:
        """The model before unlearning: the user's folder as it is, or the built-in GPT-2
        trained on every trainable question (cached)."""
        if self._original is None:
            self.tokenizer  # noqa: B018 - loads a user's model
            if self._user_model is not None:
                self._original = copy.deepcopy(self._user_model).to(self._device())
            else:
                self._original = self._train("original", self.corpus.items)
        return self._original

    def gold(self) -> nn.Module:
        """A fresh model trained on the retain questions only (cached)."""
        if self._gold is None:
            self._gold = self._train("gold", self.splits.retain)
        return self._gold

    # -- audit ------------------------------------------------------------------------------
    def _retain_sample(self) -> list[QAItem]:
        general = self.splits.general_retain
        if len(general) <= RETAIN_SAMPLE:
            return general
        rng = np.random.default_rng(self.seed + 17)
        return [general[i] for i in sorted(rng.choice(len(general), size=RETAIN_SAMPLE, replace=False))]

    def _scores(self, model: nn.Module, items: list[QAItem], answers: list[str] | None = None) -> dict[str, Any]:
        return score_pairs(model, self.tokenizer, [i.question for i in items],
                           answers if answers is not None else [i.answer for i in items],
                           max_length=self.recipe["max_length"])

    def _rouge(self, model: nn.Module, items: list[QAItem]) -> float:
        if not items:
            return math.nan
        references = [self.tokenizer(" " + i.answer, add_special_tokens=False)["input_ids"] for i in items]
        generated = greedy_answers(model, self.tokenizer, [i.question for i in items],
                                   max_new_tokens=max(len(r) for r in references) + 2)
        return float(np.mean([rouge_l_recall(g, r) for g, r in zip(generated, references)]))

    def _truth_ratios(self, model: nn.Module, items: list[QAItem]) -> np.ndarray:
        items = [i for i in items if i.perturbed]
        if not items:
            return np.zeros(0)
        width = min(len(i.perturbed) for i in items)
        true_nll = self._scores(model, items, [i.paraphrased_answer or i.answer for i in items])["nll"].numpy()
        perturbed = np.stack([
            self._scores(model, items, [i.perturbed[j] for i in items])["nll"].numpy() for j in range(width)
        ], axis=1)
        return truth_ratio(true_nll, perturbed)

    def exact_matches(self, model: nn.Module) -> dict[str, float]:
        """Only the exact-match figures of :meth:`audit` (``forget_em``, ``paraphrase_em``,
        ``hard_retain_em``, ``retain_em``), the cheap part of the audit."""
        parts = {"forget": self.splits.forget, "paraphrase": self.splits.paraphrase,
                 "hard_retain": self.splits.hard_retain, "retain": self._retain_sample()}
        return {f"{name}_em": float(self._scores(model, items)["exact"].mean()) if items else math.nan
                for name, items in parts.items()}

    def audit(self, model: nn.Module, *, original: nn.Module | None = None, gold: nn.Module | None = None,
              relearn: bool = True) -> dict[str, float]:
        """Audit ``model`` (see the module docstring); NaN figures have their reason in :attr:`audit_notes`."""
        splits = self.splits
        notes: dict[str, str] = {}
        retain = self._retain_sample()
        parts = {"forget": splits.forget, "paraphrase": splits.paraphrase, "hard_retain": splits.hard_retain,
                 "retain": retain}
        metrics: dict[str, float] = {}
        scores = {}
        for name, items in parts.items():
            if not items:
                metrics[f"{name}_em"] = metrics[f"{name}_rouge"] = math.nan
                notes[f"{name}_em"] = f"not applicable: no {name.replace('_', '-')} questions for this forget set"
                continue
            scores[name] = self._scores(model, items)
            metrics[f"{name}_em"] = float(scores[name]["exact"].mean())
            metrics[f"{name}_rouge"] = self._rouge(model, items)
        for name in ("forget", "retain"):
            metrics[f"{name}_prob"] = (
                float(answer_probability(scores[name]["nll"].numpy()).mean()) if name in scores else math.nan
            )
        probed = splits.forget + splits.paraphrase
        ratios = self._truth_ratios(model, probed)
        metrics["forget_truth_ratio"] = float(ratios.mean()) if ratios.size else math.nan
        if gold is not None and ratios.size:
            metrics["forget_quality"] = forget_quality(ratios, self._truth_ratios(gold, probed))
        else:
            metrics["forget_quality"] = math.nan
            notes["forget_quality"] = (
                "not applicable: needs the gold model" if gold is None else "not applicable: no perturbed answers"
            )
        metrics.update(self._membership(model, scores.get("forget"), notes))
        if relearn:
            metrics["relearn_em"] = self._relearn(model, notes)
        continuations = greedy_answers(model, self.tokenizer, [i.question for i in probed], max_new_tokens=12,
                                       stop_at_eos=False)
        metrics["fluency"] = unique_ngram_ratio(continuations, 4)
        self.audit_notes = notes
        return metrics

    def _membership(self, model: nn.Module, forget_scores: dict[str, Any] | None,
                    notes: dict[str, str]) -> dict[str, float]:
        holdout = self.splits.holdout
        names = ("mia_auc", "mia_zlib_auc", "mia_mink_auc")
        if forget_scores is None or not holdout:
            for name in names:
                notes[name] = "not applicable: needs forget questions and holdout entities never trained on"
            return dict.fromkeys(names, math.nan)
        held = self._scores(model, holdout)
        forget = self.splits.forget
        texts_f = [f"{i.question} {i.answer}" for i in forget]
        texts_h = [f"{i.question} {i.answer}" for i in holdout]
        notes["mia_auc"] = f"{len(forget)} forget questions against {len(holdout)} questions about holdout entities"
        return {
            "mia_auc": membership_auc(-forget_scores["nll"].numpy(), -held["nll"].numpy()),
            "mia_zlib_auc": membership_auc(zlib_score(forget_scores["token_logprobs"], texts_f),
                                           zlib_score(held["token_logprobs"], texts_h)),
            "mia_mink_auc": membership_auc(min_k_score(forget_scores["token_logprobs"]),
                                           min_k_score(held["token_logprobs"])),
        }

    def _relearn(self, model: nn.Module, notes: dict[str, str]) -> float:
        splits = self.splits
        facts = splits.forget_facts
        if len(facts) >= 2:
            first = set(facts[: len(facts) // 2])
            train = [i for i in splits.forget if i.fact in first]
            probe = [i for i in splits.forget + splits.paraphrase if i.fact not in first]
            notes["relearn_em"] = f"{self.relearn_steps} steps on {len(first)} forget facts, EM on the other {len(facts) - len(first)}"
        else:
            train, probe = splits.forget, splits.paraphrase
            notes["relearn_em"] = f"{self.relearn_steps} steps on the fact's trained phrasings, EM on its held-out ones"
        if not train or not probe:
            notes["relearn_em"] = "not applicable: too few forget questions to split"
            return math.nan
        probe_model = copy.deepcopy(model)
        with torch.random.fork_rng(devices=[]):
            lm_fit(probe_model, PairBatches(self.tokenizer, [i.question for i in train], [i.answer for i in train],
                                         batch_size=16, seed=self.seed, max_length=self.recipe["max_length"]),
                loss_fn=lm_loss, epochs=self.relearn_steps, max_steps=self.relearn_steps, lr=RELEARN_LR,
                optimizer="adamw", seed=self.seed)
        return float(self._scores(probe_model, probe)["exact"].mean())


def bench_spec():
    """Bench/demo description of the llm task (see :mod:`obliviate.bench.tasks`)."""
    from obliviate.bench.tasks import DemoConfig, TaskSpec

    def make_scenario(*, seed: int = 0, table: str | None = None, **options: Any) -> LLMScenario:
        """``LLMScenario(seed=..., **options)``; ``table=<file.jsonl>`` (``obliviate forget --data``)
        is a user's question-answer file."""
        if options.get("model") in (None, "gpt2"):
            options.pop("model", None)
        else:
            raise InvalidRequestError(
                "the llm task takes its model as model_dir=<a local Hugging Face folder> (--model-dir), not --model"
            )
        if table is not None:
            options["dataset"] = table
        return LLMScenario(seed=seed, **options)

    return TaskSpec(
        task="llm",
        make_scenario=make_scenario,
        metrics=(
            "forget_em", "paraphrase_em", "hard_retain_em", "retain_em",
            "forget_rouge", "paraphrase_rouge", "hard_retain_rouge", "retain_rouge",
            "forget_prob", "retain_prob", "forget_truth_ratio", "forget_quality",
            "mia_auc", "mia_zlib_auc", "mia_mink_auc", "relearn_em", "fluency",
        ),
        higher_is_better=frozenset({
            "hard_retain_em", "retain_em", "hard_retain_rouge", "retain_rouge", "retain_prob", "forget_quality",
            "fluency",
        }),
        demo=(
            DemoConfig("generated facts, forget one fact", {"forget": "fact:1"},
                       ("grad_diff", "npo", "answer_swap", "unstar")),
        ),
        default_options={"dataset": "facts", "forget": "fact:1"},
        quick_options={"epochs": 10},
    )
