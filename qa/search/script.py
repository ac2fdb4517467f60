"""A question typed in traditional characters is searched in simplified ones.

The archive is in simplified characters. The dense model reads 濟陽區 much as 济阳区, but BM25,
the answering sentence and the confidence all match the question's words literally, and every
traditional form misses. So the question is converted (OpenCC's t2s, phrase-aware) before
retrieval and features — but only when it reads as traditional: a simplified question may
carry one traditional-looking character that is its own correct form (黄霑, 位於 in a
converted text), and converting it would lose the very word the archive holds.
"""

from __future__ import annotations

import functools

# A question reads as traditional when at least this many of its characters convert, or this
# share of its Chinese characters does (a short query, 濟陽 社工).
MIN_CHANGED = 2
MIN_SHARE = 0.125


@functools.lru_cache(maxsize=1)
def _converter():
    from opencc import OpenCC

    return OpenCC("t2s")


def simplified(question: str) -> str:
    """``question`` in simplified characters if it reads as traditional, else unchanged."""
    converted = _converter().convert(question)
    if converted == question:
        return question
    if len(converted) != len(question):
        # t2s maps characters one to one; a length change is a phrase rewrite we do not trust
        return question
    changed = sum(a != b for a, b in zip(question, converted))
    cjk = sum("\u4e00" <= c <= "\u9fff" for c in question) or 1
    return converted if changed >= MIN_CHANGED or changed / cjk >= MIN_SHARE else question
