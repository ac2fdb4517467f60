"""What only the Milvus backend has to get right: generations over live collections (what a
reader sees while a commit runs), a writer dying mid-commit, copying to and from the embedded
archive, and Lite folders held by another process. Real Milvus Lite processes throughout; a
character-hash encoder stands in for the model."""

from __future__ import annotations

from dataclasses import replace

import pytest

from qa.errors import BadRequest, MilvusUnavailable
from qa.index.factory import open_backend
from qa.index.migrate import migrate
from qa.index.milvus import MilvusBackend
from qa.index.milvus.client import free_port, start_lite_server, stop_lite_server
from qa.issues import IssueService
from qa.search.service import SearchService
from tests.conftest import Place, place_for
from tests.fakes import FakeEncoder, fake_settings
from tests.index.test_builder import LONG, page

QUESTION = "某市珊瑚礁潜水科研人员"


@pytest.fixture
def milvus(tmp_path, request):
    encoder = FakeEncoder()
    settings = place_for("milvus", tmp_path / "index", request).settings(
        fake_settings(tmp_path / "index"))
    return IssueService(settings, encoder), SearchService(settings, encoder), encoder


def texts(archive, keys) -> list[str]:
    return [r.text for r in archive.chunks(list(keys))]


def found(search: SearchService, q: str = QUESTION) -> list[str]:
    return [h.text for h in search.ask(q, 20).results]


def corrected(n: int):
    from qa.ingest import ingest_bytes
    from qa.issues import pages_of

    return pages_of(ingest_bytes(LONG.format(city="某市", n=n).encode(), "001_p.txt"))


def test_a_reader_keeps_its_generation_while_a_commit_adds_rows(milvus):
    service, search, _ = milvus
    service.build(page("001_p.txt"))
    old = search.snapshot()
    service.add(page("002_p.txt", city="另一市", n=30))
    # The rows of the new page are in the collection, but not in the old generation's view.
    assert not any("另一市" in t for t in texts(old, old.lexical("另一市珊瑚礁", 50)))
    assert old.health()["pages"] == 1 and len(old.pages()) == 1
    new = search.reload()
    assert new.name != old.name
    assert any("另一市" in t for t in texts(new, new.lexical("另一市珊瑚礁", 50)))
    assert len(new.pages()) == 2


def test_a_replacement_is_seen_whole_even_before_its_old_rows_are_deleted(milvus, monkeypatch):
    service, search, _ = milvus
    service.build(corrected(12) + page("002_p.txt", city="另一市", n=55))
    old = search.snapshot()
    # The writer dies right after the switch: the old rows of the page are still stored.
    monkeypatch.setattr(MilvusBackend, "_delete_pages", _die)
    with pytest.raises(RuntimeError):
        service.add(corrected(19))
    new = search.reload()
    assert new.name != old.name and new.pending == ["001_p"]
    assert any("19名" in t for t in found(search)) and not any("12名" in t for t in found(search))
    assert new.health()["chunks"] == old.health()["chunks"]
    # The next writer finishes the deletion; nothing of the old text comes back.
    monkeypatch.undo()
    service.add(page("003_p.txt", city="第三市", n=77))
    newer = search.reload()
    assert not newer.pending
    assert any("19名" in t for t in found(search)) and not any("12名" in t for t in found(search))
    rows = newer._query("chunks", 'page_id == "001_p"', ("gen",))
    assert {r["gen"] for r in rows} == {new.gen}


def test_a_writer_dying_before_the_switch_leaves_nothing_visible_and_is_cleaned_up(
        milvus, monkeypatch):
    service, search, _ = milvus
    service.build(page("001_p.txt"))
    before = search.snapshot()
    monkeypatch.setattr(MilvusBackend, "_update_terms", _die)
    with pytest.raises(RuntimeError):
        service.add(page("002_p.txt", city="另一市", n=30))
    assert search.reload().name == before.name                 # no switch happened
    assert not any("另一市" in t for t in found(search, "另一市珊瑚礁"))
    monkeypatch.undo()
    report = service.add(page("002_p.txt", city="另一市", n=30)).report
    after = search.reload()
    assert report.added == ["002_p"] and after.health()["chunks"] == 2
    # One copy of the page's rows: the unfinished generation's were removed.
    assert len(after._query("chunks", 'page_id == "002_p"', ("gen",))) == 1
    assert after.lexical("另一市珊瑚礁", 5)
    # Document frequencies are as if the failed attempt never happened.
    fresh = IssueService(replace(service.settings, milvus_prefix=f"{service.settings.milvus_prefix}_df"),
                         FakeEncoder())
    fresh.build(page("001_p.txt") + page("002_p.txt", city="另一市", n=30))
    tokens = after.tokenizer("另一市珊瑚礁修复实验站")
    other = open_backend(fresh.settings).open()
    assert list(after.document_frequencies(tokens)) == list(other.document_frequencies(tokens))


def _die(*args, **kwargs):
    raise RuntimeError("writer killed here")


def test_migrate_round_trip_embeds_nothing_and_answers_alike(tmp_path, request):
    encoder = FakeEncoder()
    embedded = fake_settings(tmp_path / "embedded")
    IssueService(embedded, encoder).build(page("001_p.txt", issue="i1", date="2024-08-15")
                                          + page("002_p.txt", city="另一市", issue="i1"))
    embedded_count = encoder.passages
    milvus = place_for("milvus", tmp_path / "m", request).settings(embedded)
    back = Place("embedded", tmp_path / "back").settings(embedded)
    assert migrate(embedded, milvus).embedded == 0
    assert migrate(milvus, back).embedded == 0
    assert encoder.passages == embedded_count
    answers = []
    for settings in (embedded, milvus, back):
        search = SearchService(settings, encoder)
        snap = search.snapshot()
        answers.append(([(h.text, h.citation) for h in search.ask("另一市珊瑚礁", 3).results],
                        sorted((p.id, p.hash, p.date) for p in snap.pages().values())))
    assert answers[0] == answers[1] == answers[2]
    with pytest.raises(BadRequest):
        migrate(embedded, embedded)
    # Chunked otherwise, the copy would need embedding: refused, not embedded anew.
    with pytest.raises(BadRequest):
        migrate(embedded, replace(back, chunk_chars=60))


def test_a_lite_folder_held_by_another_process_is_a_clear_error(tmp_path):
    folder = tmp_path / "lite"
    proc = start_lite_server(folder, free_port(), tmp_path / "lite.log")
    try:
        backend = MilvusBackend(fake_settings(tmp_path, backend="milvus",
                                              milvus_uri=str(folder)))
        with pytest.raises(MilvusUnavailable) as e:
            backend.exists()
        assert "另一个进程" in e.value.message and e.value.status == 503
    finally:
        stop_lite_server(proc)
    # Once the other process is gone, the folder is served from this process.
    assert MilvusBackend(fake_settings(tmp_path, backend="milvus",
                                       milvus_uri=str(folder))).exists() is False


def test_a_missing_lite_folder_is_no_index_and_reading_does_not_create_it(tmp_path):
    backend = MilvusBackend(fake_settings(tmp_path, backend="milvus",
                                          milvus_uri=str(tmp_path / "nothing")))
    assert not backend.exists() and backend.current_name() is None
    assert not (tmp_path / "nothing").exists()
