"""Writers at once, for real: two ``qa add`` processes, an upload while ``qa build`` runs, and an
upload while ``qa add`` writes to the same Milvus Lite folder. The write lock (flock) serialises
them; every article lands exactly once."""

from __future__ import annotations

import io
import threading
import time
from dataclasses import replace

import pytest

from qa.index.store import IndexStore
from qa.search.service import SearchService
from qa.web.app import create_app

from .conftest import (SEED_ANSWER, SEED_PAGE, SEED_QUESTION, article_ids, ingest_pages,
                       make_page, qa_process, settings_for, wait_for_marker, write_pages)

HOLD = 12          # seconds the first writer keeps the lock


def _check_once(index, expected_new: int, old_ids: set[str]) -> set[str]:
    ids = article_ids(index)
    new = ids - old_ids
    assert len(ids) == len(old_ids) + expected_new, sorted(new)
    _no_page_twice(index)
    return new


def _no_page_twice(index) -> None:
    snap = IndexStore(index).load()
    pages = [p["id"] for part in snap.parts for n, p in enumerate(part.seg.pages)
             if n not in part.deleted]
    assert len(pages) == len(set(pages)), "a page stored twice"
    assert snap.manifest.counts["chunks"] == sum(
        part.seg.chunks - (0 if part.live is None else int((~part.live).sum()))
        for part in snap.parts)


@pytest.mark.slow       # the short version: tests/index/test_store_faults.py (threads)
def test_two_qa_add_at_once_are_serialised(index, tmp_path):
    store = IndexStore(index)
    old_gen, old_ids = store.current_name(), article_ids(index)
    first = write_pages(tmp_path / "first", 1, 2, 5)
    second = write_pages(tmp_path / "second", 3, 4, 5)        # page 5 in both
    marks = tmp_path / "a.marker", tmp_path / "b.marker"
    logs = tmp_path / "a.log", tmp_path / "b.log"

    a = qa_process(index, "add", str(first), pause_at="lock", marker=marks[0],
                   pause_seconds=HOLD, log=logs[0])
    _, _, a_locked = wait_for_marker(marks[0], a, logs[0])
    # Started while A holds the lock; B's marker is written the moment B gets it.
    b = qa_process(index, "add", str(second), pause_at="lock", marker=marks[1],
                   pause_seconds=0, log=logs[1])
    assert a.wait(300) == 0, logs[0].read_text()[-2000:]
    assert b.wait(300) == 0, logs[1].read_text()[-2000:]
    _, _, b_locked = marks[1].read_text().split()
    assert float(b_locked) >= float(a_locked) + HOLD - 0.5, "B wrote while A held the lock"

    new = _check_once(index, 5, old_ids)
    assert {i.split("-")[1] for i in new} == {"0001", "0002", "0003", "0004", "0005"}
    assert int(store.current_name()[4:]) == int(old_gen[4:]) + 2
    assert "新增 2 个版面" in logs[1].read_text()             # B added its two new pages


def test_upload_while_qa_build_runs_waits_and_lands(index, model, tmp_path):
    """``qa build`` holds the lock while it embeds; an upload meanwhile waits for it and is
    then added on top of the new build: nothing is lost, nothing doubled."""
    pages = write_pages(tmp_path / "build", 6)
    (pages / SEED_PAGE.name).write_bytes(SEED_PAGE.read_bytes())
    marker, log = tmp_path / "build.marker", tmp_path / "build.log"
    build = qa_process(index, "build", str(pages), pause_at="embed", marker=marker,
                       pause_seconds=6, log=log)
    wait_for_marker(marker, build, log)

    token = "concurrent-token"
    service = SearchService(settings_for(index, admin_token=token), model)
    app = create_app(service=service)
    text, title, question, fact = make_page(7)
    result = {}

    def upload():
        r = app.test_client().post(
            "/api/issues", headers={"Authorization": f"Bearer {token}"},
            data={"files": [(io.BytesIO(text.encode()), "rel-0007.txt")]},
            content_type="multipart/form-data")
        result.update(status=r.status_code, body=r.get_json(), at=time.monotonic())

    uploader = threading.Thread(target=upload, daemon=True)
    uploader.start()
    time.sleep(3)
    assert uploader.is_alive() and build.poll() is None     # the upload is waiting on the lock
    assert build.wait(300) == 0, log.read_text()[-2000:]
    uploader.join(300)
    assert result["status"] == 201, result
    snap = IndexStore(index).load()
    assert result["body"]["generation"] == snap.name
    issues = sorted(i.id for i in snap.issues())
    assert issues == sorted(["001_5e68e9660a63f3de", "rel-0006", "rel-0007"])
    _no_page_twice(index)
    client = app.test_client()
    top = client.get("/api/ask", query_string={"q": question, "k": 1}).get_json()["results"][0]
    assert top["citation"]["title"] == title and fact in top["text"]
    top = client.get("/api/ask", query_string={"q": SEED_QUESTION, "k": 1}).get_json()["results"][0]
    assert SEED_ANSWER in top["text"]


def test_upload_and_qa_add_on_one_lite_folder_take_one_lock(model, tmp_path):
    """Milvus Lite as ``qa serve`` runs it: one Lite server on the folder, the workers' settings
    as the backend's ``serving()`` gives them. A ``qa add`` holds the folder's write lock; an upload through the
    web service meanwhile waits for it (it once locked a file of its own, keyed by the server's
    URI, and committed at once), then lands on top: both pages there, two generations."""
    from qa.index.builder import Builder
    from qa.index.factory import open_backend

    index, folder = tmp_path / "index", tmp_path / "lite"
    settings = settings_for(index, backend="milvus", milvus_uri=str(folder))
    with open_backend(settings).serving() as served:
        Builder(served, model).build(ingest_pages(1))
        backend = open_backend(served)
        first = backend.current_name()
        marker, log = tmp_path / "add.marker", tmp_path / "add.log"
        add = qa_process(index, "add", str(write_pages(tmp_path / "cli", 2)), pause_at="lock",
                         marker=marker, pause_seconds=HOLD, log=log,
                         env={"QA_BACKEND": "milvus", "QA_MILVUS_URI": str(folder)})
        _, _, add_locked = wait_for_marker(marker, add, log)

        token = "concurrent-token"
        app = create_app(service=SearchService(replace(served, admin_token=token), model))
        result = {}

        def upload():
            r = app.test_client().post(
                "/api/issues", headers={"Authorization": f"Bearer {token}"},
                data={"files": [(io.BytesIO(make_page(3)[0].encode()), "rel-0003.txt")]},
                content_type="multipart/form-data")
            result.update(status=r.status_code, body=r.get_json(), at=time.time())

        uploader = threading.Thread(target=upload, daemon=True)
        uploader.start()
        assert add.wait(300) == 0, log.read_text()[-2000:]
        uploader.join(300)
        assert result["status"] == 201, result
        assert result["at"] >= float(add_locked) + HOLD - 0.5, "the upload wrote under qa add"
        live = backend.current_name()
        assert result["body"]["generation"] == live
        assert int(live[4:]) == int(first[4:]) + 2
        assert sorted(i.id for i in backend.open().issues()) == ["rel-0001", "rel-0002",
                                                                 "rel-0003"]
