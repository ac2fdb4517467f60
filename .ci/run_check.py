"""`make run-check`: what `make run` serves, checked end to end on this machine.

Starts ``qa serve`` (gunicorn, as `make run` does) on a free loopback port over the index
given, waits for /api/health, asks the README's seed question over HTTP and checks the answer:
found, the top result citing 大众网 and stating the 26 social workers. Prints one line; exits
non-zero on any failure. Used in the clean room (../shared/tools/cleanroom make run-check).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

QUESTION = "济阳区配备了多少名驻站社工？"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=30) as r:
        return json.loads(r.read())


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--index", default="index")
    args = ap.parse_args()
    port = free_port()
    qa = Path(sys.executable).with_name("qa")
    server = subprocess.Popen([str(qa), "--index", args.index, "serve", "--host", "127.0.0.1",
                               "--port", str(port)], start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    started = time.monotonic()
    try:
        while True:
            try:
                if get(f"{base}/api/health").get("status") == "ok":
                    break
            except OSError:
                pass
            if server.poll() is not None or time.monotonic() - started > 180:
                print("run-check: the server did not come up", file=sys.stderr)
                return 1
            time.sleep(0.5)
        answer = get(f"{base}/api/ask?" + urllib.parse.urlencode({"q": QUESTION, "k": 3}))
        top = answer["results"][0]
        # the reader (on by default) states the short answer: the model ships in the package
        ok = answer["found"] and top["citation"]["source"] == "大众网" and \
            "26" in (top.get("answer") or "")
        print(f"run-check: {'ok' if ok else 'FAILED'}: serving on {base} after "
              f"{time.monotonic() - started:.1f} s; {QUESTION} -> found={answer['found']}, "
              f"answer {top.get('answer')!r}, "
              f"top cites {top['citation']['source']}, confidence {top['confidence']}, "
              f"{answer['took_ms']} ms")
        return 0 if ok else 1
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)


if __name__ == "__main__":
    sys.exit(main())
