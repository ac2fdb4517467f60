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
