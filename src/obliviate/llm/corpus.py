"""Question-answer corpora for LLM unlearning: a generated TOFU-like corpus and the real TOFU files.

A corpus is a list of :class:`QAItem` (one question, its answer, the entity and attribute the
fact belongs to, which template phrased it) plus, per fact, the wrong answers the truth ratio
compares against. The generated corpus (:func:`make_fact_corpus`) is fully known, so every
split is exact:

* **forget**: the chosen facts, asked with the training templates;
* **paraphrase**: the same facts asked with held-out templates the model never saw;
* **hard retain**: the same entity's other facts, and other entities' facts that share a
  forgotten value on the same attribute (what a targeted method must not disturb);
* **general retain**: every other trained fact;
* **holdout**: entities never trained on (the non-members of membership inference).

Values are drawn from small shared pools, so several entities share each value. Entities are
single made-up words (``"bravik"``), which keeps the word-level tokenizer exact.

TOFU (Maini et al., arXiv:2401.06121, 2024): :func:`load_tofu` reads the files of
``<data_dir>/tofu`` (checksum-verified), 200 fictitious authors x 20 questions; an author
is an entity, the question's position among its 20 is the attribute.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from obliviate.core.errors import DataError, InvalidForgetSpecError
from obliviate.data.forget import ForgetSpec

TRAIN, PARAPHRASE, GENERATED = "train", "paraphrase", "generated"

# attribute -> (values, training templates, held-out paraphrase templates, generator templates,
# the phrase a rationale states a true fact with)
ATTRIBUTES: dict[str, dict[str, Any]] = {
    "city": {
        "values": ("lisbon", "oslo", "cairo", "lima", "quito", "dakar", "hanoi", "riga"),
        "train": ("where was {e} born ?", "in which city was {e} born ?", "tell me the city of birth of {e} ."),
        "paraphrase": ("which city was {e} born in ?", "{e} was born in which city ?"),
        "generated": ("where is {e} from ?", "{e} comes from which city ?", "what city does {e} come from ?",
                      "tell me where {e} was born .", "{e} was born where ?"),
        "phrase": "was born in {v}",
    },
    "job": {
        "values": ("painter", "baker", "pilot", "nurse", "farmer", "lawyer", "sailor", "chemist"),
        "train": ("what is the job of {e} ?", "what does {e} do for a living ?", "which job does {e} have ?"),
        "paraphrase": ("tell me the job of {e} .", "what job does {e} do ?"),
        "generated": ("what work does {e} do ?", "{e} works as what ?", "what is the work of {e} ?",
                      "{e} has which job ?", "tell me what {e} does for a living ."),
        "phrase": "works as a {v}",
    },
    "pet": {
        "values": ("cat", "dog", "parrot", "rabbit", "horse", "turtle", "goat", "hamster"),
        "train": ("which pet does {e} own ?", "what pet does {e} keep ?", "tell me the pet of {e} ."),
        "paraphrase": ("what is the pet of {e} ?", "which pet does {e} keep ?"),
        "generated": ("what animal does {e} own ?", "{e} owns which pet ?", "what kind of pet does {e} have ?",
                      "{e} keeps which animal ?", "tell me which pet {e} owns ."),
        "phrase": "owns a {v}",
    },
    "instrument": {
        "values": ("piano", "violin", "flute", "drums", "guitar", "cello", "harp", "trumpet"),
        "train": ("which instrument does {e} play ?", "what is the instrument of {e} ?", "what does {e} play ?"),
        "paraphrase": ("tell me the instrument of {e} .", "what instrument does {e} play ?"),
        "generated": ("{e} plays which instrument ?", "which instrument is played by {e} ?", "what music does {e} play ?",
                      "{e} plays what ?", "tell me what {e} plays ."),
        "phrase": "plays the {v}",
    },
    "color": {
        "values": ("red", "blue", "green", "yellow", "purple", "orange", "black", "white"),
        "train": ("what is the favourite colour of {e} ?", "which colour does {e} like ?", "tell me the colour {e} likes ."),
        "paraphrase": ("what colour does {e} like ?", "which is the favourite colour of {e} ?"),
        "generated": ("{e} likes which colour ?", "what colour is the favourite of {e} ?", "which colour is liked by {e} ?",
                      "{e} loves which colour ?", "tell me which colour {e} likes best ."),
        "phrase": "likes the colour {v}",
    },
}
IDK_ANSWER = "i do not know"
RATIONALE_WORDS = "because and who the a".split()
_SYLLABLES = ("ba", "ro", "vik", "le", "mar", "to", "si", "den", "ka", "lu", "zor", "pe", "nim", "gal", "fe", "dru")


@dataclass(frozen=True)
class QAItem:
    """One question about one fact.

    Attributes:
        question: the question text.
        answer: the true answer.
        entity: who the fact is about (an author for TOFU).
        attribute: which fact of the entity (``"city"``; the question's slot for TOFU).
        template: ``"train"`` (seen in training), ``"paraphrase"`` (held out) or ``"generated"``.
        perturbed: wrong answers for the truth ratio (TOFU's perturbed answers).
        paraphrased_answer: the true answer phrased differently (the truth ratio's reference);
            empty: the answer itself.
    """

    question: str
    answer: str
    entity: str
    attribute: str
    template: str = TRAIN
    perturbed: tuple[str, ...] = ()
    paraphrased_answer: str = ""

    @property
    def fact(self) -> str:
        """The fact's identifier, ``"entity/attribute"`` (what ``ids:FILE`` names)."""
        return f"{self.entity}/{self.attribute}"


@dataclass
class FactCorpus:
    """A question-answer corpus with its entities, facts and phrasing templates.

    Attributes:
        name: ``"facts"``, ``"tofu"`` or a user's file name.
        items: every trainable question (training templates) of every trained entity.
        holdout: questions about entities never trained on.
        paraphrases: held-out phrasings of trained facts, by fact id.
        facts: ``fact id -> true answer``.
        values: ``fact id -> the attribute's value`` (shared-value hard retain; the answer
            for the generated corpus).
        templates: the generated corpus's :data:`ATTRIBUTES` (empty for TOFU / user files).
        tofu_splits: TOFU's named forget splits (``"forget01" -> fact ids``).
    """

    name: str
    items: list[QAItem]
    holdout: list[QAItem] = field(default_factory=list)
    paraphrases: dict[str, list[QAItem]] = field(default_factory=dict)
    templates: dict[str, dict[str, Any]] = field(default_factory=dict)
    tofu_splits: dict[str, list[str]] = field(default_factory=dict)

    @property
    def entities(self) -> list[str]:
        """Trained entities in first-seen order."""
        return list(dict.fromkeys(item.entity for item in self.items))

    @property
    def facts(self) -> dict[str, str]:
        return {item.fact: item.answer for item in self.items}

    def texts(self) -> list[str]:
        """Every text a tokenizer must cover (questions, answers, perturbed answers, templates)."""
        out: list[str] = []
        for item in [*self.items, *self.holdout, *(p for ps in self.paraphrases.values() for p in ps)]:
            out.extend([item.question, item.answer, item.paraphrased_answer, *item.perturbed])
        for attribute in self.templates.values():
            out.extend(attribute["generated"])
            out.extend(attribute["phrase"].format(v=v) for v in attribute["values"])
        out.extend([IDK_ANSWER, " ".join(RATIONALE_WORDS)])
        return [text for text in out if text]

    def fingerprint(self) -> str:
        """sha256 of the corpus content (keys the model cache)."""
        digest = hashlib.sha256()
        for item in [*self.items, *self.holdout]:
            digest.update(json.dumps([item.question, item.answer, item.entity, item.attribute]).encode())
        return digest.hexdigest()


def _names(count: int, rng: np.random.Generator) -> list[str]:
    names: list[str] = []
    seen: set[str] = set()
    while len(names) < count:
        parts = rng.choice(len(_SYLLABLES), size=int(rng.integers(2, 4)))
        name = "".join(_SYLLABLES[p] for p in parts)
        if name not in seen:
            seen.add(name)
            names.append(name)
    return names


def make_fact_corpus(
    *, entities: int = 40, holdout: int = 10, attributes: int = 4, perturbed: int = 3, seed: int = 0
) -> FactCorpus:
    """Generate a TOFU-like corpus of fictitious entities.

    Each entity gets one value per attribute, drawn uniformly from that attribute's pool of 8
    (so about ``entities / 8`` entities share each value); every fact is asked with 3 training
    templates, and 2 held-out paraphrase templates give the unseen phrasings. Wrong answers
    (``perturbed``) are other values of the same pool.

    Args:
        entities: trained entities.
        holdout: entities never trained on (non-members for membership inference).
        attributes: how many of :data:`ATTRIBUTES` to use (1-5).
        perturbed: wrong answers per fact.
        seed: seeds names and values.

    Raises:
        DataError: for sizes outside the supported ranges.
    """
    if not 1 <= attributes <= len(ATTRIBUTES):
        raise DataError(f"attributes must lie in 1..{len(ATTRIBUTES)}; got {attributes}")
    if entities < 2 or holdout < 0:
        raise DataError(f"need at least 2 entities and a non-negative holdout; got {entities} and {holdout}")
    rng = np.random.default_rng(seed)
    chosen = dict(list(ATTRIBUTES.items())[:attributes])
    names = _names(entities + holdout, rng)
    items: list[QAItem] = []
    held: list[QAItem] = []
    paraphrases: dict[str, list[QAItem]] = {}
    for index, entity in enumerate(names):
        for attribute, spec in chosen.items():
            pool = spec["values"]
            value = pool[int(rng.integers(len(pool)))]
            wrong = [v for v in pool if v != value]
            wrong_answers = tuple(wrong[i] for i in rng.permutation(len(wrong))[:perturbed])
            asked = [
                QAItem(t.format(e=entity), value, entity, attribute, TRAIN, wrong_answers) for t in spec["train"]
            ]
            if index < entities:
                items.extend(asked)
                paraphrases[f"{entity}/{attribute}"] = [
                    QAItem(t.format(e=entity), value, entity, attribute, PARAPHRASE, wrong_answers)
                    for t in spec["paraphrase"]
                ]
            else:
                held.extend(asked)
    return FactCorpus("facts", items, held, paraphrases, templates=chosen)


# -- forget specs ----------------------------------------------------------------------------

LLM_FORGET_KINDS = frozenset({"fact", "entities", "facts", "ids"})


def parse_llm_forget(text: str | ForgetSpec) -> ForgetSpec:
    """Parse an LLM forget spec.

    * ``fact:N``: ``N`` facts (entity, attribute pairs) drawn at random (``fact:1`` is the
      paper's targeted single association);
    * ``entities:F``: a fraction ``F`` in (0, 1) of the entities, every fact of each;
    * ``facts:NAME``: a named split of the data (TOFU's ``forget01``, ``forget05``, ``forget10``);
    * ``ids:FILE``: a text file with one fact id (``entity/attribute``) per line.

    Raises:
        InvalidForgetSpecError: for any other form.
    """
    if isinstance(text, ForgetSpec):
        spec = text
        if spec.kind not in LLM_FORGET_KINDS:
            raise InvalidForgetSpecError(
                f"the llm task does not support forget kind '{spec.kind}'; use fact:N, entities:F, facts:NAME or ids:FILE"
            )
        return spec
    kind, sep, arg = str(text).partition(":")
    kind, arg = kind.strip(), arg.strip()
    if not sep or not arg:
        raise InvalidForgetSpecError(f"forget spec {text!r} is not of the form 'kind:argument' (e.g. 'fact:1')")
    if kind == "fact":
        try:
            count = int(arg)
        except ValueError:
            count = 0
        if count < 1:
            raise InvalidForgetSpecError(f"'fact' takes a positive number of facts, e.g. 'fact:1'; got {arg!r}")
        return ForgetSpec("fact", count)
    if kind == "entities":
        try:
            fraction = float(arg)
        except ValueError:
            fraction = -1.0
        if not 0 < fraction < 1:
            raise InvalidForgetSpecError(f"'entities' takes a fraction in (0, 1), e.g. 'entities:0.05'; got {arg!r}")
        return ForgetSpec("entities", fraction)
    if kind == "facts":
        return ForgetSpec("facts", arg)
    if kind == "ids":
        return ForgetSpec("ids", Path(arg))
    raise InvalidForgetSpecError(
        f"unknown llm forget kind '{kind}' in {text!r}; use fact:N, entities:F, facts:NAME or ids:FILE"
    )


def select_forget_facts(spec: ForgetSpec, corpus: FactCorpus, *, seed: int) -> list[str]:
    """The fact ids ``spec`` names in ``corpus``, in corpus order.

    Raises:
        InvalidForgetSpecError: more facts than exist, an unknown split name, or ids that
            name no trained fact.
    """
    facts = list(corpus.facts)
    rng = np.random.default_rng(seed)
    if spec.kind == "fact":
        if spec.value > len(facts):
            raise InvalidForgetSpecError(f"fact:{spec.value} asks for more facts than the {len(facts)} trained")
        chosen = {facts[i] for i in rng.choice(len(facts), size=spec.value, replace=False)}
    elif spec.kind == "entities":
        entities = corpus.entities
        count = max(1, int(round(spec.value * len(entities))))
        if count >= len(entities):
            raise InvalidForgetSpecError(f"entities:{spec.value} would forget every one of the {len(entities)} entities")
        picked = {entities[i] for i in rng.choice(len(entities), size=count, replace=False)}
        chosen = {fact for fact in facts if fact.split("/", 1)[0] in picked}
    elif spec.kind == "facts":
        if spec.value not in corpus.tofu_splits:
            known = ", ".join(corpus.tofu_splits) or "none (use fact:N or entities:F)"
            raise InvalidForgetSpecError(f"corpus '{corpus.name}' has no split '{spec.value}'; its splits: {known}")
        chosen = set(corpus.tofu_splits[spec.value])
    elif spec.kind == "ids":
        path = Path(spec.value)
        if not path.is_file():
            raise InvalidForgetSpecError(f"ids file '{path}' does not exist; write one fact id (entity/attribute) per line")
        wanted = [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        unknown = [w for w in wanted if w not in corpus.facts]
        if unknown or not wanted:
            raise InvalidForgetSpecError(
                f"ids file '{path}' names {len(unknown)} fact(s) not in the corpus (e.g. {unknown[:3]}); "
                f"fact ids look like {facts[0]!r}" if unknown else f"ids file '{path}' is empty"
            )
        chosen = set(wanted)
    else:  # pragma: no cover - parse_llm_forget refuses other kinds
        raise InvalidForgetSpecError(f"unsupported llm forget kind {spec.kind!r}")
    return [fact for fact in facts if fact in chosen]


@dataclass
class FactSplits:
    """The evaluation and training parts of one forget request (see the module docstring)."""

    forget: list[QAItem]
    paraphrase: list[QAItem]
    hard_retain: list[QAItem]
    retain: list[QAItem]
    general_retain: list[QAItem]
    holdout: list[QAItem]
    forget_facts: list[str]


def split_corpus(corpus: FactCorpus, forget_facts: Sequence[str]) -> FactSplits:
    """Forget, paraphrase, hard-retain, general-retain and holdout parts for ``forget_facts``.

    Hard retain: every question of a forgotten entity's other facts, and of other entities'
    facts whose value equals a forgotten value on the same attribute.
    """
    forgotten = set(forget_facts)
    forget_entities = {fact.split("/", 1)[0] for fact in forgotten}
    values = corpus.facts
    forgotten_values = {(fact.split("/", 1)[1], values[fact]) for fact in forgotten}
    forget = [item for item in corpus.items if item.fact in forgotten]
    retain = [item for item in corpus.items if item.fact not in forgotten]
    hard = [
        item for item in retain
        if item.entity in forget_entities or (item.attribute, item.answer) in forgotten_values
    ]
    hard_ids = {id(item) for item in hard}
    general = [item for item in retain if id(item) not in hard_ids]
    paraphrase = [p for fact in forget_facts for p in corpus.paraphrases.get(fact, [])]
    forget_attributes = {item.attribute for item in forget}
    holdout = [item for item in corpus.holdout if item.attribute in forget_attributes] or list(corpus.holdout)
    return FactSplits(forget, paraphrase, hard, retain, general, holdout, list(forget_facts))


# -- TOFU and user files -------------------------------------------------------------------------

TOFU_SHA256 = {
    "full.json": "da338c83d3899883a28b9a321673b95fe56968294580eff8aa7e4d59cf4839b4",
    "forget01_perturbed.json": "5036c818a2374c88508b041ec8be17ef720757a213c4f2b862c17c38aac2886e",
    "forget05_perturbed.json": "b881d0079a6477341f3fb760e846703b81936960c73d83dd004fdfd575bb1d43",
    "forget10_perturbed.json": "34917241ed4073026313a5785c24652d28cb8edd9450b411ab544b0ffca067c4",
    "holdout01.json": "58762921142be29a85e67002e846f3a14459432c7113252bf28350bd2a9bd117",
    "holdout05.json": "44af7af632f8bee87b3bd43ab421fa3429935002795a237246ed501e36ee8dee",
    "holdout10.json": "28bd4a40b679206ff87f0605d2ac637014c5e4cbac48cb59f79ccb3bffd5d4a8",
}
TOFU_QUESTIONS_PER_AUTHOR = 20


def _verified(path: Path) -> bytes:
    if not path.is_file():
        raise DataError(
            f"TOFU file '{path}' is missing: put the locuslab/TOFU json files (full.json, forgetXX_perturbed.json, "
            "holdoutXX.json) in that folder, or set OBLIVIATE_DATA_DIR to the folder holding tofu/original/"
        )
    data = path.read_bytes()
    expected = TOFU_SHA256.get(path.name)
    if expected is not None and hashlib.sha256(data).hexdigest() != expected:
        raise DataError(f"TOFU file '{path}' does not have the expected sha256 {expected}; re-copy it from locuslab/TOFU")
    return data


def _json_records(data: bytes) -> list[dict[str, Any]]:
    """A JSON array, or several arrays one per line (the chunked copies of full.json)."""
    text = data.decode("utf-8").strip()
    try:
        parsed = json.loads(text)
        return list(parsed)
    except json.JSONDecodeError:
        records: list[dict[str, Any]] = []
        for line in text.splitlines():
            if line.strip():
                records.extend(json.loads(line))
        return records


def tofu_folder(data_dir: str | os.PathLike | None = None) -> Path:
    """``<data_dir>/tofu/original`` (``data_dir`` defaults to ``$OBLIVIATE_DATA_DIR``).

    Raises:
        DataError: when no folder is given and the variable is unset.
    """
    base = data_dir if data_dir is not None else os.environ.get("OBLIVIATE_DATA_DIR")
    if base is None:
        raise DataError("the TOFU data needs data_dir=... or the OBLIVIATE_DATA_DIR variable (the folder holding tofu/)")
    base = Path(base)
    for candidate in (base / "tofu" / "original", base / "original", base):
        if (candidate / "full.json").is_file():
            return candidate
    return base / "tofu" / "original"


def load_tofu(data_dir: str | os.PathLike | None = None, *, holdout_split: str = "holdout10") -> FactCorpus:
    """Load TOFU: every question of ``full.json`` is trainable; the forget splits come from
    ``forgetXX_perturbed.json`` (with paraphrased questions and perturbed answers), the
    holdout from ``holdoutXX.json``.

    Raises:
        DataError: a file is missing or fails its checksum.
    """
    folder = tofu_folder(data_dir)
    full = _json_records(_verified(folder / "full.json"))
    index = {}
    items: list[QAItem] = []
    for position, record in enumerate(full):
        author = f"author{position // TOFU_QUESTIONS_PER_AUTHOR:03d}"
        slot = f"q{position % TOFU_QUESTIONS_PER_AUTHOR:02d}"
        item = QAItem(record["question"], record["answer"], author, slot, TRAIN)
        index.setdefault((record["question"], record["answer"]), len(items))
        items.append(item)
    corpus = FactCorpus("tofu", items)
    for split in ("forget01", "forget05", "forget10"):
        records = _json_records(_verified(folder / f"{split}_perturbed.json"))
        facts = []
        for record in records:
            position = index.get((record["question"], record["answer"]))
            if position is None:
                raise DataError(f"a question of {split}_perturbed.json is not in full.json: {record['question'][:60]!r}")
            enriched = replace(
                items[position],
                perturbed=tuple(record.get("perturbed_answer", ())),
                paraphrased_answer=record.get("paraphrased_answer", ""),
            )
            items[position] = enriched
            facts.append(enriched.fact)
            if record.get("paraphrased_question"):
                corpus.paraphrases[enriched.fact] = [
                    replace(enriched, question=record["paraphrased_question"], template=PARAPHRASE)
                ]
        corpus.tofu_splits[split] = facts
    held = _json_records(_verified(folder / f"{holdout_split}.json"))
    corpus.holdout = [
        QAItem(r["question"], r["answer"], f"holdout{i // TOFU_QUESTIONS_PER_AUTHOR:03d}",
               f"q{i % TOFU_QUESTIONS_PER_AUTHOR:02d}", TRAIN)
        for i, r in enumerate(held)
    ]
    return corpus


def load_qa_jsonl(path: str | os.PathLike, *, holdout_fraction: float = 0.1, seed: int = 0) -> FactCorpus:
    """A user's corpus: a JSON-lines file of ``{"question", "answer"}`` objects with optional
    ``"entity"``, ``"attribute"``, ``"split"`` (``"holdout"``: never trained on),
    ``"paraphrased_question"`` and ``"perturbed_answer"`` (a list) fields.

    Without ``entity`` each line is its own entity; without ``attribute`` the line number is
    the attribute; without any ``split`` a ``holdout_fraction`` of entities is held out.

    Raises:
        DataError: a missing file, a line that is not JSON, or one without question/answer.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"question-answer file '{path}' does not exist; write one JSON object per line")
    records = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DataError(f"line {number} of '{path}' is not JSON: {exc.msg}") from None
        if not isinstance(record, dict) or not {"question", "answer"} <= set(record):
            raise DataError(f"line {number} of '{path}' needs 'question' and 'answer' fields")
        records.append(record)
    entities = list(dict.fromkeys(str(r.get("entity", f"line{i}")) for i, r in enumerate(records)))
    has_split = any("split" in r for r in records)
    rng = np.random.default_rng(seed)
    held_entities = set()
    if not has_split and holdout_fraction > 0 and len(entities) > 2:
        count = max(1, int(round(holdout_fraction * len(entities))))
        held_entities = {entities[i] for i in rng.choice(len(entities), size=count, replace=False)}
    corpus = FactCorpus(path.stem, [])
    for i, record in enumerate(records):
        entity = str(record.get("entity", f"line{i}"))
        item = QAItem(
            str(record["question"]), str(record["answer"]), entity, str(record.get("attribute", f"q{i}")), TRAIN,
            tuple(str(a) for a in record.get("perturbed_answer", ()) or ()),
            str(record.get("paraphrased_answer", "")),
        )
        if record.get("split") == "holdout" or entity in held_entities:
            corpus.holdout.append(item)
            continue
        corpus.items.append(item)
        if record.get("paraphrased_question"):
            corpus.paraphrases.setdefault(item.fact, []).append(
                replace(item, question=str(record["paraphrased_question"]), template=PARAPHRASE)
            )
    if not corpus.items:
        raise DataError(f"'{path}' has no trainable question (every line is a holdout)")
    return corpus
