"""Questions while a scanned issue is read: ``/api/ask`` latency before and during the upload of
a 4-page scanned issue (one image-only PDF), served by ``qa serve`` (gunicorn, 2 workers) on a
private copy of the seed index, on loopback.

The issue is four of the seed pages, printed in embedded fonts, rendered at 200 dpi and degraded
as flatbed scans (tests/ingest/scangen.py), in one PDF. The upload answers 202 with a job; one
client asks questions (each new, closed loop, c=1) for ``--idle`` seconds before it and then
until the job is done; the job is polled every second. Reported: the 202's time, the job's
duration and pages, ask p50/p99 idle and during the job, failed asks.

    .venv/bin/python benchmarks/ocr_upload.py [--index index] [--idle 20] [--out DIR]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import ROOT, machine, median, pct, save  # noqa: E402
from http_latency import Server, question_pool, snapshot_index, timed_ask  # noqa: E402

sys.path.insert(0, str(ROOT))
TOKEN = "bench-" + uuid.uuid4().hex


def scanned_issue(pages: int = 4) -> bytes:
    from tests.ingest import scangen

    scans = [s for name, s in scangen.seed_scans(200).items() if name != "photo"][:pages]
    return scangen.to_scanned_pdf([s.image for s in scans], 200)


def multipart(name: str, data: bytes) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"files\"; "
            f"filename=\"{name}\"\r\nContent-Type: application/pdf\r\n\r\n").encode() + data + \
        f"\r\n--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


def request(port: int, method: str, path: str, body: bytes | None = None,
            headers: dict | None = None) -> tuple[int, dict]:
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        c.request(method, path, body=body, headers=headers or {})
        r = c.getresponse()
        return r.status, json.loads(r.read() or b"{}")
    finally:
        c.close()


class Asker(threading.Thread):
    """Asks new questions one after another, noting each latency with its time."""

    def __init__(self, port: int, questions: list[str]):
        super().__init__(daemon=True)
        self.port, self.questions = port, iter(questions)
        self.samples: list[tuple[float, float, bool]] = []
        self.done = threading.Event()

    def run(self) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        while not self.done.is_set():
            q = next(self.questions, None)
            if q is None:
                break
            t = time.perf_counter()
            ok, ms, conn = timed_ask(conn, self.port, q)
            self.samples.append((t, ms, ok))
        conn.close()


def stats(samples) -> dict:
    ms = [m for _, m, ok in samples if ok]
    return {"asks": len(ms), "failed": sum(1 for *_, ok in samples if not ok),
            "p50_ms": round(median(ms), 1) if ms else None,
            "p99_ms": round(pct(ms, 99), 1) if ms else None}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--index", type=Path, default=ROOT / "index")
    ap.add_argument("--idle", type=float, default=20.0)
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()

    pdf = scanned_issue()
    with tempfile.TemporaryDirectory() as tmp:
        index = snapshot_index(args.index, Path(tmp) / "index")
        os.environ["QA_ADMIN_TOKEN"] = TOKEN
        server = Server(index, "onnx-int8", workers=2)
        try:
            server.wait_answering()
            asker = Asker(server.port, question_pool())
            asker.start()
            time.sleep(args.idle)
            body, kind = multipart("2024-09-01.pdf", pdf)
            t0 = time.perf_counter()
            status, job = request(server.port, "POST", "/api/issues", body,
                                  {"Content-Type": kind, "Authorization": f"Bearer {TOKEN}"})
            accepted = time.perf_counter() - t0
            assert status == 202, (status, job)
            url = job["url"]
            while True:
                time.sleep(1.0)
                _, job = request(server.port, "GET", url,
                                 headers={"Authorization": f"Bearer {TOKEN}"})
                if job["status"] in ("done", "failed"):
                    break
            finished = time.perf_counter()
            asker.done.set()
            asker.join()
        finally:
            server.stop()
    idle = [s for s in asker.samples if s[0] < t0]
    during = [s for s in asker.samples if t0 <= s[0] < finished]
    result = {"machine": machine(), "pdf_bytes": len(pdf), "accepted_ms": round(accepted * 1000, 1),
              "job_seconds": round(finished - t0, 1), "job_status": job["status"],
              "pages": job.get("pages"), "added": (job.get("result") or {}).get("added"),
              "error": job.get("error"), "asks_idle": stats(idle), "asks_during_job": stats(during)}
    print(json.dumps(result, ensure_ascii=False, indent=1))
    save("ocr_upload", result, args.out)


if __name__ == "__main__":
    main()
