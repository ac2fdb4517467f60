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
# The public Chinese QA sets in ../shared/bench, as their folder names.
BENCH_SETS = ("xquad_zh", "cmrc2018", "drcd_simplified")

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


def run_measured(cmd: list[str], env: dict | None = None, cwd=None, on_start=None) -> dict:
    """Run a command; wall seconds, exit status and its peak RSS.

    Peak RSS comes from GNU time when it is installed: a child forked straight from this
    process would count this process's own pages (a benchmark that has loaded a model) in its
    high-water mark. Without it, wait4's figure is used and may be inflated that way.
    ``on_start(pid)`` is called once the process is started (e.g. ``PssSampler.start``).
    """
    timed = os.path.exists(TIME)
    if timed:
        cmd = [TIME, "-f", "QA_BENCH_MAXRSS_KB=%M", *cmd]
    started = time.perf_counter()
    p = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if on_start is not None:
        on_start(p.pid)
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


# -- memory and I/O of processes, from /proc (Linux) ---------------------------------------------

def descendants(pid: int) -> list[int]:
    """``pid`` and every process below it."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        try:
            for task in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{task}/children") as f:
                    todo.extend(int(c) for c in f.read().split())
        except OSError:
            pass
    return out


def smaps(pid: int | str = "self") -> dict[str, float]:
    """``/proc/<pid>/smaps_rollup`` in MB, plus ``USS`` (its private pages: what the process
    alone holds). Empty if the process is gone."""
    out: dict[str, float] = {}
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                parts = line.split()
                if len(parts) == 3 and parts[2] == "kB":
                    out[parts[0].rstrip(":")] = int(parts[1]) / 1024
    except OSError:
        return {}
    out["USS"] = out.get("Private_Clean", 0.0) + out.get("Private_Dirty", 0.0)
    return out


def io_counters(pid: int | str = "self") -> dict[str, int]:
    """``/proc/<pid>/io``: ``write_bytes`` is what the process sent towards the disk, ``wchar``
    what it passed to write calls."""
    with open(f"/proc/{pid}/io") as f:
        return {k: int(v) for k, v in (line.split(": ") for line in f)}


def tree_size(path: Path) -> int:
    """Bytes of the files under ``path``."""
    path = Path(path)
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


class PssSampler:
    """Samples the summed PSS (and the largest RSS) of a process tree every ``interval`` s:
    the memory a build really takes when it forks workers that share its pages, which neither
    one process's peak RSS nor the sum of their RSS tells."""

    def __init__(self, interval: float = 0.5):
        import threading

        self.interval = interval
        self.peak_pss_mb = 0.0
        self.peak_rss_mb = 0.0
        self.samples = 0
        self._stop = threading.Event()
        self._thread = None

    def start(self, pid: int) -> None:
        import threading

        self._thread = threading.Thread(target=self._run, args=(pid,), daemon=True)
        self._thread.start()

    def _run(self, pid: int) -> None:
        while not self._stop.is_set():
            rollups = [smaps(p) for p in descendants(pid)]
            self.peak_pss_mb = max(self.peak_pss_mb, sum(r.get("Pss", 0.0) for r in rollups))
            self.peak_rss_mb = max([self.peak_rss_mb] + [r.get("Rss", 0.0) for r in rollups])
            self.samples += 1
            self._stop.wait(self.interval)

    def stop(self) -> dict:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        return {"peak_pss_mb": round(self.peak_pss_mb), "peak_rss_sampled_mb":
                round(self.peak_rss_mb), "samples": self.samples,
                "interval_s": self.interval}
