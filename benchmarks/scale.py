"""Dense (FAISS) and lexical (BM25) index at archive sizes no real corpus here reaches.

Dense: synthetic vectors, each a real chunk vector (the live generation of every ``--index``, by
default ``index/`` and the cached bench indexes) plus Gaussian noise, renormalised — the same
neighbourhood structure as real data, not uniform noise, which would make HNSW look better than
it is. Queries are real questions encoded by the default encoder. For each size: exact
(``IndexFlatIP``, as a segment up to ``exact_max`` is searched) and HNSW (the served parameters
from ``Settings``: M=32, efConstruction=80) — build time, memory, single-query search p50/p99,
and recall@10 of HNSW against exact at several efSearch values.

Lexical: one segment's ``Postings`` (jieba search mode, BM25 as served) over generated Chinese documents:
sentences of the real corpora shuffled into ~200-character chunks. Build time, memory, p50/p99.

Each (kind, size) runs in its own process, so peak RSS is that index's alone.

    .venv/bin/python benchmarks/scale.py [--dense-sizes 100000,1000000]
        [--bm25-sizes 10000,100000] [--queries 200] [--index DIR ...] [--questions FILE ...]
        [--out DIR]
"""

from __future__ import annotations

import argparse
import json
import random
import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import (PYTHON, ROOT, SHARED, machine, median, pct, peak_rss_mb,  # noqa: E402
                     question_texts, read_jsonl, save)

EF_SEARCH = (32, 64, 96, 128, 256)
NOISE = 0.5          # norm of the noise added to a unit vector (before renormalising)


def default_indexes() -> list[Path]:
    """The seed index and every cached bench index (``qa eval`` builds those)."""
    from qa.config import Settings

    cache = Settings.from_env().cache_dir / "eval"
    return [ROOT / "index", *sorted(p.parent for p in cache.glob("*/CURRENT"))]


def real_vectors(indexes: list[Path]) -> np.ndarray:
    from qa.errors import QAError
    from qa.index.store import IndexStore

    found = []
    for index in indexes:
        try:
            snap = IndexStore(index).load()
        except QAError:
            continue
        found += [np.asarray(p.seg.vectors.vectors) for p in snap.parts]
    if not found:
        raise SystemExit(f"no index in {', '.join(map(str, indexes))}: "
                         "build one (qa build) or pass --index DIR")
    v = np.unique(np.vstack(found).astype(np.float32), axis=0)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def synthetic(base: np.ndarray, n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    out = np.empty((n, base.shape[1]), np.float32)
    step = 100_000
    for a in range(0, n, step):
        b = min(n, a + step)
        x = base[rng.integers(0, len(base), b - a)]
        x = x + rng.standard_normal(x.shape, dtype=np.float32) * (NOISE / np.sqrt(base.shape[1]))
        out[a:b] = x / np.linalg.norm(x, axis=1, keepdims=True)
    return out


def query_vectors(qs: list[str]) -> np.ndarray:
    from qa.config import Settings
    from qa.embedding import Encoder

    s = Settings.from_env()
    return Encoder.from_settings(s).encode_queries(qs)


def timed_search(fn, queries, k: int = 10) -> tuple[list[float], list]:
    ms, out = [], []
    for q in queries:
        t = time.perf_counter()
        out.append(fn(q, k))
        ms.append((time.perf_counter() - t) * 1000)
    return ms, out


def dense_one(n: int, qs: list[str], hnsw_max: int, indexes: list[Path]) -> dict:
    import faiss

    from qa.config import Settings
    from qa.index.dense import build_hnsw

    faiss.omp_set_num_threads(1)     # one query at a time, as a server thread runs it
    s = Settings()
    base = real_vectors(indexes)
    q = query_vectors(qs)
    x = synthetic(base, n)
    res = {"kind": "dense", "size": n, "real_base_vectors": len(base), "queries": len(q)}
    rss0 = peak_rss_mb()

    t = time.perf_counter()
    flat = faiss.IndexFlatIP(x.shape[1])           # exact, as a segment below exact_max searches
    flat.add(x)
    res["flat_build_s"] = round(time.perf_counter() - t, 2)
    ms, out = timed_search(lambda v, k: flat.search(v[None, :], k)[1][0], q)
    truth = np.stack(out)
    res["flat_p50_ms"], res["flat_p99_ms"] = round(median(ms), 3), round(pct(ms, 99), 3)
    res["flat_peak_rss_mb"] = round(peak_rss_mb())
    flat = None                                             # freed before HNSW

    if n > hnsw_max:
        res["hnsw"] = []
        res["hnsw_skipped"] = f"HNSW not built above --hnsw-max {hnsw_max} (build time)"
        res["rss_before_mb"], res["vectors_mb"] = round(rss0), round(x.nbytes / 2**20)
        return res
    faiss.omp_set_num_threads(__import__("os").cpu_count())   # build on every core
    t = time.perf_counter()
    hnsw = build_hnsw(x, s.hnsw_m, s.hnsw_ef_construction)    # a big segment's, as served
    res["hnsw_build_s"] = round(time.perf_counter() - t, 2)
    res["hnsw_peak_rss_mb"] = round(peak_rss_mb())
    faiss.omp_set_num_threads(1)
    res["hnsw"] = []
    for ef in EF_SEARCH:
        hnsw.hnsw.efSearch = ef
        ms, out = timed_search(lambda v, k: hnsw.search(v[None, :], k)[1][0], q)
        recall = float(np.mean([len(set(a) & set(b)) / 10 for a, b in zip(out, truth)]))
        res["hnsw"].append({"ef_search": ef, "p50_ms": round(median(ms), 3),
                            "p99_ms": round(pct(ms, 99), 3), "recall@10": round(recall, 4)})
    res["rss_before_mb"] = round(rss0)
    res["vectors_mb"] = round(x.nbytes / 2**20)
    return res


def chinese_docs(n: int, seed: int = 0) -> list[str]:
    sentences = []
    for name in ("cmrc2018", "drcd_simplified", "xquad_zh"):
        p = SHARED / "bench" / name / "passages.jsonl"
        if p.exists():
            for r in read_jsonl(p):
                sentences += [x for x in re.split(r"(?<=[。！？；])", r["text"]) if x.strip()]
    for p in sorted((ROOT / "seeds").glob("*.txt")):
        text = "".join(line.strip() for line in p.read_text(encoding="utf-8").splitlines())
        sentences += [x for x in re.split(r"(?<=[。！？；])", text) if x.strip()]
    rng = random.Random(seed)
    docs = []
    for _ in range(n):
        doc = ""
        while len(doc) < 200:
            doc += rng.choice(sentences)
        docs.append(doc[:260])
    return docs


def bm25_one(n: int, qs: list[str]) -> dict:
    from qa.index.lexical import Postings, get_tokenizer, idf, term_hashes, tokenize_many

    config = get_tokenizer().config()                 # jieba's dictionary, loaded once anyway
    docs = chinese_docs(n)
    rss0 = peak_rss_mb()
    t = time.perf_counter()
    postings = Postings.build(tokenize_many(docs, config))   # one segment's, as served
    build = time.perf_counter() - t
    avgdl = float(np.asarray(postings.lengths).mean())
    cut = get_tokenizer()

    def search(q: str, k: int):
        pos = postings.find(term_hashes(cut(q)))
        return postings.top(pos, idf(postings.df(pos), n), avgdl, None, k)

    ms, _ = timed_search(search, qs)
    return {"kind": "bm25", "size": n, "chars": sum(map(len, docs)), "build_s": round(build, 2),
            "docs_per_s": round(n / build), "p50_ms": round(median(ms), 3),
            "p99_ms": round(pct(ms, 99), 3), "rss_before_mb": round(rss0),
            "peak_rss_mb": round(peak_rss_mb()), "queries": len(qs)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--dense-sizes", default="100000,1000000")
    ap.add_argument("--bm25-sizes", default="10000,100000")
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--hnsw-max", type=int, default=1_000_000,
                    help="build HNSW only up to this size (1M takes tens of minutes on 2 cores)")
    ap.add_argument("--questions", type=Path, action="append", default=None,
                    help="query texts from this question file or bench folder (repeatable; "
                         "default: the cmrc2018 and drcd_simplified bench sets)")
    ap.add_argument("--index", type=Path, action="append", default=None,
                    help="take the real base vectors from this index (repeatable; default: "
                         "index/ and the cached bench indexes)")
    ap.add_argument("--one", nargs=2, metavar=("KIND", "SIZE"), help=argparse.SUPPRESS)
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    indexes = args.index or default_indexes()
    questions = args.questions or [SHARED / "bench" / s for s in ("cmrc2018", "drcd_simplified")]
    if args.one:
        kind, n = args.one[0], int(args.one[1])
        qs = question_texts(questions, args.queries)
        print(json.dumps(dense_one(n, qs, args.hnsw_max, indexes) if kind == "dense"
                         else bm25_one(n, qs)))
        return
    rows, start = [], machine()
    jobs = [("dense", int(n)) for n in args.dense_sizes.split(",") if n] + \
           [("bm25", int(n)) for n in args.bm25_sizes.split(",") if n]
    for kind, n in jobs:
        t = time.perf_counter()
        p = subprocess.run([PYTHON, __file__, "--one", kind, str(n), "--queries", str(args.queries),
                            "--hnsw-max", str(args.hnsw_max),
                            *(a for i in indexes for a in ("--index", str(i))),
                            *(a for q in questions for a in ("--questions", str(q)))],
                           capture_output=True, text=True)
        if p.returncode:
            raise SystemExit(f"{kind} {n} failed:\n{p.stderr[-3000:]}")
        row = json.loads(p.stdout.strip().splitlines()[-1])
        row["wall_s"] = round(time.perf_counter() - t, 1)
        row["loadavg_1m"] = machine()["loadavg_1m"]
        rows.append(row)
        if kind == "dense":
            print(f"dense {n:>8d}: flat build {row['flat_build_s']} s p50 {row['flat_p50_ms']} ms "
                  f"p99 {row['flat_p99_ms']} ms peak {row['flat_peak_rss_mb']} MB | HNSW build "
                  f"{row.get('hnsw_build_s', '-')} s peak {row.get('hnsw_peak_rss_mb', '-')} MB "
                  f"{row.get('hnsw_skipped', '')}", flush=True)
            for h in row["hnsw"]:
                print(f"      efSearch {h['ef_search']:4d}: p50 {h['p50_ms']} ms p99 {h['p99_ms']} ms "
                      f"recall@10 {h['recall@10']}", flush=True)
        else:
            print(f"bm25  {n:>8d}: build {row['build_s']} s ({row['docs_per_s']} docs/s) p50 "
                  f"{row['p50_ms']} ms p99 {row['p99_ms']} ms peak {row['peak_rss_mb']} MB", flush=True)
    print("results:", save("scale", {"start": start, "noise_norm": NOISE, "rows": rows}, args.out))


if __name__ == "__main__":
    main()
