"""Page text → typed lines and paragraphs.

PDF extraction keeps the page's lines but not its geometry, so widths stand in for it: a column
has a typical line width, a paragraph's last line is shorter, a title is wider or stands alone,
a caption runs across columns. Widths are in em: CJK characters and full-width marks count 1,
ASCII 0.5, which is how a newspaper sets them.
"""

from __future__ import annotations

import re
import statistics
import unicodedata
from dataclasses import dataclass
from functools import cached_property

from qa.ingest.lexicon import spans_word

OUTLET = re.compile(r"[（(]\s*据\s*([^（）()]{1,40}?)\s*[）)]\s*$")
CAPTION = re.compile(r"[（(]\s*(?:图片来源|图源|图片|摄影|图)\s*[：:/／]")
TERMINAL = set("。！？…；")
CLOSERS = set("”’」』）)》")
SENTENCE_MARKS = set("。！？；，")
_CJK = r"\u3400-\u9fff\uf900-\ufaff"
_WIDE_PUNCT = r"\u3000-\u303f\uff00-\uffef\u2014\u2026\u201c\u201d\u2018\u2019\u00b7"


@dataclass
class Line:
    text: str
    kind: str = "text"          # text | outlet | caption
    source: str | None = None   # outlet name for kind == "outlet"

    @cached_property
    def width(self) -> float:
        return display_width(self.text)


_HALF = set("，。、；：？！“”‘’（）《》·—…「」『』【】")


def display_width(text: str) -> float:
    """Width in em. Punctuation counts half: Chinese typesetting squeezes it, and measured on
    the seed pages this makes column lines the most even (median deviation 0.47 em vs 0.63)."""
    return sum(0.25 if c == " " else 0.5 if ord(c) < 0x2000 or c in _HALF else 1.0 for c in text)


def strip_closers(text: str) -> str:
    return text.rstrip("".join(CLOSERS)) or text


def ends_sentence(text: str) -> bool:
    return strip_closers(text.rstrip())[-1:] in TERMINAL


def is_kicker(text: str) -> bool:
    """A title's first line, ending with a colon: `安徽凤阳：`."""
    return text.endswith(("：", ":")) and display_width(text) <= 14 and not any(
        c in SENTENCE_MARKS for c in text)


_SPACE_CJK_LEFT = re.compile(rf"(?<=[{_CJK}{_WIDE_PUNCT}])\s+")
_SPACE_CJK_RIGHT = re.compile(rf"\s+(?=[{_CJK}{_WIDE_PUNCT}])")
_SPACE_IN_NUMBER = re.compile(r"(?<=\d)\s+(?=[.%‰])|(?<=\d\.)\s+(?=\d)")
_SPACE_DIGIT_CJK = re.compile(rf"(?<=[{_CJK}])\s+(?=[0-9A-Za-z])|(?<=[0-9A-Za-z%])\s+(?=[{_CJK}])")


# A space between two words of Chinese is the text's own (“童心有温暖 成长有相伴”, a name of two
# phrases); PDF extraction spaces out single characters (服 务 ， 全 省) and puts spaces next to
# marks, and those go.
_SPACE_BETWEEN_WORDS = re.compile(rf"(?<=[{_CJK}]{{2}})[^\S\n]+(?=[{_CJK}]{{2}})")
_KEPT = "\x00"


def join_body(text: str) -> str:
    """Remove the spaces PDF extraction puts between Chinese characters and around numbers;
    spaces between Latin words, and one between two Chinese words, stay."""
    text = _SPACE_BETWEEN_WORDS.sub(_KEPT, text.replace(_KEPT, ""))
    text = _SPACE_CJK_LEFT.sub("", text)
    text = _SPACE_CJK_RIGHT.sub("", text)
    text = _SPACE_IN_NUMBER.sub("", text)
    return re.sub(r"\s{2,}", " ", text).strip().replace(_KEPT, " ")


def clean_title(text: str) -> str:
    """Titles keep the single spaces that separate their parts (`服务体系 探索新途径`) but lose
    those around numbers (`社工站 1094个`)."""
    text = _SPACE_DIGIT_CJK.sub("", text)
    text = re.sub(rf"\s+(?=[{_WIDE_PUNCT}])|(?<=[{_WIDE_PUNCT}])\s+", "", text)
    return re.sub(r"\s{2,}", " ", text).strip()


def _has_letters(text: str) -> bool:
    return any(unicodedata.category(c)[0] in "LN" for c in text)


def split_lines(text: str) -> list[Line]:
    """Non-empty lines, with outlet lines split off and captions marked."""
    lines: list[Line] = []
    for raw in text.split("\n"):
        raw = raw.strip()
        if not raw or not _has_letters(raw):
            continue   # blank, or a lone mark left over from a broken line
        m = OUTLET.search(raw)
        # A caption's marker may be broken across lines: `…揭牌（图片` / `来源：…）`.
        tail = lines[-1].text[-_MARKER_REACH:] if lines else ""
        marker = CAPTION.search(tail + raw)
        if m:
            before = raw[: m.start()].strip()
            if before:
                lines.append(Line(before))
            source = re.sub(r"[《》〈〉\s]", "", m.group(1)) or None
            lines.append(Line(raw[m.start():], kind="outlet", source=source))
        elif marker and marker.end() > len(tail):
            lines.append(Line(raw, kind="caption"))
        else:
            lines.append(Line(raw))
    _extend_captions(lines)
    return lines


_MARKER_REACH = 6            # characters of a caption marker that may end the line before
_MAX_CAPTION_TAIL = 12       # characters of a caption left after its marker's line


def _extend_captions(lines: list[Line]) -> None:
    """A caption wraps across the full page width: the lines before its marker's line that are
    as wide as each other, at least as wide as that line and wider than the text around them
    belong to it; so do the short lines after it that close its parenthesis (`局）`)."""
    for i, line in enumerate(lines):
        if line.kind != "caption" or "来源" not in line.text and "图" not in line.text:
            continue
        j, first = i - 1, None
        while j >= 0 and lines[j].kind == "text":
            around = [l.width for l in lines[max(0, j - 6):j] if l.kind == "text"]
            typical = statistics.median(around) if around else 0
            w = lines[j].width
            if w >= line.width - 1 and w > typical + 3 and (first is None or abs(w - first) <= 2):
                lines[j].kind = "caption"
                first = first or w
                j -= 1
            else:
                break
        k, left = i, _MAX_CAPTION_TAIL
        while not re.search(r"[）)]\s*$", lines[k].text) and k + 1 < len(lines):
            nxt = lines[k + 1]
            left -= len(nxt.text)
            if nxt.kind != "text" or left < 0 or not re.search(r"[）)]", nxt.text):
                break
            nxt.kind = "caption"
            k += 1


def column_width(lines: list[Line], i: int, reach: int = 5) -> float:
    """The width of full lines near line i: the upper quartile of its neighbours, because
    paragraph ends and headings are shorter while most lines run the full column."""
    around = sorted(l.width for l in lines[max(0, i - reach):i + reach + 1] if l is not lines[i])
    return around[(3 * len(around)) // 4] if around else lines[i].width


# What must start a line together: opening marks with what follows them, a number or Latin word
# unbroken, and the marks that may not start a line after it.
_FIRST_UNIT = re.compile(r"[“‘（《「『(\[]*(?:[0-9A-Za-z][0-9A-Za-z.%+\-]*|.)[”’）》」』)\]，。、：；？！…·%]*")


def _pushed_down(line: Line, nxt: Line, room: float) -> bool:
    """Is ``line`` short only because the next line's first unit did not fit on it
    (`济阳区社工总站依托` / `“156+”服务体系…`)? Then it was wrapped, not ended."""
    unit = _FIRST_UNIT.match(nxt.text)
    return unit is not None and len(unit.group()) > 1 and \
        line.width + display_width(unit.group()) > room


def paragraphs(lines: list[Line], col: float | None = None) -> list[list[Line]]:
    """Rebuild paragraphs from column-wide lines.

    A paragraph ends at a line that ends a sentence (unless that line and the next both run
    the full column: a new paragraph's first line is indented); at a line clearly shorter than the column,
    than the line before it and than the next one (a heading or a paragraph's last line — but
    not a narrow stretch around a picture, where every line is short); at a kicker; and where a
    wide line (title, lead) meets a column line. A word running across the break vetoes all but
    the first, and so does a next line whose first unit (“156+”, 12000, Mental) would not have
    fit on this one: then the line was only wrapped.
    """
    out: list[list[Line]] = []
    current: list[Line] = []
    if col is None:   # the page's column width; a run alone may be all lead or all titles
        col = statistics.median(l.width for l in lines) if lines else 0.0
    for i, line in enumerate(lines):
        current.append(line)
        if i == len(lines) - 1:
            break
        if _paragraph_ends(lines, i, current, col):
            out.append(current)
            current = []
    if current:
        out.append(current)
    return out


def _paragraph_ends(lines: list[Line], i: int, current: list[Line], col: float) -> bool:
    """Whether the paragraph ``current``, whose last line is ``lines[i]``, ends there (not the
    last line of all; ``paragraphs`` gives the rules)."""
    line, nxt = lines[i], lines[i + 1]
    w = column_width(lines, i)
    if ends_sentence(line.text):
        # A sentence may end right at the column's edge inside a paragraph; then the next
        # line runs the full width, where a new paragraph's first line is indented.
        widths = (line.width, nxt.width)
        full = min(widths) >= w - 0.5 and max(widths) <= col + 1.5
        return not (len(current) > 1 and full)
    first_line = len(current) == 1
    wide, next_wide = line.width > col + 1.5, nxt.width > col + 1.5
    short = not (wide and next_wide) and _short_line(lines, i, current, w)
    # The last line of a wide lead is short and ends its sentence: it stays with the lead.
    jump = wide != next_wide and not (wide and ends_sentence(nxt.text) and nxt.width < col)
    kicker = is_kicker(line.text) and line.width < w - 1
    wrapped = spans_word(line.text, nxt.text) or \
        _pushed_down(line, nxt, w - (2.0 if first_line else 0.0))
    return (short or jump) and not wrapped or kicker and not spans_word(line.text, nxt.text)


def _short_line(lines: list[Line], i: int, current: list[Line], w: float) -> bool:
    """Line i, the last of ``current``, is clearly shorter than the column ``w``, than the line
    before it and than the next ones (a paragraph's first line is indented, so the line after
    next counts too), and does not end on a comma."""
    line = lines[i]
    ahead = max(lines[i + 1].width, lines[i + 2].width if i + 2 < len(lines) else 0.0)
    prev = current[-2] if len(current) > 1 else None
    return (line.text[-1] not in "，、"
            and line.width < w - (3.0 if len(current) == 1 else 1.5)
            and line.width < ahead - 1
            and (prev is None or line.width < prev.width - 1))


def paragraph_text(par: list[Line]) -> str:
    return join_body("".join(l.text for l in par))


def is_heading(text: str) -> bool:
    """A paragraph that is no sentence: a title or a subheading."""
    core = strip_closers(text.rstrip())
    return (0 < display_width(core) <= 40 and core[-1:] not in TERMINAL | set("，、")
            and not any(c in "。！？；，、" for c in core))
