"""Small-to-big: search small chunks, return the paragraph they stand in.

A 200-character chunk embeds sharply, but the sentence that answers is often the one just
before or after it. The paragraph is the writer's own unit of meaning and about the length a
reader takes in at a glance (a seed page's median paragraph is 125 characters, a bench
passage's 450), so a hit returns the whole paragraph(s) its chunk touches — or just the chunk
when they are longer than ``max_chars`` — widened by whole sentences to at least ``min_chars``.
Measured in ``studies/fusion_study.py --para --expand N``.
"""

from __future__ import annotations

import bisect


def passage_span(text: str, sentences: list[tuple[int, int]], start: int, end: int,
                 min_chars: int, max_chars: int) -> tuple[int, int]:
    """The span to show for the chunk ``text[start:end]``; it always contains the chunk."""
    p_start = text.rfind("\n", 0, start) + 1
    p_end = text.find("\n", max(end - 1, start))
    p_end = len(text) if p_end < 0 else p_end
    if p_end - p_start <= max_chars:
        start, end = p_start, p_end
    return widen(sentences, start, end, min_chars - (end - start))


def widen(sentences: list[tuple[int, int]], start: int, end: int, extra: int) -> tuple[int, int]:
    """``(start, end)`` grown by whole sentences from ``sentences`` (sorted spans of the
    article), alternating after/before, while fewer than ``extra`` characters were added."""
    if extra <= 0 or not sentences:
        return start, end
    after = bisect.bisect_left([s for s, _ in sentences], end)   # first starting at/after end
    before = bisect.bisect_right([e for _, e in sentences], start) - 1   # last ending by start
    budget = extra
    while budget > 0 and (after < len(sentences) or before >= 0):
        if after < len(sentences):
            a, b = sentences[after]
            budget -= b - max(a, end)
            end = max(end, b)
            after += 1
        if budget > 0 and before >= 0:
            a, b = sentences[before]
            budget -= min(b, start) - a
            start = min(start, a)
            before -= 1
    return start, end
