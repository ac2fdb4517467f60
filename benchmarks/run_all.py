"""``make bench``: every benchmark behind BENCHMARKS.md, one after the other, with the
defaults BENCHMARKS.md quotes. Results land in benchmarks/results/*.json (and on stdout).

    .venv/bin/python benchmarks/run_all.py [--only NAME,NAME] [--skip NAME,NAME] [--quick]

``--quick`` runs reduced sizes (minutes, not tens of minutes) — noted in each results file's
command. Needs the seed index (``qa build``; ``make bench`` builds it if missing) and, for
txtai_compare, the bench extra (``pip install -e '.[bench]'``).
"""

from __future__ import annotations

import argparse
import importlib.util
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent

# name -> (arguments for the full run, arguments for --quick)
JOBS = {
    "encoder.py": ([], ["--n-questions", "30", "--n-passages", "48", "--repeats", "2"]),
    "http_latency.py": ([], ["--seconds", "3", "--repeats", "1"]),
    "coldstart.py": ([], ["--repeats", "1"]),
    "indexing.py": ([], ["--corpus", "seeds", "--corpus",
                         str(ROOT.parent / "shared" / "bench" / "xquad_zh" / "passages.jsonl")]),
    "scale.py": (["--dense-sizes", "100000,1000000", "--bm25-sizes", "10000,30000"],
                 ["--dense-sizes", "100000", "--bm25-sizes", "10000"]),
    "txtai_compare.py": ([], ["--limit", "100"]),
    "milvus_scale.py": ([], ["--chunks", "10000", "--queries", "20"]),
    "milvus_bm25.py": ([], ["--sets", "xquad_zh", "--limit", "200"]),
    # other people's studies and tests, kept runnable from here
    "load.py": (["--index", str(ROOT / "index"), "--clients", "32", "--seconds", "60"],
                ["--index", str(ROOT / "index"), "--clients", "8", "--seconds", "10"]),
    "lexical_ablation.py": ([], []),
    "fusion_study.py": ([], []),
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--only", default="")
    ap.add_argument("--skip", default="")
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    only = {n if n.endswith(".py") else n + ".py" for n in args.only.split(",") if n}
    skip = {n if n.endswith(".py") else n + ".py" for n in args.skip.split(",") if n}
    if not (ROOT / "index" / "CURRENT").exists():
        subprocess.run([str(Path(sys.executable).with_name("qa")), "--index", str(ROOT / "index"),
                        "build", str(ROOT / "seeds")], check=True)
    failed = []
    for name, (full, quick) in JOBS.items():
        if (only and name not in only) or name in skip:
            continue
        if name == "txtai_compare.py" and importlib.util.find_spec("txtai") is None:
            print(f"== {name}: skipped, txtai not installed (pip install -e '.[bench]')", flush=True)
            continue
        cmd = [sys.executable, str(HERE / name), *(quick if args.quick else full)]
        print(f"== {' '.join(cmd[1:])}", flush=True)
        started = time.perf_counter()
        if subprocess.run(cmd, cwd=ROOT).returncode:
            failed.append(name)
        print(f"== {name}: {time.perf_counter() - started:.0f} s", flush=True)
    if failed:
        sys.exit(f"failed: {', '.join(failed)}")


if __name__ == "__main__":
    main()
