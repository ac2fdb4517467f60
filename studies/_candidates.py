"""Candidate lists per query text, cached on disk per index, for the offline studies.

The fusion, answer-sentence and calibration studies all replay the service's later stages
(fuse → group → pick → confidence) on the dense and BM25 candidates of thousands of questions
in several styles. Encoding and searching them is most of the cost, so each query text's two
lists (``DEPTH`` candidates each, best first) are kept in a pickle under
``$QA_CACHE_DIR/studies/`` named for the index and its commit point.
"""

from __future__ import annotations

import pickle
import sys
from pathlib import Path

DEPTH = 250     # deep enough to drop a question's gold passages and keep 50 others


class Candidates:
    def __init__(self, service):
        self.service = service
        snap = service.snapshot()
        folder = service.settings.cache_dir / "studies"
        folder.mkdir(parents=True, exist_ok=True)
        self.path = folder / f"{Path(service.settings.index_dir).name}-{snap.name}.pkl"
        self.data: dict[str, tuple[list, list]] = {}
        if self.path.exists():
            self.data = pickle.loads(self.path.read_bytes())
        self.dirty = False

    def get(self, texts: list[str]) -> list[tuple[list, list]]:
        """For each text: (dense, lexical), each a list of (chunk key, score), best first."""
        missing = list(dict.fromkeys(t for t in texts if t not in self.data))
        if missing:
            snap = self.service.snapshot()
            vecs = self.service.encoder.encode_queries(missing)
            for t, v in zip(missing, vecs):
                d = snap.dense(v, DEPTH)
                lx = snap.lexical(t, DEPTH)
                self.data[t] = (sorted(d.items(), key=lambda x: -x[1]),
                                sorted(lx.items(), key=lambda x: -x[1]))
            self.dirty = True
            print(f"  searched {len(missing)} query texts", file=sys.stderr)
            self.save()
        return [self.data[t] for t in texts]

    def save(self) -> None:
        if self.dirty:
            tmp = self.path.with_suffix(".tmp")
            tmp.write_bytes(pickle.dumps(self.data))
            tmp.replace(self.path)
            self.dirty = False


def top(pairs: list, n: int, keep=None) -> dict[int, float]:
    """The first ``n`` candidates (passing ``keep``) as the dict the service takes."""
    out = {}
    for key, score in pairs:
        if keep is None or keep(key):
            out[key] = score
            if len(out) >= n:
                break
    return out


def cached(base, stem: str, make):
    """A study's collected rows, kept in ``$QA_CACHE_DIR/studies/<stem>.pkl``: ``make()`` runs
    only when there is no such file."""
    path = base.cache_dir / "studies" / f"{stem}.pkl"
    if path.exists():
        return pickle.loads(path.read_bytes())
    data = make()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(pickle.dumps(data))
    return data
