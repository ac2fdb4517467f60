"""Dense recall of an archive's HNSW segments against exact search, per efSearch.

    .venv/bin/python benchmarks/hnsw_recall.py INDEX [--ef 256,512,1024] [--k 50] [--questions 100]
        [--name NAME] [--out DIR]

Real bench questions, embedded by the configured encoder, are searched in every live segment of
INDEX (as ``Snapshot.dense`` does) and exactly over the same vectors. Reports recall@k (the share
of the exact top k found), the share of the exact top 5 within the approximate top k (what the
fusion and the answer need), and FAISS's count of distance computations per question — the
work a question costs, whatever the machine's speed that minute.
"""

from __future__ import annotations

import argparse
import random
from pathlib import Path

import faiss
import numpy as np

from _common import BENCH_SETS, SHARED, machine, question_texts, save
from qa.config import Settings
from qa.embedding import Encoder
from qa.index.store import IndexStore


def top(found: list[tuple[float, tuple[int, int]]], k: int) -> list[tuple[int, int]]:
    found.sort(key=lambda x: -x[0])
    return [key for _, key in found[:k]]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("index", type=Path)
    ap.add_argument("--ef", default="256,512,1024")
    ap.add_argument("--k", type=int, default=50)
    ap.add_argument("--questions", type=int, default=100)
    ap.add_argument("--name", default="hnsw_recall")
    ap.add_argument("--out", type=Path, default=None, help="results folder (default: results/)")
    args = ap.parse_args()

    pool = question_texts([SHARED / "bench" / b for b in BENCH_SETS])
    random.Random(0).shuffle(pool)
    settings = Settings.from_env(index_dir=args.index)
    vectors = Encoder.from_settings(settings).encode_queries(pool[:args.questions])
    snap = IndexStore(args.index).load(None, ef_search=settings.hnsw_ef_search)
    exact = []
    for v in vectors:
        found = []
        for p in snap.parts:
            scores, ids = p.seg.vectors._exact(v, args.k, p.live)
            found += [(float(s), (p.no, int(i))) for s, i in zip(scores, ids)]
        exact.append(top(found, args.k))
    rows = []
    for ef in (int(x) for x in args.ef.split(",")):
        recall, top5, work = [], [], 0
        for v, ex in zip(vectors, exact):
            found = []
            for p in snap.parts:
                p.seg.vectors.ef_search = ef
                faiss.cvar.hnsw_stats.reset()
                scores, ids = p.seg.vectors.search(v, args.k, p.live)
                work += faiss.cvar.hnsw_stats.ndis
                found += [(float(s), (p.no, int(i))) for s, i in zip(scores, ids)]
            got = set(top(found, args.k))
            recall.append(len(got & set(ex)) / len(ex))
            top5.append(len(got & set(ex[:5])) / len(ex[:5]))
        row = {"ef_search": ef, f"recall@{args.k}": round(float(np.mean(recall)), 4),
               f"exact_top5_in_top{args.k}": round(float(np.mean(top5)), 4),
               "distances_per_question": round(work / len(vectors))}
        rows.append(row)
        print(row, flush=True)
    segments = [{"name": p.seg.name, "chunks": len(p.seg.vectors), "kind": p.seg.vectors.kind}
                for p in snap.parts]
    save(args.name, {"benchmark": "hnsw_recall", "index": str(args.index), "segments": segments,
                     "questions": len(vectors), "k": args.k, "rows": rows, "machine": machine()},
         args.out)


if __name__ == "__main__":
    main()
