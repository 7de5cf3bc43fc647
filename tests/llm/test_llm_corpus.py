"""The generated corpus, its splits, the forget specs, the anti-sample generator and the TOFU loader."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from obliviate.core.errors import DataError, InvalidForgetSpecError
from obliviate.llm.corpus import (
    load_qa_jsonl,
    load_tofu,
    make_fact_corpus,
    parse_llm_forget,
    select_forget_facts,
    split_corpus,
)
from obliviate.llm.generators import TemplateGenerator


@pytest.fixture(scope="module")
def corpus():
    return make_fact_corpus(entities=30, holdout=5, attributes=4, seed=3)


def test_splits_are_exact_for_one_forgotten_fact(corpus):
    facts = select_forget_facts(parse_llm_forget("fact:1"), corpus, seed=0)
    splits = split_corpus(corpus, facts)
    (fact,) = facts
    entity, attribute = fact.split("/")
    value = corpus.facts[fact]
    assert {i.fact for i in splits.forget} == {fact} and len(splits.forget) == 3
    assert len(splits.paraphrase) == 2
    assert not {p.question for p in splits.paraphrase} & {i.question for i in corpus.items}
    same_entity = {i.fact for i in splits.hard_retain if i.entity == entity}
    assert same_entity == {f"{entity}/{a}" for a in corpus.templates if a != attribute}
    sharing = {i.entity for i in splits.hard_retain if i.entity != entity}
    assert sharing == {e for e in corpus.entities if e != entity and corpus.facts[f"{e}/{attribute}"] == value}
    assert len(splits.retain) == len(corpus.items) - 3
    assert not {i.entity for i in splits.holdout} & set(corpus.entities)
    assert not {id(i) for i in splits.hard_retain} & {id(i) for i in splits.general_retain}


def test_entity_fraction_forgets_every_fact_of_the_chosen_entities(corpus):
    facts = select_forget_facts(parse_llm_forget("entities:0.1"), corpus, seed=1)
    entities = {f.split("/")[0] for f in facts}
    assert len(entities) == 3 and len(facts) == 3 * 4


def test_bad_forget_specs_raise_typed_errors(corpus, tmp_path):
    for text in ("fact:0", "entities:1.5", "class:3", "fact"):
        with pytest.raises(InvalidForgetSpecError):
            parse_llm_forget(text)
    ids = tmp_path / "ids.txt"
    ids.write_text("nobody/city\n")
    with pytest.raises(InvalidForgetSpecError, match="not in the corpus"):
        select_forget_facts(parse_llm_forget(f"ids:{ids}"), corpus, seed=0)


def test_generator_paraphrases_never_use_the_heldout_audit_phrasings(corpus):
    generator = TemplateGenerator(corpus.templates)
    heldout = {p.question for ps in corpus.paraphrases.values() for p in ps}
    for item in corpus.items[:12]:
        made = [q for r in range(1, 8) for q in generator.paraphrases(item, r, 4)]
        assert made and not set(made) & heldout
        related = [i for i in corpus.items if i.entity == item.entity]
        rationale = generator.rationale(item, "x", related)
        assert rationale.startswith("because") and item.answer not in rationale.split()[-1:]


def test_user_jsonl_corpus_keeps_entities_and_holdout(tmp_path):
    path = tmp_path / "qa.jsonl"
    path.write_text('{"question": "q1", "answer": "a1", "entity": "e1"}\n'
                    '{"question": "q2", "answer": "a2", "entity": "e2", "split": "holdout"}\n')
    corpus = load_qa_jsonl(path)
    assert [i.fact for i in corpus.items] == ["e1/q0"] and len(corpus.holdout) == 1
    path.write_text("not json\n")
    with pytest.raises(DataError, match="line 1"):
        load_qa_jsonl(path)


def tofu_dir() -> Path | None:
    base = os.environ.get("OBLIVIATE_DATA_DIR")
    return Path(base) if base and (Path(base) / "tofu" / "original" / "full.json").is_file() else None


@pytest.mark.skipif(tofu_dir() is None, reason="set OBLIVIATE_DATA_DIR to the folder holding tofu/original/ (TOFU files)")
def test_tofu_loader_reads_the_checksummed_files():
    corpus = load_tofu(tofu_dir())
    assert len(corpus.items) == 4000 and len(corpus.entities) == 200
    assert [len(corpus.tofu_splits[s]) for s in ("forget01", "forget05", "forget10")] == [40, 200, 400]
    assert set(corpus.tofu_splits["forget01"]) <= set(corpus.tofu_splits["forget05"])
    forget01 = split_corpus(corpus, corpus.tofu_splits["forget01"])
    assert len(forget01.forget) == 40 and len(forget01.paraphrase) == 40 and len(forget01.retain) == 3960
    assert all(len(i.perturbed) == 5 for i in forget01.forget)
    assert len({i.entity for i in forget01.forget}) == 2 and len(corpus.holdout) == 400


def test_tofu_loader_names_the_missing_file(tmp_path):
    with pytest.raises(DataError, match="full.json"):
        load_tofu(tmp_path)
