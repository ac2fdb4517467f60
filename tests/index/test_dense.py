"""Dense search within a segment: exact from the memory-mapped vectors, HNSW from a memory-mapped
FAISS file, both restricted to allowed documents when asked."""

from __future__ import annotations

import numpy as np
import pytest

from qa.errors import IndexCorrupt
from qa.index.dense import SegmentVectors, build_hnsw, normalised, write_hnsw

DIM = 32


def random_vectors(n, seed=0):
    v = np.random.default_rng(seed).standard_normal((n, DIM)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def stored(tmp_path, vectors, hnsw: bool, ef_search: int = 64) -> SegmentVectors:
    np.save(tmp_path / "vectors.npy", vectors)
    if hnsw:
        write_hnsw(build_hnsw(vectors, 16, 40), tmp_path / "hnsw.faiss")
    return SegmentVectors.open(tmp_path, ef_search)


@pytest.mark.parametrize("hnsw", [False, True])
def test_nearest_first_and_vectors_memory_mapped(tmp_path, hnsw):
    v = random_vectors(300)
    seg = stored(tmp_path, v, hnsw)
    assert seg.kind == ("hnsw" if hnsw else "flat") and len(seg) == 300
    assert isinstance(seg.vectors.base, np.memmap)
    scores, ids = seg.search(v[42], 5, None)
    assert ids[0] == 42 and scores[0] == pytest.approx(1.0, abs=1e-5)
    assert list(scores) == sorted(scores, reverse=True)
    exact = np.argsort(-(v @ v[42]))[:5]
    assert ids.tolist() == exact.tolist()


@pytest.mark.parametrize("hnsw", [False, True])
@pytest.mark.parametrize("share", [0.5, 0.01])
def test_search_never_returns_a_document_that_is_not_allowed(tmp_path, hnsw, share):
    v = random_vectors(2000)
    seg = stored(tmp_path, v, hnsw)
    allowed = np.random.default_rng(1).random(2000) < share
    allowed[7] = True
    scores, ids = seg.search(v[7], 10, allowed)
    assert allowed[ids].all() and ids[0] == 7
    # The best allowed documents, as an exact search over them finds them.
    rows = np.flatnonzero(allowed)
    want = rows[np.argsort(-(v[rows] @ v[7]))[:10]]
    assert len(set(ids.tolist()) & set(want.tolist())) >= 8


def test_nothing_allowed_or_empty_segment_finds_nothing(tmp_path):
    seg = stored(tmp_path, random_vectors(50), False)
    assert seg.search(random_vectors(1)[0], 5, np.zeros(50, bool))[1].size == 0
    (tmp_path / "e").mkdir()
    empty = stored(tmp_path / "e", np.zeros((0, DIM), np.float32), False)
    assert empty.search(random_vectors(1)[0], 5, None)[1].size == 0


def test_k_larger_than_the_segment(tmp_path):
    seg = stored(tmp_path, random_vectors(3), False)
    scores, ids = seg.search(random_vectors(1, seed=2)[0], 10, None)
    assert sorted(ids.tolist()) == [0, 1, 2] and len(scores) == 3


def test_normalised_copies_and_checks_shape():
    v = np.ones((2, DIM), np.float32) * 3
    out = normalised(v, DIM)
    assert np.allclose(np.linalg.norm(out, axis=1), 1.0) and (v == 3).all()
    with pytest.raises(ValueError):
        normalised(np.ones((2, DIM + 1)), DIM)


def test_hnsw_of_another_size_or_garbage_is_corrupt(tmp_path):
    v = random_vectors(100)
    np.save(tmp_path / "vectors.npy", v)
    write_hnsw(build_hnsw(v[:50], 16, 40), tmp_path / "hnsw.faiss")
    with pytest.raises(IndexCorrupt):
        SegmentVectors.open(tmp_path, 64)
    (tmp_path / "hnsw.faiss").write_bytes(b"not a faiss index")
    with pytest.raises(IndexCorrupt):
        SegmentVectors.open(tmp_path, 64)


def test_a_bigger_graph_is_searched_longer(tmp_path, monkeypatch):
    # efSearch is per EF_CHUNKS chunks, so that one merged graph keeps the recall of the
    # segments it replaces; here 2000 vectors are four units of 500.
    import faiss

    from qa.index import dense

    v = random_vectors(2000)

    def work(chunks_per_ef: int) -> tuple[int, int]:
        monkeypatch.setattr(dense, "EF_CHUNKS", chunks_per_ef)
        seg = stored(tmp_path, v, True, ef_search=16)
        faiss.cvar.hnsw_stats.reset()
        seg.search(v[7], 5, None)
        return seg.ef_search, faiss.cvar.hnsw_stats.ndis

    (ef_one, work_one), (ef_four, work_four) = work(10**6), work(500)
    assert (ef_one, ef_four) == (16, 64) and work_four > work_one
    assert dense.scaled_ef(256, 1) == dense.scaled_ef(256, 500) == 256
    assert dense.scaled_ef(256, 501) == 512
