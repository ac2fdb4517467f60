"""Hostile input over real HTTP to the real server (gunicorn in front: its own request-line and
header limits, real multipart parsing, real sockets). Most of these inputs are also checked one
layer down, through Flask's test client, in tests/web/ (RELIABILITY.md lists which); here the
point is that the whole stack answers each with a 2xx or a clear 4xx — never a 5xx, a hang or a
dead worker — and that HTML output stays escaped and framed by the security headers."""

from __future__ import annotations

import re

import pytest

from .conftest import SEED_ANSWER, SEED_QUESTION, make_page

requests = pytest.importorskip("requests")

QUESTIONS = {
    "whitespace": " \t\u3000\n ",
    "control-chars": "\x01\x02济阳\x7f区\x1b[31m社工",
    "nul": "济阳\x00社工",
    "only-punctuation": "？？？！！！。。。……——",
    "only-english": "How many social workers does Jiyang district have?",
    "emoji": "😀🎉👍🏽‍🔥",
    "sql": "' OR 1=1; DROP TABLE articles; --",
    "html-script": "<script>alert(1)</script>\"><img src=x onerror=alert(2)>",
    "rtl-zero-width": "\u202e济阳\u200b\u200d社工\ufeff",
    "lone-surrogate-escape": "\\ud800济阳",
    "100kB": "问" * 34_000,
}
# 100 KB is over max_ask_bytes: refused before it is read (issue 23), no longer normalised first
EXPECT = {"whitespace": 400, "nul": 200, "100kB": 413}


def _api(base, method, path, **kwargs):
    r = requests.request(method, f"{base}{path}", timeout=120, **kwargs)
    assert r.status_code < 500, (r.status_code, r.text[:300])
    return r


def _alive(base):
    r = requests.get(f"{base}/api/ask", params={"q": SEED_QUESTION, "k": 1}, timeout=120)
    assert r.status_code == 200 and SEED_ANSWER in r.json()["results"][0]["text"]


@pytest.mark.parametrize("name", sorted(QUESTIONS))
def test_hostile_questions_post(served, name):
    base, _, _ = served
    r = _api(base, "POST", "/api/ask", json={"question": QUESTIONS[name], "top_k": 3})
    assert r.status_code == EXPECT.get(name, 200), r.text[:300]
    body = r.json()
    if r.status_code == 200:
        assert isinstance(body["results"], list) and len(body["results"]) <= 3
    else:
        assert body["error"]["code"] == ("payload_too_large" if name == "100kB"
                                         else "bad_question")


@pytest.mark.parametrize("name", sorted(set(QUESTIONS) - {"100kB"}))
def test_hostile_questions_get(served, name):
    base, _, _ = served
    r = _api(base, "GET", "/api/ask", params={"q": QUESTIONS[name], "k": 2})
    assert r.status_code == EXPECT.get(name, 200), r.text[:300]


def test_100kb_question_in_the_url_is_refused_by_gunicorn_and_the_server_lives_on(served):
    """Longer than gunicorn's 8190-byte request line: gunicorn answers 400 itself (plain
    text, not the JSON envelope: it never reaches the app) and keeps serving."""
    base, _, _ = served
    r = _api(base, "GET", "/api/ask", params={"q": QUESTIONS["100kB"]})
    assert r.status_code in (400, 414)
    _alive(base)


@pytest.mark.parametrize("raw", ["q=%FF%FE", "q=%E6%B5", "q=%C0%AF", "q=%ED%A0%80"])
def test_invalid_utf8_in_query_string(served, raw):
    base, _, _ = served
    r = _api(base, "GET", f"/api/ask?{raw}")
    assert r.status_code == 400 and r.json()["error"]["code"] == "bad_request"


@pytest.mark.parametrize("k", ["0", "-1", "1000000000", "10000000000000000000000", "abc", "1.5",
                               "", " 3", "0x10", "NaN"])
def test_bad_k_get(served, k):
    base, _, _ = served
    r = _api(base, "GET", "/api/ask", params={"q": SEED_QUESTION, "k": k})
    if k == " 3":
        assert r.status_code == 200          # surrounding spaces are tolerated
    else:
        assert r.status_code == 400 and r.json()["error"]["code"] == "bad_request"


@pytest.mark.parametrize("k", [0, -1, 10**9, 10**30, "5", 2.5, None, [], {}])
def test_bad_top_k_post(served, k):
    base, _, _ = served
    r = _api(base, "POST", "/api/ask", json={"question": SEED_QUESTION, "top_k": k})
    assert r.status_code == (200 if k is None else 400)


# -- uploads ----------------------------------------------------------------------------------

def _upload(base, token, files, **kwargs):
    return requests.post(f"{base}/api/issues", files=files, timeout=300,
                         headers={"Authorization": f"Bearer {token}"}, **kwargs)


def test_50mb_upload_is_refused_and_the_server_lives_on(served):
    base, _, token = served
    big = b"\xe7\xa4\xbe" * (50 * 1024 * 1024 // 3)
    try:
        r = _upload(base, token, [("files", ("big.txt", big, "text/plain"))])
    except requests.ConnectionError:
        r = None      # the server may close the socket while the client is still sending
    if r is not None:
        assert r.status_code == 413 and r.json()["error"]["code"] == "payload_too_large"
    _alive(base)


# UTF-16 with a byte order mark is what Windows Notepad saves as "Unicode" (issue 13: it was
# called binary).
@pytest.mark.parametrize("page, codec", [(5001, "gb18030"), (5002, "utf-16")])
def test_upload_in_another_encoding_is_indexed_and_answerable(served, page, codec):
    base, _, token = served
    text, title, question, fact = make_page(page)
    r = _upload(base, token, [("files", (f"{codec}-{page}.txt", text.encode(codec), "text/plain"))])
    assert r.status_code == 201, r.text
    top = _api(base, "GET", "/api/ask", params={"q": question, "k": 1}).json()["results"][0]
    assert top["citation"]["title"] == title and fact in top["text"]


@pytest.mark.parametrize("name, data", [
    ("page.txt", b""), ("page.txt", b"\x00" * 1000), ("page.txt", bytes(range(256)) * 8),
    ("page.txt", b"\x89PNG\r\n\x1a\n" + b"\x00" * 500),
    # UTF-16 with a byte order mark is read; without one it cannot be told reliably
    ("page.txt", "济阳区社工站为七万余人提供专业服务。\n".encode("utf-16-le") * 5),
    ("page.txt", b"\xff\xfe\xfd" * 300),
    # Finding F1 (RELIABILITY.md): was indexed as GB18030 mojibake with 201 until 47940d2.
    ("page.txt", "濟陽區社工站".encode("big5") * 50),
    # …and a short Big5 page still was, titled `カ穦Ы崩笆酚2.0 Τκ` (issue 13)
    ("page.txt", "市社會局推動長照2.0 有百分之八十長者受惠\n\n社會局表示，全市已設立一百二十個巷弄長照站。\n"
     .encode("big5")),
    ("page.html", "<html><body><h1>济阳区社工站</h1><p>服务七万余人。</p></body></html>".encode()),
    ("page.pdf", b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\n%%EOF\n"),
    ("page.txt", "济阳区社工站“156+”服务体系探索基层治理新途径\n".encode()),
], ids=["empty", "nul", "binary", "png", "utf16-no-bom", "invalid", "big5", "big5-short", "html",
        "text-pdf", "title-only"])
def test_unreadable_uploads_are_422(served, name, data):
    base, _, token = served
    r = _upload(base, token, [("files", (name, data, "text/plain"))])
    assert r.status_code == 422 and r.json()["error"]["code"] == "bad_issue_file", r.text[:300]
    assert "page" in r.json()["error"]["message"]



@pytest.mark.parametrize("name", ["../../../etc/passwd", "/etc/cron.d/x.txt", "a\x00b.txt",
                                  "C:\\Windows\\x.txt", "." * 300, "页" * 400 + ".txt"])
def test_hostile_file_names_over_http(served, name):
    base, _, token = served
    text, *_ = make_page(5100 + len(name))
    r = _upload(base, token, [("files", (name, text.encode(), "text/plain"))])
    assert r.status_code in (200, 201), r.text[:300]
    for a in r.json()["articles"]:
        assert re.fullmatch(r"[\w-]{1,100}", a["issue"]), a["issue"]


def test_many_files_in_one_upload(served):
    """120 files: 100 junk, 20 copies of one page under different names."""
    base, _, token = served
    text, *_ = make_page(5200)
    files = [("files", (f"junk-{i}.txt", b"\x00\x01" * 10, "text/plain")) for i in range(100)]
    files += [("files", (f"copy-{i}.txt", text.encode(), "text/plain")) for i in range(20)]
    r = _upload(base, token, files)
    assert r.status_code == 201, r.text[:300]
    body = r.json()
    assert body["added"] == 20 and len(body["skipped"]) == 100
    _alive(base)


@pytest.mark.parametrize("header, status", [
    (None, 401), ("", 401), ("Bearer", 401), ("Basic dXNlcjpwYXNz", 401), ("Bearer wrong", 403),
    ("Bearer " + "x" * 8000, 403),
])
def test_missing_and_wrong_tokens_over_http(served, header, status):
    base, _, _ = served
    headers = {} if header is None else {"Authorization": header}
    r = requests.post(f"{base}/api/issues", headers=headers, timeout=60,
                      files=[("files", ("p.txt", b"x", "text/plain"))])
    assert r.status_code == status and r.json()["error"]["code"] in ("unauthorized", "forbidden")
    if status == 401:
        assert r.headers["WWW-Authenticate"].startswith("Bearer")


# -- output -----------------------------------------------------------------------------------

@pytest.mark.parametrize("path", ["/", "/?q=%3Cscript%3Ealert(1)%3C%2Fscript%3E", "/articles/x",
                                  "/no/such/page", "/api/health", "/static/app.js"])
def test_security_headers_over_http(served, path):
    base, _, _ = served
    r = requests.get(f"{base}{path}", timeout=60)
    csp = r.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp
    assert "unsafe-inline" not in csp
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert r.headers["X-Frame-Options"] == "DENY"


def test_user_strings_are_escaped_in_html_over_http(served):
    base, _, _ = served
    evil = "<script>alert(1)</script>\"'><svg onload=alert(2)>"
    r = requests.get(f"{base}/", params={"q": evil}, timeout=60)
    assert r.status_code == 200
    assert "<script>alert" not in r.text and "<svg onload" not in r.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in r.text
    assert re.findall(r"<script[^>]*>", r.text) == ['<script src="/static/app.js" defer>']


def test_binds_loopback_by_default(served):
    """The served fixture starts ``qa serve`` with no --host: the listening socket is
    127.0.0.1 only (from /proc/net/tcp), not 0.0.0.0."""
    base, _, _ = served
    port = int(base.rsplit(":", 1)[1])
    listening = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = open(table).read().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            local, state = line.split()[1], line.split()[3]
            address, hex_port = local.rsplit(":", 1)
            if state == "0A" and int(hex_port, 16) == port:      # 0A = LISTEN
                listening.append(address)
    assert listening == ["0100007F"], listening                  # 127.0.0.1
