"""Score fusion of the dense and lexical candidate lists.

Scores are min-max normalised per query over the union of candidates (a candidate missing from
one list gets that list's floor), then combined convexly. The lexical weight depends on how
much the query says lexically: ``lexical_weight`` rises with the share of the query's
characters covered by tokens the index knows. See docs/decisions.md ("Fusion") for the
measurement behind the defaults.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Fused:
    id: int
    score: float
    dense: float | None
    lexical: float | None


def _minmax(scores: dict[int, float], ids: list[int]) -> np.ndarray:
    if not scores:
        return np.zeros(len(ids))
    vals = np.array(list(scores.values()), dtype=np.float64)
    lo, hi = float(vals.min()), float(vals.max())
    raw = np.array([scores.get(i, lo) for i in ids], dtype=np.float64)
    if hi - lo < 1e-9:
        return np.where([i in scores for i in ids], 1.0, 0.0)
    return (raw - lo) / (hi - lo)


def fuse(dense: dict[int, float], lexical: dict[int, float], lexical_weight: float) -> list[Fused]:
    """Best first. ``lexical_weight`` in [0, 1]; the dense weight is its complement."""
    ids = sorted(set(dense) | set(lexical))
    if not ids:
        return []
    d = _minmax(dense, ids)
    lx = _minmax(lexical, ids)
    w = min(max(lexical_weight, 0.0), 1.0)
    fused = (1 - w) * d + w * lx
    order = np.lexsort((np.array(ids), -fused))
    return [Fused(ids[k], float(fused[k]), dense.get(ids[k]), lexical.get(ids[k])) for k in order]
