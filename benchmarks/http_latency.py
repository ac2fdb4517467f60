"""End-to-end query latency over HTTP on loopback: ``qa serve`` (gunicorn) in its own process,
a closed-loop load generator (threads, keep-alive connections) in this one.

Every engine named gets its own server on its own port, all started before any load, and the
load phases alternate between them (concurrency x repeat x engine), so the engines see the same
machine. Each request asks a question not asked before in that server's life (a pool of
thousands of distinct questions from the seed and bench sets), so the service's query-vector
cache never hits: the figures are the cost of a new question. ``--cached`` adds phases that
repeat a few questions (cache hits) for comparison. An engine name ``X+omp1`` runs engine X with
``OMP_NUM_THREADS=1`` in the server's environment, ``X+noreader`` with ``QA_READER=off`` (see
``server_env``).

    .venv/bin/python benchmarks/http_latency.py [--index index] [--engines torch,onnx-int8]
        [--concurrency 1,8,32] [--seconds 6] [--repeats 3] [--workers 2] [--cached] [--out DIR]
"""

from __future__ import annotations

import argparse
import http.client
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import QA, ROOT, SHARED, machine, median, pct, question_texts, save  # noqa: E402


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def question_pool() -> list[str]:
    files = [SHARED / "eval" / "seed_questions_dev.jsonl", ROOT / "eval" / "paraphrase_questions.jsonl",
             ROOT / "eval" / "short_queries.jsonl"]
    files += [SHARED / "bench" / s for s in ("xquad_zh", "cmrc2018", "drcd_simplified")]
    return [q for q in question_texts([f for f in files if f.exists()]) if len(q) <= 200]


def snapshot_index(index: Path, dest: Path) -> Path:
    """A private copy of the index, so nobody's add or rebuild switches it mid-run."""
    shutil.copytree(index, dest, ignore=shutil.ignore_patterns("LOCK", "MERGE", "*.tmp-*"),
                    dirs_exist_ok=True)
    return dest


def server_env(engine: str) -> dict:
    """``ENGINE`` with any of ``+omp1`` (OMP_NUM_THREADS=1: FAISS's OpenMP pool, and torch's,
    one thread per search/encode) and ``+noreader`` (QA_READER=off) in the server's
    environment."""
    backend, *variants = engine.split("+")
    env = dict(os.environ, QA_ENCODER_BACKEND=backend)
    for variant in variants:
        if variant == "omp1":
            env["OMP_NUM_THREADS"] = "1"
        elif variant == "noreader":
            env["QA_READER"] = "off"
        else:
            raise SystemExit(f"unknown variant {variant!r} in {engine!r}")
    return env


class Server:
    def __init__(self, index: Path, engine: str, workers: int, port: int | None = None):
        self.engine, self.port = engine, port or free_port()
        env = server_env(engine)
        self.log = tempfile.TemporaryFile()
        self.started = time.perf_counter()
        self.proc = subprocess.Popen(
            [QA, "--index", str(index), "serve", "--host", "127.0.0.1", "--port", str(self.port),
             "--workers", str(workers)], env=env, stdout=self.log, stderr=subprocess.STDOUT,
            start_new_session=True)

    def ask_once(self, q: str = "济阳区配备了多少名驻站社工？", timeout: float = 5.0) -> int:
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            c.request("GET", "/api/ask?" + urllib.parse.urlencode({"q": q, "k": 5}))
            r = c.getresponse()
            r.read()
            return r.status
        finally:
            c.close()

    def wait_answering(self, limit: float = 600) -> float:
        """Seconds from process start to the first answered question."""
        while time.perf_counter() - self.started < limit:
            if self.proc.poll() is not None:
                raise SystemExit(f"server ({self.engine}) exited:\n{self.log_text()[-3000:]}")
            try:
                if self.ask_once() == 200:
                    return time.perf_counter() - self.started
            except OSError:
                pass
            time.sleep(0.05)
        raise SystemExit(f"server ({self.engine}) did not answer within {limit} s")

    def worker_pids(self) -> list[int]:
        """The gunicorn workers: the master's children."""
        kids = []
        for d in os.listdir("/proc"):
            if d.isdigit():
                try:
                    with open(f"/proc/{d}/stat") as f:
                        if int(f.read().rsplit(")", 1)[1].split()[1]) == self.proc.pid:
                            kids.append(int(d))
                except (OSError, ValueError, IndexError):
                    pass
        return sorted(kids)

    def rss_mb(self) -> dict:
        """RSS of the gunicorn master and of each worker (its children), MB."""
        def rss(pid):
            with open(f"/proc/{pid}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        return int(line.split()[1]) / 1024
            return 0.0
        return {"master": round(rss(self.proc.pid)),
                "workers": [round(rss(k)) for k in self.worker_pids()]}

    def log_text(self) -> str:
        """What the server wrote so far (gunicorn's access and error log). Read with pread:
        the server shares this file's offset, and moving it would make it write over its log."""
        fd = self.log.fileno()
        return os.pread(fd, os.fstat(fd).st_size, 0).decode(errors="replace")

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)    # our own gunicorn master only
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait()


def timed_ask(conn: http.client.HTTPConnection, port: int, q: str
              ) -> tuple[bool, float, http.client.HTTPConnection]:
    """``/api/ask`` once on a keep-alive connection: (answered 200, milliseconds, the
    connection to go on with — a new one after an error)."""
    path = "/api/ask?" + urllib.parse.urlencode({"q": q, "k": 5})
    t = time.perf_counter()
    try:
        conn.request("GET", path)
        r = conn.getresponse()
        r.read()
        ok = r.status == 200
    except (OSError, http.client.HTTPException):
        ok = False
        conn.close()
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    return ok, (time.perf_counter() - t) * 1000, conn


def load(port: int, questions: list[str], concurrency: int, seconds: float) -> dict:
    """Closed loop: ``concurrency`` threads, each with a keep-alive connection, each sending its
    next question as soon as the previous answer is read, for ``seconds``."""
    lock = threading.Lock()
    it = iter(questions)
    lat, errors = [], [0]
    stop_at = time.perf_counter() + seconds

    def next_q():
        with lock:
            return next(it, None)

    def worker():
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        while time.perf_counter() < stop_at:
            q = next_q()
            if q is None:
                break
            ok, ms, conn = timed_ask(conn, port, q)
            with lock:
                if ok:
                    lat.append(ms)
                else:
                    errors[0] += 1
        conn.close()

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - started
    return {"requests": len(lat), "errors": errors[0], "seconds": round(wall, 2),
            "rps": round(len(lat) / wall, 1), "p50_ms": round(median(lat), 2),
            "p99_ms": round(pct(lat, 99), 2)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--index", type=Path, default=ROOT / "index")
    ap.add_argument("--engines", default="torch,onnx-int8,onnx-int8+omp1")
    ap.add_argument("--concurrency", default="1,8,32")
    ap.add_argument("--seconds", type=float, default=6.0)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--cached", action="store_true", help="also phases with repeated questions")
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    engines = args.engines.split(",")
    levels = [int(c) for c in args.concurrency.split(",")]

    scratch = Path(tempfile.mkdtemp(prefix="qa-bench-http-"))
    servers = {}
    try:
        index = snapshot_index(args.index, scratch / "index")
        pool = question_pool()
        for e in engines:
            servers[e] = Server(index, e, args.workers)
        cold = {e: round(s.wait_answering(), 2) for e, s in servers.items()}
        # every worker must be up (post_worker_init warms the model) before measuring
        for s in servers.values():
            for _ in range(20):
                s.ask_once("预热问题")
        print("first answer after (s):", cold, flush=True)
        cursor = {e: 0 for e in engines}
        phases = []
        start = machine()
        for c in levels:
            for r in range(args.repeats):
                for e, s in servers.items():
                    take = pool[cursor[e]:]
                    res = load(s.port, take, c, args.seconds)
                    cursor[e] += res["requests"] + res["errors"]
                    res.update(engine=e, concurrency=c, repeat=r, cache="miss",
                               loadavg_1m=machine()["loadavg_1m"])
                    phases.append(res)
                    print(f"c={c:3d} {e:10s} #{r} {res['requests']:5d} req {res['errors']} err "
                          f"{res['rps']:7.1f} req/s  p50 {res['p50_ms']:7.2f} ms  "
                          f"p99 {res['p99_ms']:7.2f} ms  load {res['loadavg_1m']}", flush=True)
                    if args.cached:
                        res = load(s.port, pool[:8] * 100000, c, args.seconds / 2)
                        res.update(engine=e, concurrency=c, repeat=r, cache="hit")
                        phases.append(res)
        wrapped = any(cursor[e] > len(pool) for e in engines)
        summary = []
        for cache in ("miss", "hit"):
            for c in levels:
                for e in engines:
                    ps = [p for p in phases if p["engine"] == e and p["concurrency"] == c
                          and p["cache"] == cache]
                    if not ps:
                        continue
                    row = {"engine": e, "concurrency": c, "cache": cache,
                           "p50_ms": round(median([p["p50_ms"] for p in ps]), 2),
                           "p99_ms": round(median([p["p99_ms"] for p in ps]), 2),
                           "rps": round(median([p["rps"] for p in ps]), 1),
                           "errors": sum(p["errors"] for p in ps),
                           "requests": sum(p["requests"] for p in ps)}
                    summary.append(row)
                    print(f"summary {cache:4s} c={c:3d} {e:10s} p50 {row['p50_ms']:7.2f} ms  "
                          f"p99 {row['p99_ms']:7.2f} ms  {row['rps']:7.1f} req/s  "
                          f"errors {row['errors']}", flush=True)
        rss = {e: s.rss_mb() for e, s in servers.items()}
        print("RSS MB:", rss)
        print("results:", save("http_latency", {
            "index": str(args.index), "workers": args.workers, "threads_per_worker": 4,
            "seconds_per_phase": args.seconds, "repeats": args.repeats,
            "question_pool": len(pool), "pool_wrapped": wrapped, "first_answer_s": cold,
            "rss_mb": rss, "start": start, "summary": summary, "phases": phases}, args.out))
    finally:
        for s in servers.values():
            s.stop()
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
