"""The reader stage: the question read together with the passage around each top result's
answering sentence (``qa.reader``, a model trained here), for what retrieval alone cannot say —
the short answer itself, and whether the passage answers at all.

A pure stage over finished results: it takes the question and the results, and gives back per
result read the answer span (offsets into the result's text) and the reader's answerability;
the service decides what to do with them (``SearchService._read``): the answer is highlighted,
the sentence highlight moves to the sentence holding it, and the results read are reordered by
how surely they answer.

Only the best ``top`` results are read, each in one window: its highlighted sentence widened by
whole sentences, alternately after and before, up to ``window_chars`` characters. A window of
~100 tokens costs the 6-layer int8 reader ~10 ms on one core of this machine, so reading is the
largest part of a question's time (BENCHMARKS.md); both figures are settings.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from qa.search.answer import Span
from qa.types import Hit


@dataclass(frozen=True)
class Read:
    window: Span                  # what was read, as offsets into the result's text
    answer: Span                  # the reader's best span, offsets into the result's text
    margin: float                 # its score over the no-answer score (the answerability logit)


def logit(p: float) -> float:
    p = min(max(p, 1e-4), 1 - 1e-4)
    return math.log(p / (1 - p))


def window(text: str, sentences: Sequence[Span], around: Span, max_chars: int) -> Span:
    """``around`` (a run of whole sentences of ``text``) widened by whole sentences, the next
    one first, then the one before, while the whole stays within ``max_chars``; never across a
    paragraph break. ``around`` longer than ``max_chars`` is cut to it."""
    inside = [i for i, (s, e) in enumerate(sentences) if s < around[1] and e > around[0]]
    if not inside:
        return around[0], min(around[1], around[0] + max_chars)
    lo, hi = inside[0], inside[-1]
    if sentences[hi][1] - sentences[lo][0] >= max_chars:
        return sentences[lo][0], sentences[lo][0] + max_chars
    grew = True
    while grew:
        grew = False
        for cand in (hi + 1, lo - 1):
            if not 0 <= cand < len(sentences):
                continue
            left, right = (hi, cand) if cand > hi else (cand, lo)
            a, b = min(lo, cand), max(hi, cand)
            if sentences[b][1] - sentences[a][0] <= max_chars and \
                    "\n" not in text[sentences[left][1]:sentences[right][0]]:
                lo, hi, grew = a, b, True
    return sentences[lo][0], sentences[hi][1]


def read(reader, question: str, hits: Sequence[Hit], sentences: Sequence[Sequence[Span]],
         max_chars: int) -> list[Read]:
    """Each result read in one window around its highlighted sentence (``sentences``: each
    result's sentence spans, offsets into its text)."""
    windows = [window(h.text, ss, h.highlight.sentence, max_chars)
               for h, ss in zip(hits, sentences)]
    spans = reader.spans([(question, h.text[s:e]) for h, (s, e) in zip(hits, windows)])
    return [Read((s, e), (s + sp.start, s + sp.end), sp.margin)
            for (s, e), sp in zip(windows, spans)]
