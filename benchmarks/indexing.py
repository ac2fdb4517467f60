"""Indexing throughput and retrieval quality per encoder engine, side by side in one run.

For each corpus and each engine (``QA_ENCODER_BACKEND``), ``qa --index DIR build CORPUS`` runs as
its own process into a scratch folder: wall time (model load included), passages/s and chunks/s,
and the build's peak RSS (``wait4``). Then every question set is scored (``qa.evaluation``, the
code behind ``qa eval``) on every index with every query engine, so the table shows what int8
passages and int8 queries each change, against float32 torch on both sides.

    .venv/bin/python benchmarks/indexing.py [--corpus seeds] [--corpus PATH/passages.jsonl ...]
        [--backends torch,onnx-int8] [--limit 300] [--repeats 1] [--out DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import QA, ROOT, SHARED, machine, median, read_jsonl, run_measured, save  # noqa: E402

SEED_QUESTIONS = [SHARED / "eval" / "seed_questions_dev.jsonl", ROOT / "eval" / "paraphrase_questions.jsonl"]


def corpora(args) -> list[tuple[str, Path, list[Path]]]:
    out = []
    for c in args.corpus or ["seeds", str(SHARED / "bench" / "xquad_zh" / "passages.jsonl"),
                             str(SHARED / "bench" / "cmrc2018" / "passages.jsonl")]:
        if c == "seeds":
            out.append(("seeds", ROOT / "seeds", [p for p in SEED_QUESTIONS if p.exists()]))
        else:
            p = Path(c)
            out.append((p.parent.name, p, [p.parent / "questions.jsonl"]))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--corpus", action="append", help="'seeds' or a passages.jsonl (repeatable)")
    ap.add_argument("--backends", default="torch,onnx-int8")
    ap.add_argument("--limit", type=int, default=300, help="questions per bench set")
    ap.add_argument("--repeats", type=int, default=1, help="builds per corpus and engine")
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument("--keep", action="store_true", help="keep the scratch indexes")
    args = ap.parse_args()
    backends = args.backends.split(",")

    from qa.config import Settings
    from qa.embedding import Encoder
    from qa.evaluation import evaluate, read_questions
    from qa.search.service import SearchService

    scratch = Path(tempfile.mkdtemp(prefix="qa-bench-indexing-"))
    base = Settings.from_env()
    results = {"builds": [], "quality": [], "start": machine()}
    try:
        for name, path, qfiles in corpora(args):
            n_passages = len(read_jsonl(path)) if path.suffix == ".jsonl" else None
            for backend in backends:
                runs = []
                for r in range(args.repeats):
                    index = scratch / f"{name}-{backend}"
                    shutil.rmtree(index, ignore_errors=True)
                    env = dict(os.environ, QA_ENCODER_BACKEND=backend)
                    run = run_measured([QA, "--index", str(index), "build", str(path)], env=env)
                    if run["status"] != 0:
                        raise SystemExit(f"build failed ({backend}, {name}):\n{run['stderr'][-2000:]}")
                    gen = (index / "CURRENT").read_text().strip()
                    counts = json.loads((index / gen / "manifest.json").read_text())["counts"]
                    runs.append({"seconds": run["seconds"], "peak_rss_mb": run["peak_rss_mb"],
                                 "articles": counts["articles"], "chunks": counts["chunks"]})
                secs = median([r["seconds"] for r in runs])
                n = n_passages or runs[0]["articles"]
                row = {"corpus": name, "backend": backend, "passages": n,
                       "chunks": runs[0]["chunks"], "seconds_median": round(secs, 2),
                       "passages_per_s": round(n / secs, 1),
                       "chunks_per_s": round(runs[0]["chunks"] / secs, 1),
                       "peak_rss_mb": round(max(r["peak_rss_mb"] for r in runs)),
                       "runs": runs, "loadavg_1m": machine()["loadavg_1m"]}
                results["builds"].append(row)
                print(f"build {name:10s} {backend:10s} {row['passages']:5d} passages "
                      f"{row['chunks']:5d} chunks {secs:7.1f} s  {row['passages_per_s']:6.1f} "
                      f"passages/s {row['chunks_per_s']:6.1f} chunks/s  peak {row['peak_rss_mb']} MB",
                      flush=True)
            # every index (passage engine) x every query engine
            encoders = {b: Encoder(base.model, base.cache_dir, base.query_prompt,
                                   base.passage_prompt, base.embed_batch_size, b) for b in backends}
            questions = []
            for q in qfiles:
                qs = read_questions(q)
                questions.append((q, qs if name == "seeds" else qs[:args.limit]))
            for pb in backends:
                for qb in backends:
                    settings = replace(base, index_dir=scratch / f"{name}-{pb}")
                    service = SearchService(settings, encoders[qb])
                    for qpath, qs in questions:
                        f = evaluate(service, qs, 5, str(qpath)).figures()
                        row = {"corpus": name, "set": qpath.name if name == "seeds"
                               else f"{qpath.parent.name}/{qpath.name}", "n": len(qs),
                               "passages": pb, "queries": qb,
                               **{k: round(v, 4) if isinstance(v, float) else v
                                  for k, v in f.items()}}
                        results["quality"].append(row)
                        print(f"eval  {name:10s} {row['set']:32s} passages={pb:10s} "
                              f"queries={qb:10s} hit@1 {f['hit@1']:.3f} hit@5 {f['hit@5']:.3f} "
                              f"MRR {f['MRR@5']:.3f}", flush=True)
            del encoders
    finally:
        if not args.keep:
            shutil.rmtree(scratch, ignore_errors=True)
    print("results:", save("indexing", results, args.out))


if __name__ == "__main__":
    main()
