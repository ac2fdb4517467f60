"""The records a page is read into: glyphs, boxes, lines, blocks, and an article's run of
lines; and the two geometric helpers every stage uses."""

from __future__ import annotations

from dataclasses import dataclass, field

from qa.ingest.layout import join_body


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


def rows(lines: list[Line]) -> list[list[Line]]:
    """Lines on one baseline, left to right; rows top to bottom."""
    out: list[list[Line]] = []
    for l in sorted(lines, key=lambda l: l.bottom):
        if out and abs(out[-1][0].bottom - l.bottom) <= 0.3 * l.size:
            out[-1].append(l)
        else:
            out.append([l])
    return [sorted(r, key=lambda l: l.x0) for r in out]


def follows(a: int, b: int) -> bool:
    """Written right after: PDFium puts at most a made-up space and line end between."""
    return 0 < b - a <= 3
