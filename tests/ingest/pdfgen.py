"""Lay out the 19 seed articles as newspaper PDF pages, as a newsroom's layout tool would.

The articles are those of ``data/seed_parsed.jsonl`` (see relayout.py). reportlab sets them in its
built-in CJK font, STSong-Light (an Adobe-GB1 CID font: no font file needed), and titles in a second
face named ``STSong-Light,Bold`` — the PDF way of asking for the bold variant of a font, which PDF
readers report as weight 600+. A page has:

* a running head in small type over a rule (page furniture, part of no article);
* a grid of 2–4 columns, 10–20 characters wide, body type 9–11 pt; each article is a *module* of
  one or more adjacent columns; modules sit side by side or stacked in bands; the body runs down
  one column and on at the top of the next, columns balanced, lines justified, the first line of
  a paragraph indented two characters (by position, or by two ideographic spaces);
* titles 1.6–2.6 times the body size in the bold face, above or below their module, on one line
  or broken at their space, or wrapped; a `地名：` kicker or a first part sometimes on its own line
  in smaller type;
* the outlet line `（据…）` after the body's last line or on a line of its own, left or right;
* captions in small type under (sometimes over) a picture (a raster image) at the top of the
  module or of its first column;
* what layout programs differ in: paragraphs marked by an indent or by extra space, text drawn
  a line at a time or glyph by glyph, at its size or at size 1 scaled by the text matrix, rules
  between columns and modules or none.
* for damaged articles, every mark printed as the character 0x31 GB2312 rows on, as a font with a
  wrong encoding shows it (``relayout.misencode``; the lines are set first, then printed).

STSong-Light is named, not embedded: a PDF reader draws it from a font of its own, and qa's
(``qa.ingest.pdffont``) draws boxes. With ``embed_fonts`` the page is printed in real embedded
faces instead, so that it can be rendered to an image (scangen.py): body type, captions and the
running head in a Song face, titles and kickers in a Hei face (fonts/scan-serif.ttf and
fonts/scan-sans.ttf, subsets of Noto Serif/Sans CJK SC made by make_scan_fonts.py). Lines are
set by those faces' own widths (their Latin letters and digits are narrower or wider than
STSong-Light's), so the same seed gives the same styles but not always the same line breaks.

Everything is drawn from a ``random.Random(seed)`` and reportlab's invariant mode, so the same
seed gives the same bytes.
"""

from __future__ import annotations

import copy
import io
import random
from dataclasses import dataclass, field
from pathlib import Path

from .relayout import SeedArticle, _order, break_lines, load_articles, misencode, outlet_line

BODY_FONT = "STSong-Light"
BOLD_FONT = "STSong-Light,Bold"
FONT_DIR = Path(__file__).parent / "fonts"
# the faces printed for BODY_FONT and BOLD_FONT with embed_fonts
EMBEDDED = {BODY_FONT: "ScanSerif", BOLD_FONT: "ScanHei"}
_FONTS_READY = False
_EMBEDDED_READY = False
# BODY_FONT/BOLD_FONT → the face printed while make_pdf runs (one make_pdf at a time)
_faces: dict[str, str] = {}


def _register_fonts() -> None:
    global _FONTS_READY
    if _FONTS_READY:
        return
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import CIDFontInfo, UnicodeCIDFont, structToPDF

    class BoldCIDFont(UnicodeCIDFont):
        """STSong-Light's glyphs and metrics under the bold name and a heavier stem."""

        def __init__(self, face: str):
            super().__init__(face)
            self.name = self.fontName = face + ",Bold"

        def addObjects(self, doc):
            internal = "F" + repr(len(doc.fontMapping) + 1)
            font = copy.deepcopy(CIDFontInfo[self.face.name])
            font.update(Name="/" + internal, Encoding="/" + self.encodingName,
                        BaseFont="/" + self.name)
            desc = font["DescendantFonts"][0]
            desc["BaseFont"] = "/" + self.name
            desc["FontDescriptor"].update(FontName=desc["FontDescriptor"]["FontName"] + ",Bold",
                                          StemV=140, Flags=6 | 1 << 18)   # ForceBold
            doc.idToObject["BasicFonts"].dict[internal] = doc.Reference(structToPDF(font),
                                                                        internal)
            doc.fontMapping[self.name] = "/" + internal

    pdfmetrics.registerFont(UnicodeCIDFont(BODY_FONT))
    pdfmetrics.registerFont(BoldCIDFont(BODY_FONT))
    _FONTS_READY = True


def _register_embedded() -> None:
    global _EMBEDDED_READY
    if _EMBEDDED_READY:
        return
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    pdfmetrics.registerFont(TTFont(EMBEDDED[BODY_FONT], str(FONT_DIR / "scan-serif.ttf")))
    pdfmetrics.registerFont(TTFont(EMBEDDED[BOLD_FONT], str(FONT_DIR / "scan-sans.ttf")))
    _EMBEDDED_READY = True


def _face(font: str) -> str:
    return _faces.get(font, font)


def width(text: str, size: float, font: str = BODY_FONT) -> float:
    from reportlab.pdfbase.pdfmetrics import stringWidth

    return stringWidth(text, _face(font), size)


def set_lines(text: str, measure: float, size: float, first_indent: float = 0.0,
              font: str = BODY_FONT) -> list[str]:
    """Break ``text`` into lines of at most ``measure`` points, by the typesetter's rules: no
    closing mark starts a line (it hangs at the end of the one before), no opening mark ends one
    (it moves down), numbers and Latin words stay whole."""
    return break_lines(text, measure - first_indent + 0.01, measure + 0.01,
                       lambda s: width(s, size, font))


# -- a page, as drawing operations -------------------------------------------------------------

@dataclass
class Op:
    kind: str                  # text | image | rule
    x: float
    y: float                   # from the top of the page: baseline (text), top (image, rule)
    text: str = ""
    font: str = BODY_FONT
    size: float = 0.0
    char_space: float = 0.0
    measure: float = 0.0       # justified to this width, glyph by glyph
    w: float = 0.0
    h: float = 0.0
    color: tuple = (0.5, 0.5, 0.5)


@dataclass
class Style:
    columns: int
    chars: int                 # characters per column line
    size: float                # body type, pt
    leading: float             # line pitch / size
    gutter: float              # between columns, in body ems
    title_scale: float
    kicker_scale: float
    caption_scale: float
    centred_titles: bool
    space_as_char: bool        # a title's space printed as a character, else as a gap
    indent_as_char: bool
    para_space: bool           # paragraphs set apart by half a line instead of an indent
    by_glyph: bool             # each glyph placed on its own, as some layout programs write
    scaled: bool               # text at size 1, scaled by the text matrix
    rules: bool                # rules between columns and around modules
    caption_above: bool
    min_title: float = 1.4     # the smallest title, in body sizes

    @property
    def colw(self) -> float:
        return self.chars * self.size

    @property
    def pitch(self) -> float:
        return self.size * self.leading

    @classmethod
    def draw(cls, rng: random.Random, columns: int | None = None) -> "Style":
        columns = columns or rng.randint(2, 4)
        return cls(columns=columns, chars=rng.randint(10 if columns > 2 else 14, 20),
                   size=rng.choice([9.0, 9.5, 10.0, 10.5, 11.0]),
                   leading=rng.uniform(1.3, 1.7), gutter=rng.uniform(1.0, 2.0),
                   title_scale=rng.uniform(1.6, 2.6), kicker_scale=rng.uniform(1.25, 1.5),
                   caption_scale=rng.uniform(0.72, 0.85), centred_titles=rng.random() < 0.5,
                   space_as_char=rng.random() < 0.5, indent_as_char=rng.random() < 0.3,
                   para_space=rng.random() < 0.2, by_glyph=rng.random() < 0.25,
                   scaled=rng.random() < 0.3, rules=rng.random() < 0.4,
                   caption_above=rng.random() < 0.2)


@dataclass
class Jump:
    """A body that fills its column past ``below`` (``extra`` rows more) and runs on in the
    ``columns`` columns to the right, under another article that ends at ``below``."""
    below: float
    extra: int
    columns: int


@dataclass
class Placement:
    """How one article was laid out: what a failure report shows."""
    article: SeedArticle
    page: int                  # 1-based, within its PDF
    columns: int
    title_pos: str             # above | below | none
    title_lines: int
    kicker: bool
    image: str                 # none | wide | column
    outlet_inline: bool
    damaged: bool
    jumped: bool = False       # runs on in the next column, below another article

    def __str__(self) -> str:
        return (f"#{self.article.key} page {self.page}: columns={self.columns} "
                f"title={self.title_pos}/{self.title_lines} lines kicker={self.kicker} "
                f"image={self.image} outlet_inline={self.outlet_inline} damaged={self.damaged}"
                f" jumped={self.jumped}")


def _widest_part(title: str) -> float:
    """The width of a title's longest part (between spaces) at 1 pt."""
    return max(width(p, 1.0, BOLD_FONT) for p in title.split(" ") if p)


def _span_needed(a: SeedArticle, style: Style) -> int:
    """The fewest columns whose width holds the title's longest part at its smallest size."""
    if not a.title:
        return 1
    need = _widest_part(a.title) * style.size * style.min_title / 0.85
    for k in range(1, style.columns + 1):
        if k * style.colw + (k - 1) * style.gutter * style.size >= need:
            return k
    return style.columns


def _fit(text: str, measure: float, size: float) -> list[str]:
    """A title's lines: broken at its spaces, a part too long for the measure wrapped."""
    lines, line = [], ""
    for part in text.split(" "):
        joined = f"{line} {part}" if line else part
        # a space printed as a gap is one em wide
        if width(joined.replace(" ", "\u3000"), size, BOLD_FONT) <= measure:
            line = joined
            continue
        if line:
            lines.append(line)
        wrapped = set_lines(part, measure, size, font=BOLD_FONT)
        lines += wrapped[:-1]
        line = wrapped[-1]
    return lines + [line]


def _title_lines(title: str, measure: float, style: Style,
                 rng: random.Random) -> tuple[list[tuple[str, float]], bool]:
    """(text, size) per line, and whether a kicker line stands above the main title."""
    colon = title.find("：")
    kicker, rest = "", title
    if 0 < colon <= 10 and colon < len(title) - 1 and rng.random() < 0.4:
        kicker, rest = title[:colon + 1], title[colon + 1:]
    elif " " in title and rng.random() < 0.25:
        kicker, rest = title.split(" ", 1)
    # An editor sets a title so that its longest part fits on a line with room to spare, but
    # not below style.min_title times the body; a longer part is wrapped.
    size = max(min(style.size * style.title_scale, 0.85 * measure / _widest_part(rest)),
               style.size * style.min_title)
    ksize = max(min(style.size * style.kicker_scale, size * 0.8), style.size)   # not below body
    lines = [(l, ksize) for l in _fit(kicker, measure, ksize)] if kicker else []
    lines += [(l, size) for l in _fit(rest, measure, size)]
    return lines, bool(kicker)


def _title_ops(lines: list[tuple[str, float]], x: float, y: float, measure: float, style: Style,
               enc) -> tuple[list[Op], float]:
    ops = []
    for text, size in lines:
        y += size
        pieces = [text] if style.space_as_char else text.split(" ")
        gap = size                                      # a space as a gap is one em wide
        total = sum(width(p, size, BOLD_FONT) for p in pieces) + gap * (len(pieces) - 1)
        px = x + (measure - total) / 2 if style.centred_titles else x
        for p in pieces:
            ops.append(Op("text", px, y, enc(p), BOLD_FONT, size))
            px += width(p, size, BOLD_FONT) + gap
        y += size * 0.3
    return ops, y


def _module(a: SeedArticle, x: float, ncols: int, style: Style, rng: random.Random,
            title_pos: str, damaged: bool, page: int,
            jump: "Jump | None" = None) -> tuple[list[Op], float, Placement]:
    """One article set in ``ncols`` columns from x; ops relative to the module's top. With a
    ``jump`` (one column only), the body fills that column past ``jump.below`` and runs on in
    the columns to its right, below it."""
    enc = misencode if damaged else (lambda s: s)
    size, pitch, colw = style.size, style.pitch, style.colw
    gutter = style.gutter * size
    measure = ncols * colw + (ncols - 1) * gutter
    ops: list[Op] = []
    y = 0.0
    tlines, kicker = _title_lines(a.title, measure, style, rng) if a.title else ([], False)
    if title_pos == "above":
        tops, y = _title_ops(tlines, x, y, measure, style, enc)
        ops += tops
        y += size * 0.8

    # the body: (text, indent, justified) per line, set before it is printed in the wrong font
    body: list[tuple[str, float, bool]] = []
    first_indent = 0.0 if style.para_space else 2 * size
    for n, par in enumerate(a.paragraphs):
        lines = set_lines(par, colw, size, first_indent=first_indent)
        if style.para_space and n:
            body.append(("", 0.0, False))     # half a line: two blank entries make one row
        for i, line in enumerate(lines):
            indent = first_indent if i == 0 else 0.0
            body.append((line, indent, i < len(lines) - 1))
    inline = False
    if a.source:
        ol = outlet_line(a.source)
        last, indent, _ = body[-1]
        inline = rng.random() < 0.5 and width(last + ol, size) + indent <= colw
        if inline:
            body[-1] = (last + ol, indent, False)
        elif width(ol, size) > colw:          # wider than the column: broken like text
            body += [(l, 0.0, False) for l in set_lines(ol, colw, size)]
        else:
            right = rng.random() < 0.5
            body.append((ol, colw - width(ol, size) if right else 0.0, False))

    # a picture with its caption at the top of the module or of its first column
    obstacle = [0.0] * ncols
    image = "none"
    if a.captions:
        image = "wide" if ncols >= 2 and rng.random() < 0.5 else "column"
        iw = measure if image == "wide" else colw
        ih = iw * rng.uniform(0.45, 0.65)
        csize = size * style.caption_scale
        cap = [l for c in a.captions for l in set_lines(c, iw, csize)]
        cap_h = len(cap) * csize * 1.3 + csize * 0.4
        img_y = y + cap_h if style.caption_above else y
        ops.append(Op("image", x, img_y, w=iw, h=ih,
                      color=(rng.random(), rng.random(), rng.random())))
        cy = y if style.caption_above else y + ih + csize * 0.4
        for line in cap:
            cy += csize * 1.3
            ops.append(Op("text", x, cy, enc(line), size=csize))
        used = ih + cap_h + size * 1.0
        for j in range(ncols if image == "wide" else 1):
            obstacle[j] = used

    # columns balanced: the fewest rows that hold every line below the obstacles
    skip = [int(-(-o // pitch)) for o in obstacle]
    rows = -(-(len(body) + sum(skip)) // ncols)
    while sum(max(0, rows - s) for s in skip) < len(body):
        rows += 1
    frames = [(x + j * (colw + gutter), y, skip[j], rows) for j in range(ncols)]
    if jump is not None:
        rows = max(int(-(-(jump.below - y) // pitch)) + jump.extra, skip[0] + 1)
        rest = max(0, len(body) - (rows - skip[0]))
        more = -(-rest // jump.columns)
        frames = [(x, y, skip[0], rows)] + [
            (x + j * (colw + gutter), jump.below + size * 1.6, 0, more)
            for j in range(1, jump.columns + 1)]
    k = 0
    for j, (cx, cy, first, last) in enumerate(frames):
        shift = 0.0                   # a paragraph's space is half a row: the rest moves up
        for r in range(first, last):
            if k == len(body):
                break
            text, indent, justified = body[k]
            k += 1
            if not text:
                shift += pitch / 2 if r > first else pitch   # none at a column's top
                continue
            if indent and style.indent_as_char and indent == 2 * size:
                text, indent = "\u3000\u3000" + text, 0.0
            printed = enc(text)
            natural = width(printed, size)
            # justified to the column; a line with closing marks hanging past it is squeezed
            squeeze = (justified or natural + indent > colw) and len(printed) > 1
            cs = (colw - indent - natural) / (len(printed) - 1) if squeeze else 0.0
            ops.append(Op("text", cx + indent, cy + r * pitch + size - shift, printed, size=size,
                          char_space=cs, measure=colw - indent if squeeze else 0.0))
        if style.rules and j and jump is None:
            ops.append(Op("vrule", cx - gutter / 2, y, h=rows * pitch))
    y += rows * pitch
    if title_pos == "below":
        y += size * 0.8
        tops, y = _title_ops(tlines, x, y, measure, style, enc)
        ops += tops
    place = Placement(a, page, ncols, title_pos, len(tlines), kicker, image, inline, damaged,
                      jumped=jump is not None and len(frames) > 1 and frames[1][3] > 0)
    return ops, y, place


def page_furniture(page: int) -> str:
    """The running head over page ``page``."""
    return f"社会工作周刊　2024年3月28日　星期四　第{page}版"


def _page_ops(articles: list[SeedArticle], style: Style, rng: random.Random, page: int,
              p_damage: float, p_below: float,
              jumps: bool = False) -> tuple[list[Op], float, float, list[Placement]]:
    size, margin = style.size, 36.0
    gutter = style.gutter * size
    page_w = 2 * margin + style.columns * style.colw + (style.columns - 1) * gutter
    head = size * style.caption_scale
    ops = [Op("text", margin, margin + head, page_furniture(page), size=head),
           Op("rule", margin, margin + head * 1.6, w=page_w - 2 * margin)]
    y = margin + head * 1.6 + size
    places: list[Placement] = []
    i = 0
    while i < len(articles):
        if jumps and _can_jump(articles, i, style) and rng.random() < 0.7:
            mops, h, pair = _jump_band(articles[i], articles[i + 1], style, rng, page, p_damage)
            for op in mops:
                op.y += y
            ops += mops
            places += pair
            i += 2
            y += h + size * 1.6
            continue
        # a band: one module across all columns, or two side by side
        # modules wide enough for their titles
        splits = [k for k in range(1, style.columns)
                  if i + 1 < len(articles) and k >= _span_needed(articles[i], style)
                  and style.columns - k >= _span_needed(articles[i + 1], style)]
        pair = bool(splits) and rng.random() < 0.5
        spans = [k := rng.choice(splits), style.columns - k] if pair else [style.columns]
        x, bottom = margin, y
        for span in spans:
            a = articles[i]
            after_open = i > 0 and articles[i - 1].source is None
            # An article without an outlet line is told apart from the next one only by that
            # one's title printed between them (relayout._order arranges the rest).
            pos = "none" if not a.title else "above" if after_open else \
                ("below" if rng.random() < p_below else "above")
            mops, h, place = _module(a, x, span, style, rng, pos, rng.random() < p_damage, page)
            for op in mops:
                op.y += y
            ops += mops
            places.append(place)
            bottom = max(bottom, y + h)
            x += span * (style.colw + gutter)
            i += 1
        y = bottom + size * 1.6
        if rng.random() < 0.5 and i < len(articles):
            ops.append(Op("rule", margin, y - size * 0.8, w=page_w - 2 * margin))
    return ops, page_w, y + margin, places


def _can_jump(articles: list[SeedArticle], i: int, style: Style) -> bool:
    return style.columns >= 2 and i + 1 < len(articles) and bool(articles[i].title) and \
        articles[i].source is not None and bool(articles[i + 1].title)


def _jump_band(a: SeedArticle, b: SeedArticle, style: Style, rng: random.Random, page: int,
               p_damage: float) -> tuple[list[Op], float, list[Placement]]:
    """``a`` in the first column, titled over that column only, ``b`` beside it over the other
    columns; ``a`` runs on in the columns to the right, below the end of ``b``."""
    gutter = style.gutter * style.size
    margin = 36.0
    bops, bh, bplace = _module(b, margin + style.colw + gutter, style.columns - 1, style, rng,
                               "above", rng.random() < p_damage, page)
    jump = Jump(bh, rng.randint(2, 8), style.columns - 1)
    aops, ah, aplace = _module(a, margin, 1, style, rng, "above", rng.random() < p_damage, page,
                               jump=jump)
    ops = aops + bops
    bottom = max([ah, bh] + [op.y + style.size * 0.5 for op in ops if op.kind == "text"])
    return ops, bottom, [aplace, bplace]


def _draw_glyphs(c, op: Op, y: float, style: Style) -> None:
    """One text object per glyph at its place, as some layout programs write a page."""
    x = op.x
    for ch in op.text:
        t = c.beginText()
        if style.scaled:
            t.setTextTransform(op.size, 0, 0, op.size, x, y)
            t.setFont(_face(op.font), 1)
        else:
            t.setTextOrigin(x, y)
            t.setFont(_face(op.font), op.size)
        t.textOut(ch)
        c.drawText(t)
        x += width(ch, op.size, op.font) + op.char_space


def _draw(c, ops: list[Op], page_h: float, rng: random.Random, style: Style) -> None:
    from PIL import Image
    from reportlab.lib.utils import ImageReader

    for op in ops:
        y = page_h - op.y
        if op.kind == "text":
            if style.by_glyph:
                _draw_glyphs(c, op, y, style)
                continue
            t = c.beginText()
            if style.scaled:
                t.setTextTransform(op.size, 0, 0, op.size, op.x, y)
                t.setFont(_face(op.font), 1)
                t.setCharSpace(op.char_space / op.size)
            else:
                t.setTextOrigin(op.x, y)
                t.setFont(_face(op.font), op.size)
                t.setCharSpace(op.char_space)
            t.textOut(op.text)
            c.drawText(t)
        elif op.kind == "rule":
            c.setLineWidth(0.5)
            c.line(op.x, y, op.x + op.w, y)
        elif op.kind == "vrule":
            c.setLineWidth(0.3)
            c.line(op.x, y, op.x, y - op.h)
        else:
            shade = tuple(int(255 * v) for v in op.color)
            img = Image.new("RGB", (48, 32), shade)
            img.putpixel((rng.randrange(48), rng.randrange(32)), (255, 255, 255))
            c.drawImage(ImageReader(img), op.x, y - op.h, op.w, op.h)


@dataclass
class Issue:
    """One PDF file and how its articles were laid out."""
    data: bytes
    placements: list[Placement] = field(default_factory=list)


SCAN, BLANK = "scan", "blank"


def _scan(c, rng: random.Random) -> None:
    """A scanned page: one picture over the whole page, no text."""
    from PIL import Image
    from reportlab.lib.utils import ImageReader

    c.setPageSize((595, 842))
    img = Image.effect_noise((120, 170), 60).convert("RGB")
    c.drawImage(ImageReader(img), 0, 0, 595, 842)


def make_pdf(pages: list[list[SeedArticle] | str], seed: int, p_damage: float = 0.25,
             p_below: float = 0.35, columns: int | None = None,
             password: str | None = None, title_scale: float | None = None,
             jumps: bool = False, embed_fonts: bool = False) -> Issue:
    """A PDF with one page per list of articles, in a style drawn per page from ``seed``; a
    page given as SCAN is a scanned page without text, BLANK an empty one. With ``password``
    the file is encrypted and needs it to be opened; with ``title_scale`` every title and
    kicker is set that many times the body size. With ``jumps``, pages are A3 in three
    columns, and an article often runs on in the next column below another article's end.
    With ``embed_fonts``, the text is printed in embedded faces (see the module's docstring)."""
    _register_fonts()
    if not embed_fonts:
        return _make_pdf(pages, seed, p_damage, p_below, columns, password, title_scale, jumps)
    _register_embedded()
    _faces.update(EMBEDDED)
    try:
        return _make_pdf(pages, seed, p_damage, p_below, columns, password, title_scale, jumps)
    finally:
        _faces.clear()


def _make_pdf(pages, seed, p_damage, p_below, columns, password, title_scale, jumps) -> Issue:
    from reportlab.lib import pdfencrypt
    from reportlab.pdfgen import canvas

    rng = random.Random(seed)
    buf = io.BytesIO()
    encrypt = pdfencrypt.StandardEncryption(password) if password else None
    c = canvas.Canvas(buf, invariant=1, pageCompression=1, encrypt=encrypt)
    issue = Issue(b"")
    for n, arts in enumerate(pages, 1):
        if arts in (SCAN, BLANK):
            if arts == SCAN:
                _scan(c, rng)
            c.showPage()
            continue
        style = Style.draw(rng, 3 if jumps else columns)
        if jumps:                     # A3: 842 pt wide, margins 36 pt
            style.chars = int((770 - 2 * style.gutter * style.size) / (3 * style.size))
        if title_scale:
            style.title_scale = style.kicker_scale = style.min_title = title_scale
        ops, w, h, places = _page_ops(arts, style, rng, n, p_damage, p_below, jumps)
        c.setPageSize((w, h))
        _draw(c, ops, h, rng, style)
        c.showPage()
        issue.placements += places
    c.save()
    issue.data = buf.getvalue()
    return issue


def seed_pages(articles: list[SeedArticle] | None = None) -> dict[str, list[SeedArticle]]:
    """The seed pages' articles, page by page, in their order on the page."""
    out: dict[str, list[SeedArticle]] = {}
    for a in articles or load_articles():
        out.setdefault(a.issue, []).append(a)
    return out


def random_pages(n: int, rng: random.Random) -> list[list[SeedArticle]]:
    """``n`` pages of 3–5 articles drawn from the 19, in an order the page can tell apart."""
    articles = load_articles()
    pages = []
    for _ in range(n):
        ids = rng.sample(range(len(articles)), rng.randint(3, 5))
        pages.append([articles[k] for k in _order(ids, articles, rng)])
    return pages
