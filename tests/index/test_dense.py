import numpy as np
import pytest

from qa.errors import IndexCorrupt
from qa.index.dense import FaissIndex

DIM = 32


def random_vectors(n, seed=0):
    v = np.random.default_rng(seed).standard_normal((n, DIM)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def ids_for(n):
    return np.arange(n, dtype=np.int64) * 10 + 7     # not positions: the index must keep ours


def test_kind_chosen_by_size():
    v = random_vectors(200)
    assert FaissIndex.build(ids_for(200), v, exact_max=200).kind == "flat"
    assert FaissIndex.build(ids_for(200), v, exact_max=199).kind == "hnsw"


def test_exact_search_returns_nearest_ids():
    v = random_vectors(100)
    index = FaissIndex.build(ids_for(100), v)
    scores, ids = index.search(v[[3, 42]], 1)
    assert ids[:, 0].tolist() == [37, 427]
    assert scores[:, 0] == pytest.approx([1.0, 1.0], abs=1e-5)

    # Cosine: scale does not matter, and the caller's array is left alone.
    q = v[5] * 7.0
    scores, ids = index.search(q, 3)
    assert ids.shape == (1, 3) and ids[0, 0] == 57
    expected = np.argsort(-(v @ v[5]))[:3] * 10 + 7
    assert ids[0].tolist() == expected.tolist()
    assert np.allclose(q, v[5] * 7.0)


def test_missing_results_are_minus_one():
    index = FaissIndex.build(ids_for(3), random_vectors(3))
    scores, ids = index.search(random_vectors(2, seed=1), 5)
    assert ids.shape == (2, 5)
    assert (ids[:, 3:] == -1).all() and np.isneginf(scores[:, 3:]).all()

    empty = FaissIndex.build(np.zeros(0, np.int64), np.zeros((0, DIM), np.float32))
    assert len(empty) == 0
    assert (empty.search(random_vectors(1), 2)[1] == -1).all()


def test_rejects_bad_input():
    index = FaissIndex.build(ids_for(3), random_vectors(3))
    with pytest.raises(ValueError):
        index.add(np.array([7]), random_vectors(1))                      # id already there
    with pytest.raises(ValueError):
        index.add(np.array([1, 2]), random_vectors(1))
    with pytest.raises(ValueError):
        index.search(np.ones((1, DIM + 1), np.float32), 1)


@pytest.mark.parametrize("exact_max", [1000, 10])
def test_save_load_round_trip(tmp_path, exact_max):
    v = random_vectors(300)
    index = FaissIndex.build(ids_for(300), v, exact_max=exact_max, ef_search=64)
    path = tmp_path / "dense.faiss"
    index.save(path)
    loaded = FaissIndex.load(path, exact_max=exact_max, ef_search=64)
    assert loaded.kind == index.kind and len(loaded) == 300
    assert loaded.ids().tolist() == ids_for(300).tolist()
    q = random_vectors(5, seed=2)
    assert np.array_equal(loaded.search(q, 10)[1], index.search(q, 10)[1])
    # ef_search is a query-time setting: the configured value wins over the stored one.
    reloaded = FaissIndex.load(path, exact_max=exact_max, ef_search=40)
    if reloaded.kind == "hnsw":
        assert reloaded._inner().hnsw.efSearch == 40


def test_load_garbage_is_corrupt(tmp_path):
    path = tmp_path / "dense.faiss"
    path.write_bytes(b"not a faiss index")
    with pytest.raises(IndexCorrupt):
        FaissIndex.load(path)


def test_add_past_threshold_switches_to_hnsw():
    v = random_vectors(600)
    index = FaissIndex.build(ids_for(400), v[:400], exact_max=500)
    index.add(ids_for(600)[400:450], v[400:450])
    assert index.kind == "flat" and len(index) == 450
    index.add(ids_for(600)[450:], v[450:])
    assert index.kind == "hnsw" and len(index) == 600
    assert sorted(index.ids().tolist()) == ids_for(600).tolist()
    _, ids = index.search(v[[10, 590]], 1)
    assert ids[:, 0].tolist() == [107, 5907]


def test_hnsw_recall_against_flat():
    v, q = random_vectors(5000), random_vectors(200, seed=3)
    flat = FaissIndex.build(ids_for(5000), v, exact_max=10_000)
    hnsw = FaissIndex.build(ids_for(5000), v, exact_max=1000, m=32, ef_construction=80,
                            ef_search=96)
    assert (flat.kind, hnsw.kind) == ("flat", "hnsw")
    truth, got = flat.search(q, 10)[1], hnsw.search(q, 10)[1]
    recall = np.mean([len(set(t) & set(g)) / 10 for t, g in zip(truth, got)])
    assert recall >= 0.95
