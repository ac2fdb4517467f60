"""``make bench``: every benchmark behind BENCHMARKS.md, one after the other, with the
defaults BENCHMARKS.md quotes. Results land in benchmarks/results/*.json (and on stdout).
``make studies`` (``--studies``): the tuning studies in studies/ instead (studies/README.md),
which print their tables.

    .venv/bin/python benchmarks/run_all.py [--studies] [--only NAME,NAME] [--skip NAME,NAME]
        [--quick]

``--quick`` runs reduced sizes (minutes, not tens of minutes) and writes its results files to
benchmarks/results/quick/ (not committed), so the full-size figures BENCHMARKS.md quotes are not
overwritten. Needs the seed index (``qa build``; ``make bench`` and this script build it if
missing) and, for txtai_compare, the bench extra (``pip install -e '.[bench]'``): without it
that benchmark counts as failed, it is not skipped.
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
STUDIES_DIR = ROOT / "studies"
SHARED = ROOT.parent / "shared"
QUICK_RESULTS = HERE / "results" / "quick"
SEED_SETS = [str(SHARED / "eval" / "seed_questions_dev.jsonl"),
             str(ROOT / "eval" / "paraphrase_questions.jsonl"),
             str(ROOT / "eval" / "short_queries.jsonl")]
BENCH_SETS = [str(SHARED / "bench" / s) for s in ("xquad_zh", "cmrc2018", "drcd_simplified")]
# the fusion table (docs/decisions.md): whole paragraphs widened to 400 characters, answer typing on
FUSION = ["--index", str(ROOT / "index"), "--para", "--expand", "400", "--answer-type", "0.1"]

SEED_DEV = SHARED / "eval" / "seed_questions_dev.jsonl"
ARCHIVE = ROOT.parent / "bench-data" / "archive"      # archive.py's default --data

# name -> (arguments for the full run, arguments for --quick)
JOBS = {
    "encoder.py": ([], ["--n-questions", "30", "--n-passages", "48", "--repeats", "2"]),
    "http_latency.py": ([], ["--seconds", "3", "--repeats", "1"]),
    "coldstart.py": ([], ["--repeats", "1"]),
    "indexing.py": ([], ["--corpus", "seeds", "--corpus",
                         str(SHARED / "bench" / "xquad_zh" / "passages.jsonl")]),
    "scale.py": (["--dense-sizes", "100000,1000000", "--bm25-sizes", "10000,30000"],
                 ["--dense-sizes", "100000", "--bm25-sizes", "10000"]),
    "archive.py": (["--sizes", "27000,187000,1000000", "--quality"],
                   ["--sizes", "20000", "--questions", "200", "--quality", "--quality-sets",
                    "xquad_zh,seeds", "--quality-limit", "200"]),
    # dense recall of the archive archive.py built (its largest size; --quick: its only one)
    "hnsw_recall.py": ([str(ARCHIVE / "archive-1000000" / "index")],
                       [str(ARCHIVE / "archive-20000" / "index"), "--questions", "20"]),
    "txtai_compare.py": ([], ["--limit", "100"]),
    "milvus_scale.py": ([], ["--chunks", "10000", "--queries", "20"]),
    "milvus_bm25.py": ([], ["--sets", "xquad_zh", "--limit", "200"]),
    "pdf_ingest.py": ([], ["--pages", "10", "--layouts", "1", "--repeats", "1"]),
    # issue 22: what the reader adds to a worker's memory
    "reader_memory.py": ([], []),
    # issue 25: scanned pages (OCR quality, articles, speed, memory, questions on a scan-built
    # index) and questions while a 4-page scanned issue is read
    "ocr.py": (["--threads", "1"], ["--threads", "2", "--no-eval"]),
    "ocr_upload.py": (["--index", str(ROOT / "index")], ["--index", str(ROOT / "index"),
                                                        "--idle", "5"]),
    # RELIABILITY.md, "Load"
    "load.py": (["--index", str(ROOT / "index"), "--clients", "32", "--seconds", "60"],
                ["--index", str(ROOT / "index"), "--clients", "8", "--seconds", "10"]),
    # issue 23: hostile input and slow clients (RELIABILITY.md, "Bounds", "Slow clients")
    "hostile.py": (["--reprints", "3000"], ["--reprints", "600"]),
    "slow_clients.py": (["--index", str(ROOT / "index"), "--slow", "64", "--seconds", "30",
                         "--front"],
                        ["--index", str(ROOT / "index"), "--slow", "16", "--seconds", "8",
                         "--front"]),
}
# the studies in studies/, as above (--studies)
STUDIES = {
    "lexical_ablation.py": ([], []),
    "fusion_study.py": ([*FUSION, *SEED_SETS, *BENCH_SETS], [*FUSION, *SEED_SETS]),
    # issue 12: the answering sentence, the confidence model, the query-style sets
    "answer_study.py": (["--index", str(ROOT / "index"), str(SEED_DEV),
                         str(ROOT / "eval" / "paraphrase_questions.jsonl"),
                         str(ROOT / "eval" / "short_queries.jsonl"), *BENCH_SETS],
                        ["--index", str(ROOT / "index"), str(SEED_DEV)]),
    "calibrate.py": (["--limit", "600"], ["--limit", "40"]),
    "absent_gate.py": (["--n", "600"], ["--n", "40"]),
    "attribute_gate.py": (["--n", "400"], ["--n", "40"]),
    "query_styles.py": ([], []),
    # issue 22: how the reader's score joins retrieval's (reader_weight)
    "reader_fit.py": (["--index", str(ROOT / "index")], ["--index", str(ROOT / "index"),
                                                           "--fit", "40"]),
    # ... and which sentence a found result highlights once the reader has answered
    "reader_sentence.py": (["--index", str(ROOT / "index")], ["--index", str(ROOT / "index"),
                                                                 "--fit", "40"]),
    # ... and what it extracts at best from the gold passage, per longest span and penalty
    "reader_span.py": ([], ["--limit", "40", "--max-answer", "16,48", "--penalty", "0,0.1"]),
}
# the scripts that write a results file (``--out DIR``)
SAVES = {"encoder.py", "http_latency.py", "coldstart.py", "indexing.py", "scale.py",
         "txtai_compare.py", "hnsw_recall.py", "reader_memory.py", "ocr.py", "ocr_upload.py"}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--only", default="")
    ap.add_argument("--skip", default="")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--studies", action="store_true", help="run the studies in studies/")
    args = ap.parse_args()
    folder, jobs = (STUDIES_DIR, STUDIES) if args.studies else (HERE, JOBS)
    only = {n if n.endswith(".py") else n + ".py" for n in args.only.split(",") if n}
    skip = {n if n.endswith(".py") else n + ".py" for n in args.skip.split(",") if n}
    if not (ROOT / "index" / "CURRENT").exists():
        subprocess.run([str(Path(sys.executable).with_name("qa")), "--index", str(ROOT / "index"),
                        "build", str(ROOT / "seeds")], check=True)
    failed = []
    for name, (full, quick) in jobs.items():
        if (only and name not in only) or name in skip:
            continue
        if name == "txtai_compare.py" and importlib.util.find_spec("txtai") is None:
            print(f"== {name}: txtai not installed (pip install -e '.[bench]')", flush=True)
            failed.append(name)
            continue
        cmd = [sys.executable, str(folder / name), *(quick if args.quick else full)]
        if args.quick and name in SAVES:
            cmd += ["--out", str(QUICK_RESULTS)]
        print(f"== {' '.join(cmd[1:])}", flush=True)
        started = time.perf_counter()
        if subprocess.run(cmd, cwd=ROOT).returncode:
            failed.append(name)
        print(f"== {name}: {time.perf_counter() - started:.0f} s", flush=True)
    if failed:
        sys.exit(f"failed: {', '.join(failed)}")


if __name__ == "__main__":
    main()
