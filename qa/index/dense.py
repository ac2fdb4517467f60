"""Dense vector search within one segment: exact over the stored vectors, or HNSW (FAISS).

Every segment stores its vectors as ``vectors.npy`` (float32, L2-normalised, so inner product is
cosine similarity), memory-mapped: all workers share one copy in the page cache. A segment of up
to ``exact_max`` vectors is searched exactly from that array — an archive of a few thousand
articles gains nothing from an approximate index. A larger one (a merged, older part of the
archive) also has ``hnsw.faiss``, an ``IndexHNSWFlat`` read with ``IO_FLAG_MMAP_IFC`` so its graph
and codes are mapped from the file and shared as well, instead of copied into each worker.

A search may be restricted to some documents (deleted ones are never allowed; filters narrow
further). HNSW takes the restriction as an ``IDSelectorBitmap`` inside the graph walk; when few
documents are allowed, walking the graph would mostly visit forbidden ones, so those are scored
exactly instead.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

import faiss
import numpy as np

from qa.errors import IndexCorrupt

# Below this share of allowed documents a restricted search is exact: the graph walk would
# otherwise spend its effort on documents it must skip.
EXACT_SHARE = 0.05
# efSearch is set per this many chunks of a graph (a bulk build's segment size): a bigger graph
# needs a longer search for the same recall, and merging segments must not cost recall. At 978k
# chunks, recall@50 against exact search was .959 for four graphs of ~250k at efSearch 256 and
# .878 / .929 / .957 for one graph at 256 / 512 / 1024 (benchmarks/hnsw_recall.py); one graph at
# 1024 still computes fewer distances (10.9k a question against 19.1k) and, on one core instead
# of all, answers sooner (BENCHMARKS.md §9).
EF_CHUNKS = 250_000


class DenseIndex(Protocol):
    """What the search service needs from a dense engine over a whole archive view."""

    def dense(self, vector: np.ndarray, k: int, where=None) -> dict[int, float]:
        """Cosine similarity of the (at most) ``k`` nearest chunks, by chunk key."""
        ...


def normalised(vectors: np.ndarray, dim: int | None = None) -> np.ndarray:
    # A copy: faiss normalises in place and the caller's array must stay untouched.
    vectors = np.array(vectors, dtype=np.float32, order="C", copy=True)
    if vectors.ndim != 2 or (dim is not None and vectors.shape[1] != dim):
        raise ValueError(f"expected vectors of shape (n, {dim or 'd'}), got {vectors.shape}")
    faiss.normalize_L2(vectors)
    return vectors


def scaled_ef(ef_search: int, chunks: int) -> int:
    """The efSearch of a graph over ``chunks`` chunks: ``ef_search`` per ``EF_CHUNKS``."""
    return ef_search * max(1, -(-chunks // EF_CHUNKS))


def build_hnsw(vectors: np.ndarray, m: int, ef_construction: int) -> faiss.Index:
    index = faiss.IndexHNSWFlat(vectors.shape[1], m, faiss.METRIC_INNER_PRODUCT)
    index.hnsw.efConstruction = ef_construction
    index.add(np.ascontiguousarray(vectors, dtype=np.float32))
    return index


def write_hnsw(index: faiss.Index, path: Path) -> None:
    try:
        faiss.write_index(index, str(path))
    except RuntimeError as e:     # faiss reports a failed write (ENOSPC) as RuntimeError
        import errno

        full = "No space left" in str(e) or "errno=28" in str(e)
        raise OSError(errno.ENOSPC if full else errno.EIO, f"写入向量索引失败：{e}") from e


class SegmentVectors:
    """The dense side of one segment: its memory-mapped vectors and, if it has one, its HNSW."""

    def __init__(self, vectors: np.ndarray, hnsw: faiss.Index | None, ef_search: int):
        self.vectors = vectors
        self.hnsw = hnsw
        self.ef_search = scaled_ef(ef_search, len(vectors))

    @classmethod
    def open(cls, directory: Path, ef_search: int) -> "SegmentVectors":
        try:
            vectors = np.asarray(np.load(directory / "vectors.npy", mmap_mode="r"))
        except (OSError, ValueError) as e:
            raise IndexCorrupt(f"向量文件无法读取：{directory / 'vectors.npy'}（{e}）") from e
        hnsw = None
        path = directory / "hnsw.faiss"
        if path.exists():
            try:
                hnsw = faiss.read_index(str(path), faiss.IO_FLAG_MMAP_IFC)
            except RuntimeError as e:
                raise IndexCorrupt(f"向量索引无法读取：{path}（{e}）") from e
            if not isinstance(faiss.downcast_index(hnsw), faiss.IndexHNSW) \
                    or hnsw.ntotal != len(vectors):
                raise IndexCorrupt(f"向量索引与向量文件不符：{path}")
        return cls(vectors, hnsw, ef_search)

    @property
    def kind(self) -> str:
        return "hnsw" if self.hnsw is not None else "flat"

    def __len__(self) -> int:
        return len(self.vectors)

    def search(self, query: np.ndarray, k: int,
               allowed: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        """(scores, local document numbers), best first, of at most ``k`` allowed documents
        (``allowed``: a boolean mask, or None for all)."""
        n = len(self.vectors)
        if k < 1 or n == 0:
            return np.zeros(0, np.float32), np.zeros(0, np.int64)
        query = np.ascontiguousarray(query, dtype=np.float32).reshape(1, -1)
        count = n if allowed is None else int(allowed.sum())
        if count == 0:
            return np.zeros(0, np.float32), np.zeros(0, np.int64)
        if self.hnsw is None or count < max(EXACT_SHARE * n, k):
            return self._exact(query[0], k, allowed)
        params = faiss.SearchParametersHNSW()
        params.efSearch = max(self.ef_search, k)
        if allowed is not None and count < n:
            bits = np.packbits(allowed, bitorder="little")
            params.sel = faiss.IDSelectorBitmap(n, faiss.swig_ptr(bits))
            scores, ids = self.hnsw.search(query, k, params=params)
            del bits     # the selector points into it; it must outlive the search, not longer
        else:
            scores, ids = self.hnsw.search(query, k, params=params)
        keep = ids[0] >= 0
        return scores[0][keep], ids[0][keep].astype(np.int64)

    def _exact(self, query: np.ndarray, k: int, allowed: np.ndarray | None):
        if allowed is None:
            rows = None
            scores = np.asarray(self.vectors) @ query
        else:
            rows = np.flatnonzero(allowed)
            scores = np.asarray(self.vectors[rows]) @ query
        k = min(k, len(scores))
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.lexsort((top, -scores[top]))]
        ids = top if rows is None else rows[top]
        return scores[top].astype(np.float32), ids.astype(np.int64)
