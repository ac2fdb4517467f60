"""A confidence that means the same for every question: the estimated probability that a result
answers it.

Fusion scores are rescaled per question (min-max), so a top score says nothing about whether
anything answers. The features here are not: the raw dense cosine, the share of the question's
words (idf-weighted) that the passage and its title contain, the same share for the answering
sentence, and whether that sentence holds the kind of thing asked for (a number in the asked
unit, a date…). A logistic model over them was fitted on bench questions — with their own
passages, with their gold passages removed (a near-topic question the index cannot answer) and
asked of another bench set's index (off-topic) — and checked on held-out sets
(``benchmarks/calibrate.py``, README).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from qa.search.answer import Pick, question_terms, question_type


@dataclass(frozen=True)
class Features:
    dense: float | None         # raw cosine of the result's best chunk (None: BM25 only)
    coverage: float             # idf share of the question's words in title + passage
    evidence: float             # idf share of the question's words in the answering sentence
    typed: bool                 # that sentence holds a span of the asked type
    asks_type: bool             # the question asks for a typed answer at all

    def vector(self, dense_floor: float) -> list[float]:
        d = dense_floor if self.dense is None else self.dense
        return [1.0, d, self.coverage, self.evidence, float(self.typed),
                float(self.asks_type and not self.typed)]


# Intercept, dense, coverage, evidence, typed, asked-but-untyped: fitted by
# ``benchmarks/calibrate.py --limit 600`` on the first 300 CMRC 2018 questions, asked of their
# own index, with their gold passages removed and of XQuAD's index (all top-5 results).
WEIGHTS = (-25.319, 24.343, 3.825, 1.460, -0.442, -0.978)
# A result found by BM25 alone has no cosine; it is scored as if its cosine were this low.
DENSE_FLOOR = 0.7


def confidence(f: Features, weights: tuple[float, ...] = WEIGHTS) -> float:
    z = sum(w * x for w, x in zip(weights, f.vector(DENSE_FLOOR)))
    return 1.0 / (1.0 + math.exp(-max(min(z, 50.0), -50.0)))


def coverage(question: str, title: str | None, text: str, idf: Mapping[str, float],
             tokenize: Callable[[str], list[str]]) -> float:
    """The idf-weighted share of the question's content words found in ``title`` + ``text``."""
    terms = question_terms(question, tokenize)
    if not terms:
        return 0.0
    top = max(idf.values(), default=1.0)
    haystack = f"{title or ''}\n{text}".lower()
    total = sum(idf.get(t, top) for t in terms)
    return sum(idf.get(t, top) for t in terms if t.lower() in haystack) / total


def features(question: str, title: str | None, text: str, chosen: Pick, dense: float | None,
             idf: Mapping[str, float], tokenize: Callable[[str], list[str]]) -> Features:
    """The features of one result: its passage ``text`` under ``title``, its answering
    sentence ``chosen``, the raw cosine ``dense`` of its best chunk."""
    return Features(dense=dense, coverage=coverage(question, title, text, idf, tokenize),
                    evidence=chosen.evidence, typed=chosen.typed,
                    asks_type=question_type(question).kind is not None)
