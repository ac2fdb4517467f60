"""The ``Archive`` read interface on both backends: filters applied inside retrieval, and the
same scores from either engine for the same archive. A character-hash encoder stands in for the
model (what is tested is storage and filtering, not meaning)."""

from __future__ import annotations

import pytest

from qa.index.backend import Where
from qa.index.factory import open_backend
from qa.issues import IssueMeta, IssueService, pages_of
from qa.ingest import ingest_bytes
from qa.search.service import ARTICLE_SUMMARY
from tests.conftest import BACKENDS, place_for
from tests.fakes import FakeEncoder, fake_settings

PAGE = ("{city}建成首个珊瑚礁修复实验站\n\n近日，{city}珊瑚礁修复实验站在东湾正式建成投用。"
        "据介绍，实验站配备专职潜水科研人员{n}名。\n\n今年以来，实验站已累计移植珊瑚苗种一万一千株，"
        "成活率超过九成。\n\n（据{source}）\n")
# (file, city, outlet, issue metadata)
PAGES = [
    ("a1.txt", "某市", "测试日报", {"issue": "day1", "date": "2024-08-15", "paper": "中国社会报"}),
    ("a2.txt", "北市", "海洋时报", {"issue": "day1", "date": "2024-08-15", "paper": "中国社会报"}),
    ("b1.txt", "另一市", "测试日报", {"issue": "day2", "date": "2024-09-01", "paper": "公益时报"}),
    ("c1.txt", "第三市", "海洋时报", {"issue": "day3"}),
]
QUERY = "珊瑚礁修复实验站潜水科研人员"


def build(place, encoder):
    settings = place.settings(fake_settings(place.index_dir))
    service = IssueService(settings, encoder)
    pages = []
    for name, city, source, meta in PAGES:
        text = PAGE.format(city=city, n=len(city), source=source)
        pages += pages_of(ingest_bytes(text.encode(), name), IssueMeta(**meta))
    service.build(pages)
    return open_backend(settings).open()


@pytest.fixture(params=BACKENDS)
def archive(request, tmp_path):
    encoder = FakeEncoder()
    return build(place_for(request.param, tmp_path / "index", request), encoder), encoder


def issues_found(archive, keys) -> set[str]:
    return {archive.article(ref.article_id).issue for ref in archive.chunks(list(keys))}


@pytest.mark.parametrize("where, expected", [
    (Where(), {"day1", "day2", "day3"}),
    (Where(issues=frozenset({"day2", "day3"})), {"day2", "day3"}),
    (Where(papers=frozenset({"中国社会报"})), {"day1"}),
    (Where(sources=frozenset({"海洋时报"})), {"day1", "day3"}),
    (Where(date_from="2024-08-20"), {"day2"}),
    (Where(date_to="2024-08-31"), {"day1"}),                 # undated day3 never passes
    (Where(date_from="2024-01-01", date_to="2024-12-31"), {"day1", "day2"}),
    (Where(sources=frozenset({"海洋时报"}), date_to="2024-12-31"), {"day1"}),
    (Where(papers=frozenset({"没有这份报纸"})), set()),
])
def test_filters_apply_inside_dense_and_lexical_search(archive, where, expected):
    archive, encoder = archive
    vector = encoder.encode_queries([QUERY])[0]
    dense, lexical = archive.dense(vector, 100, where), archive.lexical(QUERY, 100, where)
    # Everything allowed is found (k is above the archive's size), nothing else.
    assert issues_found(archive, dense) == issues_found(archive, lexical) == expected
    everything = archive.dense(vector, 100)
    allowed = {k for k, ref in zip(everything, archive.chunks(list(everything)))
               if archive.article(ref.article_id).issue in expected}
    if where.sources:
        allowed = {k for k in allowed
                   if archive.article(archive.chunks([k])[0].article_id).source in where.sources}
    assert set(dense) == allowed


def test_a_filter_keeps_the_k_best_allowed_not_the_allowed_among_the_k_best(archive):
    archive, encoder = archive
    where = Where(issues=frozenset({"day1"}))           # two pages, one chunk each
    dense = archive.dense(encoder.encode_queries(["另一市"])[0], 2, where)
    lexical = archive.lexical("另一市珊瑚礁", 2, where)
    assert issues_found(archive, dense) == issues_found(archive, lexical) == {"day1"}
    assert len(dense) == len(lexical) == 2


def test_both_backends_score_the_same_archive_alike(tmp_path, request):
    encoder = FakeEncoder()
    a, b = (build(place_for(backend, tmp_path / backend, request), encoder)
            for backend in BACKENDS)
    for q in (QUERY, "另一市珊瑚礁", "成活率超过九成", "移植 珊瑚 珊瑚"):
        la, lb = a.lexical(q, 20), b.lexical(q, 20)
        # Keys differ by engine; the scores (BM25 with archive-wide idf) and texts must not.
        assert sorted(la.values()) == pytest.approx(sorted(lb.values()), rel=1e-5)
        assert [r.text for r in a.chunks(list(la))] == [r.text for r in b.chunks(list(lb))]
        best_a, best_b = next(iter(la)), next(iter(lb))
        assert a.coverage(q, best_a) == pytest.approx(b.coverage(q, best_b), rel=1e-6)
        vector = encoder.encode_queries([q])[0]
        da, db = a.dense(vector, 5), b.dense(vector, 5)
        assert list(da.values()) == pytest.approx(list(db.values()), rel=1e-5)
    assert a.health()["chunks"] == b.health()["chunks"]
    assert [i.to_dict() for i in a.issues()] == [i.to_dict() for i in b.issues()]
    summaries = [{k: s[k] for k in ARTICLE_SUMMARY} for s in a.list_articles(1, 2)[1]]
    assert summaries == [{k: s[k] for k in ARTICLE_SUMMARY} for s in b.list_articles(1, 2)[1]]
