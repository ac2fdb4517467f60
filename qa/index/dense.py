"""Dense vector index: a small interface and its FAISS backend.

Vectors are L2-normalised on the way in, so inner product is cosine similarity. Up to
``exact_max`` vectors the search is exact (``IndexFlatIP``), above it approximate (HNSW): an
archive of a few thousand articles gains nothing from an approximate index, a large one needs it.
Both are wrapped in ``IndexIDMap2`` so results carry our own int64 ids and stored vectors can be
read back (``reconstruct``) when a growing flat index is rebuilt as HNSW.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

import faiss
import numpy as np

from qa.errors import IndexCorrupt


class DenseIndex(Protocol):
    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None: ...

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """``(scores, ids)``, both shaped ``(n_queries, k)``; missing results are id -1."""
        ...

    def __len__(self) -> int: ...

    def save(self, path: Path) -> None: ...

    @classmethod
    def load(cls, path: Path) -> "DenseIndex": ...


class FaissIndex:
    def __init__(self, index: faiss.IndexIDMap2, exact_max: int = 50_000, m: int = 32,
                 ef_construction: int = 80, ef_search: int = 96):
        self._index = index
        self.exact_max = exact_max
        self.m = m
        self.ef_construction = ef_construction
        self.ef_search = ef_search
        if self.kind == "hnsw":
            self._inner().hnsw.efSearch = ef_search

    @classmethod
    def build(cls, ids: np.ndarray, vectors: np.ndarray, exact_max: int = 50_000, m: int = 32,
              ef_construction: int = 80, ef_search: int = 96) -> "FaissIndex":
        ids, vectors = _check(ids, vectors)
        if len(ids) > exact_max:
            inner = faiss.IndexHNSWFlat(vectors.shape[1], m, faiss.METRIC_INNER_PRODUCT)
            inner.hnsw.efConstruction = ef_construction
        else:
            inner = faiss.IndexFlatIP(vectors.shape[1])
        index = faiss.IndexIDMap2(inner)
        index.add_with_ids(vectors, ids)
        return cls(index, exact_max, m, ef_construction, ef_search)

    @property
    def kind(self) -> str:
        return "hnsw" if isinstance(self._inner(), faiss.IndexHNSW) else "flat"

    @property
    def dim(self) -> int:
        return self._index.d

    def __len__(self) -> int:
        return self._index.ntotal

    def ids(self) -> np.ndarray:
        return faiss.vector_to_array(self._index.id_map).astype(np.int64)

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        ids, vectors = _check(ids, vectors, self.dim)
        if np.isin(ids, self.ids()).any():
            raise ValueError("ids already in the dense index")
        if self.kind == "flat" and len(self) + len(ids) > self.exact_max:
            # HNSW cannot be converted in place; rebuilding from the stored vectors is a one-off
            # cost paid when the archive crosses the threshold.
            stored = self._index.index.reconstruct_n(0, len(self))
            rebuilt = FaissIndex.build(
                np.concatenate([self.ids(), ids]), np.concatenate([stored, vectors]),
                self.exact_max, self.m, self.ef_construction, self.ef_search)
            self._index = rebuilt._index
        else:
            self._index.add_with_ids(vectors, ids)

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        queries = _normalised(np.atleast_2d(queries), self.dim)
        if k < 1 or len(self) == 0:
            n = len(queries)
            return np.full((n, max(k, 0)), -np.inf, np.float32), np.full((n, max(k, 0)), -1, np.int64)
        scores, ids = self._index.search(queries, k)
        scores[ids < 0] = -np.inf
        return scores, ids

    def save(self, path: Path) -> None:
        faiss.write_index(self._index, str(path))

    @classmethod
    def load(cls, path: Path, exact_max: int = 50_000, m: int = 32, ef_construction: int = 80,
             ef_search: int = 96) -> "FaissIndex":
        # efSearch is a query-time setting, so the configured value wins over the stored one.
        try:
            index = faiss.read_index(str(path))
        except RuntimeError as e:
            raise IndexCorrupt(f"向量索引无法读取：{path}（{e}）") from e
        if not isinstance(index, faiss.IndexIDMap2):
            raise IndexCorrupt(f"向量索引格式不对：{path}")
        return cls(index, exact_max, m, ef_construction, ef_search)

    def _inner(self) -> faiss.Index:
        return faiss.downcast_index(self._index.index)


def _check(ids: np.ndarray, vectors: np.ndarray, dim: int | None = None):
    ids = np.ascontiguousarray(ids, dtype=np.int64).reshape(-1)
    vectors = _normalised(vectors, dim)
    if len(ids) != len(vectors):
        raise ValueError(f"{len(ids)} ids for {len(vectors)} vectors")
    if len(np.unique(ids)) != len(ids) or (ids < 0).any():
        raise ValueError("ids must be unique and non-negative (-1 marks a missing result)")
    return ids, vectors


def _normalised(vectors: np.ndarray, dim: int | None) -> np.ndarray:
    # A copy: faiss normalises in place and the caller's array must stay untouched.
    vectors = np.array(vectors, dtype=np.float32, order="C", copy=True)
    if vectors.ndim != 2 or (dim is not None and vectors.shape[1] != dim):
        raise ValueError(f"expected vectors of shape (n, {dim or 'd'}), got {vectors.shape}")
    faiss.normalize_L2(vectors)
    return vectors
