"""Load test over loopback: N concurrent clients for T seconds against a running ``qa serve``.

Each client mixes reads — questions (GET and POST /api/ask), /api/health, /api/articles pages
and single articles — as fast as the server answers them. With ``--upload-every S`` one more
client uploads a freshly made page (a made-up article with a unique fact) every S seconds
through ``POST /api/issues``; after the run every uploaded article must be the top answer to
its own question. Reports requests, errors, p50/p99 latency (per kind and overall) and the
server's resident memory (master + workers) before and after, as JSON on stdout.

    # against a server you started (its pid for the memory figures):
    .venv/bin/python benchmarks/load.py --url http://127.0.0.1:8000 --pid $(pgrep -of 'qa.*serve') \\
        --clients 32 --seconds 60 --upload-every 5 --token "$QA_ADMIN_TOKEN"
    # or start one on a throw-away copy of an index:
    .venv/bin/python benchmarks/load.py --index index --clients 32 --seconds 60 --upload-every 5

Loopback only (a non-loopback URL is refused) and bounded: every request has a timeout and the
run stops after T seconds plus the time in-flight requests take to finish.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlparse

import requests

ROOT = Path(__file__).resolve().parents[1]
REQUEST_TIMEOUT = 120
QUESTIONS = [
    "济阳区配备了多少名驻站社工？",
    "济阳 驻站社工 人数",
    "社工站“156+”服务体系是什么？",
    "健康企业 数量",
    "内蒙古头一所培养社工人才的学院设在哪座城市？",
    "凤阳投入了多少慈善款项来支持社区公益项目？",
    "社会工作人才队伍建设",
    "What is the social worker station?",
    "？？？！！！",
    "😀 社工",
]
CITIES = ["青岚", "白沙", "云溪", "松江", "临川", "明湖", "石桥", "金川", "清河", "柳岸",
          "望海", "东岭", "南屏", "北塘", "西岸", "玉泉"]


def make_page(n: int) -> tuple[str, str, str, str]:
    """A page in the seeds' layout holding one made-up article with a fact unique to ``n``:
    ``(text, title, question, fact)``."""
    city = CITIES[n % len(CITIES)] + CITIES[(n // len(CITIES)) % len(CITIES)]
    staff = 100 + n
    title = f"{city}市建成首个珊瑚礁修复实验站"
    text = f"""{title}

近日，{city}市珊瑚礁修复实验
站在东湾正式建成投用。

据介绍，实验站占地约三千
二百平方米，配备专职潜水
科研人员{staff}名，今年已累
计移植珊瑚苗种一万一千株，
成活率达到百分之九十二。

{city}市海洋局负责人表示，下
一步将把实验站的修复经验
推广到周边海域，并定期向
市民开放参观。

（据测试日报）
"""
    return text, title, f"{city}市珊瑚礁修复实验站配备了多少名潜水科研人员？", f"{staff}名"


# -- server memory ----------------------------------------------------------------------------

def _children(pid: int) -> list[int]:
    out = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            out.append(int(entry))
    return out


def tree_rss_mb(pid: int | None) -> dict | None:
    """Resident memory of ``pid`` and all its descendants, in MB (from /proc)."""
    if not pid:
        return None
    pids, todo = [], [pid]
    while todo:
        p = todo.pop()
        pids.append(p)
        todo.extend(_children(p))
    per = {}
    for p in pids:
        try:
            with open(f"/proc/{p}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        per[p] = int(line.split()[1]) / 1024
        except OSError:
            pass
    return {"total_mb": round(sum(per.values()), 1),
            "processes": {str(p): round(v, 1) for p, v in sorted(per.items())}}


# -- the run ----------------------------------------------------------------------------------

def _percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    values = sorted(values)
    return round(values[min(len(values) - 1, int(q * len(values)))] * 1000, 1)


class _Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.latency: dict[str, list[float]] = {}
        self.errors: list[str] = []

    def record(self, kind: str, seconds: float, error: str | None = None) -> None:
        with self.lock:
            self.latency.setdefault(kind, []).append(seconds)
            if error:
                self.errors.append(f"{kind}: {error}")


def _reader(base: str, stop: threading.Event, stats: _Stats, ids: list[str], seed: int) -> None:
    rng = random.Random(seed)
    session = requests.Session()
    while not stop.is_set():
        roll = rng.random()
        q = rng.choice(QUESTIONS)
        if roll < 0.35:
            kind, call = "ask_get", lambda: session.get(
                f"{base}/api/ask", params={"q": q, "k": rng.randint(1, 10)},
                timeout=REQUEST_TIMEOUT)
        elif roll < 0.6:
            kind, call = "ask_post", lambda: session.post(
                f"{base}/api/ask", json={"question": q, "top_k": rng.randint(1, 10)},
                timeout=REQUEST_TIMEOUT)
        elif roll < 0.75:
            kind, call = "health", lambda: session.get(f"{base}/api/health",
                                                       timeout=REQUEST_TIMEOUT)
        elif roll < 0.9:
            kind, call = "articles", lambda: session.get(
                f"{base}/api/articles", params={"page": rng.randint(1, 3), "per_page": 10},
                timeout=REQUEST_TIMEOUT)
        else:
            kind, call = "article", lambda: session.get(
                f"{base}/api/articles/{rng.choice(ids)}", timeout=REQUEST_TIMEOUT)
        started = time.perf_counter()
        try:
            r = call()
            error = None if r.status_code == 200 else f"HTTP {r.status_code} {r.text[:200]}"
            if error is None and kind.startswith("ask") and "results" not in r.json():
                error = "no results field"
        except (requests.RequestException, ValueError) as e:
            error = f"{type(e).__name__}: {e}"
        stats.record(kind, time.perf_counter() - started, error)


def _uploader(base: str, stop: threading.Event, stats: _Stats, every: float, token: str,
              uploaded: list[dict], first: int) -> None:
    n = first
    while not stop.wait(every):
        # A fresh connection per upload: after `every` seconds idle, a kept-alive one may be
        # closed by gunicorn (keepalive 2 s) just as we reuse it, and a POST is not retried.
        session = requests.Session()
        text, title, question, fact = make_page(n)
        name = f"load-{os.getpid()}-{n:04d}_A01.txt"
        started = time.perf_counter()
        try:
            r = session.post(f"{base}/api/issues", headers={"Authorization": f"Bearer {token}"},
                             files=[("files", (name, text.encode(), "text/plain"))],
                             timeout=REQUEST_TIMEOUT * 3)
            if r.status_code == 201 and r.json()["added"] == 1:
                uploaded.append({"id": r.json()["articles"][0]["id"], "title": title,
                                 "question": question, "fact": fact})
                error = None
            else:
                error = f"HTTP {r.status_code} {r.text[:200]}"
        except (requests.RequestException, ValueError) as e:
            error = f"{type(e).__name__}: {e}"
        session.close()
        stats.record("upload", time.perf_counter() - started, error)
        n += 1


def check_uploaded(base: str, uploaded: list[dict]) -> list[str]:
    """Each uploaded article must be the top answer to its own question, with its fact."""
    missing = []
    for u in uploaded:
        r = requests.get(f"{base}/api/ask", params={"q": u["question"], "k": 3},
                         timeout=REQUEST_TIMEOUT)
        results = r.json().get("results", []) if r.status_code == 200 else []
        top = results[0] if results else None
        if not (top and top["citation"]["article_id"] == u["id"] and u["fact"] in top["text"]):
            missing.append(u["id"])
    return missing


def run_load(base: str, clients: int = 8, seconds: float = 5.0, upload_every: float | None = None,
             token: str | None = None, server_pid: int | None = None, seed: int = 0,
             first_page: int = 0) -> dict:
    _require_loopback(base)
    listing = requests.get(f"{base}/api/articles", params={"per_page": 100},
                           timeout=REQUEST_TIMEOUT).json()
    ids = [a["id"] for a in listing["articles"]] or ["none"]
    rss_before = tree_rss_mb(server_pid)
    stats, stop, uploaded = _Stats(), threading.Event(), []
    threads = [threading.Thread(target=_reader, args=(base, stop, stats, ids, seed + i),
                                daemon=True) for i in range(clients)]
    if upload_every:
        if not token:
            raise SystemExit("--upload-every needs --token (or QA_ADMIN_TOKEN)")
        threads.append(threading.Thread(
            target=_uploader, args=(base, stop, stats, upload_every, token, uploaded, first_page),
            daemon=True))
    started = time.monotonic()
    for t in threads:
        t.start()
    time.sleep(seconds)
    stop.set()
    for t in threads:
        t.join(REQUEST_TIMEOUT * 3 + 10)
    elapsed = time.monotonic() - started
    rss_after = tree_rss_mb(server_pid)
    missing = check_uploaded(base, uploaded)
    all_latency = [x for values in stats.latency.values() for x in values]
    return {
        "clients": clients, "seconds": seconds, "elapsed_s": round(elapsed, 1),
        "requests": len(all_latency), "errors": len(stats.errors),
        "error_examples": stats.errors[:10],
        "throughput_rps": round(len(all_latency) / elapsed, 1),
        "p50_ms": _percentile(all_latency, 0.50), "p99_ms": _percentile(all_latency, 0.99),
        "by_kind": {k: {"n": len(v), "p50_ms": _percentile(v, 0.5),
                        "p99_ms": _percentile(v, 0.99)} for k, v in sorted(stats.latency.items())},
        "uploads": len(uploaded), "uploads_not_answerable": missing,
        "rss_before": rss_before, "rss_after": rss_after,
    }


# -- a server of our own ----------------------------------------------------------------------

def _require_loopback(base: str) -> None:
    host = urlparse(base).hostname or ""
    try:
        addresses = {a[4][0] for a in socket.getaddrinfo(host, None)}
    except socket.gaierror:
        addresses = set()
    if not addresses or not all(a.startswith("127.") or a == "::1" for a in addresses):
        raise SystemExit(f"refusing {base}: this load test only talks to loopback addresses")


def child_env(**extra: str) -> dict[str, str]:
    """The environment of a ``qa`` process started here (or by a test): this one's without its
    ``QA_*`` settings — a developer's token, index or port must not change what is measured —
    except ``QA_CACHE_DIR``, so the child uses the model this run converted (a CI run has its
    own, empty one) rather than whatever ``~/.cache/qa`` holds."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("QA_") or k == "QA_CACHE_DIR"}
    env.update(PYTHONUNBUFFERED="1", **extra)
    return env


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def serve_copy(index: Path, workers: int = 2, token: str | None = None,
               start_timeout: float = 300, log: Path | None = None,
               env: dict[str, str] | None = None):
    """``qa serve`` on a throw-away copy of ``index`` (with the ``QA_*`` settings ``env``
    adds, e.g. ``QA_BACKEND``): yields ``(base_url, pid, token)``."""
    token = token or secrets.token_urlsafe(16)
    with tempfile.TemporaryDirectory(prefix="qa-load-") as tmp:
        copy = Path(tmp) / "index"
        shutil.copytree(index, copy, ignore=shutil.ignore_patterns("LOCK"))
        port = free_port()
        env = child_env(QA_ADMIN_TOKEN=token, **(env or {}))
        out = open(log or Path(tmp) / "serve.log", "wb")
        proc = subprocess.Popen(
            [sys.executable, "-c", "from qa.cli import main; main()", "--index", str(copy),
             "serve", "--port", str(port), "--workers", str(workers)],
            stdout=out, stderr=subprocess.STDOUT, env=env, cwd=ROOT, start_new_session=True)
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + start_timeout
            while True:
                if proc.poll() is not None:
                    raise RuntimeError(f"qa serve exited with {proc.returncode}")
                try:
                    if requests.get(f"{base}/api/health", timeout=5).status_code == 200:
                        break
                except requests.RequestException:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(f"qa serve not healthy after {start_timeout}s")
                time.sleep(0.5)
            yield base, proc.pid, token
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=40)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)
            out.close()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    where = p.add_mutually_exclusive_group(required=True)
    where.add_argument("--url", help="a running server, e.g. http://127.0.0.1:8000")
    where.add_argument("--index", type=Path, help="start qa serve on a copy of this index")
    p.add_argument("--pid", type=int, help="server (gunicorn master) pid, for memory figures")
    p.add_argument("--workers", type=int, default=2, help="with --index")
    p.add_argument("--clients", type=int, default=8)
    p.add_argument("--seconds", type=float, default=10)
    p.add_argument("--upload-every", type=float, default=None, metavar="S")
    p.add_argument("--token", default=os.environ.get("QA_ADMIN_TOKEN"))
    args = p.parse_args(argv)
    if args.url:
        report = run_load(args.url.rstrip("/"), args.clients, args.seconds, args.upload_every,
                          args.token, args.pid)
    else:
        with serve_copy(args.index, args.workers, args.token) as (base, pid, token):
            report = run_load(base, args.clients, args.seconds, args.upload_every, token, pid)
    print(json.dumps(report, ensure_ascii=False, indent=1))
    return 0 if report["errors"] == 0 and not report["uploads_not_answerable"] else 1


if __name__ == "__main__":
    sys.exit(main())
