"""Audit metrics of the llm task (each a plain function; formulas and sources below).

* exact match: greedy decoding reproduces every token of the true answer (teacher-forced
  arg-max at each answer position, which is what greedy decoding emits while it matches);
* ROUGE-L recall (Lin, 2004): ``LCS(generated, reference) / |reference|`` over tokens, as
  TOFU reports it;
* answer probability (TOFU, Maini et al. 2024): ``P(a|q)^(1/|a|) = exp(-mean token NLL)``;
* truth ratio (TOFU): ``R = mean_j P(a~_j|q)^(1/|a~_j|) / P(a^|q)^(1/|a^|)`` over the perturbed
  (wrong) answers ``a~_j`` and the paraphrased true answer ``a^``;
* forget quality (TOFU): the p-value of the two-sample Kolmogorov-Smirnov test between the
  truth ratios of the forget questions under the model and under the gold model;
* membership inference on forget vs holdout questions, as ROC AUC (``score > `` for members):
  LOSS (Yeom et al., CSF 2018: ``-NLL``), zlib (Carlini et al., USENIX Security 2021:
  ``-NLL_total / zlib_bytes(text)``) and Min-K% Prob (Shi et al., ICLR 2024: the mean of the
  lowest ``k`` % token log-probabilities);
* fluency: the unique 4-gram ratio of greedy continuations (distinct-n, Li et al., NAACL 2016),
  ``#distinct 4-grams / #4-grams`` per continuation, averaged; repetition loops drive it down.
"""

from __future__ import annotations

import math
import zlib
from typing import Sequence

import numpy as np
import torch
from scipy import stats
from sklearn.metrics import roc_auc_score


def lcs_length(a: Sequence, b: Sequence) -> int:
    """Length of the longest common subsequence of two token sequences (dynamic programming)."""
    if not a or not b:
        return 0
    previous = [0] * (len(b) + 1)
    for x in a:
        current = [0]
        for j, y in enumerate(b, start=1):
            current.append(previous[j - 1] + 1 if x == y else max(previous[j], current[-1]))
        previous = current
    return previous[-1]


def rouge_l_recall(generated: Sequence, reference: Sequence) -> float:
    """ROUGE-L recall ``LCS(generated, reference) / |reference|`` (1.0 for an empty reference)."""
    if not reference:
        return 1.0
    return lcs_length(list(generated), list(reference)) / len(reference)


def answer_probability(nll: torch.Tensor | np.ndarray) -> np.ndarray:
    """TOFU's length-normalised answer probability ``exp(-mean token NLL)``."""
    return np.exp(-np.asarray(nll, dtype=np.float64))


def truth_ratio(true_nll: np.ndarray, perturbed_nll: np.ndarray) -> np.ndarray:
    """TOFU's truth ratio per question: ``mean_j P(a~_j)^(1/|a~_j|) / P(a^)^(1/|a^|)``.

    Args:
        true_nll: ``(n,)`` mean token NLL of the (paraphrased) true answer.
        perturbed_nll: ``(n, m)`` mean token NLL of the ``m`` wrong answers.
    """
    perturbed = np.exp(-np.asarray(perturbed_nll, dtype=np.float64)).mean(axis=1)
    return perturbed / np.exp(-np.asarray(true_nll, dtype=np.float64))


def forget_quality(model_ratios: np.ndarray, gold_ratios: np.ndarray) -> float:
    """TOFU's forget quality: KS-test p-value between the truth-ratio samples (NaN if either is empty)."""
    if len(model_ratios) == 0 or len(gold_ratios) == 0:
        return math.nan
    return float(stats.ks_2samp(model_ratios, gold_ratios).pvalue)


def min_k_score(token_logprobs: Sequence[torch.Tensor], k: float = 0.2) -> np.ndarray:
    """Min-K% Prob: the mean of the lowest ``ceil(k * T)`` token log-probabilities of each answer."""
    scores = []
    for values in token_logprobs:
        v = np.sort(np.asarray(values, dtype=np.float64))
        if v.size == 0:
            scores.append(0.0)
            continue
        scores.append(float(v[: max(1, math.ceil(k * v.size))].mean()))
    return np.asarray(scores)


def zlib_score(token_logprobs: Sequence[torch.Tensor], texts: Sequence[str]) -> np.ndarray:
    """The zlib attack score ``sum_t log p_t / len(zlib.compress(text))`` (higher: member)."""
    return np.asarray([
        float(np.sum(np.asarray(v, dtype=np.float64))) / len(zlib.compress(t.encode("utf-8")))
        for v, t in zip(token_logprobs, texts)
    ])


def membership_auc(member_scores: np.ndarray, nonmember_scores: np.ndarray) -> float:
    """ROC AUC of ``score`` telling members from non-members (0.5: indistinguishable; NaN
    when a side has fewer than one example)."""
    member_scores, nonmember_scores = np.asarray(member_scores), np.asarray(nonmember_scores)
    if member_scores.size < 1 or nonmember_scores.size < 1:
        return math.nan
    labels = np.r_[np.ones(member_scores.size), np.zeros(nonmember_scores.size)]
    return float(roc_auc_score(labels, np.r_[member_scores, nonmember_scores]))


def unique_ngram_ratio(sequences: Sequence[Sequence[int]], n: int = 4) -> float:
    """Mean over sequences of ``#distinct n-grams / #n-grams`` (sequences shorter than ``n``
    are skipped; NaN when none is long enough)."""
    ratios = []
    for seq in sequences:
        grams = [tuple(seq[i : i + n]) for i in range(len(seq) - n + 1)]
        if grams:
            ratios.append(len(set(grams)) / len(grams))
    return float(np.mean(ratios)) if ratios else math.nan
