"""Article → Chunks: whole sentences packed up to a size, with sentence overlap.

A chunk is a span of ``article.text``, so a hit can be cited and highlighted in place; its id is
a hash of its text, so a passage reprinted in several issues becomes one chunk in the index.

Both full-width punctuation and its NFKC forms (``，`` → ``,``, ``…`` → ``...``) are recognised,
because ingest normalises with NFKC.
"""

from __future__ import annotations

import hashlib
import re

from qa.types import Article, Chunk

_TERMINATORS = set("。！？；!?;…")
# Closing marks that belong to the sentence they follow: 。” ends the quote *and* the sentence.
_CLOSERS = set("”’」』）)】》")
_COMMAS = set("，、：,:")
# Pairs whose content is kept in one sentence; 《》 because titles such as 《你好！李焕英》 contain
# terminators too.
_PAIRS = {"“": "”", "「": "」", "『": "』", "《": "》"}
# A sentence end: a terminator (or "..."), any further terminators and dots, then the closers
# that belong to it. Matched by regex because a per-character loop made splitting a long article
# the costliest step of answering.
_TERMINATOR_RUN = re.compile("(?:[%s]|\\.\\.\\.)[%s.]*[%s]*" % tuple(
    re.escape("".join(sorted(x))) for x in (_TERMINATORS, _TERMINATORS, _CLOSERS)))
_QUOTE_MARK = re.compile("[%s]" % re.escape("".join(_PAIRS) + "".join(_PAIRS.values())))
# A number with its decimal/thousands/time separators and percent or Chinese magnitude:
# 1.9万, 38.5%, 1,000, 10:30, 2019—2030 is two numbers.
_NUMBER = re.compile(r"\d+(?:[.,:/]\d+)*(?:%|‰|[万亿])?")


def split_sentences(text: str) -> list[tuple[int, int]]:
    """Sentence spans ``(start, end)`` in ``text``, stripped of surrounding whitespace."""
    spans: list[tuple[int, int]] = []
    pos = 0
    for paragraph in text.split("\n"):
        for start, end in _paragraph_sentences(paragraph):
            spans.append((pos + start, pos + end))
        pos += len(paragraph) + 1
    return [s for s in (_strip(text, a, b) for a, b in spans) if s[0] < s[1]]


def _paragraph_sentences(p: str) -> list[tuple[int, int]]:
    quoted = _quoted_ranges(p)
    spans, start = [], 0
    for m in _TERMINATOR_RUN.finditer(p):
        end = m.end()
        if not any(a < end < b for a, b in quoted):
            spans.append((start, end))
            start = end
    if start < len(p):
        spans.append((start, len(p)))
    return spans


def _quoted_ranges(p: str) -> list[tuple[int, int]]:
    """``(open, close + 1)`` of each *matched* quote pair; unmatched marks protect nothing, so a
    stray “ from a broken page cannot swallow the rest of the paragraph."""
    stack: list[tuple[str, int]] = []
    ranges = []
    for m in _QUOTE_MARK.finditer(p):
        c, i = m.group(), m.start()
        if c in _PAIRS:
            stack.append((c, i))
        else:
            for depth in range(len(stack) - 1, -1, -1):
                if _PAIRS[stack[depth][0]] == c:
                    ranges.append((stack[depth][1], i + 1))
                    del stack[depth:]
                    break
    return ranges


def _strip(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def _split_long(text: str, start: int, end: int, size: int) -> list[tuple[int, int]]:
    """Pieces of at most ``size`` characters, cut after the last comma-like mark before the
    limit, else at the limit; never inside a number."""
    numbers = [m.span() for m in _NUMBER.finditer(text, start, end)]

    def inside_number(cut: int) -> tuple[int, int] | None:
        return next(((a, b) for a, b in numbers if a < cut < b), None)

    pieces = []
    while end - start > size:
        limit = start + size
        cut = next(
            (q + 1 for q in range(limit - 1, start, -1)
             if text[q] in _COMMAS and not inside_number(q + 1)),
            limit,
        )
        number = inside_number(cut)
        if number:
            # Back off to before the number; a number longer than the whole piece stays whole.
            cut = number[0] if number[0] > start else number[1]
        piece = _strip(text, start, cut)
        if piece[0] < piece[1]:
            pieces.append(piece)
        start = _strip(text, cut, end)[0]
    if start < end:
        pieces.append((start, end))
    return pieces


def _units(text: str, size: int) -> list[tuple[int, int]]:
    units = []
    for start, end in split_sentences(text):
        units.extend(_split_long(text, start, end, size) if end - start > size else [(start, end)])
    return units


def chunk_article(article: Article, size: int = 200, overlap: int = 1) -> list[Chunk]:
    """Greedy packing of whole sentences into chunks of at most ``size`` characters; each chunk
    after the first repeats the last ``overlap`` sentences of the one before."""
    if size < 1 or overlap < 0:
        raise ValueError(f"bad chunking parameters: size={size}, overlap={overlap}")
    text = article.text
    units = _units(text, size)
    chunks: list[Chunk] = []
    first = 0
    while first < len(units):
        last = first
        while last + 1 < len(units) and units[last + 1][1] - units[first][0] <= size:
            last += 1
        start, end = units[first][0], units[last][1]
        chunks.append(Chunk(_chunk_id(text[start:end]), article.id, text[start:end], start, end))
        if last + 1 == len(units):
            break
        # Keep as much of the overlap as still leaves room for the next new sentence; a chunk
        # made only of repeated sentences would add nothing.
        nxt = max(last + 1 - overlap, first + 1)
        while nxt <= last and units[last + 1][1] - units[nxt][0] > size:
            nxt += 1
        first = nxt
    return chunks


def _chunk_id(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:16]


def chunk_for_embedding(chunk: Chunk, title: str | None) -> str:
    """What the encoder sees: the title gives a chunk from the middle of an article its topic."""
    title = (title or "").strip()
    return f"{title}\n{chunk.text}" if title else chunk.text
