"""Answer EM/F1 as the CMRC 2018 official script computes them, AUC, and the threshold choice.

F1 follows ``cmrc2018_evaluate.py``: lower-cased, its punctuation list removed, Chinese
characters one segment each, other runs split into words and symbols (the script uses
nltk.word_tokenize there; a regex stands in for it), and precision/recall from the longest
common *substring* of segments; best over the gold answers. EM: equal after removing the same
punctuation.
"""

from __future__ import annotations

import re

import numpy as np

_PUNCT = set("-:_*^/\\~`+=，。：？！“”；’《》·、「」（）－～『』") | {"……"}
_CJK = re.compile(r"[\u4e00-\u9fa5]")
_WORD = re.compile(r"\w+|[^\w\s]")


def segments(text: str) -> list[str]:
    out, run = [], ""
    for ch in text.lower().strip():
        if ch in _PUNCT:
            continue
        if _CJK.match(ch):
            out += _WORD.findall(run) + [ch]
            run = ""
        else:
            run += ch
    return out + _WORD.findall(run)


def _lcs(a: list[str], b: list[str]) -> int:
    best, prev = 0, [0] * (len(b) + 1)
    for x in a:
        cur = [0] * (len(b) + 1)
        for j, y in enumerate(b):
            if x == y:
                cur[j + 1] = prev[j] + 1
                best = max(best, cur[j + 1])
        prev = cur
    return best


def f1(prediction: str, answers: list[str]) -> float:
    pred, scores = segments(prediction), [0.0]
    for ans in answers:
        gold = segments(ans)
        common = _lcs(gold, pred)
        if common:
            p, r = common / len(pred), common / len(gold)
            scores.append(2 * p * r / (p + r))
    return max(scores)


def em(prediction: str, answers: list[str]) -> float:
    strip = lambda s: "".join(c for c in s.lower().strip() if c not in _PUNCT)  # noqa: E731
    return float(any(strip(prediction) == strip(a) for a in answers))


def auc(pos: np.ndarray, neg: np.ndarray) -> float:
    """P(score of a random positive > that of a random negative), ties counting half."""
    pos, neg = np.asarray(pos, float), np.asarray(neg, float)
    if len(pos) == 0 or len(neg) == 0:
        return float("nan")
    neg = np.sort(neg)
    below = np.searchsorted(neg, pos, "left")
    ties = np.searchsorted(neg, pos, "right") - below
    return float((below + 0.5 * ties).sum() / (len(pos) * len(neg)))


def choose_threshold(answerable: list[tuple[float, float]], unanswerable: list[float]) -> float:
    """The margin threshold maximising SQuAD 2.0-style F1 with both sides weighted equally:
    an answerable pair (margin, F1 of its span) earns its F1 if kept, a no-answer pair
    (margin) earns 1 if rejected. Returned as the midpoint between neighbouring margins."""
    m_pos = np.array([m for m, _ in answerable]), np.array([f for _, f in answerable])
    m_neg = np.asarray(unanswerable, float)
    cands = np.unique(np.concatenate([m_pos[0], m_neg]))
    cands = np.concatenate([[cands[0] - 1], (cands[1:] + cands[:-1]) / 2, [cands[-1] + 1]])
    best, best_t = -1.0, 0.0
    for t in cands:
        score = 0.5 * (m_pos[1] * (m_pos[0] >= t)).mean() + 0.5 * (m_neg < t).mean()
        if score > best:
            best, best_t = score, float(t)
    return best_t
