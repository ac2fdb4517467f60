"""Glyphs → lines, the page's body size, and each line's kind by its size and weight."""

from __future__ import annotations

import statistics
from collections import Counter

from qa.ingest.pdfpage.shapes import Glyph, Line, follows

# Type sizes relative to the body size: a kicker is set at least ~1.25 times the body, captions
# and running heads at most ~0.9 times.
LARGE, SMALL = 1.18, 0.92
BOLD_LARGE = 1.05        # …or bold and at least this much larger
# …or at least this much larger on a page that does not say its weights (a scan): sizes measured
# from the ink put the seed scans' body lines at most 1.044 times the body, their kickers at
# 1.11 and more (benchmarks/ocr.py; BENCHMARKS.md §11)
UNWEIGHTED_LARGE = 1.08
BOLD_WEIGHT = 550


def make_lines(glyphs: list[Glyph]) -> list[Line]:
    """Rows of glyphs on one baseline, cut where a gap is wider than ~2/3 of a character (a
    gutter, a gap between title parts) or the size changes. A space inside a line is kept where
    the gap is clearly wider than the line's usual spacing (Latin words, title parts)."""
    rows: list[list[Glyph]] = []
    for g in sorted(glyphs, key=lambda g: (g.base, g.x0)):
        if rows and abs(g.base - rows[-1][0].base) <= 0.3 * min(g.size, rows[-1][0].size):
            rows[-1].append(g)
        else:
            rows.append([g])
    lines: list[Line] = []
    for row in rows:
        by_size: dict[float, list[Glyph]] = {}
        for g in row:   # one run per size: a title beside a column line is two lines
            key = next((k for k in by_size if abs(k - g.size) <= 0.08 * k), g.size)
            by_size.setdefault(key, []).append(g)
        for run in by_size.values():
            run.sort(key=lambda g: g.x0)
            current = [run[0]]
            for prev, g in zip(run, run[1:]):
                gap = g.x0 - prev.x1
                if gap > 0.6 * g.size or gap > 0.2 * g.size and not follows(prev.seq, g.seq):
                    lines.append(_line(current))
                    current = []
                current.append(g)
            lines.append(_line(current))
    return [l for l in lines if l.text.strip()]


def _line(glyphs: list[Glyph]) -> Line:
    glyphs = [g for i, g in enumerate(glyphs) if not g.made or 0 < i < len(glyphs) - 1 and
              glyphs[i + 1].x0 - glyphs[i - 1].x1 > 0.15 * g.size]
    gaps = [b.x0 - a.x1 for a, b in zip(glyphs, glyphs[1:])]
    usual = statistics.median(gaps) if gaps else 0.0
    size = statistics.median(g.size for g in glyphs)
    parts = [glyphs[0].text]
    for gap, g in zip(gaps, glyphs[1:]):
        if gap > max(0.25 * size, usual + 0.3 * size) and parts[-1] != " " and g.text != " ":
            parts.append(" ")
        parts.append(g.text)
    ink = [g for g in glyphs if g.text.strip()] or glyphs
    bold = sum(g.bold for g in ink) * 2 > len(ink)
    return Line(ink[0].x0, ink[-1].x1, min(g.top for g in ink), max(g.bottom for g in ink),
                text="".join(parts).strip(), size=size, bold=bold,
                seq=(glyphs[0].seq, glyphs[-1].seq))


def body_size(lines: list[Line]) -> float:
    """The size most characters on the page are set in."""
    counts = Counter()
    for l in lines:
        counts[round(l.size * 4) / 4] += len(l.text)
    return counts.most_common(1)[0][0] if counts else 0.0


def classify(lines: list[Line], size: float, weights: bool = True) -> bool:
    """Each line's kind: larger than the body is a title (or one set barely larger but bold,
    where the body is not bold itself), smaller is small type, the rest body. Returns whether
    the page's body is set in bold. Where the page does not say its weights (``weights``
    false: a scan, whose sizes are measured from the ink), a little larger is a title."""
    body_bold = sum(len(l.text) for l in lines if l.bold) * 2 > sum(len(l.text) for l in lines)
    for l in lines:
        large = l.size >= LARGE * size or \
            l.size >= BOLD_LARGE * size and l.bold and not body_bold or \
            l.size >= UNWEIGHTED_LARGE * size and not weights
        l.kind = "head" if large else "small" if l.size <= SMALL * size else "body"
    return body_bold
