"""Jobs: work too slow for a request (an upload that needs OCR, ~15-35 s a page) run in a
background thread of the worker that accepted it, with its state where every worker sees it.

* **State** is one small JSON file per job, ``<index_dir>/jobs/<id>.json``, rewritten whole
  (temporary file + ``os.replace``) at each change, so any gunicorn worker can answer
  ``GET /api/jobs/<id>`` and never reads half a file. Ids are ``secrets.token_hex(16)``.
* **One at a time**: a job holds ``jobs/ocr.lock`` (``flock``) while it runs, across all
  workers and ``qa`` commands on this machine; the others wait as ``queued``. OCR takes the
  cores a page is given (``Settings.ocr_threads``), so two at once would only slow both and
  the questions beside them. At most ``Settings.max_jobs`` may wait or run: one more is
  ``Busy`` (503 with ``Retry-After``).
* **Heartbeat**: while a job waits or runs, its worker rewrites its file every few seconds
  (``updated``). A worker stopped or killed leaves a file that goes stale; after
  ``Settings.job_stale_seconds`` it is reported ``failed`` with the reason. The lock goes with
  the dead process, so the next job starts. Whatever the job wrote to the index is one atomic
  commit (``qa.index.builder``): all of its pages or none.
* **Kept**: finished jobs beyond the newest ``Settings.jobs_kept``, or older than
  ``Settings.job_keep_seconds``, are deleted when a job is submitted.

The work itself is a callable given a ``progress(file, pages_done, pages)``; what it returns
is the job's ``result``, and a ``QAError`` it raises the job's ``error`` (its code and the
message a synchronous request would have answered with).
"""

from __future__ import annotations

import json
import logging
import math
import os
import re
import secrets
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path

from qa.config import Settings
from qa.errors import Busy, NotFound, QAError
from qa.ingest import FileProgress
from qa.index.locks import file_lock

log = logging.getLogger(__name__)

QUEUED, RUNNING, DONE, FAILED = "queued", "running", "done", "failed"
LIVE = (QUEUED, RUNNING)
JOB_ID = re.compile(r"[0-9a-f]{32}")
RETRY_AFTER = 60                # seconds: about what two scanned pages take
HEARTBEAT = 5.0                 # seconds between heartbeats (less when the stale limit is short)
INTERNAL = {"code": "internal_error", "message": "服务器内部错误，任务失败，索引未改变；请稍后重新上传"}

Work = Callable[[FileProgress], dict]


class Jobs:
    """Jobs of one index folder. Holds no state of its own besides the threads it started:
    every worker makes one, and they agree through the files."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.folder = Path(settings.index_dir) / "jobs"

    # -- submitting and running ------------------------------------------------------------

    def submit(self, work: Work, files: list[str]) -> dict:
        """Queue ``work`` and start it in a background thread; the job as ``status`` shows it.
        ``Busy`` when ``max_jobs`` jobs already wait or run."""
        self.folder.mkdir(parents=True, exist_ok=True)
        # Counting and creating under one lock, so two workers cannot both take the last place.
        with file_lock(self.folder / "submit.lock", wait=30):
            now = time.time()
            records = [self._seen(r, now) for r in self._records()]
            self._prune(records, now)
            live = sum(1 for r in records if r["status"] in LIVE)
            limit = self.settings.max_jobs
            if live >= limit:
                raise Busy(f"已有 {live} 个需要识别的上传在排队或处理中（上限 {limit} 个），"
                           f"请稍后再试", RETRY_AFTER)
            job = _Job(self.folder, secrets.token_hex(16), files)
            job.set()
            queued = public(job.snapshot())
        log.info("job %s queued: %s", job.id, ", ".join(files))
        threading.Thread(target=self._run, args=(job, work), name=f"qa-job-{job.id[:8]}",
                         daemon=True).start()
        return queued

    def _run(self, job: "_Job", work: Work) -> None:
        stop = threading.Event()
        beat = min(HEARTBEAT, self.settings.job_stale_seconds / 4)
        threading.Thread(target=job.beat, args=(stop, beat), name=f"qa-beat-{job.id[:8]}",
                         daemon=True).start()
        try:
            with file_lock(self.folder / "ocr.lock", wait=math.inf):
                job.set(status=RUNNING, started=time.time())
                log.info("job %s running", job.id)
                result = work(job.progress)
            job.set(status=DONE, result=result, file=None)
            log.info("job %s done: %s", job.id, result.get("generation"))
        except QAError as e:
            if e.status >= 500:
                log.warning("job %s failed: %s", job.id, e.message)
            job.set(status=FAILED, file=None, error={"code": e.code, "message": e.reply})
        except Exception:
            log.exception("job %s failed", job.id)
            job.set(status=FAILED, file=None, error=INTERNAL)
        finally:
            stop.set()

    # -- reading ---------------------------------------------------------------------------

    def status(self, job_id: str) -> dict:
        """The job as any worker sees it; ``NotFound`` for an id that is malformed, unknown or
        no longer kept."""
        record = self._read(job_id) if JOB_ID.fullmatch(job_id or "") else None
        if record is None:
            raise NotFound("没有这个任务（任务编号有误，或已完成超过一天而被清理）")
        return public(self._seen(record, time.time()))

    def _seen(self, record: dict, now: float) -> dict:
        """``record`` as reported at ``now``: a waiting or running job whose heartbeat is
        older than ``job_stale_seconds`` has failed (its worker was stopped or killed)."""
        stale = self.settings.job_stale_seconds
        if record.get("status") in LIVE and now - record.get("updated", 0) > stale:
            return {**record, "status": FAILED, "file": None, "error": {
                "code": "job_lost",
                "message": f"处理这次上传的服务进程已中断（{stale:g} 秒没有进展），任务未完成。"
                           f"一次上传要么整个写入索引，要么完全不写入；请重新上传"}}
        return record

    def _read(self, job_id: str) -> dict | None:
        try:
            return json.loads((self.folder / f"{job_id}.json").read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as e:
            log.warning("job file %s unreadable: %s", job_id, e)
            return None

    def _records(self) -> list[dict]:
        out = []
        for path in self.folder.glob("*.json"):
            if JOB_ID.fullmatch(path.stem) and (record := self._read(path.stem)) is not None:
                out.append(record)
        return out

    def _prune(self, records: list[dict], now: float) -> None:
        """Delete finished jobs beyond the newest ``jobs_kept`` or older than
        ``job_keep_seconds`` (``records`` as ``_seen``), and temporary files a killed writer
        left."""
        s = self.settings
        finished = sorted((r for r in records if r["status"] not in LIVE),
                          key=lambda r: r.get("updated", 0), reverse=True)
        for n, r in enumerate(finished):
            if n >= s.jobs_kept or now - r.get("updated", 0) > s.job_keep_seconds:
                (self.folder / f"{r['id']}.json").unlink(missing_ok=True)
                records.remove(r)
        for tmp in self.folder.glob(".*.tmp"):
            try:
                if now - tmp.stat().st_mtime > 3600:
                    tmp.unlink()
            except OSError:
                pass


class _Job:
    """A job this process runs: its record in memory, written whole at every change."""

    def __init__(self, folder: Path, job_id: str, files: list[str]):
        now = time.time()
        self.id = job_id
        self.path = folder / f"{job_id}.json"
        self._lock = threading.Lock()
        self._pages: dict[str, tuple[int, int]] = {}
        self.record = {"id": job_id, "status": QUEUED, "pages_done": 0, "pages": 0,
                       "file": None, "files": files, "result": None, "error": None,
                       "created": now, "started": None, "updated": now, "pid": os.getpid()}

    def snapshot(self) -> dict:
        with self._lock:
            return dict(self.record)

    def set(self, **changes) -> None:
        with self._lock:
            self.record.update(changes, updated=time.time())
            _write(self.path, self.record)

    def progress(self, name: str, done: int, total: int) -> None:
        with self._lock:
            self._pages[name] = (done, total)
            counts = self._pages.values()
            self.record.update(file=name, pages_done=sum(d for d, _ in counts),
                               pages=sum(t for _, t in counts))
        self.set()

    def beat(self, stop: threading.Event, every: float) -> None:
        while not stop.wait(every):
            try:
                self.set()
            except OSError as e:                # a full disk: the job itself may still finish
                log.warning("job %s heartbeat: %s", self.id, e)


def _write(path: Path, record: dict) -> None:
    """``record`` to ``path`` whole: readers see the old file or the new one, never half."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(record, f, ensure_ascii=False)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _iso(t: float | None) -> str | None:
    return None if t is None else datetime.fromtimestamp(t, timezone.utc).isoformat(
        timespec="seconds")


def public(record: dict) -> dict:
    """What ``GET /api/jobs/<id>`` shows of a record."""
    return {"id": record["id"], "status": record["status"],
            "pages_done": record.get("pages_done", 0), "pages": record.get("pages", 0),
            "file": record.get("file"), "files": record.get("files", []),
            "result": record.get("result") if record["status"] == DONE else None,
            "error": record.get("error") if record["status"] == FAILED else None,
            "created": _iso(record.get("created")), "updated": _iso(record.get("updated"))}
