"""Merging: what the policy picks, that a merge changes no answer, and that deletions made while
a merge runs are carried over instead of coming back."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from qa.index import merge as merging
from qa.index.merge import Candidate, Policy, plan
from qa.issues import IssueMeta, IssueService
from qa.search.service import SearchService
from tests.fakes import SEEDS, FakeEncoder, fake_settings


def c(name, live, total=None, kind="flat"):
    return Candidate(name, live, live if total is None else total, kind)


def test_policy_merges_a_full_tier_and_leaves_a_short_one():
    small = [c(f"s{i}", 100) for i in range(10)]
    assert plan(small, Policy(factor=10)) == [[f"s{i}" for i in range(10)]]
    assert plan(small[:9], Policy(factor=10)) == []
    # Different tiers do not mix: nine small ones next to a big one stay.
    assert plan(small[:9] + [c("big", 500_000, kind="hnsw")], Policy(factor=10)) == []


def test_policy_rewrites_a_segment_with_many_deletions():
    assert plan([c("a", 60, 100), c("b", 95, 100)], Policy(max_deleted=0.3)) == [["a"]]


def test_policy_keeps_exact_search_bounded():
    flats = [c("a", 15_000), c("b", 9_000, kind="flat")]
    assert plan(flats, Policy(exact_max=20_000, factor=10)) == [["a", "b"]]
    assert plan(flats[:1], Policy(exact_max=20_000)) == []


def seed_service(root, **changes):
    encoder = FakeEncoder()
    settings = fake_settings(root, **changes)
    service = IssueService(settings, encoder)
    pages, skipped, _ = service.read_paths([SEEDS], IssueMeta())
    return service, SearchService(settings, encoder), pages


QUESTIONS = ["济阳区配备了多少名驻站社工？", "精神健康社工站服务地图", "贵州社工站覆盖率", "老年食堂"]


def answers(search, k=10):
    return [[(h.citation.article_id, h.text, round(h.score, 4)) for h in search.ask(q, k).results]
            for q in QUESTIONS]


def test_compact_changes_no_answer_and_drops_what_was_removed(tmp_path):
    service, search, pages = seed_service(tmp_path / "index")
    service.build(pages[:2])
    service.add(pages[2:3])
    service.add(pages[3:])
    service.remove([pages[0].id])          # a tombstone in the first segment
    snap = search.reload()
    assert len(snap.parts) == 3 and snap.parts[0].live is not None
    before = answers(search)
    merged = service.compact()
    after_snap = search.reload()
    assert len(merged) == 1 and len(after_snap.parts) == 1
    assert after_snap.parts[0].live is None                     # nothing deleted is left
    assert after_snap.manifest.counts == {**snap.manifest.counts, "segments": 1}
    assert answers(search) == before
    assert pages[0].id not in after_snap.pages()
    assert after_snap.parts[0].seg.chunks == snap.manifest.counts["chunks"]


def test_small_merges_run_after_adds_so_segments_stay_few(tmp_path):
    service, search, pages = seed_service(tmp_path / "index", merge_factor=3)
    service.build(pages[:1])
    for p in pages[1:]:
        service.add([p])
        assert len(search.reload().parts) < 3
    assert len(search.snapshot().pages()) == 5


def test_a_removal_during_a_merge_is_carried_into_the_merged_segment(tmp_path, monkeypatch):
    service, search, pages = seed_service(tmp_path / "index")
    service.build(pages[:2])
    service.add(pages[2:])
    backend = service.builder.backend
    victim = pages[0].id
    started, go_on = threading.Event(), threading.Event()
    real_merge = merging.merge

    def slow_merge(parts):
        data = real_merge(parts)
        started.set()
        go_on.wait(30)
        return data

    monkeypatch.setattr(merging, "merge", slow_merge)
    result = []
    t = threading.Thread(target=lambda: result.append(backend.compact(everything=True)))
    t.start()
    assert started.wait(30)
    service.remove([victim])            # lands while the merged segment is being built
    go_on.set()
    t.join(60)
    assert result and len(result[0]) == 1
    snap = search.reload()
    assert len(snap.parts) == 1 and victim not in snap.pages()
    assert snap.manifest.counts["pages"] == 4
    assert all(not h.citation.page_id == victim
               for q in QUESTIONS for h in search.ask(q, 20).results)


def test_merged_segment_scores_bm25_like_the_parts(tmp_path):
    service, search, pages = seed_service(tmp_path / "index")
    service.build(pages[:3])
    service.add(pages[3:])
    snap = search.reload()
    q = "社工站 志愿者 服务"
    before = sorted(snap.lexical(q, 100).values(), reverse=True)
    service.compact()
    after = sorted(search.reload().lexical(q, 100).values(), reverse=True)
    assert np.allclose(before, after, rtol=1e-5)


@pytest.mark.parametrize("everything", [True, False])
def test_nothing_to_merge_is_a_no_op(tmp_path, everything):
    service, search, pages = seed_service(tmp_path / "index")
    service.build(pages)
    gen = search.snapshot().name
    assert service.builder.backend.compact(everything=everything) == []
    assert search.reload().name == gen
