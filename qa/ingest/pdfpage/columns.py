"""Body lines → columns → blocks: runs of lines down one column, and stacked small blocks
(a title's lines, a caption's)."""

from __future__ import annotations

import bisect
import statistics

from qa.ingest.pdfpage.shapes import Block, Box, Line, follows, rows


def assign_columns(lines: list[Line], size: float) -> None:
    """Give each body line the column it stands in: the extent shared by at least three lines
    nearest to it that holds it (an indented or short line lies inside its column's extent).
    Lines in no column make their own with the lines stacked with them."""
    tol = 0.35 * size
    clusters = _clusters(lines, tol)
    cols = _extents(clusters, tol)
    for l in lines:
        l.col = _nearest(l, cols, tol, size)
    _loose([l for l in lines if l.col is None], size)


def _clusters(lines: list[Line], tol: float) -> list[list[Line]]:
    """Lines sharing both edges (within ``tol``)."""
    clusters: list[list[Line]] = []
    for l in sorted(lines, key=lambda l: (l.x0, l.x1)):
        for c in clusters:
            if abs(c[0].x0 - l.x0) <= tol and abs(c[0].x1 - l.x1) <= tol:
                c.append(l)
                break
        else:
            clusters.append([l])
    return clusters


def _extents(clusters: list[list[Line]], tol: float) -> list[tuple[Box, list[float]]]:
    """The columns, each with the tops of the lines inside it. An extent three lines share is
    a column unless it lies inside a wider one it shares an edge with (indented first lines
    share an extent too, inside their column's)."""
    extents = [Box(statistics.median(l.x0 for l in c), statistics.median(l.x1 for l in c), 0, 0)
               for c in clusters if len(c) >= 3]
    cols = []
    for e in extents:
        if not any(o is not e and o.x0 - tol <= e.x0 and e.x1 <= o.x1 + tol and o.width > e.width
                   and (abs(o.x0 - e.x0) <= tol or abs(o.x1 - e.x1) <= tol) for o in extents):
            cols.append((e, sorted(l.top for c in clusters for l in c
                                   if e.x0 - tol <= l.x0 and l.x1 <= e.x1 + tol)))
    return cols


def _nearest(l: Line, cols: list[tuple[Box, list[float]]], tol: float, size: float) -> Box | None:
    """The column holding a line whose lines stand nearest to it (the narrower of equals)."""
    best, best_key = None, None
    for col, tops in cols:
        # a closing mark may hang past the column's edge
        if col.x0 - tol <= l.x0 and l.x1 <= col.x1 + 1.1 * size and l.x0 < col.x1:
            i = bisect.bisect_left(tops, l.top)
            near = min(abs(tops[j] - l.top) for j in (i - 1, i) if 0 <= j < len(tops))
            key = (round(near / size), col.width)
            if best_key is None or key < best_key:
                best, best_key = col, key
    return best


def _loose(lines: list[Line], size: float) -> None:
    """Lines in no column (a short article, a few lines beside a picture) make their own, from
    the lines stacked with them: their indents and short last lines still show."""
    groups: list[list[Line]] = []
    for l in sorted(lines, key=lambda l: l.top):
        for g in reversed(groups):
            last = g[-1]
            if 0 <= l.top - last.top <= 2.5 * size and abs(l.x0 - last.x0) <= 3 * size and \
                    last.x_overlap(l) >= 0.5 * min(last.width, l.width):
                g.append(l)
                break
        else:
            groups.append([l])
    for g in groups:
        col = Box(min(l.x0 for l in g), max(l.x1 for l in g), 0, 0)
        for l in g:
            l.col = col


def _pitch(lines: list[Line], size: float) -> float:
    diffs = [b.top - a.top for a, b in zip(lines, lines[1:])
             if a.col is b.col and 0 < b.top - a.top < 2.5 * size]
    return statistics.median(diffs) if diffs else 1.5 * size


def _between(a: Line, b: Line, col: Box, obstacles: list[Box]) -> bool:
    return any(a.bottom <= (o.top + o.bottom) / 2 <= b.top and o.x_overlap(col) > 0
               for o in obstacles)


def body_blocks(lines: list[Line], size: float,
                obstacles: list[Box]) -> tuple[list[Block], float]:
    """Runs of lines down one column, cut where the gap is wider than a line or something else
    (a title, a picture) stands between them; and the line pitch."""
    assign_columns(lines, size)
    lines = sorted(lines, key=lambda l: l.top)
    pitch = _pitch(lines, size)
    by_col: dict[int, list[Line]] = {}
    for l in lines:
        by_col.setdefault(id(l.col), []).append(l)
    blocks = []
    for col_lines in by_col.values():
        current = [col_lines[0]]
        for a, b in zip(col_lines, col_lines[1:]):
            if b.top - a.top > 1.8 * pitch or _between(a, b, a.col, obstacles):
                blocks.append(Block.of("body", current))
                current = []
            current.append(b)
        blocks.append(Block.of("body", current))
    return blocks, pitch


def stacked_blocks(lines: list[Line], kind: str, gap: float) -> list[Block]:
    """Lines stacked closely (a title's lines, a caption's) into blocks: a line joins the block
    whose last line ends at most ``gap`` × its size above it and overlaps it across, or stands
    on the same baseline close beside it."""
    blocks: list[Block] = []
    for l in [l for row in rows(lines) for l in row]:
        for b in reversed(blocks):
            last = b.lines[-1]
            # parts of one title line set apart, written one after the other (two titles of
            # neighbouring articles on one baseline are not)
            beside = abs(last.bottom - l.bottom) <= 0.3 * l.size and \
                0 <= l.x0 - last.x1 <= 2.5 * l.size and follows(last.seq[1], l.seq[0])
            below = 0 <= l.top - last.bottom <= gap * max(l.size, last.size) and \
                any(o.x_overlap(l) > 0 for o in b.lines if o.bottom >= last.top)
            if beside or below:
                b.add(l)
                break
        else:
            blocks.append(Block.of(kind, [l]))
    return blocks
