"""The sentence most likely to answer, and the question's terms, as offsets into a passage."""

from __future__ import annotations

import re
from collections.abc import Callable

from qa.chunking import split_sentences
from qa.types import Highlight

# Question words say what is asked, not what the answer contains.
_QUESTION_WORDS = {"什么", "多少", "哪些", "哪个", "哪里", "怎么", "怎样", "如何", "为什么", "为何",
                   "是否", "几个", "多少名", "多少个", "多少项", "谁", "何时", "哪", "吗", "呢"}


def terms(question: str, tokenize: Callable[[str], list[str]]) -> list[str]:
    seen, out = set(), []
    for t in tokenize(question):
        if t in _QUESTION_WORDS or t in seen or (len(t) < 2 and not t.isdigit()):
            continue
        seen.add(t)
        out.append(t)
    return sorted(out, key=len, reverse=True)


def highlight(text: str, question: str, tokenize: Callable[[str], list[str]]) -> Highlight:
    found = terms(question, tokenize)
    spans: list[tuple[int, int]] = []
    taken = [False] * len(text)
    for t in found:   # longest first, so 社工站 wins over 社工 where both match
        for m in re.finditer(re.escape(t), text, flags=re.IGNORECASE):
            if not any(taken[m.start():m.end()]):
                spans.append((m.start(), m.end()))
                for k in range(m.start(), m.end()):
                    taken[k] = True
    spans.sort()
    sentences = split_sentences(text) or [(0, len(text))]

    def weight(span: tuple[int, int]) -> float:
        s, e = span
        inside = [(a, b) for a, b in spans if a >= s and b <= e]
        covered = sum(b - a for a, b in inside)
        # Numbers are what most questions here ask for; a sentence that has one is likelier
        # to hold the answer than one that only repeats the question.
        has_number = bool(re.search(r"\d", text[s:e]))
        return covered + 0.5 * len({text[a:b] for a, b in inside}) + (0.5 if has_number else 0)

    best = max(sentences, key=weight)
    return Highlight(sentence=best, terms=spans)
