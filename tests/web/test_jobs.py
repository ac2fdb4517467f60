"""Uploads that need OCR (issue 25): POST /api/issues answers 202 with a job, GET /api/jobs/<id>
reports it from any worker, the job adds the pages as the synchronous upload would, bad scans
fail their job with the reason (nothing indexed), one job runs at a time across workers, the
queue is bounded, a dead worker's job is reported failed, finished jobs are pruned. The real
app over a real index; ``qa.jobs.Jobs`` directly where the work can be a stand-in (no OCR).
The same flow under gunicorn: tests/web/test_server.py."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import replace

import numpy as np
import pytest
from PIL import Image, ImageFilter

from qa.config import Settings
from qa.errors import BadIssueFile, Busy
from qa.jobs import Jobs
from tests.ingest import scangen

from .conftest import TOKEN
from .support import (SCAN_ANSWER, SCAN_QUESTION, SCAN_SOURCE, SCAN_TITLE, answers, error_of,
                      huge_png, job_result, scanned_page)

AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture(scope="module")
def scan_png() -> bytes:
    return scangen.to_png(scanned_page())


def upload(client, files, **kw):
    data = {"files": [(io.BytesIO(body), name) for name, body in files], **kw}
    return client.post("/api/issues", data=data, headers=AUTH, content_type="multipart/form-data")


def asks(client) -> dict:
    r = client.get("/api/ask", query_string={"q": SCAN_QUESTION, "k": 3})
    assert r.status_code == 200
    return r.get_json()


def generation(client) -> str:
    return client.get("/api/health").get_json()["generation"]


def blank_png() -> bytes:
    return scangen.to_png(Image.new("L", (1200, 800), 250))


def photo_jpeg() -> bytes:
    """A photograph of no text: smooth blotches of light and shade."""
    small = np.random.default_rng(1).integers(0, 256, (60, 80), dtype=np.uint8)
    photo = Image.fromarray(small).resize((1200, 900), Image.BICUBIC)
    return scangen.to_jpeg(photo.filter(ImageFilter.GaussianBlur(3)))


def corrupt_tiff(scan_png: bytes) -> bytes:
    tiff = scangen.to_tiff([Image.open(io.BytesIO(scan_png))])
    return tiff[: len(tiff) // 3]


def test_a_scanned_page_is_a_job_seen_by_every_worker_and_then_answered(
        make_app, writable_index, scan_png):
    """The job's result is the synchronous upload's reply; a blank page beside the scan is
    skipped with its reason; another app over the same index (another worker) sees the job."""
    app = make_app(writable_index)
    other = make_app(writable_index).test_client()
    client = app.test_client()
    assert not answers(asks(client), SCAN_TITLE, SCAN_ANSWER)
    r = upload(client, [("2024-09-01_A03.png", scan_png), ("2024-09-01_A04.png", blank_png())],
               date="2024-09-01", paper="测试晚报")
    assert r.status_code == 202, r.get_json()
    accepted = r.get_json()
    assert set(accepted) == {"job", "status", "url"} and accepted["status"] == "queued"
    assert r.headers["Location"] == accepted["url"] == f"/api/jobs/{accepted['job']}"
    seen = other.get(accepted["url"], headers=AUTH)
    assert seen.status_code == 200 and seen.get_json()["id"] == accepted["job"]
    assert seen.get_json()["status"] in ("queued", "running", "done")

    job = job_result(client, r, AUTH)
    assert job["status"] == "done", job
    assert job["error"] is None and job["pages_done"] == job["pages"] == 2
    assert job["files"] == ["2024-09-01_A03.png", "2024-09-01_A04.png"]
    body = job["result"]
    assert body["added"] == 1 and body["pages"]["added"] == ["2024-09-01_A03"]
    [article] = body["articles"]
    assert article["title"] == SCAN_TITLE and article["source"] == SCAN_SOURCE
    assert article["date"] == "2024-09-01" and article["paper"] == "测试晚报"
    assert body["skipped"] == [{"name": "2024-09-01_A04.png", "reason": "空白页", "page": None}]
    assert other.get(accepted["url"], headers=AUTH).get_json() == \
        client.get(accepted["url"], headers=AUTH).get_json()

    assert body["generation"] == generation(client)       # the uploader's worker reloaded
    answer = asks(client)
    assert answers(answer, SCAN_TITLE, SCAN_ANSWER), answer
    assert answers(asks(other), SCAN_TITLE, SCAN_ANSWER)  # and the other sees the commit


@pytest.mark.parametrize("name,make,reason", [
    ("blank.png", lambda scan: blank_png(), "空白页"),
    ("photo.jpg", lambda scan: photo_jpeg(), "没有识别出文字"),
])
def test_a_bad_scan_fails_its_job_with_the_reason_and_indexes_nothing(
        make_app, index, scan_png, name, make, reason):
    client = make_app(index).test_client()
    before = generation(client)
    job = job_result(client, upload(client, [(name, make(scan_png))]), AUTH)
    assert job["status"] == "failed" and job["result"] is None, job
    error = job["error"]
    # what the synchronous upload answers when nothing is readable: 422 bad_issue_file
    assert error["code"] == "bad_issue_file"
    assert reason in error["message"] and name in error["message"], error
    assert generation(client) == before


@pytest.mark.parametrize("name,make,reason", [
    ("huge.png", lambda scan: huge_png(), "图片过大"),
    ("broken.tif", corrupt_tiff, "不是有效的图片文件"),
])
def test_an_image_refused_by_its_header_is_a_422_at_once_with_no_job(
        make_app, index, scan_png, name, make, reason):
    client = make_app(index).test_client()
    before = generation(client)
    r = upload(client, [(name, make(scan_png))])
    assert r.status_code == 422, r.get_json()
    error = r.get_json()["error"]
    assert error["code"] == "bad_issue_file" and reason in error["message"] and name in \
        error["message"], error
    assert generation(client) == before


def test_a_huge_image_claimed_in_its_header_is_refused_before_it_is_decoded():
    with pytest.raises(BadIssueFile, match="图片过大"):
        from qa.ingest import ingest_bytes
        ingest_bytes(huge_png(), "huge.png")


def test_text_uploads_stay_synchronous(make_app, index):
    from .support import NEW_PAGE
    r = upload(make_app(index).test_client(), [("p.txt", NEW_PAGE.encode())])
    assert r.status_code == 201 and "job" not in r.get_json()


def test_job_status_needs_the_token_and_unknown_or_malformed_ids_are_404(app):
    client = app.test_client()
    error_of(client.get("/api/jobs/" + "0" * 32), 401, "unauthorized")
    error_of(client.get("/api/jobs/" + "0" * 32, headers={"Authorization": "Bearer nope"}),
             403, "forbidden")
    for ident in ("0" * 32, "A" * 32, "0" * 33, "x", "..%2F..%2Fetc%2Fpasswd", "%00", "0" * 5000):
        error_of(client.get(f"/api/jobs/{ident}", headers=AUTH), 404, "not_found")


def test_a_full_queue_is_503_busy_with_retry_after(make_app, index, scan_png):
    client = make_app(index, max_jobs=0).test_client()
    r = upload(client, [("p.png", scan_png)])
    error_of(r, 503, "busy")
    assert int(r.headers["Retry-After"]) > 0


# -- qa.jobs on its own: stand-in work, no OCR ------------------------------------------------

def settings_for(tmp_path, **kw) -> Settings:
    return replace(Settings(), index_dir=tmp_path, **kw)


def wait_for(jobs: Jobs, job_id: str, statuses=("done", "failed"), timeout: float = 20) -> dict:
    deadline = time.monotonic() + timeout
    while (job := jobs.status(job_id))["status"] not in statuses:
        assert time.monotonic() < deadline, job
        time.sleep(0.02)
    return job


def test_one_job_runs_at_a_time_across_workers_the_others_wait_queued(tmp_path):
    a, b = Jobs(settings_for(tmp_path)), Jobs(settings_for(tmp_path))      # two "workers"
    release = threading.Event()

    def slow(progress):
        progress("a.png", 0, 2)
        release.wait(20)
        progress("a.png", 2, 2)
        return {"added": 1}

    first = a.submit(slow, ["a.png"])
    running = wait_for(b, first["id"], ("running",))
    assert running["file"] == "a.png" and (running["pages_done"], running["pages"]) == (0, 2)
    second = b.submit(lambda progress: {"added": 2}, ["b.png"])
    time.sleep(0.5)
    assert a.status(second["id"])["status"] == "queued"       # the first holds the OCR lock
    release.set()
    assert wait_for(a, first["id"])["result"] == {"added": 1}
    done = wait_for(a, second["id"])
    assert done["status"] == "done" and done["result"] == {"added": 2}


def test_the_queue_is_bounded(tmp_path):
    jobs = Jobs(settings_for(tmp_path, max_jobs=2))
    release = threading.Event()
    ids = [jobs.submit(lambda p: release.wait(20) and {}, [f"{i}.png"])["id"] for i in range(2)]
    with pytest.raises(Busy) as e:
        jobs.submit(lambda p: {}, ["2.png"])
    assert e.value.status == 503 and e.value.retry_after > 0 and "上限 2" in e.value.message
    release.set()
    for i in ids:
        wait_for(jobs, i)
    jobs.submit(lambda p: {}, ["3.png"])                     # room again


def test_an_error_in_the_work_fails_the_job_with_its_code_or_as_internal(tmp_path):
    jobs = Jobs(settings_for(tmp_path))

    def unreadable(progress):
        raise BadIssueFile("没有可以收录的文章（a.png：空白页）")

    def bug(progress):
        raise RuntimeError("/secret/path")

    job = wait_for(jobs, jobs.submit(unreadable, ["a.png"])["id"])
    assert job["error"] == {"code": "bad_issue_file", "message": "没有可以收录的文章（a.png：空白页）"}
    job = wait_for(jobs, jobs.submit(bug, ["a.png"])["id"])
    assert job["status"] == "failed" and job["error"]["code"] == "internal_error"
    assert "secret" not in json.dumps(job, ensure_ascii=False)


KILLED_WORKER = """
import sys, time
from dataclasses import replace
from pathlib import Path
from qa.config import Settings
from qa.jobs import Jobs
jobs = Jobs(replace(Settings(), index_dir=Path(sys.argv[1]), job_stale_seconds=1.0))
def forever(progress):
    progress("a.png", 0, 4)
    time.sleep(600)
print(jobs.submit(forever, ["a.png"])["id"], flush=True)
time.sleep(600)
"""


def test_a_killed_workers_job_is_reported_failed_and_frees_the_lock(tmp_path):
    worker = subprocess.Popen([sys.executable, "-c", KILLED_WORKER, str(tmp_path)],
                              stdout=subprocess.PIPE, text=True, start_new_session=True)
    try:
        job_id = worker.stdout.readline().strip()
        jobs = Jobs(settings_for(tmp_path, job_stale_seconds=1.0))
        wait_for(jobs, job_id, ("running",))
        time.sleep(1.5)
        assert jobs.status(job_id)["status"] == "running"     # its heartbeat keeps it alive
    finally:
        os.kill(worker.pid, signal.SIGKILL)                  # our own child only
        worker.wait(timeout=10)
    job = wait_for(jobs, job_id, ("failed",), timeout=10)
    assert job["error"]["code"] == "job_lost" and "重新上传" in job["error"]["message"]
    # the dead worker's OCR lock went with it: the next job runs
    assert wait_for(jobs, jobs.submit(lambda p: {"added": 0}, ["b.png"])["id"])["status"] == "done"


def test_finished_jobs_are_pruned_by_count_and_age(tmp_path):
    jobs = Jobs(settings_for(tmp_path, jobs_kept=3, job_keep_seconds=3600))
    jobs.folder.mkdir()
    now = time.time()
    records = {f"{n:032x}": ("done", age) for n, age in enumerate([10, 20, 30, 40, 7200])}
    records["e" * 32] = ("running", 1)          # alive (a fresh heartbeat): never pruned
    records["f" * 32] = ("running", 99_999)     # its worker died long ago: failed, and pruned
    for job_id, (status, age) in records.items():
        (jobs.folder / f"{job_id}.json").write_text(json.dumps(
            {"id": job_id, "status": status, "updated": now - age, "created": now - 99_999}))
    (jobs.folder / f".{'0' * 32}.abc.tmp").write_text("{")    # a killed writer's leftover
    os.utime(jobs.folder / f".{'0' * 32}.abc.tmp", (now - 7200, now - 7200))
    new = jobs.submit(lambda p: {}, ["x.png"])["id"]
    kept = {p.stem for p in jobs.folder.glob("*.json")}
    assert kept == {f"{n:032x}" for n in range(3)} | {"e" * 32, new}
    assert not list(jobs.folder.glob(".*.tmp"))
    assert jobs.status("e" * 32)["status"] == "running"


def test_a_page_image_sent_as_the_body_is_a_job_and_a_bad_one_a_422(
        make_app, writable_index, scan_png):
    """`Content-Type: image/png` (or image/jpeg, image/tiff) with `?name=`, like a PDF body."""
    client = make_app(writable_index).test_client()
    r = client.post("/api/issues?name=2024-09-02_A01", data=scan_png, headers=AUTH,
                    content_type="image/png")
    assert r.status_code == 202, r.get_json()
    job = job_result(client, r, AUTH)
    assert job["status"] == "done" and job["files"] == ["2024-09-02_A01.png"], job
    assert job["result"]["pages"]["added"] == ["2024-09-02_A01"]
    bad = client.post("/api/issues?name=x", data=b"\xff\xd8 not a jpeg", headers=AUTH,
                      content_type="image/jpeg")
    assert bad.status_code == 422 and "x.jpg" in bad.get_json()["error"]["message"]
    nameless = client.post("/api/issues", data=scan_png, headers=AUTH, content_type="image/png")
    assert nameless.status_code == 400
