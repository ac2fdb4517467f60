"""No repeats: one result per article, overlapping passages merged, reprints folded in.

A pure stage over ranked candidates (best first), each a passage span of an article with its
text. The first candidate of an article opens a result; a later one from the same article is
merged into it when the two overlap or nearly touch and the union stays readable
(``max_chars``), and otherwise counted as a further hit of that article (``more``: the web page
says 本文还有 N 处相关内容). A candidate from another article whose text largely repeats a result's
(a reprint with small edits) becomes one more citation of that result (``also``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass, field

Span = tuple[int, int]

# Two passages overlapping by more than this share of the shorter are one passage twice.
REDUNDANT = 0.3


@dataclass(frozen=True)
class Candidate:
    article: Hashable
    span: Span                  # the passage it is shown in
    text: str
    ref: object = None          # the caller's handle (chunk id, fused score, …)


@dataclass
class Group:
    first: Candidate                       # the best-ranked candidate: its score is the result's
    span: Span                             # the passage shown: first's span, merged with others
    more: list[Candidate] = field(default_factory=list)    # further hits in the same article
    also: list[Candidate] = field(default_factory=list)    # reprints in other articles


def overlap_share(a: Span, b: Span) -> float:
    """Overlap of two spans of one text as a share of the shorter."""
    inter = min(a[1], b[1]) - max(a[0], b[0])
    shorter = min(a[1] - a[0], b[1] - b[0])
    return max(inter, 0) / shorter if shorter > 0 else 0.0


_CLAUSE = re.compile(r"[^。！？；!?;，,\n]{8,}")


def text_share(a: str, b: str) -> float:
    """Share of the shorter text's clauses (8+ characters) found verbatim in the other: how
    much of a reprint repeats its original."""
    return _shared(set(_CLAUSE.findall(a)), set(_CLAUSE.findall(b)), a, b)


def group(ranked: Iterable[tuple[Hashable, object]], resolve: Callable[[object], Candidate],
          k: int, max_chars: int, gap: int = 1) -> list[Group]:
    """At most ``k`` results, best first. ``ranked`` gives each candidate's article and handle
    best first; ``resolve`` turns a handle into its :class:`Candidate` (passage and text),
    called only for candidates that can still matter: those of an article already shown and
    those that may open a result. ``gap``: passages this close merge (characters; 1 joins
    neighbouring paragraphs)."""
    groups: list[Group] = []
    by_article: dict[Hashable, Group] = {}
    clauses: list[set[str]] = []
    for article, ref in ranked:
        g = by_article.get(article)
        if g is None and len(groups) >= k:
            continue
        c = resolve(ref)
        if g is not None:
            if _merge(g, c.span, max_chars, gap):
                # the grown passage may now reach hits set aside before, or mostly cover them
                g.more = [m for m in g.more if not _merge(g, m.span, max_chars, gap)]
                g.more = [m for m in g.more if overlap_share(g.span, m.span) <= REDUNDANT]
            elif overlap_share(g.span, c.span) <= REDUNDANT and not _inside_more(g, c):
                g.more.append(c)
            continue
        mine = set(_CLAUSE.findall(c.text))
        twin = next((g for g, theirs in zip(groups, clauses)
                     if _shared(mine, theirs, c.text, g.first.text) > REDUNDANT), None)
        if twin is not None:
            if all(a.article != c.article for a in twin.also):
                twin.also.append(c)
            continue
        g = Group(first=c, span=c.span)
        groups.append(g)
        clauses.append(mine)
        by_article[article] = g
    return groups


def _shared(a: set[str], b: set[str], text_a: str, text_b: str) -> float:
    """``text_share`` from the two texts' clause sets, computed once per text."""
    short, other = (a, text_b) if len(text_a) <= len(text_b) else (b, text_a)
    if not short:
        return 0.0
    return sum(len(c) for c in short if c in other) / sum(len(c) for c in short)


def _merge(g: Group, span: Span, max_chars: int, gap: int) -> bool:
    """Grow ``g``'s passage to take in ``span`` if they overlap or nearly touch and the union
    stays within ``max_chars``."""
    s, e = min(g.span[0], span[0]), max(g.span[1], span[1])
    near = span[0] <= g.span[1] + gap and g.span[0] <= span[1] + gap
    if near and e - s <= max_chars:
        g.span = (s, e)
        return True
    return False


def _inside_more(g: Group, c: Candidate) -> bool:
    return any(overlap_share(m.span, c.span) > REDUNDANT for m in g.more)


def redundant_pairs(results: Sequence[tuple[Hashable, Span, str]]) -> int:
    """Pairs of results that repeat each other by more than ``REDUNDANT`` of the shorter: same
    article and overlapping spans, or different articles and shared text (a reprint)."""
    n = 0
    for i, (a1, s1, t1) in enumerate(results):
        for a2, s2, t2 in results[i + 1:]:
            share = overlap_share(s1, s2) if a1 == a2 else text_share(t1, t2)
            n += share > REDUNDANT
    return n
