"""Slow clients against a running server over loopback: N connections that send a request a
byte at a time (half of them the headers, half a POST body after complete headers), reopened
whenever the server closes one, for T seconds, while C clients ask questions one after another.
Reports every ask's outcome and latency (p50, p99, max) and how often the server dropped a slow
connection.

    .venv/bin/python benchmarks/slow_clients.py --url http://127.0.0.1:8000 --slow 64 --seconds 30
    # or start qa serve (and, with --front, the nginx front of deploy/) on a copy of an index:
    .venv/bin/python benchmarks/slow_clients.py --index index --slow 64 --seconds 30 [--front]

Loopback only (a non-loopback URL is refused) and bounded: the run stops after T seconds, every
ask has a timeout, and every socket is closed at the end.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlparse

import requests

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("qa_load_benchmark", ROOT / "benchmarks" / "load.py")
load = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(load)

QUESTION = "济阳区配备了多少名驻站社工？"
ASK_TIMEOUT = 30


class _Slow:
    """One slow connection: its request, and how much of it has gone out."""

    def __init__(self, host: str, port: int, body: bool):
        self.sock = socket.create_connection((host, port), timeout=5)
        self.sock.setblocking(False)
        head = (f"POST /api/ask HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
                f"Content-Length: 4000\r\n\r\n" if body else
                f"GET /api/health HTTP/1.1\r\nHost: {host}\r\nUser-Agent: slow\r\n")
        if body:
            self.sock.sendall(head.encode())       # complete headers, then the body trickles
            self.pending = b'{"q": "' + b"a" * 3990 + b'"}'
        else:
            self.pending = head.encode() + b"X-Pad: " + b"a" * 4000
        self.sent = 0

    def step(self) -> bool:
        """Send one more byte; False once the server has closed the connection."""
        try:
            if self.sent < len(self.pending):
                self.sock.send(self.pending[self.sent:self.sent + 1])
                self.sent += 1
            data = self.sock.recv(4096)
            return data != b"" and not data.startswith(b"HTTP/")   # answered or closed: done
        except BlockingIOError:
            return True
        except OSError:
            return False

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.close()


def run(base: str, slow: int = 64, seconds: float = 30.0, askers: int = 4,
        interval: float = 1.0) -> dict:
    load._require_loopback(base)
    url = urlparse(base)
    host, port = url.hostname, url.port or 80
    stop = threading.Event()
    lock = threading.Lock()
    asks: list[tuple[float, str | None]] = []
    dropped = [0]

    def slow_loop():
        conns: list[_Slow] = []
        n = 0
        while not stop.is_set():
            while len(conns) < slow and not stop.is_set():
                try:
                    conns.append(_Slow(host, port, body=n % 2 == 1))
                except OSError:
                    break
                n += 1
            alive = []
            for c in conns:
                if c.step():
                    alive.append(c)
                else:
                    c.close()
                    dropped[0] += 1
            conns = alive
            stop.wait(interval)
        for c in conns:
            c.close()

    def ask_loop():
        # A new connection per question, as readers arriving one after another: a kept-alive
        # one stays with the worker it first reached and would not see a starved one.
        while not stop.is_set():
            started = time.perf_counter()
            try:
                r = requests.post(f"{base}/api/ask", json={"q": QUESTION, "k": 3},
                                  headers={"Connection": "close"}, timeout=ASK_TIMEOUT)
                error = None if r.status_code == 200 else f"HTTP {r.status_code}"
            except requests.RequestException as e:
                error = type(e).__name__
            with lock:
                asks.append((time.perf_counter() - started, error))

    threads = [threading.Thread(target=slow_loop, daemon=True)]
    threads += [threading.Thread(target=ask_loop, daemon=True) for _ in range(askers)]
    threads[0].start()
    time.sleep(min(3.0, seconds / 4))        # the slow connections take their places first
    started = time.monotonic()
    for t in threads[1:]:
        t.start()
    time.sleep(seconds)
    stop.set()
    for t in threads:
        t.join(ASK_TIMEOUT + 10)
    took = sorted(s for s, _ in asks)
    errors = [e for _, e in asks if e]

    def pct(q: float) -> float | None:
        return round(took[min(len(took) - 1, int(q * len(took)))] * 1000, 1) if took else None

    return {"slow_connections": slow, "seconds": seconds, "askers": askers,
            "elapsed_s": round(time.monotonic() - started, 1), "asks": len(asks),
            "answered": len(asks) - len(errors), "errors": len(errors),
            "error_kinds": sorted(set(errors)), "p50_ms": pct(0.5), "p99_ms": pct(0.99),
            "max_ms": pct(1.0), "slow_dropped_by_server": dropped[0]}


# -- the nginx front of deploy/ --------------------------------------------------------------

def nginx_binary() -> str | None:
    return shutil.which("nginx") or next((p for p in ("/usr/sbin/nginx",) if os.path.exists(p)),
                                         None)


@contextlib.contextmanager
def front(backend_port: int, work: Path, listen_port: int | None = None):
    """``deploy/entrypoint.sh``'s nginx (``deploy/nginx.conf``) on a free loopback port in
    front of a server on ``backend_port``: yields its base URL."""
    port = listen_port or load.free_port()
    prefix = work / "nginx"
    env = {**os.environ, "FRONT_LISTEN": f"127.0.0.1:{port}", "FRONT_PREFIX": str(prefix),
           "QA_HOST": "127.0.0.1", "QA_PORT": str(backend_port), "NGINX": nginx_binary() or "nginx"}
    proc = subprocess.Popen(["sh", str(ROOT / "deploy" / "entrypoint.sh"), "--front-only"],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
                            start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"nginx exited with {proc.returncode}")
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
                break
            if time.monotonic() > deadline:
                raise RuntimeError("nginx not listening after 30 s")
            time.sleep(0.2)
        yield base
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGQUIT)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    where = p.add_mutually_exclusive_group(required=True)
    where.add_argument("--url", help="a running server, e.g. http://127.0.0.1:8000")
    where.add_argument("--index", type=Path, help="start qa serve on a copy of this index")
    p.add_argument("--front", action="store_true", help="with --index: behind deploy/'s nginx")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--slow", type=int, default=64)
    p.add_argument("--seconds", type=float, default=30)
    p.add_argument("--askers", type=int, default=4)
    args = p.parse_args(argv)
    if args.url:
        report = run(args.url.rstrip("/"), args.slow, args.seconds, args.askers)
    else:
        with load.serve_copy(args.index, args.workers) as (base, _, _), \
                tempfile.TemporaryDirectory(prefix="qa-front-") as tmp:
            if args.front:
                with front(urlparse(base).port, Path(tmp)) as fronted:
                    report = {"front": "nginx", **run(fronted, args.slow, args.seconds,
                                                      args.askers)}
            else:
                report = {"front": None, **run(base, args.slow, args.seconds, args.askers)}
    print(json.dumps(report, ensure_ascii=False, indent=1))
    return 0 if report["errors"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
