"""Helpers shared by the benchmark scripts: percentiles, machine load, results files."""

from __future__ import annotations

import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
PYTHON = sys.executable
QA = str(Path(sys.executable).with_name("qa"))
SHARED = Path(os.environ.get("QA_SHARED_DIR", ROOT.parent / "shared"))

# Runnable from a checkout without installing the package.
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def pct(values, q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of a non-empty sequence."""
    v = sorted(values)
    if not v:
        return float("nan")
    i = min(len(v) - 1, max(0, int(round(q / 100 * len(v) + 0.5)) - 1))
    return float(v[i])


def median(values) -> float:
    v = sorted(values)
    n = len(v)
    if not n:
        return float("nan")
    return float(v[n // 2] if n % 2 else (v[n // 2 - 1] + v[n // 2]) / 2)


def machine() -> dict:
    """What else the machine was doing: a figure taken at load average > cores is under load."""
    load = os.getloadavg()
    return {"cores": os.cpu_count(), "loadavg_1m": round(load[0], 2),
            "loadavg_5m": round(load[1], 2), "python": platform.python_version(),
            "time_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}


def peak_rss_mb() -> float:
    """Peak resident set size of this process, MB (ru_maxrss is in KB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


TIME = "/usr/bin/time"


def run_measured(cmd: list[str], env: dict | None = None, cwd=None) -> dict:
    """Run a command; wall seconds, exit status and its peak RSS.

    Peak RSS comes from GNU time when it is installed: a child forked straight from this
    process would count this process's own pages (a benchmark that has loaded a model) in its
    high-water mark. Without it, wait4's figure is used and may be inflated that way.
    """
    timed = os.path.exists(TIME)
    if timed:
        cmd = [TIME, "-f", "QA_BENCH_MAXRSS_KB=%M", *cmd]
    started = time.perf_counter()
    p = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = b"", b""
    import threading

    chunks = {"out": [], "err": []}
    readers = [threading.Thread(target=lambda s=s, k=k: chunks[k].append(s.read()))
               for s, k in ((p.stdout, "out"), (p.stderr, "err"))]
    for r in readers:
        r.start()
    _, status, usage = os.wait4(p.pid, 0)
    for r in readers:
        r.join()
    p.returncode = os.waitstatus_to_exitcode(status)
    out, err = b"".join(chunks["out"]), b"".join(chunks["err"])
    seconds = time.perf_counter() - started
    err_text = err.decode(errors="replace")
    peak_kb = usage.ru_maxrss
    if timed and "QA_BENCH_MAXRSS_KB=" in err_text:
        head, _, tail = err_text.rpartition("QA_BENCH_MAXRSS_KB=")
        peak_kb, err_text = int(tail.split()[0]), head
    return {"seconds": seconds, "status": p.returncode, "peak_rss_mb": peak_kb / 1024,
            "peak_rss_source": "time" if timed else "wait4",
            "stdout": out.decode(errors="replace"), "stderr": err_text}


def save(name: str, data: dict, out_dir: Path | None = None) -> Path:
    out_dir = Path(out_dir or RESULTS)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{name}.json"
    data = {"benchmark": name, "command": " ".join([Path(sys.argv[0]).name] + sys.argv[1:]),
            "machine": machine(), **data}
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


def read_jsonl(path: Path) -> list[dict]:
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def question_texts(paths, limit: int | None = None) -> list[str]:
    """Distinct question texts from seed-style (``q``) or bench-style (``question``) files."""
    seen, out = set(), []
    for p in paths:
        p = Path(p)
        if p.is_dir():
            p = p / "questions.jsonl"
        for r in read_jsonl(p):
            t = (r.get("q") or r.get("question") or "").strip()
            if t and t not in seen:
                seen.add(t)
                out.append(t)
    return out[:limit] if limit else out
