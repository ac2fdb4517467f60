"""Writes to the archive, on both backends: build, add, replace, remove, reprints, metadata,
models. A character-hash encoder stands in for the model (what is tested is storage, not
meaning); it counts what it embeds."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from qa.errors import Conflict, ModelMismatch, NotFound
from qa.index.builder import Builder
from qa.issues import IssueMeta, IssueService, pages_of
from qa.ingest import ingest_bytes
from qa.search.service import SearchService
from tests.conftest import BACKENDS, place_for
from tests.fakes import FakeEncoder, fake_settings

PAGE = ("{city}建成首个珊瑚礁修复实验站\n\n近日，{city}珊瑚礁修复实验站在东湾正式建成投用。"
        "据介绍，实验站配备专职潜水科研人员{n}名。\n\n今年以来，实验站已累计移植珊瑚苗种一万一千株，"
        "成活率超过九成。站长表示，下一步将与高校合作开展长期监测。\n\n（据测试日报）\n")


def page(name: str, city: str = "某市", n: int = 12, **meta):
    return pages_of(ingest_bytes(PAGE.format(city=city, n=n).encode(), name), IssueMeta(**meta))


@pytest.fixture(params=BACKENDS)
def setup(tmp_path, request):
    encoder = FakeEncoder()
    settings = place_for(request.param, tmp_path / "index", request).settings(
        fake_settings(tmp_path / "index"))
    service = IssueService(settings, encoder)
    return service, encoder, SearchService(settings, encoder)


def texts(search: SearchService, q: str, k: int = 10) -> list[str]:
    return [h.text for h in search.ask(q, k).results]


def test_build_writes_a_generation_whose_chunks_are_spans_of_their_articles(setup):
    service, encoder, search = setup
    report = service.build(page("001_p.txt")).report
    snap = search.snapshot()
    assert report.generation == snap.name and report.added == ["001_p"]
    keys = list(snap.dense(encoder.encode_queries(["实验站"])[0], 10_000))  # every chunk
    assert len(keys) == snap.health()["chunks"] == report.chunks == encoder.passages > 0
    for ref in snap.chunks(keys):
        assert snap.article(ref.article_id).text[ref.start:ref.end] == ref.text


def test_add_embeds_only_new_chunks_and_readding_changes_nothing(setup):
    service, encoder, search = setup
    service.build(page("001_p.txt"))
    first, embedded = search.snapshot().name, encoder.passages
    report = service.add(page("002_p.txt", city="另一市", n=30)).report
    assert report.added == ["002_p"] and report.generation != first
    assert encoder.passages - embedded == report.embedded == report.chunks > 0
    again = service.add(page("002_p.txt", city="另一市", n=30))
    assert again.report.unchanged == ["002_p"] and not again.report.changed
    assert "没有新内容" in again.summary() and again.to_dict()["added"] == 0
    assert search.reload().name == report.generation


LONG = PAGE.replace("（据测试日报）", "实验站还设立了科普展厅，面向中小学生开放，每周接待参观者三百余人次，"
                   "并定期举办海洋保护讲座，邀请专家讲解珊瑚礁生态系统的重要作用。\n\n"
                   "此外，实验站与当地渔民合作社签订了协议，由渔民参与日常巡护和垃圾清理，"
                   "每月出海巡查不少于八次，清理海底废弃渔网和塑料垃圾累计两吨有余。\n\n（据测试日报）")


def test_an_add_that_embeds_nothing_does_not_load_the_model(setup):
    """A page whose every chunk the archive already holds (a reprint filed under another id):
    its vectors are reused, and the model, which costs seconds to load, is never loaded."""
    service, encoder, search = setup
    service.build(page("001_p.txt"))
    builder = Builder(service.settings, backend=service.builder.backend)
    report = builder.add(page("003_p.txt"))
    assert report.added == ["003_p"] and report.chunks > 0 and report.embedded == 0
    assert builder.loaded_encoder is None
    assert search.snapshot().health()["pages"] == 2


def test_a_corrected_page_replaces_the_old_text_everywhere(setup):
    service, encoder, search = setup
    long_page = lambda n: pages_of(ingest_bytes(LONG.format(city="某市", n=n).encode(),  # noqa: E731
                                                "001_p.txt"))
    other = "另一市开通两条公交线路\n\n另一市新开通的两条公交线路连接火车站和高新区，全程票价两元。\n\n（据测试日报）\n"
    service.build(long_page(12) + pages_of(ingest_bytes(other.encode(), "002_p.txt")))
    assert any("12名" in t for t in texts(search, "潜水科研人员"))
    before = encoder.passages
    result = service.add(long_page(19))
    assert result.report.replaced == ["001_p"] and result.to_dict()["replaced"] == ["001_p"]
    # Only the chunk whose text changed was embedded again.
    assert 0 < encoder.passages - before < result.report.chunks
    found = texts(search, "某市珊瑚礁潜水科研人员", 50)
    assert any("19名" in t for t in found) and not any("12名" in t for t in found)
    assert search.snapshot().health()["pages"] == 2


def test_remove_an_issue_or_a_page_and_unknown_ids_are_refused(setup):
    service, _, search = setup
    service.build(page("a1.txt", issue="day1") + page("a2.txt", city="另一市", issue="day1")
                  + page("b1.txt", city="第三市", issue="day2"))
    assert sorted(search.snapshot().pages()) == ["day1.a1", "day1.a2", "day2.b1"]
    gen = search.snapshot().name
    with pytest.raises(NotFound) as e:
        service.remove(["day1", "nope"])
    assert "nope" in e.value.message and search.reload().name == gen   # nothing removed
    report = service.remove(["day1.a2"])
    assert report.removed == ["day1.a2"]
    assert sorted(search.reload().pages()) == ["day1.a1", "day2.b1"]
    assert not any("另一市" in t for t in texts(search, "另一市珊瑚礁", 50))
    assert service.remove(["day1"]).removed == ["day1.a1"]
    assert [i.id for i in search.reload().issues()] == ["day2"]


def test_same_file_name_in_two_issues_is_two_pages(setup):
    service, _, search = setup
    service.build(page("A01.txt", n=11, issue="2024-08-15"))
    service.add(page("A01.txt", n=22, issue="2024-08-16"))
    assert sorted(search.snapshot().pages()) == ["2024-08-15.A01", "2024-08-16.A01"]
    # Both days answer; being near-copies, one is shown and the other cited beside it.
    top = search.ask("潜水科研人员", 10).results[0]
    assert {top.citation.issue, *(c.issue for c in top.also_in)} == {"2024-08-15",
                                                                     "2024-08-16"}


def test_reprinted_passage_is_answered_once_and_cites_both_pages(setup):
    service, encoder, search = setup
    service.build(page("001_p.txt"))
    embedded = encoder.passages
    report = service.add(page("007_p.txt")).report        # the same article on another page
    assert report.added == ["007_p"] and report.embedded == 0 and encoder.passages == embedded
    hits = search.ask("某市珊瑚礁修复实验站配备了多少名潜水科研人员", 5).results
    top = hits[0]
    assert {top.citation.issue, *(c.issue for c in top.also_in)} == {"001_p", "007_p"}
    assert len({h.text for h in hits}) == len(hits)


def test_a_build_from_scratch_drops_what_it_was_not_given(setup):
    service, _, search = setup
    service.build(page("001_p.txt"))
    service.add(page("002_p.txt", city="另一市"))
    service.build(page("003_p.txt", city="第三市"))
    assert list(search.reload().pages()) == ["003_p"]


def test_duplicate_corpus_record_id_with_new_content_replaces_never_drops(setup, tmp_path):
    service, _, search = setup
    corpus = tmp_path / "news.jsonl"
    records = [{"id": "r1", "title": "旧标题", "text": "青岚市今年建成社区食堂十二个。", "date": "2024-01-02",
                "source": "测试日报"},
               {"id": "r2", "title": "其他", "text": "白沙县开通了两条公交线路。"}]
    corpus.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in records), "utf-8")
    service.build(*service.read_paths([corpus], IssueMeta())[:2])
    records[0]["text"] = "青岚市今年建成社区食堂十五个。"
    corpus.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in records), "utf-8")
    result = service.add(*service.read_paths([corpus], IssueMeta())[:2])
    assert result.report.replaced == ["r1"] and result.report.unchanged == ["r2"]
    found = texts(search, "青岚市社区食堂", 5)
    assert any("十五个" in t for t in found) and not any("十二个" in t for t in found)
    a = search.article("r1")
    assert a.date == "2024-01-02" and a.source == "测试日报"


def test_issue_metadata_is_kept_inherited_and_never_contradicted(setup):
    service, _, search = setup
    service.build(page("A01.txt", issue="i1", date="2024-08-15", paper="中国社会报", number="5000",
                       page=1))
    service.add(page("A02.txt", city="另一市", issue="i1", page=2))    # inherits date and paper
    issue = search.reload().issues()[0]
    assert (issue.id, issue.date, issue.paper, issue.number) == ("i1", "2024-08-15", "中国社会报",
                                                                  "5000")
    assert [(p["id"], p["page"]) for p in issue.pages] == [("i1.A01", 1), ("i1.A02", 2)]
    c = search.ask("另一市珊瑚礁", 1).results[0].citation
    assert (c.paper, c.date, c.page, c.page_id) == ("中国社会报", "2024-08-15", 2, "i1.A02")
    assert c.reference().endswith("据测试日报；中国社会报 2024年8月15日 第2版")
    with pytest.raises(Conflict):
        service.add(page("A03.txt", city="第三市", issue="i1", date="2024-08-16"))


def test_index_refuses_another_model(setup):
    service, _, search = setup
    service.build(page("001_p.txt"))
    with pytest.raises(ModelMismatch) as e:
        search.backend.open(model="intfloat/multilingual-e5-base")
    assert e.value.status == 409 and FakeEncoder.model_id in e.value.message

    class Other(FakeEncoder):
        model_id = "other/model"

    other = Builder(replace(service.settings, model=Other.model_id), Other())
    with pytest.raises(ModelMismatch):
        other.add(page("002_p.txt"))
