"""The page: its lines, blocks and reading order, and the runs of body lines that become its
articles (an outlet line ends one; a title starts one; an article left off in mid-sentence is
taken up where it runs on)."""

from __future__ import annotations

import re

from qa.ingest.articles import Part, _article, _Similarity
from qa.ingest.layout import CAPTION, OUTLET, ends_sentence, join_body
from qa.ingest.pdfpage.columns import body_blocks, stacked_blocks
from qa.ingest.pdfpage.lines import body_size, classify, make_lines
from qa.ingest.pdfpage.order import reading_order, title_starts
from qa.ingest.pdfpage.shapes import Block, Box, Glyph, Line, Run
from qa.ingest.pdfpage.titles import give_titles, join_title, title_blocks
from qa.ingest.repair import repair
from qa.types import Article


class Page:
    """A page's glyphs and pictures → its articles."""

    def __init__(self, glyphs: list[Glyph], images: list[Box], weights: bool = True):
        """``weights``: whether the glyphs say if they are bold (a scan's do not)."""
        self.weights = weights
        self.lines = make_lines(glyphs)
        self.size = body_size(self.lines)
        self.images = [im for im in images
                       if im.width > 2 * self.size and im.bottom - im.top > 2 * self.size]

    def text_bytes(self) -> int:
        return sum(len(l.text.encode()) + 1 for l in self.lines)

    def blocks(self) -> list[Block]:
        """The page's blocks in reading order: body blocks down their columns, titles, captions
        and pictures (small type above or below everything else is the running head or foot,
        and is dropped)."""
        size = self.size
        body_bold = classify(self.lines, size, self.weights)
        heads = title_blocks(self.lines, body_bold)
        captions = self._captions()
        body = [l for l in self.lines if l.kind == "body"]
        obstacles = [*heads, *captions, *self.images]
        blocks, self.pitch = body_blocks(body, size, obstacles) if body else ([], 1.5 * size)
        pictures = [Block(im.x0, im.x1, im.top, im.bottom, "image") for im in self.images]
        return reading_order([*blocks, *heads, *captions, *pictures], size)

    def _captions(self) -> list[Block]:
        """Small type stacked into blocks: a caption by a picture (or marked as one) is kept;
        above or below everything else it is the running head or foot; anything else (a brief,
        a note) is read as body text."""
        size = self.size
        smalls = stacked_blocks([l for l in self.lines if l.kind == "small"], "small", 0.8)
        main = [l for l in self.lines if l.kind != "small"] + self.images
        top = min((l.top for l in main), default=0.0)
        bottom = max((l.bottom for l in main), default=0.0)
        kept = []
        for b in smalls:
            text = "".join(l.text for l in b.lines)
            if (b.bottom <= top + 0.5 * size or b.top >= bottom - 0.5 * size) and \
                    not CAPTION.search(text):
                continue
            if _is_caption(b, self.images, size):
                b.kind = "caption"
                kept.append(b)
            else:
                for l in b.lines:
                    l.kind = "body"
        return kept

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
        give_titles(runs, heads, self.size)
        for block in captions:
            self._caption(block, runs)
        runs = self._merge_orphans(runs)
        lines = [l for r in runs for l in (*r.head_lines, *r.lines, *r.caption_lines)]
        for l in lines:
            l.text = l.raw[:len(l.text)]
        _repair(lines)
        out = []
        for r in runs:
            title = join_title(r.head_lines, r.measure) if r.heads else None
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
        starts = title_starts(order, self.size)
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


def _by_picture(block: Box, im: Box, size: float) -> bool:
    """Right under a picture (or right over it), across it."""
    return block.x_overlap(im) >= 0.5 * min(block.width, im.width) and (
        -0.5 * size <= block.top - im.bottom <= 2.5 * size or
        -0.5 * size <= im.top - block.bottom <= 2.5 * size)


def _is_caption(block: Block, images: list[Box], size: float) -> bool:
    return any(_by_picture(block, im, size) for im in images) or \
        CAPTION.search("".join(l.text for l in block.lines)) is not None


def _repair(lines: list[Line]) -> None:
    """The same repair as a text page's, over these lines in this order; it keeps every
    character in place, so the repaired text goes back line by line."""
    fixed = repair("\n".join(l.text for l in lines)).split("\n")
    for l, t in zip(lines, fixed):
        l.text = t


def _left_off(run: Run, size: float) -> bool:
    """Open and stopped in mid-sentence at its column's end: it goes on elsewhere."""
    last = run.paragraphs[-1][-1]
    full = last.col is None or last.x1 >= last.col.x1 - 0.6 * size
    return not run.closed and full and not ends_sentence(last.text)


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
