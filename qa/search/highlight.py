"""Where the question's words occur in a passage, for emphasis.

Only inside the answering sentence: a passage about 精神健康 repeats 健康 and 精神 dozens of
times, and bolding every one buries the sentence that answers under noise."""

from __future__ import annotations

import re
from collections.abc import Sequence

Span = tuple[int, int]


def term_spans(text: str, terms: Sequence[str], within: Span | None = None) -> list[Span]:
    """Sorted, non-overlapping spans of ``text`` (inside ``within`` if given) that are the
    question's content words ``terms`` (``Question.terms``: longest first); longer words win
    where two overlap (社工站 over 社工)."""
    lo, hi = within or (0, len(text))
    taken = [False] * (hi - lo)
    spans: list[Span] = []
    for t in terms:
        for m in re.finditer(re.escape(t), text[lo:hi], flags=re.IGNORECASE):
            if not any(taken[m.start():m.end()]):
                spans.append((lo + m.start(), lo + m.end()))
                taken[m.start():m.end()] = [True] * (m.end() - m.start())
    return sorted(spans)
