"""(question, text) -> model inputs, and model outputs -> character spans. No torch here.

A text longer than one window is cut into overlapping windows of at most ``max_len`` tokens,
each laid out as the tokenizer's pair template does it: ``<s> question </s> </s> window </s>``.
Token offsets (from ``tokenizers``) map every window token back to characters of the text.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MAX_QUESTION_TOKENS = 64


@dataclass
class Window:
    ids: np.ndarray        # int64 token ids of the whole sequence
    context: int           # index in ``ids`` of the first text token
    offsets: np.ndarray    # (n, 2) character offsets into the text of the n text tokens


@dataclass
class Span:
    start: int             # character offsets into the text, end exclusive
    end: int
    score: float           # start logit + end logit of the span
    null: float            # start logit + end logit of <s> (no answer) in the same window
    window: int            # which window of the text the span came from

    @property
    def margin(self) -> float:
        """Span score over the no-answer score: the answerability logit."""
        return self.score - self.null

    @property
    def prob(self) -> float:
        return float(1.0 / (1.0 + np.exp(-self.margin)))


def encode(tokenizer, texts: list[str]) -> list[tuple[np.ndarray, np.ndarray]]:
    """(ids, offsets) of each text, without special tokens."""
    out = []
    for e in tokenizer.encode_batch(texts, add_special_tokens=False):
        out.append((np.asarray(e.ids, np.int64), np.asarray(e.offsets, np.int64).reshape(-1, 2)))
    return out


def windows(q_ids: np.ndarray, t_ids: np.ndarray, t_offsets: np.ndarray, max_len: int,
            overlap: int, bos: int, eos: int) -> list[Window]:
    """The windows of one (question, text) pair; consecutive windows share ``overlap`` tokens."""
    q_ids = q_ids[:MAX_QUESTION_TOKENS]
    room = max_len - len(q_ids) - 4
    step = max(1, room - overlap)
    head = np.concatenate([[bos], q_ids, [eos, eos]]).astype(np.int64)
    out, start = [], 0
    while True:
        end = min(start + room, len(t_ids))
        ids = np.concatenate([head, t_ids[start:end], [eos]]).astype(np.int64)
        out.append(Window(ids, len(head), t_offsets[start:end]))
        if end >= len(t_ids):
            return out
        start += step


def best_span(start_logits: np.ndarray, end_logits: np.ndarray, window: Window,
              max_answer: int, penalty: float = 0.0) -> tuple[int, int, float, float]:
    """Best (first token, last token, score) inside the window's text, and the null score.
    ``penalty``: subtracted from a span's score per token after its first. The service uses 0:
    studies/reader_span.py (results/reader_span.log) found no penalty worth more than +.012 F1
    on any bench set, and those are the reported sets (``max_answer``: see train.MAX_ANSWER)."""
    c0, n = window.context, len(window.offsets)
    null = float(start_logits[0] + end_logits[0])
    if n == 0:
        return 0, 0, -np.inf, null
    s = start_logits[c0:c0 + n]
    e = end_logits[c0:c0 + n]
    scores = s[:, None] + e[None, :]
    i, j = np.indices(scores.shape)
    scores = np.where((j >= i) & (j - i < max_answer), scores - penalty * (j - i), -np.inf)
    a, b = np.unravel_index(int(np.argmax(scores)), scores.shape)
    return int(a), int(b), float(scores[a, b]), null
