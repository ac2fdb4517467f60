"""Context-aware repair of punctuation that a PDF font mis-encoded.

Some pages print each full-width mark as the GB2312 character 0x31 rows further on: lead byte
0xA1 became 0xD2 and 0xA3 became 0xD4, so “ came out as 野, ， as 袁, （ as 渊. Those characters
are also ordinary words (要求, 学院, 野外, 叶子), so a character is only repaired when the context
says it is punctuation:

1. paired marks (野…冶, 渊…冤, 叶…曳) whose content holds no real punctuation are repaired as
   pairs: real text almost never has both halves so close with nothing between;
2. single marks (袁 遥 尧 院 要 …) are repaired inside a *damaged span* — a stretch with no real
   punctuation that contains a repaired pair, or that sits on a page with repaired pairs and is
   long enough that real text would have punctuated it — and only where the character does not
   form a dictionary word with its neighbours (重要, 学院 stay).
"""

from __future__ import annotations

import re
import unicodedata

from qa.ingest.lexicon import is_word

_SHIFT = 0x31
_ROWS = (0xA1, 0xA3)   # GB2312 rows of full-width punctuation
# Marks that occur in Chinese news text; the rest of the two rows (math symbols, shapes) map
# from very common characters (一 以 已 意 …) and would only ever produce false repairs.
_TARGETS = set("，。、：；？！“”‘’（）《》—…·")
_PAIRS = {"“": "”", "‘": "’", "（": "）", "《": "》"}
# Single marks that may follow an opening mark; the others never do in real text.
_AFTER_OPEN_OK = set("“‘（《")
_REAL = _TARGETS | {"(", ")", ",", ".", ";", ":", "?", "!"}
_MIN_UNPUNCTUATED_SPAN = 12


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
            if right in _TARGETS and unicodedata.category(wrong).startswith("Lo"):
                mapping[wrong] = right
    return mapping


MAPPING = build_mapping()
_OPENERS = {w: r for w, r in MAPPING.items() if r in _PAIRS}
_CLOSER_OF = {w: next((c for c, rr in MAPPING.items() if rr == _PAIRS[r]), None)
              for w, r in _OPENERS.items()}


def _neighbours(text: str, i: int, step: int, n: int = 2) -> str:
    """Up to ``n`` characters beside position i, skipping line breaks and spaces (PDF wraps)."""
    out = []
    j = i + step
    while 0 <= j < len(text) and len(out) < n:
        if text[j] not in " \n":
            out.append(text[j])
        j += step
    return "".join(reversed(out)) if step < 0 else "".join(out)


def _forms_word(text: str, i: int) -> bool:
    c = text[i]
    left, right = _neighbours(text, i, -1), _neighbours(text, i, 1)
    candidates = [left[-1:] + c, c + right[:1], left + c, c + right, left[-1:] + c + right[:1]]
    return any(len(w) > 1 and is_word(w) for w in candidates)


def _repair_pairs(chars: list[str], fixed: set[int], max_len: int = 40) -> None:
    text = "".join(chars)
    for i, ch in enumerate(text):
        closer = _CLOSER_OF.get(ch)
        if closer is None or i in fixed:
            continue
        for j in range(i + 1, min(len(text), i + 2 + max_len)):
            c = text[j]
            if c == closer:
                if j > i + 1:
                    chars[i], chars[j] = MAPPING[ch], MAPPING[closer]
                    fixed.update((i, j))
                break
            if c in _REAL or c == ch or text[j:j + 2] == "\n\n":
                break


def _spans(text: str) -> list[tuple[int, int]]:
    """Stretches of text between real punctuation marks."""
    bounds = [i for i, c in enumerate(text) if c in _REAL]
    starts = [0] + [b + 1 for b in bounds]
    ends = bounds + [len(text)]
    return [(s, e) for s, e in zip(starts, ends) if e > s]


def repair(text: str) -> str:
    """Return ``text`` with mis-encoded punctuation restored; correct text is left as it is."""
    if not any(c in MAPPING for c in text):
        return text
    chars = list(text)
    fixed: set[int] = set()
    _repair_pairs(chars, fixed)
    page_damaged = bool(fixed)
    original = text
    for start, end in _spans(original):
        in_span = [i for i in range(start, end) if original[i] in MAPPING and i not in fixed]
        if not in_span:
            continue
        has_pair = any(start <= i < end for i in fixed)
        letters = sum(1 for c in original[start:end] if not c.isspace())
        if not (has_pair or (page_damaged and letters >= _MIN_UNPUNCTUATED_SPAN)):
            continue
        for i in in_span:
            mark = MAPPING[original[i]]
            if mark in _PAIRS or mark in _PAIRS.values():
                # An unpaired half: only a dangling closer at a line end is plausible.
                nxt = _neighbours(original, i, 1, 1)
                if not (mark in _PAIRS.values() and (nxt == "" or original[i + 1:i + 2] == "\n")):
                    continue
            elif _forms_word(original, i):
                continue
            prev = _neighbours("".join(chars), i, -1, 1)
            if prev == "" or prev in _AFTER_OPEN_OK:
                continue
            chars[i] = mark
    return "".join(chars)


_OUTLET_HINT = re.compile(r"[渊(（]据")


def has_damage(text: str) -> bool:
    return any(c in MAPPING for c in text)
