"""Issue 23 replayed against a real ``qa serve`` (gunicorn, two workers) on both backends: every
hostile case the issue lists, each held to its bound — status, time, reply size — and no reply
that shows a path, a Milvus expression or a traceback. The archive is ``benchmarks/hostile.py``'s:
the seed page and ``REPRINTS`` records that all carry the same boilerplate paragraph.

The embedded backend runs in ``make test``; Milvus Lite (minutes to build and start) in
``make reliability``. RELIABILITY.md ("Bounds") has the figures before and after.
"""

from __future__ import annotations

import importlib.util
import time
import pytest

from .conftest import ROOT, SEED_ANSWER, SEED_QUESTION, load

requests = pytest.importorskip("requests")

_spec = importlib.util.spec_from_file_location("qa_hostile_benchmark",
                                               ROOT / "benchmarks" / "hostile.py")
hostile = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(hostile)

REPRINTS = 600
# Time bounds: far above what each case takes here after the fix (RELIABILITY.md), far below
# what it took before; Milvus Lite checks filters row by row in Python, hence its own.
FAST = {"embedded": 3.0, "milvus": 15.0}


@pytest.fixture(scope="module", params=["embedded",
                                        pytest.param("milvus", marks=pytest.mark.slow)])
def bounded(request, tmp_path_factory):
    """``(backend, base_url, token)`` of a server on the reprint archive."""
    backend = request.param
    work = tmp_path_factory.mktemp(f"bounds-{backend}")
    hostile.build(work / "index", backend, REPRINTS, work)
    with load.serve_copy(work / "index", workers=2, env=hostile.backend_env(backend),
                         start_timeout=600, log=work / "serve.log") as (base, _, token):
        yield backend, base, token


def call(base, method, path, token=None, timeout=120, **kwargs):
    """The request, its seconds; asserts the reply is no 5xx and leaks nothing."""
    headers = dict(kwargs.pop("headers", {}))
    if token:
        headers["Authorization"] = f"Bearer {token}"
    started = time.monotonic()
    r = requests.request(method, base + path, headers=headers, timeout=timeout, **kwargs)
    took = time.monotonic() - started
    assert r.status_code < 500, (r.status_code, r.text[:300])
    leak = hostile.LEAK.search(r.text)
    assert not leak, r.text[max(0, leak.start() - 80):leak.end() + 80]
    return r, took


def error(r, status: int, *words: str) -> str:
    assert r.status_code == status, (r.status_code, r.text[:300])
    message = r.json()["error"]["message"]
    for w in words:
        assert w in message, message
    return message


def test_reprints_are_listed_to_the_cap_and_counted(bounded):
    backend, base, _ = bounded
    r, took = call(base, "POST", "/api/ask", json={"q": hostile.REPRINT_QUESTION, "k": 5})
    assert r.status_code == 200
    top = r.json()["results"][0]
    assert hostile.BOILERPLATE[:20] in top["text"]
    assert len(top["also_in"]) == 20
    # every other copy is listed or counted: REPRINTS records, one of them cited
    assert len(top["also_in"]) + top["also_in_more"] == REPRINTS - 1
    assert len(r.content) < 64_000, len(r.content)      # was 2.7 MB at 17k copies
    assert took < FAST[backend], took


def test_listing_depth_is_bounded(bounded):
    backend, base, _ = bounded
    r, took = call(base, "GET", "/api/articles", params={"page": 101, "per_page": 100})
    error(r, 400, "参数 page", "10,000")
    r, took = call(base, "GET", "/api/articles", params={"page": 100, "per_page": 100})
    assert r.status_code == 200 and r.json()["articles"] == [] and took < FAST[backend]
    r, took = call(base, "GET", "/api/articles", params={"page": 2, "per_page": 100})
    assert r.status_code == 200 and len(r.json()["articles"]) == 100 and took < FAST[backend]


def test_issues_are_read_once_per_generation(bounded):
    backend, base, _ = bounded
    times = []
    for _ in range(4):          # two workers: each reads the pages once
        r, took = call(base, "GET", "/api/issues")
        assert r.status_code == 200 and r.json()["issues"]
        times.append(took)
    assert min(times) < FAST[backend] / 3, times


@pytest.mark.parametrize("body, status, words", [
    ({"q": "问" * 1_400_000}, 413, ("请求体过大", "16,384")),          # 4 MB, refused unread
    ({"q": "问" * 2_001}, 400, ("过长",)),                              # raw length, unnormalised
    ({"q": "社工", "source": [f"s{i}" for i in range(21)]}, 400, ("参数 source", "20")),
    ({"q": "社工", "paper": ["报" * 101]}, 400, ("参数 paper", "100")),
    ({"q": "社工", "source": [f"s{i}" for i in range(200_000)]}, 413, ("请求体过大",)),
    ({"q": "社工", "source": "a\u0000b"}, 400, ("参数 source", "控制字符")),
    ({"q": "社工", "issue": ["a\u001b[31m"]}, 400, ("参数 issue",)),
], ids=["4MB-question", "2001-chars", "21-sources", "long-paper", "200k-sources", "nul-source",
        "escape-issue"])
def test_ask_bounds(bounded, body, status, words):
    backend, base, _ = bounded
    r, took = call(base, "POST", "/api/ask", json=body)
    error(r, status, *words)
    assert took < FAST[backend]


@pytest.mark.parametrize("raw, status", [
    (b'{"q": ' + b"[" * 2000 + b"]" * 2000 + b"}", 400),
    (b'{"q": "\\ud800"}', 400),                     # nothing left once the surrogate is dropped
    (b'{"q": "\\ud800\xe7\xa4\xbe\xe5\xb7\xa5"}', 200),
    (b'{"q": "x", "k": ' + b"9" * 5000 + b"}", 400),
], ids=["nested-2000", "lone-surrogate", "surrogate-and-text", "5000-digit-k"])
def test_malformed_json_is_4xx(bounded, raw, status):
    _, base, _ = bounded
    r, _ = call(base, "POST", "/api/ask", data=raw, headers={"Content-Type": "application/json"})
    assert r.status_code == status, r.text[:300]


@pytest.mark.parametrize("path", ["/api/articles/a%00b", "/api/articles/..%2f..%2fetc",
                                  "/api/articles/%1b%5b31m", "/api/articles/" + "a" * 2000])
def test_odd_article_ids_are_404_without_a_lookup(bounded, path):
    _, base, _ = bounded
    r, _ = call(base, "GET", path)
    assert r.status_code == 404 and "\x00" not in r.text and "\x1b" not in r.text


@pytest.mark.parametrize("line, words", [
    ('{"id":"t1","title":["x"],"text":"文"}', ("title 必须是文本",)),
    ('{"id":"t2","text":"a","x":' + "[" * 5000 + "]" * 5000 + "}", ("嵌套过深",)),
    ('{"id":"t3","text":"a","page":' + "9" * 5000 + "}", ("数字过长",)),
    ('{"id":"../../../etc/passwd","text":"济阳区社工站。"}', ("id 不合法",)),
    ('{"id":"a/b","text":"济阳区社工站。"}', ("id 不合法",)),
    ('{"id":"x\\u001b[31mred","text":"济阳区社工站。"}', ("id 不合法", "\\x1b")),
    ('{"id":"ok1","issue":"a b/c","text":"济阳区社工站。"}', ("issue 不合法",)),
], ids=["title-list", "nested", "digits", "traversal", "slash", "escape", "issue"])
def test_hostile_corpus_lines_are_422(bounded, line, words):
    _, base, token = bounded
    before = requests.get(f"{base}/api/health", timeout=30).json()["articles"]
    r, _ = call(base, "POST", "/api/issues", token, params={"name": "bad.jsonl"},
                data=(line + "\n").encode(), headers={"Content-Type": "text/plain"})
    message = error(r, 422, *words)
    assert "\x1b" not in message
    assert requests.get(f"{base}/api/health", timeout=30).json()["articles"] == before


def test_upload_names_never_collapse(bounded):
    _, base, token = bounded
    ids = {}
    for name in ("/etc/cron.d/x.txt", "C:\\Windows\\x.txt", "..", "...", "x.txt"):
        text = hostile.load.make_page(7000 + len(ids))[0]
        r, _ = call(base, "POST", "/api/issues", token,
                    files=[("files", (name, text.encode(), "text/plain"))])
        assert r.status_code == 201, r.text[:300]
        ids[name] = r.json()["articles"][0]["page_id"]
        r, _ = call(base, "GET", f"/api/articles/{r.json()['articles'][0]['id']}")
        assert r.status_code == 200                 # every id is usable in a URL
    assert len(set(ids.values())) == len(ids), ids
    assert ids["x.txt"] == "x"
    # two files of one upload with one page id: the second is skipped, not merged into the first
    page = hostile.load.make_page(7100)[0].encode()
    r, _ = call(base, "POST", "/api/issues", token,
                files=[("files", ("dup.txt", page, "text/plain")),
                       ("files", ("dup.txt", page.replace(b"7", b"8"), "text/plain"))])
    assert r.status_code == 201 and r.json()["added"] >= 1
    assert [s["name"] for s in r.json()["skipped"]] == ["dup.txt"]


def test_glyph_bomb_pdfs_are_refused_while_read(bounded):
    backend, base, token = bounded
    before = requests.get(f"{base}/api/health", timeout=30).json()["articles"]
    for pages, words in ((1, ("字符过多",)), (10, ("到第 3 页已超过",))):
        data = hostile.glyph_pdf(640_000, pages)
        assert len(data) < 5_000
        r, took = call(base, "POST", "/api/issues", token, params={"name": f"bomb{pages}.pdf"},
                       data=data, headers={"Content-Type": "application/pdf"})
        error(r, 422, *words)
        assert took < 30, took          # was 13 s (1 page) and 87-129 s (10 pages)
    assert requests.get(f"{base}/api/health", timeout=30).json()["articles"] == before


def test_the_server_still_answers(bounded):
    _, base, _ = bounded
    r, _ = call(base, "GET", "/api/ask", params={"q": SEED_QUESTION, "k": 1})
    assert r.status_code == 200 and SEED_ANSWER in r.json()["results"][0]["text"]
