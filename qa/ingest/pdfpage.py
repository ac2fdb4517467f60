"""One PDF page's glyphs → articles, from what the page's geometry says.

Plain page text has lost where things were; a PDF page still knows, so this reads the layout
instead of guessing it from line widths (``layout``):

* **lines**: glyphs on one baseline, split where a gap is wider than ~2/3 of a character, or
  the glyphs were not written one after another, or the type size changes (two columns, two
  neighbouring titles, a title beside a column);
* **kinds**, by type size relative to the page's body size (the size most characters are set
  in): larger is a title or kicker, smaller a caption or page furniture; a body-size bold line
  touching a title belongs to it;
* **columns**, by clustering the left and right edges of body lines: a column is an extent many
  full lines share; a short or indented line belongs to the nearest column that holds it;
* **reading order**, by cutting the page recursively along the white space that runs across
  it (rows first, then columns), a title and the body it stands over cut as one module, so a
  body runs down one column and on at the top of the next, and an article that runs on below
  another one's module is read after that module;
* **paragraphs** from indents, short last lines and extra space, not from punctuation guesses;
* **captions**: small type under (or over) a picture, or with a `（图片来源：…）` marker;
  small type above or below everything else is the running head or foot, and is dropped.

The same rules as on text pages then end an article (its outlet line ``（据…）``); an article
that stopped in mid-sentence at a column's end, or lacks its outlet line, takes up the text
where it runs on below another one; titles and captions are matched to articles (shared rare
bigrams, ``articles._Similarity``), here helped by where they stand; and the same ``repair``
runs, over the page in reading order (so damaged outlet lines are found) and then over each
article's own text.
"""

from __future__ import annotations

import bisect
import re
import statistics
from collections import Counter
from dataclasses import dataclass, field

from qa.ingest.articles import Part, _article, _Similarity
from qa.ingest.layout import CAPTION, OUTLET, clean_title, ends_sentence, join_body
from qa.ingest.repair import repair
from qa.types import Article

# Type sizes relative to the body size: a kicker is set at least ~1.25 times the body, captions
# and running heads at most ~0.9 times.
LARGE, SMALL = 1.18, 0.92
BOLD_LARGE = 1.05        # …or bold and at least this much larger
BOLD_WEIGHT = 550
MIN_TITLE_SCORE = 0.25   # similarity (0–1) plus the bonus for standing next to the article
NEAR_BONUS = 0.3
NEXT_BONUS = 0.1
MODULE_GAP = 3.0         # a title's body starts at most this many sizes under it


@dataclass
class Glyph:
    text: str
    x0: float
    x1: float
    top: float          # page coordinates, y growing downwards
    bottom: float
    base: float         # baseline
    size: float         # type size in points, scaled as drawn
    bold: bool
    seq: int = 0        # position in the page's content: a line's glyphs are written together
    made: bool = False  # a space PDFium put in: kept only where the glyphs stand apart


@dataclass
class Box:
    x0: float
    x1: float
    top: float
    bottom: float

    @property
    def width(self) -> float:
        return self.x1 - self.x0

    def x_overlap(self, other: "Box") -> float:
        return max(0.0, min(self.x1, other.x1) - max(self.x0, other.x0))


@dataclass
class Line(Box):
    text: str = ""
    size: float = 0.0
    bold: bool = False
    seq: tuple[int, int] = (0, 0)  # first and last glyph's position in the page's content
    kind: str = "body"           # body | head | small
    col: Box | None = None       # the column extent a body line belongs to
    raw: str = ""                # the text as printed, before any repair


@dataclass
class Block(Box):
    kind: str = "body"           # body | head | small | caption | image
    lines: list[Line] = field(default_factory=list)

    @classmethod
    def of(cls, kind: str, lines: list[Line]) -> "Block":
        return cls(min(l.x0 for l in lines), max(l.x1 for l in lines),
                   min(l.top for l in lines), max(l.bottom for l in lines), kind, lines)

    def add(self, line: Line) -> None:
        self.lines.append(line)
        self.x0, self.x1 = min(self.x0, line.x0), max(self.x1, line.x1)
        self.top, self.bottom = min(self.top, line.top), max(self.bottom, line.bottom)


@dataclass
class Run:
    """An article's body as it is read: paragraphs of lines, ended by an outlet line or not,
    and the title and caption blocks given to it."""
    paragraphs: list[list[Line]] = field(default_factory=list)
    source: str | None = None
    closed: bool = False          # ended by its outlet line
    heads: list[Block] = field(default_factory=list)
    captions: list[Block] = field(default_factory=list)
    jumped: int | None = None     # lines before it ran on below another article

    @property
    def lines(self) -> list[Line]:
        return [l for p in self.paragraphs for l in p]

    @property
    def head_lines(self) -> list[Line]:
        return [l for h in self.heads for l in h.lines]

    @property
    def caption_lines(self) -> list[Line]:
        return [l for b in self.captions for l in b.lines]

    @property
    def measure(self) -> float:
        """The width its title could take: its columns', or its title's own if wider. Columns
        it runs on in below another article (``jumped``) are not under its title."""
        cols = [l.col for l in self.lines[:self.jumped] if l.col is not None]
        width = max(c.x1 for c in cols) - min(c.x0 for c in cols) if cols else 0.0
        return max([width] + [h.width for h in self.heads])

    @property
    def box(self) -> Box:
        ls = self.lines
        return Box(min(l.x0 for l in ls), max(l.x1 for l in ls), min(l.top for l in ls),
                   max(l.bottom for l in ls))

    @property
    def texts(self) -> list[str]:
        return [join_body("".join(l.text for l in p)) for p in self.paragraphs]


# -- glyphs → lines ----------------------------------------------------------------------------

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
                if gap > 0.6 * g.size or gap > 0.2 * g.size and not _follows(prev.seq, g.seq):
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


def _follows(a: int, b: int) -> bool:
    """Written right after: PDFium puts at most a made-up space and line end between."""
    return 0 < b - a <= 3


def body_size(lines: list[Line]) -> float:
    """The size most characters on the page are set in."""
    counts = Counter()
    for l in lines:
        counts[round(l.size * 4) / 4] += len(l.text)
    return counts.most_common(1)[0][0] if counts else 0.0


# -- lines → blocks ----------------------------------------------------------------------------

def _columns(lines: list[Line], size: float) -> None:
    """Give each body line the column it stands in: the extent shared by at least three lines
    nearest to it that holds it (an indented or short line lies inside its column's extent)."""
    tol = 0.35 * size
    clusters: list[list[Line]] = []
    for l in sorted(lines, key=lambda l: (l.x0, l.x1)):
        for c in clusters:
            if abs(c[0].x0 - l.x0) <= tol and abs(c[0].x1 - l.x1) <= tol:
                c.append(l)
                break
        else:
            clusters.append([l])
    extents = [Box(statistics.median(l.x0 for l in c), statistics.median(l.x1 for l in c), 0, 0)
               for c in clusters if len(c) >= 3]
    # Indented first lines share an extent too, inside their column's: only the widest extent
    # sharing an edge with others is a column.
    cols = []
    for e in extents:
        if not any(o is not e and o.x0 - tol <= e.x0 and e.x1 <= o.x1 + tol and o.width > e.width
                   and (abs(o.x0 - e.x0) <= tol or abs(o.x1 - e.x1) <= tol) for o in extents):
            cols.append((e, sorted(l.top for c in clusters for l in c
                                   if e.x0 - tol <= l.x0 and l.x1 <= e.x1 + tol)))
    for l in lines:
        best, best_key = None, None
        for col, tops in cols:
            # a closing mark may hang past the column's edge
            if col.x0 - tol <= l.x0 and l.x1 <= col.x1 + 1.1 * size and l.x0 < col.x1:
                i = bisect.bisect_left(tops, l.top)
                near = min(abs(tops[j] - l.top) for j in (i - 1, i) if 0 <= j < len(tops))
                key = (round(near / size), col.width)
                if best_key is None or key < best_key:
                    best, best_key = col, key
        l.col = best
    # Lines in no column (a short article, a few lines beside a picture) make their own, from
    # the lines stacked with them: their indents and short last lines still show.
    groups: list[list[Line]] = []
    for l in sorted((l for l in lines if l.col is None), key=lambda l: l.top):
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
    _columns(lines, size)
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


def rows(lines: list[Line]) -> list[list[Line]]:
    """Lines on one baseline, left to right; rows top to bottom."""
    out: list[list[Line]] = []
    for l in sorted(lines, key=lambda l: l.bottom):
        if out and abs(out[-1][0].bottom - l.bottom) <= 0.3 * l.size:
            out[-1].append(l)
        else:
            out.append([l])
    return [sorted(r, key=lambda l: l.x0) for r in out]


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
                0 <= l.x0 - last.x1 <= 2.5 * l.size and _follows(last.seq[1], l.seq[0])
            below = 0 <= l.top - last.bottom <= gap * max(l.size, last.size) and \
                any(o.x_overlap(l) > 0 for o in b.lines if o.bottom >= last.top)
            if beside or below:
                b.add(l)
                break
        else:
            blocks.append(Block.of(kind, [l]))
    return blocks


# -- reading order -----------------------------------------------------------------------------

def reading_order(blocks: list[Block], size: float) -> list[Block]:
    """Recursive XY cut over modules: a title with the body it stands over, and whatever lies
    among that body (a picture, a caption), is cut as one box, read title first. So a title is
    never cut off the body under it, and an article that runs on below another one's module is
    read after that whole module."""
    modules: list[list[Block]] = []
    taken: set[int] = set()
    for head_id, under in _territories(blocks, size).items():
        head = next(b for b in blocks if id(b) == head_id)
        if min(b.top - head.bottom for b in under) > MODULE_GAP * size:
            continue
        box = Box(min(b.x0 for b in under), max(b.x1 for b in under), head.bottom,
                  max(b.bottom for b in under))
        ids = {id(b) for b in under}
        members = [b for b in blocks if b.kind != "head" and id(b) not in taken and
                   (id(b) in ids or box.x0 - 1 <= b.x0 and b.x1 <= box.x1 + 1 and
                    box.top - 1 <= b.top and b.bottom <= box.bottom + 1)]
        taken.update(id(b) for b in members)
        taken.add(head_id)
        modules.append([head, *_xy_cut([[b] for b in members])])
    modules += [[b] for b in blocks if id(b) not in taken]
    return _xy_cut(modules)


def _closes(head: Block, blocks: list[Block], size: float) -> bool:
    """A title set under its own body: a body across it ends closer above it than anything
    across it (text, a picture) starts below it."""
    def gaps(pairs):
        return min((g for b, g in pairs if b is not head and b.x_overlap(head) > 0 and
                    g >= -0.5 * size), default=float("inf"))
    above = gaps((b, head.top - b.bottom) for b in blocks if b.kind == "body")
    below = gaps((b, b.top - head.bottom) for b in blocks)
    return above < below


def _xy_cut(units: list[list[Block]]) -> list[Block]:
    """Split at white space running across the whole region, rows first, then columns; a
    region that cannot be cut is read top to bottom. A unit's blocks stay together, in their
    order."""
    if len(units) <= 1:
        return [b for u in units for b in u]
    boxes = [Box(min(b.x0 for b in u), max(b.x1 for b in u), min(b.top for b in u),
                 max(b.bottom for b in u)) for u in units]
    for lo, hi in (("top", "bottom"), ("x0", "x1")):
        groups, reach = [], None
        for k in sorted(range(len(units)), key=lambda k: getattr(boxes[k], lo)):
            if reach is None or getattr(boxes[k], lo) > reach + 0.1:
                groups.append([])
                reach = getattr(boxes[k], hi)
            groups[-1].append(units[k])
            reach = max(reach, getattr(boxes[k], hi))
        if len(groups) > 1:
            return [b for g in groups for b in _xy_cut(g)]
    order = sorted(range(len(units)), key=lambda k: (boxes[k].top, boxes[k].x0))
    return [b for k in order for b in units[k]]


# -- the page ----------------------------------------------------------------------------------

def _by_picture(block: Box, im: Box, size: float) -> bool:
    """Right under a picture (or right over it), across it."""
    return block.x_overlap(im) >= 0.5 * min(block.width, im.width) and (
        -0.5 * size <= block.top - im.bottom <= 2.5 * size or
        -0.5 * size <= im.top - block.bottom <= 2.5 * size)


def _is_caption(block: Block, images: list[Box], size: float) -> bool:
    return any(_by_picture(block, im, size) for im in images) or \
        CAPTION.search("".join(l.text for l in block.lines)) is not None


def _join_title(lines: list[Line], measure: float) -> str:
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


class Page:
    """A page's glyphs and pictures → its articles."""

    def __init__(self, glyphs: list[Glyph], images: list[Box]):
        self.lines = make_lines(glyphs)
        self.size = body_size(self.lines)
        self.images = [im for im in images
                       if im.width > 2 * self.size and im.bottom - im.top > 2 * self.size]

    def text_bytes(self) -> int:
        return sum(len(l.text.encode()) + 1 for l in self.lines)

    def blocks(self) -> list[Block]:
        size = self.size
        body_weight_bold = sum(len(l.text) for l in self.lines if l.bold) * 2 > \
            sum(len(l.text) for l in self.lines)
        for l in self.lines:
            # a title set barely larger than the body stands out by its weight
            large = l.size >= LARGE * size or \
                l.size >= BOLD_LARGE * size and l.bold and not body_weight_bold
            l.kind = "head" if large else "small" if l.size <= SMALL * size else "body"
        heads = stacked_blocks([l for l in self.lines if l.kind == "head"], "head", 0.6)
        # A title is no paragraph: a large block holding full stops or many lines is a lead
        # set large, read as body text.
        for b in heads:
            text = "".join(l.text for l in b.lines)
            if len(b.lines) > 5 or sum(text.count(c) for c in "。！？") >= 2:
                for l in b.lines:
                    l.kind = "body"
        heads = [b for b in heads if b.lines[0].kind == "head"]
        # A body-size bold line that touches a title (a kicker, a subtitle) is part of it.
        if not body_weight_bold:
            for l in self.lines:
                if l.kind == "body" and l.bold and not ends_sentence(l.text) and "。" not in l.text:
                    for b in heads:
                        if b.x_overlap(l) > 0 and (0 <= l.top - b.bottom <= 1.2 * l.size or
                                                   0 <= b.top - l.bottom <= 1.2 * l.size):
                            l.kind = "head"
                            b.add(l)
                            break
        smalls = stacked_blocks([l for l in self.lines if l.kind == "small"], "small", 0.8)
        main = [l for l in self.lines if l.kind != "small"] + self.images
        top = min((l.top for l in main), default=0.0)
        bottom = max((l.bottom for l in main), default=0.0)
        kept = []
        for b in smalls:
            text = "".join(l.text for l in b.lines)
            if (b.bottom <= top + 0.5 * size or b.top >= bottom - 0.5 * size) and \
                    not CAPTION.search(text):
                continue                      # running head or foot, above or below it all
            if _is_caption(b, self.images, size):
                b.kind = "caption"
                kept.append(b)
            else:
                for l in b.lines:             # small type of its own: a brief, a note
                    l.kind = "body"
        body = [l for l in self.lines if l.kind == "body"]
        obstacles = [*heads, *kept, *self.images]
        blocks, self.pitch = body_blocks(body, size, obstacles) if body else ([], 1.5 * size)
        pictures = [Block(im.x0, im.x1, im.top, im.bottom, "image") for im in self.images]
        return reading_order([*blocks, *heads, *kept, *pictures], size)

    def articles(self, issue: str, page: int) -> list[Article]:
        order = self.blocks()
        for b in order:
            for l in b.lines:
                l.raw = l.text
        # The repair twice: over the page in reading order, so that damaged outlet lines
        # (`渊据…冤`) end their articles; then over each article's own text in turn (title,
        # body, captions), its best context, from the text as printed.
        _repair([l for b in order for l in b.lines])
        runs, heads, captions = self._runs(order)
        if not runs:
            return []
        self._titles(runs, heads)
        for block in captions:
            self._caption(block, runs)
        runs = self._merge_orphans(runs)
        lines = [l for r in runs for l in (*r.head_lines, *r.lines, *r.caption_lines)]
        for l in lines:
            l.text = l.raw[:len(l.text)]
        _repair(lines)
        out = []
        for r in runs:
            title = _join_title(r.head_lines, r.measure) if r.heads else None
            captions = [join_body("".join(l.text for l in b.lines)) for b in r.captions]
            part = Part([t for t in r.texts if t], source=r.source, title=title,
                        captions=captions)
            if part.paragraphs:
                out.append(_article(part, issue, page))
        return out

    # -- stages ----------------------------------------------------------------------------

    def _runs(self, order: list[Block]) -> tuple[list[Run], list[tuple[Block, int]], list[Block]]:
        """Body lines in reading order → runs, cut at outlet lines and titles, and where a
        paragraph starts right under a title (neighbouring articles' titles may both be read
        before either body); a run interrupted by a title in mid-sentence goes on where a line
        continues it without an indent."""
        runs: list[Run] = []
        heads: list[tuple[Block, int]] = []       # (title block, how many runs came before)
        captions: list[Block] = []
        body: list[tuple[Line, bool]] = []        # (line, first in its block)
        current: Run | None = None
        starts = _title_starts(order, self.size)
        for block in order + [Block(0, 0, 0, 0, "end")]:
            if block.kind == "body":
                body += [(l, i == 0) for i, l in enumerate(block.lines)]
                continue
            for line, first in _split_outlets(body):
                m = OUTLET.search(line.text)
                if m:                         # the outlet may follow the body's last words
                    line.text = line.text[:m.start()].rstrip()
                if line.text:
                    if id(line) in starts and (starts[id(line)] or _indented(line, self.size)):
                        current = None        # a title's body begins
                    elif current is None:
                        current = self._resume(runs, line)
                    elif first:               # an article left off in mid-sentence elsewhere
                        current = self._jumped_to(runs, line, current) or current
                    if current is None:
                        current = Run()
                        runs.append(current)
                    self._add(current, line, first)
                if m and current is not None:
                    current.source, current.closed = _source(m), True
                    current = None
            body = []
            if block.kind == "head":
                heads.append((block, len(runs)))
                current = None
            elif block.kind == "caption":
                captions.append(block)
        return runs, heads, captions

    def _resume(self, runs: list[Run], line: Line) -> Run | None:
        """The run a line continues after a title or another article came between: the latest
        open run that ended in mid-sentence at its column's end, when this line is no new
        paragraph. (An article may run on in the next column below another one's end.)"""
        if _indented(line, self.size):
            return None
        if runs and _left_off(runs[-1], self.size):
            return runs[-1]
        return self._jumped_to(runs, line)

    def _jumped_to(self, runs: list[Run], line: Line, current: Run | None = None) -> Run | None:
        """The run a line continues below another article: one that left off in mid-sentence
        at its column's end, where this line stands as its next column's text would."""
        if _indented(line, self.size) or \
                current is not None and not ends_sentence(current.paragraphs[-1][-1].text):
            return None
        for run in reversed(runs):
            if run is not current and _left_off(run, self.size) and self._runs_on(run, line):
                run.jumped = len(run.lines) if run.jumped is None else run.jumped
                return run
        return None

    def _runs_on(self, run: Run, line: Line) -> bool:
        """Where an article runs on below another one: in a column right of the one it left
        off in, lower than its body starts and not (much) lower than where it left off."""
        first, last = run.lines[0], run.lines[-1]
        return line.x0 > last.x0 + self.size and \
            first.top + 2 * self.size < line.top < last.bottom + 2 * self.size

    def _add(self, run: Run, line: Line, first_in_block: bool) -> None:
        """A line starts a paragraph when it is indented, follows a short line that ends a
        sentence, or stands apart by more than a line's usual spacing."""
        size = self.size
        prev = run.paragraphs[-1][-1] if run.paragraphs else None
        new = prev is None or _indented(line, size)
        if prev is not None and not new:
            short = prev.col is not None and prev.x1 < prev.col.x1 - 1.0 * size
            same_col = prev.col is line.col and not first_in_block
            gap = same_col and line.top - prev.top > 1.3 * self.pitch
            new = (short and ends_sentence(prev.text)) or gap
        if new:
            run.paragraphs.append([line])
        else:
            run.paragraphs[-1].append(line)

    def _titles(self, runs: list[Run], heads: list[tuple[Block, int]]) -> None:
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
                if _near(h, boxes[j], self.size):
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

    def _caption(self, block: Block, runs: list[Run]) -> None:
        text = join_body("".join(l.text for l in block.lines))
        sim = _Similarity(["\n".join(r.texts) for r in runs])
        anchor = next((im for im in self.images if _by_picture(block, im, self.size)), block)

        def score(j: int) -> float:
            box = runs[j].box
            inside = anchor.x_overlap(box) >= 0.5 * min(anchor.width, box.width) and \
                box.top - 4 * self.size <= anchor.top <= box.bottom + 4 * self.size
            return sim(text, j) + (0.5 if inside else 0.0)
        runs[max(range(len(runs)), key=score)].captions.append(block)

    def _merge_orphans(self, runs: list[Run]) -> list[Run]:
        """Text with neither title nor outlet line is the rest of an article that has no outlet
        line, when there is one with a title; the most similar takes it. Text with an outlet
        line but no title is the end of such an article when it stands where that one runs on
        below another article (of several, the most similar); each article takes one end."""
        homes = [j for j, r in enumerate(runs) if r.heads and not r.closed]
        orphans = [j for j, r in enumerate(runs) if not r.heads]
        if not homes or not orphans or len(runs) == 1:
            return runs
        texts = ["\n".join(r.texts) for r in runs]
        sim = _Similarity(texts)
        merged = set()
        for j in sorted(orphans, key=lambda j: runs[j].closed):
            if runs[j].closed:
                near = [h for h in homes if not runs[h].closed and
                        self._runs_on(runs[h], runs[j].lines[0])]
                home = max(near, key=lambda h: sim(texts[j], h), default=None)
                if home is None:
                    continue
                runs[home].source, runs[home].closed = runs[j].source, True
                if runs[home].jumped is None:
                    runs[home].jumped = len(runs[home].lines)
            else:
                home = max(homes, key=lambda h: sim(texts[j], h))
            runs[home].paragraphs += runs[j].paragraphs
            runs[home].captions += runs[j].captions
            merged.add(j)
        return [r for j, r in enumerate(runs) if j not in merged]


def _repair(lines: list[Line]) -> None:
    """The same repair as a text page's, over these lines in this order; it keeps every
    character in place, so the repaired text goes back line by line."""
    fixed = repair("\n".join(l.text for l in lines)).split("\n")
    for l, t in zip(lines, fixed):
        l.text = t


def _territories(blocks: list[Block], size: float) -> dict[int, list[Block]]:
    """The body blocks right under each title: of the columns whose nearest title above is this
    one (no text between, pictures and captions aside; the closest across the block, or of
    titles on one row the nearest beside it), the first block. A centred or short title may
    stand over none of its first column. Titles set under their own body have none."""
    text = [b for b in blocks if b.kind in ("head", "body")]
    heads = [b for b in blocks if b.kind == "head" and not _closes(b, blocks, size)]
    territory: dict[int, list[Block]] = {}
    for b in sorted((b for b in blocks if b.kind == "body"), key=lambda b: (b.top, b.x0)):
        above = [h for h in heads if h.bottom <= b.top + 0.5 * size and not any(
            o is not h and o is not b and o.x_overlap(b) > 0 and o.top < b.top and
            o.bottom > h.bottom for o in text)]
        across = [h for h in above if h.x_overlap(b) > 0]
        if across:
            best = min(across, key=lambda h: b.top - h.bottom)
        elif above:
            nearest = min(b.top - h.bottom for h in above)
            row = [h for h in above if b.top - h.bottom <= nearest + 2 * size]
            best = min(row, key=lambda h: (max(0.0, h.x0 - b.x1, b.x0 - h.x1), b.top - h.bottom))
        else:
            continue
        territory.setdefault(id(best), []).append(b)
    return territory


def _title_starts(order: list[Block], size: float) -> dict[int, bool]:
    """The first line of each title's body: the first read of the blocks under it; and
    whether it stands right under it (then it begins that body even without an indent)."""
    first = {id(b): i for i, b in enumerate(order)}
    heads = {id(b): b for b in order if b.kind == "head"}
    starts = {}
    for head_id, under in _territories(order, size).items():
        block = min(under, key=lambda b: first[id(b)])
        starts[id(block.lines[0])] = block.top - heads[head_id].bottom <= MODULE_GAP * size
    return starts


def _left_off(run: Run, size: float) -> bool:
    """Open and stopped in mid-sentence at its column's end: it goes on elsewhere."""
    last = run.paragraphs[-1][-1]
    full = last.col is None or last.x1 >= last.col.x1 - 0.6 * size
    return not run.closed and full and not ends_sentence(last.text)


def _stacked(a: Block, b: Block) -> bool:
    """Set right above or below each other, across each other: parts of one title."""
    size = max(a.lines[0].size, b.lines[0].size)
    return a.x_overlap(b) >= 0.5 * min(a.width, b.width) and \
        (0 <= b.top - a.bottom <= size or 0 <= a.top - b.bottom <= size)


def _indented(line: Line, size: float) -> bool:
    return line.col is not None and line.x0 - line.col.x0 >= 0.8 * size


def _source(m: re.Match) -> str | None:
    return re.sub(r"[《》〈〉\s]", "", m.group(1)) or None


def _split_outlets(body: list[tuple[Line, bool]]) -> list[tuple[Line, bool]]:
    """An outlet line broken across two lines (`（据阜阳市人民` / `政府官网）`) moves whole onto
    the second, so it is found like any other."""
    for (a, _), (b, _) in zip(body, body[1:]):
        if OUTLET.search(a.text) or not re.search(r"[）)]\s*$", b.text):
            continue
        m = OUTLET.search(a.text + b.text)
        if m and m.start() < len(a.text):
            b.text = (a.text + b.text)[m.start():]
            a.text = a.text[:m.start()].rstrip()
    return [(l, first) for l, first in body if l.text]


__all__ = ["Box", "Glyph", "Page"]
