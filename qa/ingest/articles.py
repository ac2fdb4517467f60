"""Typed lines → articles: where each article starts and ends, and which title is whose.

A page is cut into *runs* by its outlet lines (`（据新华社客户端）` ends an article). A run may
begin with a title zone — the titles printed between one article's outlet and the next body —
but titles stand before or after their body depending on the page, so they are matched to
articles by what they say (shared rare character bigrams, e.g. the place name), not by position.
A run can hold two articles when the first has no outlet line; that only shows as a heading
inside a run whose opening title belongs to it, so the run is split there. Text after the last
outlet that is no title is an orphan (a lead paragraph printed across the page) and joins the
article it belongs with.
"""

from __future__ import annotations

import hashlib
import math
import re
import statistics
from collections import Counter
from dataclasses import dataclass, field

from qa.ingest.layout import (
    SENTENCE_MARKS, Line, clean_title, column_width, display_width, ends_sentence, is_heading,
    is_kicker, join_body, paragraph_text, paragraphs, split_lines,
)
from qa.ingest.lexicon import split_crosses
from qa.types import Article

MIN_TITLE_SIMILARITY = 0.2
_BIGRAM_CHARS = re.compile(r"[\u3400-\u9fff0-9A-Za-z]")


@dataclass
class Part:
    paragraphs: list[str]
    source: str | None = None
    title: str | None = None
    captions: list[str] = field(default_factory=list)
    width: float = 0.0
    orphan: bool = False

    @property
    def text(self) -> str:
        return "\n".join(self.paragraphs)


@dataclass
class Run:
    lines: list[Line]
    source: str | None
    final: bool = False
    titles: list[str] = field(default_factory=list)
    body: list[list[Line]] = field(default_factory=list)
    captions: list[str] = field(default_factory=list)
    width: float = 0.0


# -- titles -------------------------------------------------------------------------------

def _plain(text: str) -> bool:
    """No sentence inside: may be (part of) a title."""
    return not any(c in SENTENCE_MARKS for c in text) and not ends_sentence(text)


def _inline_kicker(text: str) -> bool:
    pos = max(text.find("："), text.find(":"))
    return 0 < pos <= 10 and pos < len(text) - 1 and _plain(text)


def _title_mark(text: str) -> bool:
    return is_kicker(text) or _inline_kicker(text)


def _anchor(line: Line, width: float, final: bool) -> bool:
    """A line that can only be a title: wider than the column, or `地名：标题`."""
    t = line.text
    return _plain(t) and (line.width > width + 1.5 or _inline_kicker(t) or final)


def _joins(first: str, second: str) -> str:
    """Title lines joined: a space between the parts, none after a kicker's colon or inside a
    word broken across the lines (社会 / 工作)."""
    sep = "" if first.endswith(("：", ":")) or split_crosses(first, second) else " "
    return clean_title(first + sep + second)


def _starts_body(lines: list[Line], i: int, width: float, flush: bool = False) -> bool:
    """A line that runs on into a full column line, set 2 em in from the column's edge, is a
    paragraph's first line even when it has no mark (`四川省成都市武侯区玉林街道` /
    `设立社区发展基金以来，…`): a title's last line stands over such an indented line. With
    ``flush``, for the line under a title, also a line as full as the next: paragraphs that are
    not indented (a title line may be as wide as a column, so this is no test for any line)."""
    if i + 1 >= len(lines) or ends_sentence(lines[i].text) or _title_mark(lines[i + 1].text):
        return False
    local = column_width(lines, i + 1)
    if local > width + 1.5:
        return False        # lines wider than the column: stacked titles, a lead
    # Near a title the lines around are few and partly titles: the run's column is a floor.
    col = max(width, local)
    here, after = lines[i].width, lines[i + 1].width
    indented = abs(after - col) <= 1 and col - 3.5 <= here <= col - 1
    return indented or flush and abs(here - col) <= 0.5 and abs(after - col) <= 0.5


def take_titles(lines: list[Line], width: float, final: bool) -> tuple[list[str], int]:
    """Title groups at the head of a run (kicker + main title, or a single title line)."""
    titles, i = [], 0
    while i < len(lines) and not _starts_body(lines, i, width):
        title = _title_at(lines, i, width, final)
        if title is None:
            break
        titles.append(title[0])
        i += title[1]
    return titles, i


def _title_at(lines: list[Line], i: int, width: float, final: bool) -> tuple[str, int] | None:
    """The title that starts at line i and how many lines it takes, or None: the body starts."""
    n = len(lines)
    line = lines[i]
    nxt = lines[i + 1] if i + 1 < n else None
    pairable = _pairable(lines, i, width)
    if is_kicker(line.text) and nxt is not None and not ends_sentence(nxt.text):
        return _joins(line.text, nxt.text), 2
    if _anchor(line, width, final):
        return _anchored_title(line, nxt, pairable, width, final)
    if _plain(line.text) and nxt is not None and nxt.width > width + 1.5 \
            and _plain(nxt.text) and not is_kicker(nxt.text) and not _inline_kicker(nxt.text):
        return _joins(line.text, nxt.text), 2   # short kicker above a wide title
    if pairable and i + 2 < n and _plain(line.text) and nxt.width < width - 3:
        # Two lines without a single mark, the second short: no body paragraph ends without
        # a full stop, so this is a title set no wider than the column.
        return _joins(line.text, nxt.text), 2
    return None


def _pairable(lines: list[Line], i: int, width: float) -> bool:
    """Whether line i + 1 may be the second line of a title on line i. A line wrapped into the
    one after it (国 / 家) is body text, not a title's end."""
    n = len(lines)
    nxt = lines[i + 1] if i + 1 < n else None
    return nxt is not None and _plain(nxt.text) and not _title_mark(nxt.text) \
        and not (i + 2 < n and split_crosses(nxt.text, lines[i + 2].text)) \
        and not _starts_body(lines, i + 1, width, flush=True)


def _anchored_title(line: Line, nxt: Line | None, pairable: bool, width: float,
                    final: bool) -> tuple[str, int]:
    """A title line by its look (``_anchor``): alone, or with the next line."""
    wide_pair = pairable and nxt.width > width + 1.5 and not final
    if pairable and (not wide_pair or " " in line.text.strip()) and \
            not (final and nxt.width > width + 1.5 and " " not in line.text.strip()):
        return _joins(line.text, nxt.text), 2
    return clean_title(line.text), 1


# -- similarity ---------------------------------------------------------------------------

def _bigrams(text: str) -> set[str]:
    chars = _BIGRAM_CHARS.findall(text)
    return {a + b for a, b in zip(chars, chars[1:])}


class _Similarity:
    """Share of a short text's bigram weight found in a longer one, bigrams weighted by how
    rare they are on this page, so a place name counts and 社会工作 hardly does."""

    def __init__(self, texts: list[str]):
        self.grams = [_bigrams(t) for t in texts]
        df = Counter(g for gs in self.grams for g in gs)
        n = max(len(texts), 1)
        self.idf = {g: math.log(1 + n / c) for g, c in df.items()}
        self._short: dict[str, tuple[set[str], float]] = {}   # a title is compared with every part

    def __call__(self, short: str, index: int) -> float:
        if short not in self._short:
            grams = _bigrams(short)
            total = sum(self.idf.get(g, math.log(2 + len(self.grams))) for g in grams)
            self._short[short] = grams, total
        grams, total = self._short[short]
        if not total:
            return 0.0
        return sum(self.idf[g] for g in grams & self.grams[index]) / total


def _assign(titles: list[str], parts: list[Part], taken: set[int]) -> dict[int, int]:
    """Greedy best-first matching of titles to parts; returns {title index: part index}."""
    sim = _Similarity([p.text for p in parts])
    pairs = sorted(((sim(t, j), i, j) for i, t in enumerate(titles)
                    for j in range(len(parts)) if j not in taken), reverse=True)
    used_t, used_p, out = set(), set(taken), {}
    for score, i, j in pairs:
        if score < MIN_TITLE_SIMILARITY:
            break
        if i not in used_t and j not in used_p:
            out[i] = j
            used_t.add(i)
            used_p.add(j)
    return out


# -- assembly -----------------------------------------------------------------------------

def _runs(lines: list[Line]) -> list[Run]:
    runs, current = [], []
    for line in lines:
        if line.kind == "outlet":
            runs.append(Run(current, line.source))
            current = []
        else:
            current.append(line)
    if current or not runs:
        runs.append(Run(current, None, final=True))
    return runs


def _caption_blocks(lines: list[Line]) -> list[str]:
    blocks, current = [], []
    for line in lines:
        if line.kind == "caption":
            current.append(line.text)
            if re.search(r"[）)]\s*$", line.text):
                blocks.append(join_body("".join(current)))
                current = []
        elif current:
            blocks.append(join_body("".join(current)))
            current = []
    if current:
        blocks.append(join_body("".join(current)))
    return blocks


def _prepare(run: Run, page_width: float) -> None:
    text_lines = [l for l in run.lines if l.kind == "text"]
    widths = [l.width for l in text_lines]
    run.width = statistics.median(widths) if len(widths) >= 8 else page_width
    run.titles, used = take_titles(text_lines, run.width, run.final)
    run.body = paragraphs(text_lines[used:], run.width)
    run.captions = _caption_blocks(run.lines)


def _title_like(par: list[Line], nxt: list[Line], width: float, before: str, after: str) -> bool:
    """An article's title has a kicker or a line wider than the column (it may stand alone, its
    other line starting the next paragraph); a subheading sits inside the column. A heading
    longer than a column line may be either: a title speaks of what follows more than of what
    came before (天津启动… after an article on 河南), a subheading of the article it is in."""
    first = par[0].text
    if is_kicker(first) or _inline_kicker(first) or any(
            l.width > width + 1.5 and _plain(l.text) for l in par + nxt[:1]):
        return True
    if sum(l.width for l in par) <= width + 1.5:
        return False
    sim = _Similarity([before, after])
    heading = "".join(l.text for l in par)
    return sim(heading, 1) > sim(heading, 0)


def _split_run(run: Run, titled_here: bool, page_width: float) -> list[Part]:
    """One part per article in the run; a run splits only at a heading that follows an
    article whose own title opened the run. The next article's title is read from the lines
    there as at a run's head (kicker + main title), and its body is rebuilt after it."""
    body = list(run.body)
    texts = [paragraph_text(p) for p in body]
    parts = [Part([], width=page_width)]
    k = 0
    while k < len(body):
        par, text = body[k], texts[k]
        later_body = any(not is_heading(t) for t in texts[k + 1:])
        after_sentence = k > 0 and ends_sentence(texts[k - 1])
        if (titled_here and is_heading(text) and len(par) <= 2 and after_sentence and later_body
                and any(not is_heading(t) for t in parts[-1].paragraphs)
                and _title_like(par, body[k + 1], run.width, parts[-1].text,
                                "".join(texts[k + 1:]))):
            rest = [l for p in body[k:] for l in p]
            titles, used = take_titles(rest, run.width, False)
            if not titles:
                titles, used = [clean_title("".join(l.text for l in par))], len(par)
            parts.append(Part([], title=titles[0] if len(titles) == 1 else " ".join(titles)))
            body[k:] = paragraphs(rest[used:], run.width)
            texts[k:] = [paragraph_text(p) for p in body[k:]]
            continue
        parts[-1].paragraphs.append(text)
        parts[-1].width = statistics.median([l.width for l in par] + [parts[-1].width or 0])
        k += 1
    parts[-1].source = run.source
    return [p for p in parts if p.paragraphs]


def assemble(text: str, issue: str) -> list[Article]:
    lines = split_lines(text)
    if not any(l.kind == "text" for l in lines):
        return []
    page_width = statistics.median(l.width for l in lines if l.kind == "text")
    runs = _runs(lines)
    for run in runs:
        _prepare(run, page_width)

    if len(runs) == 1 and runs[0].final:
        return _single_article(runs[0], issue)

    zone = [(t, r) for r, run in enumerate(runs) for t in run.titles]
    parts, opening = _split_runs(runs, zone, page_width)
    parts = _merge_orphans(parts, page_width)
    sim = _give_titles(zone, parts, opening)
    _give_captions([c for run in runs for c in run.captions], parts, sim)
    return [_article(p, issue) for p in parts]


def _split_runs(runs: list[Run], zone: list[tuple[str, int]],
                page_width: float) -> tuple[list[Part], dict[int, Part]]:
    """Every run's articles, in order, and the first of each run; the final run's untitled
    ones are orphans."""
    # First matching, one part per run: tells which runs open with their own title.
    run_parts = [Part([paragraph_text(p) for p in r.body], source=r.source) for r in runs]
    first = _assign([t for t, _ in zone], run_parts, set())
    titled_here = {r for k, (_, r) in enumerate(zone) if first.get(k) == r}

    parts: list[Part] = []
    opening: dict[int, Part] = {}     # the first part of each run
    for r, run in enumerate(runs):
        new = _split_run(run, r in titled_here, page_width)
        if run.final and new:
            for p in new:
                p.orphan = not p.title
        if new:
            opening[r] = new[0]
        parts.extend(new)
    return parts, opening


def _give_titles(zone: list[tuple[str, int]], parts: list[Part],
                 opening: dict[int, Part]) -> _Similarity:
    """The title zone's lines to the articles without a title; returns the similarity of a
    text to each article's body."""
    taken = {j for j, p in enumerate(parts) if p.title}
    assigned = _assign([t for t, _ in zone], parts, taken)
    for k, j in assigned.items():
        parts[j].title = zone[k][0]
    sim = _Similarity([p.text for p in parts])
    _join_stacked_lines(zone, assigned, parts, sim)
    # A title that says too little of any article to match (its words only in later
    # paragraphs) is not dropped: it is printed right above its run's body, which takes it
    # when it has no title of its own.
    for k, (title, r) in enumerate(zone):
        part = opening.get(r)
        if k not in assigned and part is not None and not part.title and \
                any(p is part for p in parts):
            part.title = title
    return sim


def _give_captions(captions: list[str], parts: list[Part], sim: _Similarity) -> None:
    """Each caption to the article it speaks of most."""
    for caption in captions:
        best = max(range(len(parts)), key=lambda j: sim(caption, j)) if parts else None
        if best is not None:
            parts[best].captions.append(caption)


def _join_stacked_lines(zone: list[tuple[str, int]], assigned: dict[int, int],
                        parts: list[Part], sim: _Similarity) -> None:
    """A title line no article claimed, stacked right above or below one that an article did
    claim, is the other part of that title (`探索推动优质服务下沉` over `上海嘉定…发布`)."""
    for k, (line, run) in enumerate(zone):
        if k in assigned:
            continue
        near = [n for n in (k - 1, k + 1) if 0 <= n < len(zone) and zone[n][1] == run
                and n in assigned and sim(line, assigned[n]) > 0]
        if not near:
            continue
        n = max(near, key=lambda n: sim(line, assigned[n]))
        part = parts[assigned[n]]
        part.title = _joins(line, part.title) if n > k else _joins(part.title, line)
        assigned[k] = assigned[n]


def _merge_orphans(parts: list[Part], page_width: float) -> list[Part]:
    """Orphan text joins the most similar article that has no outlet line (an article with an
    outlet line is closed by it); a lead printed wider than the columns goes in front."""
    orphans = [p for p in parts if p.orphan]
    rest = [p for p in parts if not p.orphan]
    open_parts = [j for j, p in enumerate(rest) if p.source is None]
    if not orphans or not open_parts:
        for p in orphans:
            p.orphan = False
        return parts
    sim = _Similarity([p.text for p in rest])
    for o in orphans:
        j = max(open_parts, key=lambda j: sim(o.text, j))
        if o.width > rest[j].width * 1.5:
            rest[j].paragraphs[:0] = o.paragraphs
        else:
            rest[j].paragraphs.extend(o.paragraphs)
        rest[j].captions.extend(o.captions)
    return rest


def _single_article(run: Run, issue: str) -> list[Article]:
    """A page without outlet lines is one article; its title is the title zone, else its
    first line — unless that line is a sentence, the body's start."""
    paras = [paragraph_text(p) for p in run.body]
    title = run.titles[0] if run.titles else None
    if len(run.titles) > 1:
        # One article has one title: the other "titles" are the body's first lines, set
        # without a mark (the run after the last outlet line reads every plain line as one).
        lead = "".join(t.replace(" ", "") for t in run.titles[1:])
        paras = [join_body(lead + (paras[0] if paras else ""))] + paras[1:]
    if title is None and paras and _plain(run.body[0][0].text):
        first = run.body[0][0].text
        title = clean_title(first)
        rest = join_body("".join(l.text for l in run.body[0][1:]))
        paras = ([rest] if rest else []) + paras[1:]
    part = Part([p for p in paras if p], title=title, captions=run.captions)
    return [_article(part, issue)] if part.paragraphs or part.title else []


def article_id(page_id: str, title: str | None, text: str, page: int | None = None) -> str:
    """An article's id: its page id and a digest of where it stands and what it says. A PDF's
    page number counts too: the same article may be printed on two of its pages."""
    where = page_id if page is None else f"{page_id}\n{page}"
    digest = hashlib.sha1(f"{where}\n{title or ''}\n{text}".encode()).hexdigest()[:10]
    return f"{page_id}-{digest}"


def _article(part: Part, issue: str, page: int | None = None) -> Article:
    paras = [p for p in part.paragraphs if p]
    offsets, pos = [], 0
    for p in paras:
        offsets.append((pos, pos + len(p)))
        pos += len(p) + 1
    text = "\n".join(paras)
    return Article(id=article_id(issue, part.title, text, page), issue=issue, title=part.title, source=part.source,
                   text=text, paragraphs=paras, offsets=offsets, captions=part.captions,
                   page=page)


__all__ = ["assemble", "take_titles", "display_width"]
