"""POST /api/issues with PDF pages, over the real app and a real index: a multipart upload
of a .pdf, an application/pdf body, a scan refused with its reason, a bad page reported while
the others are indexed. A PDF with a scanned page is read in a background job (202, then
GET /api/jobs/<id>), whose result or error is what the upload would have answered."""

from __future__ import annotations

import io

import pytest

from tests.ingest import pdfgen
from tests.ingest.relayout import SeedArticle

from .conftest import TOKEN
from .support import (NEW_PAGE, NEW_QUESTION, NEW_SOURCE, NEW_TITLE, answers, error_of,
                      job_result)

AUTH = {"Authorization": f"Bearer {TOKEN}"}


def new_article() -> SeedArticle:
    """The made-up page of support.py as an article to lay out: its blocks are the title, the
    paragraphs (lines joined) and the outlet line."""
    blocks = [b.replace("\n", "") for b in NEW_PAGE.strip().split("\n\n")]
    return SeedArticle(-1, "new", NEW_TITLE, NEW_SOURCE, blocks[1:-1])


@pytest.fixture(scope="module")
def new_pdf() -> bytes:
    return pdfgen.make_pdf([[new_article()]], seed=1, p_damage=0.0).data


@pytest.fixture
def writable(make_app, writable_index):
    return make_app(writable_index)


def ask(client) -> dict:
    r = client.get("/api/ask", query_string={"q": NEW_QUESTION, "k": 3})
    assert r.status_code == 200
    return r.get_json()


def upload(client, files):
    data = {"files": [(io.BytesIO(body), name) for name, body in files]}
    return client.post("/api/issues", data=data, headers=AUTH, content_type="multipart/form-data")


def test_multipart_pdf_upload_is_answerable_at_once(writable, new_pdf):
    client = writable.test_client()
    assert not answers(ask(client))
    r = upload(client, [("2024-06-01_A05.pdf", new_pdf)])
    assert r.status_code == 201, r.get_json()
    body = r.get_json()
    assert body["skipped"] == [] and body["added"] == 1
    assert body["articles"][0]["title"] == NEW_TITLE
    assert body["articles"][0]["source"] == NEW_SOURCE
    assert body["articles"][0]["issue"] == "2024-06-01_A05"
    answer = ask(client)
    assert answers(answer), answer
    # the page number is kept in the index (the API does not show it yet)
    stored = writable.extensions["qa.service"].article(body["articles"][0]["id"])
    assert stored.page == 1 and stored.issue == "2024-06-01_A05"


def test_application_pdf_body_with_a_name(writable, new_pdf):
    client = writable.test_client()
    r = client.post("/api/issues", data=new_pdf, query_string={"name": "2024-06-02_A01"},
                    headers={**AUTH, "Content-Type": "application/pdf"})
    assert r.status_code == 201, r.get_json()
    assert r.get_json()["articles"][0]["issue"] == "2024-06-02_A01"
    assert answers(ask(client))


def test_application_pdf_needs_a_name(writable, new_pdf):
    r = writable.test_client().post("/api/issues", data=new_pdf,
                                    headers={**AUTH, "Content-Type": "application/pdf"})
    assert "?name=" in error_of(r, 400, "bad_request")["message"]


def test_unreadable_pdf_is_422_with_its_reason(writable):
    data = pdfgen.make_pdf([[new_article()]], seed=2, password="口令").data
    r = upload(writable.test_client(), [("scan.pdf", data)])
    assert "加密" in error_of(r, 422, "bad_issue_file")["message"]
    assert not answers(ask(writable.test_client()))


def test_a_scan_without_text_fails_its_job_with_the_422_it_would_have_been(writable):
    client = writable.test_client()
    generation = client.get("/api/health").get_json()["generation"]
    data = pdfgen.make_pdf([pdfgen.SCAN], seed=2).data
    job = job_result(client, upload(client, [("scan.pdf", data)]), AUTH)
    assert job["status"] == "failed" and job["result"] is None
    assert job["error"]["code"] == "bad_issue_file"
    assert "没有识别出文字" in job["error"]["message"]
    assert client.get("/api/health").get_json()["generation"] == generation
    assert not answers(ask(client))


def test_a_bad_page_is_reported_and_the_others_indexed(writable):
    data = pdfgen.make_pdf([pdfgen.SCAN, [new_article()]], seed=3, p_damage=0.0).data
    client = writable.test_client()
    job = job_result(client, upload(client, [("mixed.pdf", data)]), AUTH)
    assert job["status"] == "done", job
    body = job["result"]
    assert body["added"] == 1
    [skip] = body["skipped"]
    assert skip["name"] == "mixed.pdf" and skip["page"] == 1 and "第 1 页" in skip["reason"] and "没有识别出文字" in skip["reason"]
    assert answers(ask(writable.test_client()))
