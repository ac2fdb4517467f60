import pytest

from qa.search.fusion import fuse


def test_fuse_orders_by_weighted_normalised_scores():
    dense = {1: 0.9, 2: 0.8, 3: 0.1}
    lexical = {2: 30.0, 3: 10.0}
    assert [f.id for f in fuse(dense, lexical, 0.0)] == [1, 2, 3]
    assert [f.id for f in fuse(dense, lexical, 1.0)][0] == 2
    both = fuse(dense, lexical, 0.5)
    assert both[0].id == 2                       # strong on both paths beats strong on one
    assert both[0].dense == 0.8 and both[0].lexical == 30.0


def test_fuse_gives_a_missing_path_its_floor_and_keeps_raw_scores():
    fused = {f.id: f for f in fuse({1: 0.9, 2: 0.5}, {3: 12.0}, 0.5)}
    assert fused[3].dense is None and fused[1].lexical is None
    assert 0.0 <= min(f.score for f in fused.values()) <= max(f.score for f in fused.values()) <= 1.0


def test_fuse_is_deterministic_on_ties_and_handles_empty_lists():
    assert [f.id for f in fuse({5: 0.5, 4: 0.5}, {}, 0.3)] == [4, 5]
    assert fuse({}, {}, 0.5) == []
    assert [f.id for f in fuse({}, {7: 1.0}, 0.5)] == [7]


@pytest.mark.parametrize("w", [-1.0, 2.0])
def test_fuse_clamps_the_weight(w):
    assert fuse({1: 1.0, 2: 0.0}, {2: 1.0, 1: 0.0}, w)

