"""Re-lay out the 19 seed articles as a PDF extraction would, on pages the parser has not seen.

The articles come from ``data/seed_parsed.jsonl``: the seed pages as parsed, frozen, with the
parser's known mistakes on them corrected by hand (two false punctuation repairs, a few paragraphs
cut in two, the space inside three names of two phrases), so a change in the parser does not
change the test's input.

A generated page mimics what the seed pages show:

* body lines cut at a column width of 11–16 em, varied per article, the first line of each
  paragraph 2 em narrower (indent), paragraph-final lines short; no line starts with a closing mark
  or ends with an opening one (the typesetter's rule); Latin/number runs are not broken;
* blank lines between most lines, random spaces around numbers, sometimes a leading space;
* titles before their body, after their own outlet line, or stacked after the page's last outlet
  line; `XX：` kickers on a line of their own, or two-part titles broken at their space;
* outlet lines ``（据X）`` on a line of their own or after the last body line and a space;
  newspapers in 《》;
* captions as lines wider than the columns, placed after an article or at the page's foot;
* 3–5 articles per page, different groupings on every page;
* for some articles, the GB2312 row-shift mis-encoding re-applied to the whole article (title,
  body, outlet line, caption), for some to the outlet line only (as on seed page 001).

A ``Variant`` re-lays the same articles out the way other extraction tools do: CRLF line ends,
no blank lines between lines, and at least one whole article of every page mis-encoded (so the
repair has to go by that article's own evidence, with no blank lines to lean on).

Everything is drawn from a ``random.Random(seed)``: the pages are the same on every run.
"""

from __future__ import annotations

import difflib
import json
import random
import re
from dataclasses import dataclass, field
from pathlib import Path

DATA = Path(__file__).parent / "data"

# -- mis-encoding, derived from the GB2312 layout (independently of qa.ingest.repair) ----------
_NEWS_MARKS = set("，。、：；？！“”‘’（）《》—…·")


def _misencoding() -> dict[str, str]:
    """Mark → the character a font 0x31 GB2312 rows off prints instead (“ → 野)."""
    out = {}
    for row in (0xA1, 0xA3):
        for trail in range(0xA1, 0xFF):
            try:
                right = bytes([row, trail]).decode("gb2312")
                wrong = bytes([row + 0x31, trail]).decode("gb2312")
            except UnicodeDecodeError:
                continue
            right = {"\u2015": "—", "\u30fb": "·"}.get(right, right)
            if right in _NEWS_MARKS:
                out[right] = wrong
    return out


MISENCODE = _misencoding()


def misencode(text: str) -> str:
    return "".join(MISENCODE.get(c, c) for c in text)


# -- the articles ------------------------------------------------------------------------------

@dataclass
class SeedArticle:
    key: int
    issue: str
    title: str | None
    source: str | None
    paragraphs: list[str]
    captions: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        return "\n".join(self.paragraphs)


def load_articles() -> list[SeedArticle]:
    rows = [json.loads(l) for l in (DATA / "seed_parsed.jsonl").read_text("utf-8").splitlines()
            if l.strip()]
    return [SeedArticle(k, r["issue"], r["title"], r["source"], r["paragraphs"], r["captions"])
            for k, r in enumerate(rows)]


# -- widths and wrapping -----------------------------------------------------------------------

NO_START = set("，。、：；？！”’）》…—·%")   # never at a line start
NO_END = set("“‘（《")                      # never at a line end


def em(text: str) -> float:
    return sum(0.5 if ord(c) < 0x2000 and c != " " else 0.25 if c == " " else 1.0 for c in text)


def _tokens(text: str) -> list[str]:
    """Characters, but an ASCII word or number (with . and %) stays one token."""
    return re.findall(r"[0-9A-Za-z][0-9A-Za-z.%+]*|.", text, flags=re.S)


def break_lines(text: str, first: float, rest: float, measure) -> list[str]:
    """The typesetter's line breaks: the first line at most ``first`` wide, the others ``rest``,
    as ``measure`` (str → width) counts; numbers and Latin words stay whole."""
    lines: list[str] = []
    cur, limit = "", first
    for tok in _tokens(text):
        if cur and measure(cur + tok) > limit:
            if tok[0] in NO_START:            # a closing mark hangs at the line end
                cur += tok
                continue
            carry = ""
            while cur and cur[-1] in NO_END:  # an opening mark moves to the next line
                carry, cur = cur[-1] + carry, cur[:-1]
            if cur:
                lines.append(cur)
            cur, limit = carry, rest
        cur += tok
    if cur:
        lines.append(cur)
    return lines


def wrap(text: str, width: int, indent: int = 2, short_end: bool = True) -> list[str]:
    lines = break_lines(text, width - indent, width, em)
    if short_end and len(lines) >= 2 and em(lines[-1]) > width - 2:
        # a paragraph's last line is short: move its tail to a line of its own
        toks = _tokens(lines[-1])
        k = 2
        while k < len(toks) and (toks[-k][0] in NO_START or toks[-k - 1][-1:] in NO_END):
            k += 1
        if k < len(toks):
            lines[-1:] = ["".join(toks[:-k]), "".join(toks[-k:])]
    return lines


_DIGITS = re.compile(r"[0-9][0-9.%]*")
_CJK = re.compile(r"[\u3400-\u9fff]")


def space_numbers(line: str, rng: random.Random, p: float) -> str:
    """PDF extraction's spaces between numbers and Chinese characters: `近 3万人`, `2023 年`."""
    def sub(m: re.Match) -> str:
        before, after = line[m.start() - 1:m.start()], line[m.end():m.end() + 1]
        left = " " if _CJK.match(before) and rng.random() < p else ""
        right = " " if _CJK.match(after) and rng.random() < p else ""
        return left + m.group(0) + right
    return _DIGITS.sub(sub, line)


# -- titles, outlets ---------------------------------------------------------------------------

def title_lines(title: str, rng: random.Random) -> list[str]:
    colon = title.find("：")
    space = title.find(" ")
    if 0 < colon <= 10 and colon < len(title) - 1:
        kicker, main = title[:colon + 1], title[colon + 1:]
        if space > colon and rng.random() < 0.3:
            return [title[:space], title[space + 1:]]           # `安徽全椒：以…为支点` / `探索…`
        return [kicker, main]                                   # `安徽凤阳：` / `探索建立…`
    if space > 0:
        return [title[:space], title[space + 1:]]               # kicker without colon
    return [title]


def outlet_line(source: str) -> str:
    name = f"《{source}》" if source.endswith("报") else source
    return f"（据{name}）"


# -- pages -------------------------------------------------------------------------------------

@dataclass
class Placement:
    """How one article was laid out: what the failure report shows."""
    article: SeedArticle
    width: int
    title_mode: str        # before | after | stack | none
    outlet_inline: bool
    damage: str            # none | outlet | full


@dataclass
class Page:
    text: str
    placements: list[Placement]


def _group(rng: random.Random, n_articles: int, pages: int) -> list[list[int]]:
    groups: list[list[int]] = []
    while len(groups) < pages:
        order = list(range(n_articles))
        rng.shuffle(order)
        i = 0
        while i < len(order) and len(groups) < pages:
            k = rng.randint(3, 5)
            chunk = order[i:i + k]
            if len(chunk) < 3:
                break
            groups.append(chunk)
            i += k
    return groups


def _order(ids: list[int], articles: list[SeedArticle], rng: random.Random) -> list[int]:
    """An article without an outlet line can only be told apart from the next one by that one's
    title printed before its body, so it goes last or before an article that has a title."""
    ids = list(ids)
    for _ in range(10):
        bad = [i for i, a in enumerate(ids[:-1])
               if articles[a].source is None and articles[ids[i + 1]].title is None]
        if not bad:
            break
        rng.shuffle(ids)
    return ids


@dataclass(frozen=True)
class Variant:
    line_end: str = "\n"
    blank_lines: bool = True       # blank lines between most lines, as on the seed pages
    whole_article_damaged: bool = False   # at least one article per page wholly mis-encoded


SEED_LIKE = Variant()
DENSE_CRLF = Variant(line_end="\r\n", blank_lines=False, whole_article_damaged=True)


def make_page(articles: list[SeedArticle], ids: list[int], rng: random.Random,
              variant: Variant = SEED_LIKE) -> Page:
    ids = _order(ids, articles, rng)
    p_blank = rng.uniform(0.6, 0.95) if variant.blank_lines else 0.0
    # Drawn only for this variant: the seed-like pages stay what they were.
    forced = rng.randrange(len(ids)) if variant.whole_article_damaged else None
    p_space = rng.uniform(0.0, 0.6)
    out: list[str] = []          # the page's lines, before blank lines are added
    stack: list[str] = []        # titles stacked after the page's last outlet line
    foot: list[str] = []         # captions at the page's foot
    placements = []
    last_outlet = -1
    for pos, k in enumerate(ids):
        a = articles[k]
        damage = rng.choices(["none", "outlet", "full"], [0.55, 0.15, 0.3])[0]
        if pos == forced:
            damage = "full"
        enc = misencode if damage == "full" else (lambda s: s)
        tl = [space_numbers(enc(t), rng, p_space) for t in title_lines(a.title, rng)] \
            if a.title else []
        main_w = max((em(t) for t in tl), default=99)
        width = rng.randint(11, max(11, min(16, int(main_w) - 2)))
        if not a.title:
            mode = "none"
        elif a.source is None or (pos > 0 and articles[ids[pos - 1]].source is None):
            mode = "before"      # see _order: the only way the page can tell
        else:
            mode = rng.choices(["before", "after", "stack"], [0.4, 0.35, 0.25])[0]
        if mode == "before":
            out += tl
        for par in a.paragraphs:
            lines = [enc(l) for l in wrap(par, width)]   # set, then printed in the wrong font
            if rng.random() < 0.1:
                lines[0] = " " + lines[0]
            out += [space_numbers(l, rng, p_space) for l in lines]
        inline = False
        if a.source:
            ol = outlet_line(a.source)
            ol = misencode(ol) if damage != "none" else ol
            inline = rng.random() < 0.4
            if inline:
                out[-1] += " " + ol
            else:
                out.append(ol)
            last_outlet = len(out)
        if mode == "after":
            out += tl
        elif mode == "stack":
            stack += tl
        for cap in a.captions:
            cap_lines = [enc(l) for l in wrap(cap, rng.randint(24, 34), indent=0, short_end=False)]
            if rng.random() < 0.5:
                out += cap_lines
            else:
                foot += cap_lines
        placements.append(Placement(a, width, mode, inline, damage))
    # stacked titles go right after the last outlet line (before an outlet-less last article)
    out[last_outlet:last_outlet] = stack
    out += foot
    end = variant.line_end
    text = "".join(l + (end * 2 if rng.random() < p_blank else end) for l in out)
    return Page(text, placements)


def make_pages(n: int = 20, seed: int = 20240923, variant: Variant = SEED_LIKE) -> list[Page]:
    rng = random.Random(seed)
    articles = load_articles()
    return [make_page(articles, ids, rng, variant) for ids in _group(rng, len(articles), n)]


# -- measuring ---------------------------------------------------------------------------------

BEGINS = 15


def begins(text: str) -> str:
    """The body's first characters; paragraph breaks do not count (they are measured apart)."""
    return text.replace("\n", "")[:BEGINS]


@dataclass
class Miss:
    page: int
    placement: Placement
    got: list[tuple[str | None, str | None, str]]   # (title, source, begins) of what came out

    def nearest(self) -> list[tuple[str | None, str | None, str]]:
        a = self.placement.article
        return [g for g in self.got if g[2] == begins(a.text)] or \
            [g for g in self.got if a.title and g[0] and g[0][:4] == a.title[:4]] or \
            [g for g in self.got if a.source and g[1] == a.source]

    def __str__(self) -> str:
        a, p = self.placement.article, self.placement
        lines = [f"page {self.page}: article #{a.key} width={p.width} title={p.title_mode} "
                 f"outlet_inline={p.outlet_inline} damage={p.damage}",
                 f"  expected: title={a.title!r} source={a.source!r} begins={begins(a.text)!r}"]
        for g in self.nearest()[:2]:
            lines.append(f"  got:      title={g[0]!r} source={g[1]!r} begins={g[2]!r}")
        if not self.nearest():
            lines.append("  got:      (no article with that body start, title or source)")
        return "\n".join(lines)


def leftovers(got: str, want: str) -> list[tuple[str, str]]:
    """Marks still printed as the wrong character: where ``got`` differs from ``want`` by a
    character that the mis-encoding puts for ``want``'s mark (“ → 野), as (mark, context). It
    compares with the article as it should read, so a lone 野 counts as much as a 野…冶 pair."""
    found = []
    ops = difflib.SequenceMatcher(None, want, got, autojunk=False).get_opcodes()
    for op, i1, i2, j1, j2 in ops:
        if op != "replace" or i2 - i1 != j2 - j1:
            continue
        for i, j in zip(range(i1, i2), range(j1, j2)):
            if MISENCODE.get(want[i]) == got[j]:
                found.append((want[i], got[max(0, j - 8):j + 9].replace("\n", "⏎")))
    return found


@dataclass
class Measure:
    total: int = 0
    recovered: int = 0             # exact title, source and body start
    same_text: int = 0             # …and the whole body, paragraph breaks aside
    same_paragraphs: int = 0       # …and the same paragraphs
    articles_out: int = 0
    misses: list[Miss] = field(default_factory=list)
    damaged: int = 0               # recovered articles that were wholly mis-encoded
    damaged_clean: int = 0         # …with no mark left unrepaired
    # (page, article key, mark, context) of each mark left unrepaired
    left: list[tuple[int, int, str, str]] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.recovered / self.total if self.total else 0.0


def measure(pages: list[Page], parse) -> Measure:
    """Parse every page; an article counts as recovered when an article came out with its exact
    title, source and first 15 body characters. In the recovered articles that were wholly
    mis-encoded, every mark left unrepaired is listed (the title is exact already)."""
    m = Measure()
    for n, page in enumerate(pages):
        arts = parse(page.text, f"relayout-{n:02d}")
        m.articles_out += len(arts)
        got = [(x.title, x.source, begins(x.text)) for x in arts]
        for p in page.placements:
            a = p.article
            m.total += 1
            key = (a.title, a.source, begins(a.text))
            if key not in got:
                m.misses.append(Miss(n, p, got))
                continue
            m.recovered += 1
            out = arts[got.index(key)]
            if out.text.replace("\n", "") == a.text.replace("\n", ""):
                m.same_text += 1
                m.same_paragraphs += out.paragraphs == a.paragraphs
            if p.damage == "full":
                left = leftovers(out.text, a.text)
                m.damaged += 1
                m.damaged_clean += not left
                m.left += [(n, a.key, *x) for x in left]
    return m
