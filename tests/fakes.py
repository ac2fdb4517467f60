"""What tests about storage (not meaning) use instead of the model: a character-hash encoder,
and settings for an index built with it."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from pathlib import Path

import numpy as np

from qa.config import Settings

SEEDS = Path(__file__).resolve().parents[1] / "seeds"


class FakeEncoder:
    """Character-hash vectors: deterministic, normalised, instant; texts sharing characters
    are near each other, so questions still find their page."""

    model_id = "test/fake-encoder"
    dim = 16

    def __init__(self):
        self.passages = 0           # how many passages were embedded, for tests that count

    def _vec(self, text: str) -> np.ndarray:
        v = np.zeros(self.dim, np.float32)
        for ch in text:
            v[int(hashlib.md5(ch.encode()).hexdigest(), 16) % self.dim] += 1.0
        n = np.linalg.norm(v)
        return v / n if n else v

    def encode_queries(self, texts):
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        return np.stack([self._vec(t) for t in texts])

    def encode_passages(self, texts, show_progress=False):
        self.passages += len(texts)
        return self.encode_queries(list(texts))


def fake_settings(root: Path, **changes) -> Settings:
    """Settings for an index built with ``FakeEncoder``: no background merges (a test's index
    lives in a temporary folder), every request looks for a new commit point."""
    return replace(Settings(), index_dir=root, model=FakeEncoder.model_id,
                   reload_check_seconds=0.0, background_merge=False, **changes)
