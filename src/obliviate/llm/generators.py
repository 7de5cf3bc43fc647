"""Where UnSTAR's paraphrases, wrong answers and misleading rationales come from.

UnSTAR (Sinha et al., "UnSTAR: Unlearning with Self-Taught Anti-Sample Reasoning for large
language models") has the model itself paraphrase the forgotten question and write a
rationale that argues for a wrong answer. A model of a few hundred thousand parameters
cannot write either, so the built-in :class:`TemplateGenerator` builds them from templates
and from the corpus's true facts; :class:`AntiSampleGenerator` is the interface a larger
local model can fill instead (prompt it for paraphrases and for a rationale, return strings),
passed to :class:`obliviate.llm.scenario.LLMScenario` as ``generator=``.
"""

from __future__ import annotations

from typing import Any, Protocol, Sequence, runtime_checkable

import numpy as np

from obliviate.llm.corpus import QAItem

# Question frames for corpora without templates (TOFU, user files): new phrasings wrapped
# around the question itself.
FRAMES = ("please answer : {q}", "quick question : {q}", "i wonder , {q}", "tell me : {q}", "{q} please",
          "do you know {q}", "one more question : {q}", "{q} thanks")


@runtime_checkable
class AntiSampleGenerator(Protocol):
    """What the anti-sample loop asks for."""

    def paraphrases(self, item: QAItem, round_index: int, count: int) -> list[str]:
        """``count`` new phrasings of ``item``'s question for round ``round_index`` (1, 2, ...)."""
        ...

    def wrong_answer(self, item: QAItem, rng: np.random.Generator) -> str:
        """A wrong answer to ``item``'s question."""
        ...

    def rationale(self, item: QAItem, wrong: str, related: Sequence[QAItem]) -> str:
        """A misleading rationale for ``wrong``, built from true ``related`` facts (the same
        entity's retained facts), so that the false link is explained without contradicting them."""
        ...


class TemplateGenerator:
    """Template-based anti-samples.

    * paraphrases: the corpus's generator templates of the attribute (never the held-out
      audit templates), then question frames (:data:`FRAMES`) around the training questions;
    * wrong answer: one of the fact's perturbed answers, else another value of the attribute's pool;
    * rationale: ``"because <entity> <true fact> and <entity> <true fact>"`` from up to
      ``max_related`` of the entity's retained facts (the corpus's fact phrases), or their answers
      for corpora without phrases.
    """

    def __init__(self, templates: dict[str, dict[str, Any]] | None = None, *, max_related: int = 2):
        self.templates = templates or {}
        self.max_related = max_related

    def _candidates(self, item: QAItem) -> list[str]:
        spec = self.templates.get(item.attribute)
        out = [t.format(e=item.entity) for t in spec["generated"]] if spec else []
        train = [t.format(e=item.entity) for t in spec["train"]] if spec else [item.question]
        out.extend(frame.format(q=q) for frame in FRAMES for q in train)
        return out

    def paraphrases(self, item: QAItem, round_index: int, count: int) -> list[str]:
        candidates = [c for c in self._candidates(item) if c != item.question]
        if not candidates:
            return []
        start = ((round_index - 1) * count) % len(candidates)
        return [candidates[(start + i) % len(candidates)] for i in range(min(count, len(candidates)))]

    def wrong_answer(self, item: QAItem, rng: np.random.Generator) -> str:
        pool = list(item.perturbed)
        if not pool and item.attribute in self.templates:
            pool = [v for v in self.templates[item.attribute]["values"] if v != item.answer]
        if not pool:
            return "unknown"
        return pool[int(rng.integers(len(pool)))]

    def rationale(self, item: QAItem, wrong: str, related: Sequence[QAItem]) -> str:
        seen: dict[str, QAItem] = {}
        for other in related:
            if other.entity == item.entity and other.attribute != item.attribute:
                seen.setdefault(other.attribute, other)
        parts = []
        for other in list(seen.values())[: self.max_related]:
            spec = self.templates.get(other.attribute)
            parts.append(f"{item.entity} {spec['phrase'].format(v=other.answer)}" if spec else other.answer)
        return "because " + " and ".join(parts) if parts else ""
