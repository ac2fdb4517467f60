"""jieba's dictionary as a word list: the repair and the layout both ask "is this a word?"."""

from __future__ import annotations

import math
from functools import lru_cache

MAX_WORD = 4


@lru_cache(maxsize=1)
def _frequencies() -> dict:
    import jieba

    jieba.setLogLevel(60)
    jieba.initialize()
    return jieba.dt.FREQ


@lru_cache(maxsize=1)
def _log_total() -> float:
    _frequencies()
    import jieba

    return math.log(jieba.dt.total)


def is_word(s: str, min_freq: int = 1) -> bool:
    return _frequencies().get(s, 0) >= min_freq


def log_prob(s: str) -> float:
    """Log-probability of ``s`` as one token, jieba's unigram model (unknown characters count
    once, as in jieba)."""
    f = _frequencies().get(s) or (1 if len(s) == 1 else 0)
    return math.log(f) - _log_total() if f else -math.inf


def best_split(s: str) -> float:
    """Log-probability of the likeliest split of ``s`` into dictionary words."""
    best = [0.0] + [-math.inf] * len(s)
    for j in range(1, len(s) + 1):
        best[j] = max(best[i] + log_prob(s[i:j]) for i in range(max(0, j - MAX_WORD), j))
    return best[-1]


def spans_word(left: str, right: str, min_freq: int = 20) -> bool:
    """Does a common word run across the boundary between ``left`` and ``right``? Then a line
    break there is a wrap, not the end of a title or paragraph."""
    a, b = left[-3:], right[:3]
    for i in range(len(a)):
        for j in range(1, len(b) + 1):
            if len(a) - i + j >= 2 and is_word(a[i:] + b[:j], min_freq):
                return True
    return False


def split_crosses(left: str, right: str) -> bool:
    """Does the likeliest split into words put one word across the boundary (国 / 家 → 国家, but
    社区 / 内蒙古 stays apart although 区内 is a word)?"""
    a = "".join(c for c in left[-MAX_WORD:] if not c.isspace())
    b = "".join(c for c in right[:MAX_WORD] if not c.isspace())
    return bool(a and b) and best_split(a + b) > best_split(a) + best_split(b) + 1e-9
