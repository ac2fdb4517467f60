"""What the reader costs a worker in memory: one process per setting (``QA_READER`` on, off)
loads the service on the seed index, warms it and asks the seed dev questions, then reports its
resident (RSS) and unique (USS: private pages, what a second worker adds) memory.

    .venv/bin/python benchmarks/reader_memory.py [--index index] [--out DIR]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import ROOT, SHARED, save  # noqa: E402

CHILD = """
import json, sys
from dataclasses import replace
from qa.config import Settings
from qa.search.service import SearchService
s = replace(Settings.from_env(), index_dir=sys.argv[1], reader=sys.argv[2] == "on")
svc = SearchService(s)
svc.warm()
for line in open(sys.argv[3], encoding="utf-8"):
    if line.strip():
        svc.ask(json.loads(line)["q"])
kb = {k: int(v.split()[0]) for k, v in (l.split(":", 1) for l in open("/proc/self/smaps_rollup")
                                         if ":" in l) if v.split() and v.split()[0].isdigit()}
print(json.dumps({"rss_mb": kb["Rss"] / 1024,
                  "uss_mb": (kb["Private_Clean"] + kb["Private_Dirty"]) / 1024}))
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--index", type=Path, default=ROOT / "index")
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    questions = SHARED / "eval" / "seed_questions_dev.jsonl"
    rows = {}
    for reader in ("off", "on"):
        out = subprocess.run([sys.executable, "-c", CHILD, str(args.index), reader,
                              str(questions)], check=True, capture_output=True, text=True)
        rows[reader] = json.loads(out.stdout.strip().splitlines()[-1])
        print(f"reader {reader}: RSS {rows[reader]['rss_mb']:.0f} MB, "
              f"USS {rows[reader]['uss_mb']:.0f} MB")
    grow = rows["on"]["uss_mb"] - rows["off"]["uss_mb"]
    print(f"the reader adds {grow:.0f} MB USS per worker")
    save("reader_memory", {"rows": rows, "uss_growth_mb": round(grow, 1)}, args.out)


if __name__ == "__main__":
    main()
