"""Titles: which large lines make up one title, how its lines join, and which article each
title belongs to."""

from __future__ import annotations

from qa.ingest.articles import _Similarity
from qa.ingest.layout import clean_title, ends_sentence
from qa.ingest.pdfpage.columns import stacked_blocks
from qa.ingest.pdfpage.shapes import Block, Box, Line, Run, rows

MIN_TITLE_SCORE = 0.25   # similarity (0–1) plus the bonus for standing next to the article
NEAR_BONUS = 0.3
NEXT_BONUS = 0.1


def title_blocks(lines: list[Line], body_bold: bool) -> list[Block]:
    """The large lines stacked into titles. A title is no paragraph: a large block holding full
    stops or many lines is a lead set large, and its lines become body text. A body-size bold
    line that touches a title (a kicker, a subtitle) is part of it."""
    heads = stacked_blocks([l for l in lines if l.kind == "head"], "head", 0.6)
    for b in heads:
        text = "".join(l.text for l in b.lines)
        if len(b.lines) > 5 or sum(text.count(c) for c in "。！？") >= 2:
            for l in b.lines:
                l.kind = "body"
    heads = [b for b in heads if b.lines[0].kind == "head"]
    if not body_bold:
        for l in lines:
            if l.kind == "body" and l.bold and not ends_sentence(l.text) and "。" not in l.text:
                b = next((b for b in heads if _touches(b, l)), None)
                if b is not None:
                    l.kind = "head"
                    b.add(l)
    return heads


def _touches(b: Block, l: Line) -> bool:
    return b.x_overlap(l) > 0 and (0 <= l.top - b.bottom <= 1.2 * l.size or
                                   0 <= b.top - l.bottom <= 1.2 * l.size)


def join_title(lines: list[Line], measure: float) -> str:
    """A title's lines, top to bottom: no space after a kicker's colon or where a line was
    wrapped because it filled the measure; otherwise the parts were set apart on purpose."""
    text, prev = "", None
    for row in rows(lines):
        row_text = " ".join(l.text for l in row)
        if prev is not None:
            # wrapped: not even one more character (or a quote carried over) would have fitted
            full = (prev[-1].x1 - prev[0].x0) > measure - 1.05 * prev[0].size
            same = abs(prev[0].size - row[0].size) <= 0.08 * row[0].size
            sep = "" if text.endswith(("：", ":")) or (full and same) else " "
            text += sep
        text += row_text
        prev = row
    return clean_title(text)


def _near(head: Box, run: Box, size: float) -> bool:
    """A title right above or right below an article's body, across it."""
    if head.x_overlap(run) < 0.3 * min(head.width, run.width):
        return False
    return -size <= run.top - head.bottom <= 4 * size or -size <= head.top - run.bottom <= 4 * size


def give_titles(runs: list[Run], heads: list[tuple[Block, int]], size: float) -> None:
    """Titles to articles, best match first: shared rare bigrams, plus a bonus for a title
    standing right above or below the article's body and for one next to it in reading
    order. A title line no article claimed, stacked on a claimed one, is part of it."""
    if not heads:
        return
    sim = _Similarity(["\n".join(r.texts) for r in runs])
    boxes = [r.box for r in runs]
    plain = ["".join(l.text for l in h.lines) for h, _ in heads]
    scores = []
    for k, (h, before) in enumerate(heads):
        for j in range(len(runs)):
            s = sim(plain[k], j)
            if _near(h, boxes[j], size):
                s += NEAR_BONUS
            if j in (before - 1, before):
                s += NEXT_BONUS
            scores.append((s, -abs(j - before + 0.5), k, j))
    scores.sort(reverse=True)
    owner: dict[int, int] = {}
    taken: set[int] = set()
    for s, _, k, j in scores:
        if s < MIN_TITLE_SCORE:
            break
        if k not in owner and j not in taken:
            owner[k] = j
            taken.add(j)
    for k, (h, _) in enumerate(heads):
        if k not in owner:
            stacked = [o for o in owner if _stacked(heads[o][0], h)]
            if stacked:
                owner[k] = owner[stacked[0]]
    for k, j in sorted(owner.items(), key=lambda kv: heads[kv[0]][0].top):
        runs[j].heads.append(heads[k][0])


def _stacked(a: Block, b: Block) -> bool:
    """Set right above or below each other, across each other: parts of one title."""
    size = max(a.lines[0].size, b.lines[0].size)
    return a.x_overlap(b) >= 0.5 * min(a.width, b.width) and \
        (0 <= b.top - a.bottom <= size or 0 <= a.top - b.bottom <= size)
