"""POST /api/issues: who may write, what can be uploaded, and that a new issue is answerable
at once in the uploading app and, after its reload check, in another app on the same index."""

from __future__ import annotations

import io
import time

import pytest

from .conftest import TOKEN, UPLOAD_LIMIT
from .support import NEW_PAGE, NEW_QUESTION, NEW_SOURCE, NEW_TITLE, answers, error_of

AUTH = {"Authorization": f"Bearer {TOKEN}"}


def upload(client, files, headers=AUTH):
    data = {"files": [(io.BytesIO(body), name) for name, body in files]}
    return client.post("/api/issues", data=data, headers=headers,
                       content_type="multipart/form-data")


def ask(client, question=NEW_QUESTION) -> dict:
    r = client.get("/api/ask", query_string={"q": question, "k": 3})
    assert r.status_code == 200
    return r.get_json()


@pytest.fixture
def writable(make_app, writable_index):
    return make_app(writable_index)


# -- who may write ---------------------------------------------------------------------------

@pytest.mark.parametrize("headers", [{}, {"Authorization": ""}, {"Authorization": "Bearer"},
                                     {"Authorization": "Basic dXNlcjpwYXNz"},
                                     {"Authorization": TOKEN}])
def test_missing_token_is_401(writable, headers):
    r = upload(writable.test_client(), [("p.txt", NEW_PAGE.encode())], headers)
    error_of(r, 401, "unauthorized")
    assert r.headers["WWW-Authenticate"].startswith("Bearer")
    assert not answers(ask(writable.test_client()))


@pytest.mark.parametrize("token", ["wrong", TOKEN + "x", TOKEN[:-1], "令牌", TOKEN.upper()])
def test_wrong_token_is_403(writable, token):
    headers = {"Authorization": f"Bearer {token}".encode("utf-8").decode("latin-1")}
    r = upload(writable.test_client(), [("p.txt", NEW_PAGE.encode())], headers)
    error_of(r, 403, "forbidden")


@pytest.mark.parametrize("token", [None, ""])
def test_no_token_configured_refuses_all_writes(make_app, writable_index, token):
    app = make_app(writable_index, admin_token=token)
    for headers in ({}, AUTH, {"Authorization": "Bearer "}):
        r = upload(app.test_client(), [("p.txt", NEW_PAGE.encode())], headers)
        assert "QA_ADMIN_TOKEN" in error_of(r, 403, "forbidden")["message"]


# -- what can be uploaded --------------------------------------------------------------------

def test_multipart_upload_is_answerable_at_once_here_and_soon_in_another_worker(
        make_app, writable_index):
    first, second = make_app(writable_index), make_app(writable_index)
    before = ask(second.test_client())           # the second "worker" holds the old snapshot
    assert not answers(before)

    r = upload(first.test_client(), [("2024-06-01_A03.txt", NEW_PAGE.encode())])
    assert r.status_code == 201, r.get_json()
    body = r.get_json()
    assert body["added"] == 1 and body["skipped"] == [] and body["unchanged"] == 0
    assert body["articles"][0]["title"] == NEW_TITLE
    assert body["articles"][0]["source"] == NEW_SOURCE
    assert body["articles"][0]["issue"] == "2024-06-01_A03"

    answer = ask(first.test_client())            # no restart, no waiting in the uploader
    assert answers(answer), answer
    assert answer["results"][0]["citation"]["source"] == NEW_SOURCE

    deadline = time.monotonic() + 10 * second.extensions["qa.settings"].reload_check_seconds + 5
    while not answers(ask(second.test_client())):
        assert time.monotonic() < deadline, "second worker never saw the new generation"
        time.sleep(0.2)

    health = first.test_client().get("/api/health").get_json()
    assert health["articles"] == 20 and health["generation"] == body["generation"]
    # The article page of the new article works too.
    article_id = body["articles"][0]["id"]
    assert first.test_client().get(f"/articles/{article_id}").status_code == 200


def test_same_issue_twice_changes_nothing(writable):
    client = writable.test_client()
    assert upload(client, [("p.txt", NEW_PAGE.encode())]).status_code == 201
    again = upload(client, [("p.txt", NEW_PAGE.encode())])
    assert again.status_code == 200
    assert again.get_json()["added"] == 0 and again.get_json()["unchanged"] == 1


def test_text_plain_upload_with_name(writable):
    client = writable.test_client()
    r = client.post("/api/issues?name=2024-06-02_B01", data=NEW_PAGE.encode("utf-8"),
                    headers={**AUTH, "Content-Type": "text/plain; charset=utf-8"})
    assert r.status_code == 201, r.get_json()
    assert r.get_json()["articles"][0]["issue"] == "2024-06-02_B01"
    assert answers(ask(client))


def test_text_plain_needs_a_name(writable):
    r = writable.test_client().post("/api/issues", data=NEW_PAGE.encode(),
                                    headers={**AUTH, "Content-Type": "text/plain"})
    assert "name" in error_of(r, 400, "bad_request")["message"]


# A name with another file type (win.ini) is refused for its type, see below.
@pytest.mark.parametrize("name", ["../../etc/passwd", "/etc/cron.d/evil.txt", "a\x00b.txt",
                                  "..\\..\\windows\\system32\\page.txt", "....//x.txt", ".."])
def test_hostile_file_names_stay_names(writable, writable_index, name):
    before = sorted(p.name for p in writable_index.index_dir.parent.iterdir())
    r = upload(writable.test_client(), [(name, NEW_PAGE.encode())])
    assert r.status_code == 201, r.get_json()
    issue = r.get_json()["articles"][0]["issue"]
    assert issue and "/" not in issue and "\\" not in issue and "\x00" not in issue
    assert ".." not in issue
    # Nothing was written beside the index folder.
    assert sorted(p.name for p in writable_index.index_dir.parent.iterdir()) == before


def test_hostile_name_of_another_file_type_is_refused_for_its_type(writable, writable_index):
    before = sorted(p.name for p in writable_index.index_dir.parent.iterdir())
    r = upload(writable.test_client(), [("..\\..\\windows\\win.ini", NEW_PAGE.encode())])
    assert ".ini" in error_of(r, 422, "bad_issue_file")["message"]
    assert sorted(p.name for p in writable_index.index_dir.parent.iterdir()) == before


def test_hostile_name_in_text_plain_upload(writable):
    r = writable.test_client().post("/api/issues?name=../../x%00y",
                                    data=NEW_PAGE.encode(),
                                    headers={**AUTH, "Content-Type": "text/plain"})
    assert r.status_code == 201
    assert "/" not in r.get_json()["articles"][0]["issue"]


def test_oversized_upload_is_413_json(writable):
    big = ("社工站" * (UPLOAD_LIMIT // 9 + 10)).encode()
    error_of(upload(writable.test_client(), [("big.txt", big)]), 413, "payload_too_large")
    r = writable.test_client().post("/api/issues?name=big", data=big,
                                    headers={**AUTH, "Content-Type": "text/plain"})
    error_of(r, 413, "payload_too_large")


def test_oversized_json_question_body_is_413_json(client):
    body = '{"question": "' + "问" * (UPLOAD_LIMIT // 3 + 10) + '"}'
    error_of(client.post("/api/ask", data=body, content_type="application/json"), 413)


@pytest.mark.parametrize("data", [bytes(range(256)) * 4, b"\x89PNG\r\n\x1a\n" + b"\x00" * 64,
                                  b"", b"   \n  ", b"\xff\xfe\xfa" * 100])
def test_unreadable_upload_is_422(writable, data):
    error_of(upload(writable.test_client(), [("page.txt", data)]), 422, "bad_issue_file")


# Each was accepted with 201 once: stored as mojibake, with tags or `%PDF-1.4` as its title, or
# as an article without a body. The API refuses them by the same rule as `qa add`.
REFUSED_UPLOADS = [
    ("第3版.html", ("<!DOCTYPE html><html><head><title>第3版</title></head><body><p>"
                   + NEW_PAGE.replace("\n\n", "</p><p>") + "</p></body></html>").encode(), ".html"),
    ("第3版.pdf", b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n%%EOF\n", ".pdf"),
    ("第3版.pdf", NEW_PAGE.encode(), ".pdf"),
    ("第3版.docx", b"PK\x03\x04\x14\x00\x06\x00" + bytes(300), ".docx"),
    ("第3版.txt", b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n%%EOF\n", "PDF"),
    ("第3版.txt", ("<html><body><p>" + NEW_PAGE + "</p></body></html>").encode(), "HTML"),
    ("第3版.txt", (NEW_TITLE + "\n").encode(), "只有标题"),
    ("第3版.txt", "市社會局推動長照2.0 有百分之八十長者受惠\n\n社會局表示，全市已設立一百二十個巷弄長照站。\n"
     .encode("big5"), "Big5"),
]


@pytest.mark.parametrize("name, data, reason", REFUSED_UPLOADS,
                         ids=[f"{n}-{r}" for n, _, r in REFUSED_UPLOADS])
def test_upload_that_cannot_be_a_page_is_422_naming_file_and_reason(writable, name, data, reason):
    client = writable.test_client()
    message = error_of(upload(client, [(name, data)]), 422, "bad_issue_file")["message"]
    assert "第3版" in message and reason in message, message
    assert client.get("/api/health").get_json()["articles"] == 19      # nothing was added


def test_text_plain_upload_of_html_is_422(writable):
    r = writable.test_client().post("/api/issues?name=第3版", data=REFUSED_UPLOADS[0][1],
                                    headers={**AUTH, "Content-Type": "text/plain"})
    assert "HTML" in error_of(r, 422, "bad_issue_file")["message"]


def test_mixed_upload_names_the_file_type_it_refused(writable):
    r = upload(writable.test_client(), [("good.txt", NEW_PAGE.encode()),
                                        ("第4版.docx", b"PK\x03\x04" + bytes(300))])
    assert r.status_code == 201
    [skipped] = r.get_json()["skipped"]
    assert ".docx" in skipped["reason"]


def test_mixed_upload_indexes_good_and_reports_bad(writable):
    r = upload(writable.test_client(), [("good.txt", NEW_PAGE.encode()),
                                        ("bad.txt", b"\x00\x01\x02" * 50)])
    assert r.status_code == 201
    body = r.get_json()
    assert body["added"] == 1 and [s["name"] for s in body["skipped"]] == ["bad.txt"]


def test_multipart_without_files_field(writable):
    r = writable.test_client().post("/api/issues", data={"other": "x"}, headers=AUTH,
                                    content_type="multipart/form-data")
    error_of(r, 400, "bad_request")


@pytest.mark.parametrize("ctype", ["application/json", "application/octet-stream", None])
def test_issue_wrong_content_type(writable, ctype):
    headers = dict(AUTH, **({"Content-Type": ctype} if ctype else {}))
    r = writable.test_client().post("/api/issues", data=b'{"x": 1}', headers=headers)
    error_of(r, 415, "unsupported_media_type")


# -- issues as records: metadata, listing, correction, removal --------------------------------

def test_metadata_from_form_fields_reaches_citations_listing_and_page(writable):
    client = writable.test_client()
    data = {"files": [(io.BytesIO(NEW_PAGE.encode()), "A03.txt")], "issue": "2024-08-15",
            "date": "2024-08-15", "paper": "中国社会报", "page": "3"}
    r = client.post("/api/issues?number=5000", data=data, headers=AUTH,
                    content_type="multipart/form-data")
    assert r.status_code == 201, r.get_json()
    assert r.get_json()["pages"]["added"] == ["2024-08-15.A03"]
    c = ask(client)["results"][0]["citation"]
    assert (c["paper"], c["date"], c["page"], c["issue"], c["page_id"]) == \
        ("中国社会报", "2024-08-15", 3, "2024-08-15", "2024-08-15.A03")
    issues = {i["id"]: i for i in client.get("/api/issues").get_json()["issues"]}
    assert issues["2024-08-15"]["number"] == "5000" and issues["2024-08-15"]["articles"] == 1
    assert issues["2024-08-15"]["pages"] == [{"id": "2024-08-15.A03", "page": 3, "articles": 1}]
    assert len(issues) == 6           # the five seed pages are issues of their own
    html = client.get("/", query_string={"q": NEW_QUESTION, "k": 1}).get_data(as_text=True)
    assert f"《{NEW_TITLE}》，据{NEW_SOURCE}；中国社会报 2024年8月15日 第3版" in html


@pytest.mark.parametrize("field, value", [("date", "2024-13-01"), ("date", "15/08/2024"),
                                          ("page", "0"), ("page", "三"),
                                          ("issue", "a/b"), ("issue", "2024.08.15")])
def test_bad_metadata_is_a_400_naming_the_parameter(writable, field, value):
    r = writable.test_client().post(f"/api/issues?{field}={value}",
                                    data={"files": [(io.BytesIO(NEW_PAGE.encode()), "p.txt")]},
                                    headers=AUTH, content_type="multipart/form-data")
    assert field in error_of(r, 400, "bad_request")["message"]


def test_reupload_of_a_corrected_page_replaces_it(writable):
    client = writable.test_client()
    assert upload(client, [("p.txt", NEW_PAGE.encode())]).status_code == 201
    fixed = NEW_PAGE.replace("科研人员48名", "科研人员52名")
    r = upload(client, [("p.txt", fixed.encode())])
    assert r.status_code == 201 and r.get_json()["replaced"] == ["p"]
    results = ask(client)["results"]
    assert "52名" in results[0]["text"] and not any("48名" in h["text"] for h in results)
    assert client.get("/api/health").get_json()["articles"] == 20


def test_delete_an_issue_needs_the_token_and_unknown_ids_are_404(writable):
    client = writable.test_client()
    assert upload(client, [("p.txt", NEW_PAGE.encode())]).status_code == 201
    error_of(client.delete("/api/issues/p"), 401, "unauthorized")
    error_of(client.delete("/api/issues/nope", headers=AUTH), 404, "not_found")
    r = client.delete("/api/issues/p", headers=AUTH)
    assert r.status_code == 200 and r.get_json()["removed"] == ["p"]
    assert not answers(ask(client))
    assert client.get("/api/health").get_json()["articles"] == 19
    assert "p" not in {i["id"] for i in client.get("/api/issues").get_json()["issues"]}
