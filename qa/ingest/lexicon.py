"""jieba's dictionary as a word list: the repair and the layout both ask "is this a word?"."""

from __future__ import annotations

from functools import lru_cache


@lru_cache(maxsize=1)
def _frequencies() -> dict:
    import jieba

    jieba.setLogLevel(60)
    jieba.initialize()
    return jieba.dt.FREQ


def is_word(s: str, min_freq: int = 1) -> bool:
    return _frequencies().get(s, 0) >= min_freq


def spans_word(left: str, right: str, min_freq: int = 20) -> bool:
    """Does a common word run across the boundary between ``left`` and ``right``? Then a line
    break there is a wrap, not the end of a title or paragraph."""
    a, b = left[-3:], right[:3]
    for i in range(len(a)):
        for j in range(1, len(b) + 1):
            if len(a) - i + j >= 2 and is_word(a[i:] + b[:j], min_freq):
                return True
    return False
