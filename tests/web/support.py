"""Shared by the web tests: a seed question with its known answer, a made-up page to upload,
and the checks every test needs."""

from __future__ import annotations

import re

CJK = re.compile(r"[\u4e00-\u9fff]")

SEED_QUESTION = "济阳区配备了多少名驻站社工？"
SEED_ANSWER = "26人"
SEED_TITLE = "山东济南济阳区：社工站“156+”服务体系 探索基层治理新途径"
SEED_SOURCE = "大众网"

# Written for these tests, in the seeds' layout (narrow columns, outlet line last): the ingest
# tells a title from body text by line width, so the column width matters. The facts exist
# nowhere else in the index.
NEW_PAGE = """某市建成首个珊瑚礁修复实验站

近日，某市珊瑚礁修复实验
站在东湾正式建成投用。

据介绍，实验站占地约三千
二百平方米，配备专职潜水
科研人员48名，今年已累
计移植珊瑚苗种一万一千株，
成活率达到百分之九十二。

某市海洋局负责人表示，下
一步将把实验站的修复经验
推广到周边海域，并定期向
市民开放参观。

（据测试日报）
"""
NEW_TITLE = "某市建成首个珊瑚礁修复实验站"
NEW_SOURCE = "测试日报"
NEW_QUESTION = "某市珊瑚礁修复实验站配备了多少名潜水科研人员？"
NEW_ANSWER = "48名"


def answers(body: dict, title: str = NEW_TITLE, fact: str = NEW_ANSWER) -> bool:
    """Whether the top result of an /api/ask body is that article and holds the fact."""
    results = body.get("results") or []
    return bool(results) and results[0]["citation"]["title"] == title \
        and fact in results[0]["text"]


def error_of(response, status: int, code: str | None = None) -> dict:
    """Assert ``response`` is the API's JSON error envelope with a Chinese message."""
    assert response.status_code == status, response.data[:300]
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}
    assert CJK.search(body["error"]["message"]), body
    assert "Traceback" not in response.get_data(as_text=True)
    if code:
        assert body["error"]["code"] == code
    return body["error"]


def job_result(client, response, headers: dict, timeout: float = 120.0) -> dict:
    """The finished job a 202 upload ``response`` started (over a Flask test client), polled
    at ``GET /api/jobs/<id>`` until it is done or failed."""
    import time

    assert response.status_code == 202, response.data[:300]
    accepted = response.get_json()
    assert accepted["status"] == "queued" and response.headers["Location"] == accepted["url"]
    deadline = time.monotonic() + timeout
    while True:
        r = client.get(accepted["url"], headers=headers)
        assert r.status_code == 200, r.data[:300]
        job = r.get_json()
        if job["status"] in ("done", "failed"):
            return job
        assert time.monotonic() < deadline, job
        time.sleep(0.1)


# Another made-up page, printed and scanned for the OCR uploads (tests/web/test_jobs.py, the
# server test): one short article renders to a small page, which OCR reads in ~3 s.
SCAN_TITLE = "某县首座山区应急物资储备库启用"
SCAN_SOURCE = "测试晚报"
SCAN_PARAGRAPHS = [
    "日前，某县首座山区应急物资储备库在北岭镇正式启用。",
    "据了解，储备库建筑面积约一千六百平方米，现储备救灾帐篷1200顶、折叠床三千张，"
    "可在两小时内送达全县各个山区村。",
    "某县应急管理局负责人表示，今后将每季度对库存物资进行一次检查和更新。",
]
SCAN_QUESTION = "某县山区应急物资储备库储备了多少顶救灾帐篷？"
SCAN_ANSWER = "1200顶"


def scanned_page(seed: int = 1):
    """The scan page printed in embedded fonts and rendered at 200 dpi (a greyscale PIL
    image): a clean scan of one short article."""
    from tests.ingest import pdfgen, scangen
    from tests.ingest.relayout import SeedArticle

    article = SeedArticle(-2, "scan", SCAN_TITLE, SCAN_SOURCE, SCAN_PARAGRAPHS)
    [image] = scangen.render(pdfgen.make_pdf([[article]], seed=seed, embed_fonts=True).data, 200)
    return image


def huge_png(width: int = 20_000, height: int = 20_000) -> bytes:
    """A 69-byte PNG whose header claims ``width`` × ``height`` pixels (its data is a few
    bytes): what a reader must refuse from the header, before decoding."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data)))

    return (b"\x89PNG\r\n\x1a\n"
            + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b""))
