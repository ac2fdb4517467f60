"""Context-aware repair of punctuation that a PDF font mis-encoded.

Some pages print each full-width mark as the GB2312 character 0x31 rows further on: lead byte
0xA1 became 0xD2 and 0xA3 became 0xD4, so “ came out as 野, ， as 袁, （ as 渊. Those characters
are also ordinary words (要求, 学院, 野外, 叶子), so a character is only repaired when the context
says it is punctuation:

1. paired marks (野…冶, 渊…冤, 叶…曳) whose content holds no real punctuation are repaired as
   pairs: real text almost never has both halves so close with nothing between — unless both
   halves sit in words (野外…陶冶) next to real punctuation, which says the text is fine;
2. single marks (袁 遥 尧 院 …) are repaired inside a *damaged span* — a stretch with no real
   punctuation that contains a repaired pair, or that sits on a page with repaired pairs, is
   long enough that real text would have punctuated it and has at least two marks (or a
   kicker's colon at a line end) — where reading the character as the mark gives a likelier
   split into words than reading it as itself (学院 and 重要 stay, 街道院 and 水平遥 are
   repaired although 道院 and 平遥 are words);
2a. the article around a character is evidence too: where, within an article, the characters
   that read as marks outnumber the real marks, the article was printed in the wrong font, so a
   span with a single mark is repaired (相结合袁真正实现), and so is a quotation too long to pair
   by rule 1 (野为推动…新阵地遥冶 over several sentences) when both its halves read as marks;
3. — and … are printed two at a time, so runs of 要 or 噎 are dashes and ellipses; a single 要 is
   the common verb unless it joins numbers (9要15) or short items in a quotation (野培训要督导要
   赋能冶).

Line breaks and spaces are skipped when looking at neighbours: PDF extraction wraps lines
anywhere and puts blank lines between most of them.
"""

from __future__ import annotations

import math
import re
from bisect import bisect_right
from collections.abc import Callable
from functools import lru_cache
from itertools import accumulate

from qa.ingest.lexicon import MAX_WORD, best_split, is_word, log_prob

_SHIFT = 0x31
_ROWS = (0xA1, 0xA3)   # GB2312 rows of full-width punctuation
# Rough share of each mark among the characters of Chinese news text: the prior of reading a
# character as the mark, against jieba's frequency of the character itself. Only marks of news
# text: the rest of the two rows (math symbols, shapes) map from very common characters (一 以
# 已 意 …) and would only ever produce false repairs.
_SHARE = {"，": 0.05, "。": 0.025, "、": 0.008, "：": 0.003, "；": 0.001, "？": 0.0005,
          "！": 0.0005, "“": 0.004, "”": 0.004, "‘": 0.0002, "’": 0.0002, "（": 0.002,
          "）": 0.002, "《": 0.0015, "》": 0.0015, "—": 0.001, "…": 0.0003, "·": 0.0003}
_TARGETS = set(_SHARE)
_PAIRS = {"“": "”", "‘": "’", "（": "）", "《": "》"}
_OPENING, _CLOSING = set(_PAIRS), set(_PAIRS.values())
_REAL = _TARGETS | set("(),;:?!")
_DOUBLED = set("—…")            # printed as —— and ……
_SENTENCE_END = set("。！？…")
_MIN_UNPUNCTUATED_SPAN = 12
_MAX_PAIR = 80                  # characters between the halves of a pair
_NEAR = 10                      # how close real punctuation must be to vouch for the text
_MAX_CHAIN_ITEM = 4
_REACH = 150                    # characters either side that speak for an article's damage
_MIN_EVIDENCE = 3               # marks that must read as such before a stretch counts as damaged
_MAX_QUOTE = 500                # characters a quotation may run in damaged text
# An outlet line ends an article, so evidence does not cross it: a damaged outlet line under a
# correct article (seed page 001) says nothing about that article's text.
_OUTLET = re.compile(r"[（(渊]据[^（）()渊冤\n]{1,40}?[）)冤]")


def build_mapping() -> dict[str, str]:
    """Mis-encoded character → the mark it stands for, derived from the GB2312 layout."""
    mapping = {}
    for row in _ROWS:
        for trail in range(0xA1, 0xFF):
            try:
                wrong = bytes([row + _SHIFT, trail]).decode("gb2312")
                right = bytes([row, trail]).decode("gb2312")
            except UnicodeDecodeError:
                continue
            right = {"\u2015": "—", "\u30fb": "·"}.get(right, right)
            if right in _TARGETS and wrong.isalpha():
                mapping[wrong] = right
    return mapping


MAPPING = build_mapping()
_OPENERS = {w: r for w, r in MAPPING.items() if r in _PAIRS}
_CLOSER_OF = {w: next((c for c, rr in MAPPING.items() if rr == _PAIRS[r]), None)
              for w, r in _OPENERS.items()}
_DASH = next(w for w, r in MAPPING.items() if r == "—")


def _cjk(c: str) -> bool:
    return "\u3400" <= c <= "\u9fff"


def _context(s: str, out: list[str], k: int, step: int) -> str:
    """Up to MAX_WORD ideographs beside k, stopping at anything else or at a repaired mark."""
    chars = []
    j = k + step
    while 0 <= j < len(s) and len(chars) < MAX_WORD and _cjk(s[j]) and out[j] == s[j]:
        chars.append(s[j])
        j += step
    return "".join(reversed(chars)) if step < 0 else "".join(chars)


def _reads_as_mark(s: str, out: list[str], k: int) -> bool:
    """Is the split into words likelier with s[k] read as its mark than as itself?"""
    return _likelier_as_mark(_context(s, out, k, -1), s[k], _context(s, out, k, 1))


@lru_cache(maxsize=1 << 16)   # asked twice for most characters: for evidence, then to repair
def _likelier_as_mark(left: str, c: str, right: str) -> bool:
    as_mark = math.log(_SHARE[MAPPING[c]])
    w, p = left + c + right, len(left)
    if not any(is_word(w[a:b]) for a in range(max(0, p - MAX_WORD + 1), p + 1)
               for b in range(max(a + 2, p + 1), min(len(w), a + MAX_WORD) + 1)):
        return as_mark > log_prob(c)     # in no word: the splits around it are the same
    return best_split(left) + as_mark + best_split(right) > best_split(w)


def _repair_pairs(s: str, out: list[str]) -> list[tuple[int, int]]:
    pairs = []
    for i, ch in enumerate(s):
        closer = _CLOSER_OF.get(ch)
        if closer is None or out[i] != ch:
            continue
        for j in range(i + 1, min(len(s), i + 2 + _MAX_PAIR)):
            c = s[j]
            if c == closer:
                if j > i + 1 and _plausible_pair(s, out, i, j):
                    out[i], out[j] = MAPPING[ch], MAPPING[closer]
                    pairs.append((i, j))
                break
            if c in _REAL or c == ch:
                break
    return pairs


def _plausible_pair(s: str, out: list[str], i: int, j: int) -> bool:
    """Both halves inside words (野外…陶冶, 叶子…摇曳) with real punctuation close by: the text
    is as printed."""
    if _reads_as_mark(s, out, i) or _reads_as_mark(s, out, j):
        return True
    near = s[max(0, i - _NEAR):i] + s[j + 1:j + 1 + _NEAR]
    return not any(c in _REAL for c in near)


def _spans(s: str):
    """Stretches between real punctuation marks."""
    start = 0
    for i, c in enumerate(s):
        if c in _REAL:
            if i > start:
                yield start, i
            start = i + 1
    if len(s) > start:
        yield start, len(s)


def _line_end(text: str, pos: list[int], k: int) -> bool:
    return k + 1 == len(pos) or "\n" in text[pos[k]:pos[k + 1]]


def _repair_span(text: str, pos: list[int], s: str, out: list[str], cands: list[int]) -> int:
    """Repair the candidates of a damaged span; returns how many it repaired."""
    for k in cands:
        if MAPPING[s[k]] in _DOUBLED and s[k] in (s[k - 1:k], s[k + 1:k + 2]):
            out[k] = MAPPING[s[k]]
    for k in cands:
        c = s[k]
        mark = MAPPING[c]
        prev = out[k - 1] if k > 0 else ""
        if out[k] != c or prev == "" or prev in _OPENING:
            continue   # no mark opens a text or follows an opening mark
        if mark in _OPENING or mark in _CLOSING:
            # An unpaired half: only a closer is plausible, dangling at a line end or closing
            # a repaired sentence (遥冶 → 。”) whose opening quote is too far back to pair.
            line_end = _line_end(text, pos, k)
            after_repaired_end = prev in _SENTENCE_END and s[k - 1] != prev
            if not (mark in _CLOSING and (line_end or after_repaired_end)):
                continue
        between_digits = s[k - 1:k].isdigit() and s[k + 1:k + 2].isdigit()
        if between_digits or (c != _DASH and _reads_as_mark(s, out, k)):
            out[k] = mark
    return sum(out[k] != s[k] for k in cands)


def _damage_evidence(s: str, out: list[str]) -> Callable[[int], bool]:
    """Does the text around s[k], within its article, hold more characters that read as marks
    (or were repaired as pairs) than real marks? Real text is punctuated every dozen characters
    or so and has a 袁 or 院 that reads as a mark now and then; text printed in the wrong font
    has no real marks at all."""
    reads = [0, *accumulate(c in MAPPING and (out[k] != c or _reads_as_mark(s, out, k))
                            for k, c in enumerate(s))]
    real = [0, *accumulate(c in _TARGETS for c in s)]
    bounds = [b for m in _OUTLET.finditer(s) for b in m.span()]

    def damaged(k: int) -> bool:
        i = bisect_right(bounds, k)
        lo, hi = bounds[i - 1] if i else 0, bounds[i] if i < len(bounds) else len(s)
        a, b = max(lo, k - _REACH), min(hi, k + _REACH + 1)
        marks = reads[b] - reads[a]
        return marks >= _MIN_EVIDENCE and marks > real[b] - real[a]
    return damaged


def _long_quotes(s: str, out: list[str], damaged: Callable[[int], bool]) -> None:
    """Quotation marks left unpaired in damaged text because they are far apart: an opener that
    reads as a mark and the first closer after it, in the same damaged article."""
    for i, ch in enumerate(s):
        closer = _CLOSER_OF.get(ch)
        if closer is None or out[i] != ch or not damaged(i) or not _reads_as_mark(s, out, i):
            continue
        for j in range(i + 1, min(len(s), i + _MAX_QUOTE)):
            c = s[j]
            if not damaged(j) or c in _REAL or out[j] == MAPPING[ch] or c == ch:
                break
            if c == closer:
                # The closer may be repaired already, as one dangling after a sentence's end.
                if out[j] != c or _reads_as_mark(s, out, j):
                    out[i], out[j] = MAPPING[ch], MAPPING[closer]
                break


def _dash_chains(s: str, out: list[str], pairs: list[tuple[int, int]]) -> None:
    """`“培训要督导要赋能要整合”`: short items joined by 要 inside a quotation are a list."""
    for i, j in pairs:
        inner = s[i + 1:j]
        items = inner.split(_DASH)
        if len(items) >= 3 and all(0 < len(t) <= _MAX_CHAIN_ITEM and all(map(_cjk, t))
                                   for t in items):
            for k in range(i + 1, j):
                if s[k] == _DASH:
                    out[k] = "—"


def repair(text: str) -> str:
    """Return ``text`` with mis-encoded punctuation restored; correct text is left as it is.
    One character for one, so offsets and line breaks stay where they were."""
    if not any(c in MAPPING for c in text):
        return text
    pos = [i for i, c in enumerate(text) if not c.isspace()]
    s = "".join(text[i] for i in pos)
    out = list(s)
    pairs = _repair_pairs(s, out)
    in_pair = bytearray(len(s))
    for i, j in pairs:
        in_pair[i] = in_pair[j] = 1
    damaged = _damage_evidence(s, out)
    for start, end in _spans(s):
        cands = [k for k in range(start, end) if s[k] in MAPPING and out[k] == s[k]]
        if not cands:
            continue
        if any(in_pair[start:end]):
            _repair_span(text, pos, s, out, cands)
        elif any(damaged(k) for k in cands):
            _repair_span(text, pos, s, out, [k for k in cands if damaged(k)])
        elif pairs and end - start >= _MIN_UNPUNCTUATED_SPAN:
            # Without a pair, one mark is too little evidence: correct text has a surname 袁
            # or a 平遥 now and then, damaged text of this length has more than one mark — or
            # is a title whose kicker ends its line with a colon.
            before = out[start:end]
            repaired = _repair_span(text, pos, s, out, cands)
            kicker = any(out[k] == "：" and _line_end(text, pos, k) for k in cands)
            if repaired < 2 and not kicker:
                out[start:end] = before
    _long_quotes(s, out, damaged)
    _dash_chains(s, out, pairs)
    chars = list(text)
    for k, i in enumerate(pos):
        chars[i] = out[k]
    return "".join(chars)
