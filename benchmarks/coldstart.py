"""Cold start: ``qa serve`` process start to the first answered question, and memory per worker.

For each engine and repeat a fresh server is started on the seed index (a private copy), polled
with a question every 50 ms until it answers 200; then the RSS of the gunicorn master and each
worker is read from /proc, and the server is stopped. Also ``qa ask`` (a whole CLI process, one
question) wall time. The first run of an engine on a machine also converts/exports the model;
that one-off cost is not in these numbers when the cache is warm (run ``qa build`` first).

    .venv/bin/python benchmarks/coldstart.py [--index index] [--engines torch,onnx-int8]
        [--repeats 3] [--workers 2] [--out DIR]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import QA, ROOT, machine, median, run_measured, save  # noqa: E402
from http_latency import Server, server_env, snapshot_index  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--index", type=Path, default=ROOT / "index")
    ap.add_argument("--engines", default="torch,onnx-int8")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="qa-bench-cold-"))
    rows, start = [], machine()
    try:
        index = snapshot_index(args.index, scratch / "index")
        runs = {e: [] for e in args.engines.split(",")}
        for r in range(args.repeats):
            for e in runs:
                s = Server(index, e, args.workers)
                try:
                    first = s.wait_answering()
                    # let every worker finish its warm-up before reading its memory
                    time.sleep(0.5)
                    for _ in range(4 * args.workers):
                        s.ask_once("预热问题")
                    rss = s.rss_mb()
                finally:
                    s.stop()
                env = server_env(e)
                ask = run_measured([QA, "--index", str(index), "ask", "济阳区配备了多少名驻站社工？"],
                                   env=env)
                if ask["status"]:                # a failed ask's time is not a figure
                    raise SystemExit(f"qa ask failed ({e}):\n{ask['stderr'][-2000:]}")
                runs[e].append({"first_answer_s": round(first, 2), "rss_mb": rss,
                                "qa_ask_s": round(ask["seconds"], 2),
                                "qa_ask_peak_rss_mb": round(ask["peak_rss_mb"]),
                                "loadavg_1m": machine()["loadavg_1m"]})
                print(f"{e:10s} #{r} first answer {first:6.2f} s  RSS master {rss['master']} MB "
                      f"workers {rss['workers']} MB  qa ask {ask['seconds']:.2f} s "
                      f"(peak {ask['peak_rss_mb']:.0f} MB)", flush=True)
        for e, rs in runs.items():
            worker_rss = [w for x in rs for w in x["rss_mb"]["workers"]]
            rows.append({"engine": e, "workers": args.workers,
                         "first_answer_s": round(median([x["first_answer_s"] for x in rs]), 2),
                         "worker_rss_mb": round(median(worker_rss)) if worker_rss else None,
                         "qa_ask_s": round(median([x["qa_ask_s"] for x in rs]), 2),
                         "qa_ask_peak_rss_mb": round(median([x["qa_ask_peak_rss_mb"] for x in rs])),
                         "runs": rs})
            print(f"summary {e:10s} first answer {rows[-1]['first_answer_s']} s, worker RSS "
                  f"{rows[-1]['worker_rss_mb']} MB, qa ask {rows[-1]['qa_ask_s']} s", flush=True)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    print("results:", save("coldstart", {"start": start, "rows": rows}, args.out))


if __name__ == "__main__":
    main()
