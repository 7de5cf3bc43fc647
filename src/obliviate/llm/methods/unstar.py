"""``unstar``: unlearning with self-taught anti-sample reasoning (UnSTAR, Sinha et al.).

An anti-sample is a forgotten question paired with a wrong answer and a misleading rationale
that argues for it. The loop, as the public code runs it:

1. ask the forget questions and their paraphrases (round 0: the trained phrasings);
2. where the model still gives the true answer, build an anti-sample:
   ``question -> "<wrong answer> because <true related facts>"``;
3. fine-tune on the anti-samples with plain cross-entropy (``steps_per_round`` steps);
4. add new paraphrases of the forgotten questions and repeat, until no probe produces the
   true answer any more (or ``max_rounds``). Anti-samples accumulate: each round trains on
   every anti-sample built so far, so a phrasing forgotten earlier is not relearned.

The rationale is built from the entity's *retained* facts, so the false link is explained by
true ones and the fine-tuning rehearses them instead of disturbing them; that is the
paper's claim of targeted forgetting without harm to related knowledge. The wrong answer
of a fact is drawn once and kept for all its anti-samples.

Paraphrases and rationales come from ``request.extras["generator"]``
(:class:`obliviate.llm.generators.AntiSampleGenerator`; the built-in one fills them from
templates and the corpus's true facts, a larger local model can fill them instead).
``replay=True`` (the default) adds the hard-retain questions with their true answers to each
round's batches; ``replay=False`` relies on the rationale alone (on the small built-in model
that loses some of the entity's other facts, see ``benchmarks/llm.py``). ``rationale=False`` trains on the wrong answer alone
(the ablation of the reasoning claim; see ``answer_swap``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from obliviate.core.contracts import Unlearner, UnlearningRequest
from obliviate.core.params import InstanceOf, Interval
from obliviate.core.registry import register
from obliviate.llm.corpus import QAItem
from obliviate.llm.generators import TemplateGenerator
from obliviate.llm.methods._common import LLM_KINDS, Cycled, batches, check_llm, still_produced, training
from obliviate.llm.models import lm_loss
from obliviate.llm.training import lm_fit


def anti_sample_unlearning(
    model, request: UnlearningRequest, *, rationale: bool, paraphrase: bool, replay: bool, max_rounds: int,
    steps_per_round: int, paraphrases_per_round: int, lr: float, batch_size: int, where: str,
) -> tuple[Any, dict[str, Any]]:
    """The anti-sample loop shared by ``unstar`` and ``answer_swap`` (see the module docstring)."""
    tokenizer = check_llm(model, request, where)
    max_length = training(request)["max_length"]
    generator = request.extras.get("generator") or TemplateGenerator()
    rng = np.random.default_rng(request.seed)
    facts: dict[str, list[QAItem]] = {}
    for item in request.forget:
        facts.setdefault(item.fact, []).append(item)
    related = {}
    for item in request.retain or ():
        related.setdefault(item.entity, []).append(item)
    wrong = {fact: generator.wrong_answer(items[0], rng) for fact, items in facts.items()}
    why = {
        fact: generator.rationale(items[0], wrong[fact], related.get(items[0].entity, [])) if rationale else ""
        for fact, items in facts.items()
    }
    probes: list[tuple[str, str]] = [(item.question, item.fact) for item in request.forget]
    hard = list(request.extras.get("hard_retain") or [])
    steps = anti_samples = rounds = 0
    built: dict[str, str] = {}
    remaining = len(probes)
    for round_index in range(max_rounds + 1):
        answers = [facts[fact][0].answer for _, fact in probes]
        produced = still_produced(model, tokenizer, [q for q, _ in probes], answers, max_length=max_length)
        remaining = int(produced.sum())
        if remaining == 0 or round_index == max_rounds:
            break
        rounds += 1
        for i in np.flatnonzero(produced.numpy()):
            question, fact = probes[i]
            if question not in built:
                built[question] = f"{wrong[fact]} {why[fact]}".strip()
        anti_samples = len(built)
        streams = [batches(tokenizer, [], request, batch_size=batch_size, seed=request.seed + round_index,
                           questions=list(built), answers=list(built.values()))]
        if replay and hard:
            streams.append(batches(tokenizer, hard, request, batch_size=batch_size, seed=request.seed + 7 + round_index))
        history = lm_fit(
            model, Cycled(steps_per_round, *streams),
            loss_fn=lambda net, b: sum(lm_loss(net, b[i : i + 3]) for i in range(0, len(b), 3)),
            epochs=1, lr=lr, optimizer="adamw", seed=request.seed + round_index,
        )
        steps += history["steps"]
        if paraphrase:
            known = {q for q, _ in probes}
            for fact, items in facts.items():
                for text in generator.paraphrases(items[0], round_index + 1, paraphrases_per_round):
                    if text not in known:
                        probes.append((text, fact))
                        known.add(text)
    return model, {
        "steps": steps, "rounds": rounds, "anti_samples": anti_samples, "probes": len(probes),
        "still_produced": remaining, "wrong_answers": wrong,
    }


@register("llm", "unstar")
class UnSTAR(Unlearner):
    """Anti-sample fine-tuning with misleading rationales and paraphrase rounds.

    Args:
        max_rounds: rounds of probe -> anti-samples -> fine-tune.
        steps_per_round: optimizer steps per round.
        paraphrases_per_round: new phrasings per forgotten fact added after each round.
        lr: AdamW learning rate.
        batch_size: anti-samples per step.
        rationale: append the misleading rationale to the wrong answer (off: the ablation).
        replay: also train on the hard-retain questions with their true answers.
    """

    needs_retain = False
    forget_kinds = LLM_KINDS
    _parameter_constraints = {
        "max_rounds": [Interval(int, 1, None)],
        "steps_per_round": [Interval(int, 1, None)],
        "paraphrases_per_round": [Interval(int, 0, None)],
        "lr": [Interval(float, 0, None, closed="neither")],
        "batch_size": [Interval(int, 1, None)],
        "rationale": [InstanceOf(bool)],
        "replay": [InstanceOf(bool)],
    }

    def __init__(self, *, max_rounds: int = 10, steps_per_round: int = 5, paraphrases_per_round: int = 4,
                 lr: float = 3e-4, batch_size: int = 16, rationale: bool = True, replay: bool = True):
        self.max_rounds = max_rounds
        self.steps_per_round = steps_per_round
        self.paraphrases_per_round = paraphrases_per_round
        self.lr = lr
        self.batch_size = batch_size
        self.rationale = rationale
        self.replay = replay

    def _unlearn(self, model, request: UnlearningRequest):
        return anti_sample_unlearning(
            model, request, rationale=self.rationale, paraphrase=self.paraphrases_per_round > 0, replay=self.replay,
            max_rounds=self.max_rounds, steps_per_round=self.steps_per_round,
            paraphrases_per_round=self.paraphrases_per_round, lr=self.lr, batch_size=self.batch_size,
            where="llm/unstar",
        )
