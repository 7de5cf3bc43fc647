"""LLM benchmark: every llm method against retraining from scratch, and the UnSTAR ablations.

Generated TOFU-like corpus (100 fictitious entities x 3 attributes, values shared from pools
of 8, 3 trained phrasings and 2 held-out ones per fact, 10 holdout entities), a 2-layer GPT-2
(d=128, 0.4M parameters) trained from scratch with a corpus-trained word-level tokenizer.
Forget requests: one fact (``fact:1``), 1% of the entities (``entities:0.01``, one entity)
and 5% (``entities:0.05``). Three seeds each. For every seed the original model is trained
once (cached), ``retrain`` (gold) is timed in the same run, and every method is audited
against it: exact match on forget / held-out paraphrase / hard-retain / general-retain
questions, forget quality (TOFU's KS test of truth ratios against gold's), LOSS membership
AUC (forget vs holdout entities), the relearn attack, fluency, optimizer steps, seconds and
``speedup = gold seconds / method seconds``.

Ablations of UnSTAR's two ingredients, on the same models: ``unstar`` without rationales
(``rationale=False``) and without hard-retain replay (``replay=False``).

With ``--tofu`` (needs ``$OBLIVIATE_DATA_DIR/tofu``) it also trains the small model on TOFU's
full set for a few epochs and forgets ``forget01`` (one seed; ROUGE-L recall is the metric
there: a model this small reproduces few long answers exactly).

Run::

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/llm.py [--tofu] [--quick]

Writes ``benchmarks/results/llm.json`` and ``llm.md``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import torch

from obliviate.bench.environment import describe_environment
from obliviate.bench.runner import build_unlearner
from obliviate.core.checkpoint import atomic_write_text
from obliviate.llm.scenario import LLMScenario

RESULTS = Path(__file__).resolve().parent / "results"
VARIANTS = {
    "grad_ascent": ("grad_ascent", {}),
    "grad_diff": ("grad_diff", {}),
    "npo": ("npo", {}),
    "idk": ("idk", {}),
    "answer_swap": ("answer_swap", {}),
    "unstar": ("unstar", {}),
    "unstar (no rationale)": ("unstar", {"rationale": False}),
    "unstar (no replay)": ("unstar", {"replay": False}),
}
COLUMNS = ("forget_em", "paraphrase_em", "hard_retain_em", "retain_em", "forget_quality", "mia_auc",
           "relearn_em", "fluency")
FORGETS = ("fact:1", "entities:0.01", "entities:0.05")
PAPER_CLAIM = (
    "UnSTAR (abstract): anti-samples with misleading rationales 'help reverse learned associations and "
    "accelerate the unlearning process' and enable 'selective removal of specific associations without "
    "impacting related knowledge'. The paper's figures are on TOFU with 7B models; none are reproduced here."
)


def run_config(options: dict, seeds: list[int], variants: dict, progress) -> list[dict]:
    rows = []
    for seed in seeds:
        scenario = LLMScenario(seed=seed, **options)
        original = scenario.original()
        request = scenario.request()
        gold = build_unlearner("llm", "retrain").unlearn(original, request)
        gold_audit = scenario.audit(gold.model, original=original, gold=gold.model)
        rows.append({"seed": seed, "method": "original", "metrics": scenario.audit(original, original=original, gold=gold.model)})
        rows.append({"seed": seed, "method": "gold (retrain)", "metrics": gold_audit, "seconds": gold.seconds,
                     "steps": gold.info.get("steps"), "speedup": 1.0})
        for label, (name, params) in variants.items():
            progress(f"{options['forget']} seed {seed}: {label}")
            result = build_unlearner("llm", name, params).unlearn(original, request)
            rows.append({
                "seed": seed, "method": label, "params": params, "seconds": result.seconds,
                "steps": result.info.get("steps"), "speedup": gold.seconds / max(result.seconds, 1e-9),
                "metrics": scenario.audit(result.model, original=original, gold=gold.model),
                "info": {k: v for k, v in result.info.items() if k in ("rounds", "anti_samples", "still_produced")},
            })
    return rows


def summarise(rows: list[dict]) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    for method in dict.fromkeys(r["method"] for r in rows):
        mine = [r for r in rows if r["method"] == method]
        figures = {k: statistics.median(r["metrics"][k] for r in mine) for k in COLUMNS}
        for key in ("seconds", "steps", "speedup"):
            values = [r[key] for r in mine if r.get(key) is not None]
            figures[key] = statistics.median(values) if values else None
        out[method] = figures
    return out


def fmt(value) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        if value != value:
            return "n/a"
        return f"{value:.3g}" if abs(value) < 1000 else f"{value:.0f}"
    return str(value)


def table(summary: dict[str, dict[str, float]]) -> list[str]:
    columns = (*COLUMNS, "steps", "seconds", "speedup")
    lines = ["| method | " + " | ".join(columns) + " |", "|---|" + "---:|" * len(columns)]
    for method, figures in summary.items():
        lines.append(f"| {method} | " + " | ".join(fmt(figures.get(c)) for c in columns) + " |")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="20 entities, 1 seed, 5 epochs (a smoke run)")
    parser.add_argument("--tofu", action="store_true", help="also run on TOFU (needs $OBLIVIATE_DATA_DIR)")
    parser.add_argument("--tofu-epochs", type=int, default=3)
    parser.add_argument("--render", action="store_true", help="rewrite llm.md from llm.json (no runs)")
    parser.add_argument("--tofu-only", action="store_true",
                        help="run only the TOFU section and add it to the sections already in llm.json")
    args = parser.parse_args(argv)
    if args.render:
        saved = json.loads((RESULTS / "llm.json").read_text())
        torch.set_num_threads(int(saved.get("torch_threads", 1)))
        for section in saved["sections"]:
            section["summary"] = summarise(section["runs"])
        print(write(saved["sections"], saved["sections"][0]["seeds"], time.perf_counter() - saved["seconds"]))
        return 0
    torch.set_num_threads(1)
    seeds = [0] if args.quick else list(range(args.seeds))
    corpus = ({"entities": 20, "attributes": 3, "epochs": 5} if args.quick
              else {"entities": 100, "holdout": 10, "attributes": 3, "epochs": 30, "batch_size": 32})
    started = time.perf_counter()
    log = lambda text: print(f"[{time.perf_counter() - started:6.0f} s] {text}", file=sys.stderr, flush=True)  # noqa: E731
    sections: list[dict] = []
    if args.tofu_only:
        saved = json.loads((RESULTS / "llm.json").read_text())
        sections = [x for x in saved["sections"] if "TOFU" not in x["forget"]]
        for section in sections:  # the JSON's summaries lost their row order; the runs keep it
            section["summary"] = summarise(section["runs"])
        started -= float(saved.get("seconds", 0.0))  # "s in all" keeps counting the sections kept
        seeds = sections[0]["seeds"] if sections else seeds
        args.tofu = True
    for forget in () if args.tofu_only else FORGETS:
        rows = run_config({**corpus, "forget": forget}, seeds, VARIANTS, log)
        sections.append({"forget": forget, "options": corpus, "seeds": seeds, "runs": rows, "summary": summarise(rows)})
        write(sections, seeds, started)
    if args.tofu:
        options = {"dataset": "tofu", "forget": "facts:forget01", "epochs": args.tofu_epochs, "batch_size": 32}
        variants = {k: VARIANTS[k] for k in ("grad_diff", "npo", "answer_swap", "unstar")}
        rows = run_config(options, [0], variants, log)
        sections.append({"forget": "facts:forget01 (TOFU)", "options": options, "seeds": [0], "runs": rows,
                         "summary": summarise(rows)})
    print(write(sections, seeds, started))
    return 0


def write(sections: list[dict], seeds: list[int], started: float) -> str:
    """Write llm.json and llm.md (after every section, so a long run keeps what it measured)."""
    document = {"benchmark": "llm", "paper_claim": PAPER_CLAIM, "environment": describe_environment(),
                "torch_threads": torch.get_num_threads(), "seconds": time.perf_counter() - started,
                "sections": sections}
    RESULTS.mkdir(parents=True, exist_ok=True)
    atomic_write_text(RESULTS / "llm.json", json.dumps(document, indent=1, sort_keys=True, default=str) + "\n")
    parts = ["# LLM unlearning benchmark", "",
             f"Generated corpus, 2-layer GPT-2 trained from scratch, medians over seeds {seeds}, "
             f"{torch.get_num_threads()} torch thread(s), {document['seconds']:.0f} s in all. "
             "`speedup` = gold (retrain) seconds / method seconds, in the same run.", "",
             f"Paper's claim: {PAPER_CLAIM}", ""]
    for section in sections:
        parts += [f"## forget `{section['forget']}`", "", *table(section["summary"]), ""]
    atomic_write_text(RESULTS / "llm.md", "\n".join(parts))
    return "\n".join(parts)


if __name__ == "__main__":
    raise SystemExit(main())
