"""Milvus Lite next to the embedded archive: build time and query latency, at the seeds and at
~100k chunks.

Milvus runs as ``qa serve`` runs it: one ``milvus-lite server`` process on a local folder,
reached over gRPC. Lite is slow by design (a pure-Python engine: each search checks its filter
row by row), so these figures say what Lite costs, not what a Milvus server would.

Seeds: the five pages with the real encoder. "build" is ``IssueService.build`` (embedding
included); "write" is a copy by ``qa.index.migrate`` (the engine's share alone). Latency is
``SearchService.ask``'s ``took_ms`` over the seed and paraphrase questions, second pass (query
vectors cached, so it is retrieval, fusion, passages and citations).

Scale: real text (sentences of the bench corpora shuffled into ~200-character chunks, as
``scale.py``), synthetic vectors (random unit vectors: quality is not measured here), 10 chunks an
article, 10 articles a page. A fresh commit of all of it, then single-query latency of the
dense and lexical candidate searches (k=50, as the service asks) and of a whole ``ask``, then
adding one page and removing one.

    .venv/bin/python benchmarks/milvus_scale.py [--chunks 100000] [--queries 100] [--out DIR]
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import SHARED, ROOT, median, pct, question_texts, save  # noqa: E402
from scale import chinese_docs  # noqa: E402

DIM = 384
MODEL = "bench/synthetic-vectors"


class RandomQueries:
    """Query vectors for the synthetic archive: a unit vector seeded by the question."""

    model_id, dim = MODEL, DIM

    def encode_queries(self, texts):
        return np.stack([_unit(np.random.default_rng(_seed(t)).standard_normal(DIM))
                         for t in texts])

    def encode_passages(self, texts, show_progress=False):
        return self.encode_queries(texts)


def _seed(text: str) -> int:
    return int(hashlib.sha1(text.encode()).hexdigest()[:8], 16)


def _unit(v: np.ndarray) -> np.ndarray:
    return (v / np.linalg.norm(v)).astype(np.float32)


def figures(ms: list[float]) -> dict:
    return {"p50_ms": round(median(ms), 1), "p95_ms": round(pct(ms, 95), 1),
            "max_ms": round(max(ms), 1), "n": len(ms)}


def lite(root: Path):
    from qa.index.milvus.client import free_port, start_lite_server

    port = free_port()
    proc = start_lite_server(root / "lite", port, root / "lite.log")
    return proc, f"http://127.0.0.1:{port}"


def seeds(root: Path) -> dict:
    from qa.config import Settings
    from qa.index.migrate import migrate
    from qa.issues import IssueMeta, IssueService
    from qa.search.service import SearchService
    from qa.index.milvus.client import stop_lite_server

    base = replace(Settings.from_env(), background_merge=False)
    proc, uri = lite(root)
    out = {}
    try:
        places = {"embedded": replace(base, index_dir=root / "embedded"),
                  "milvus": replace(base, backend="milvus", milvus_uri=uri,
                                    milvus_prefix="seeds")}
        encoder = SearchService(base).encoder
        questions = question_texts([SHARED / "eval" / "seed_questions_dev.jsonl",
                                    ROOT / "eval" / "paraphrase_questions.jsonl"])
        for name, settings in places.items():
            service = IssueService(settings, encoder)
            pages, _, _ = service.read_paths([ROOT / "seeds"], IssueMeta())
            started = time.perf_counter()
            service.build(pages)
            build = time.perf_counter() - started
            started = time.perf_counter()
            copy = replace(settings, index_dir=root / f"{name}-copy",
                           milvus_prefix="seeds_copy")
            migrate(settings, copy)
            write = time.perf_counter() - started
            search = SearchService(settings, encoder)
            for q in questions:                 # first pass: query vectors, caches
                search.ask(q, 5)
            ms = [search.ask(q, 5).took_ms for q in questions]
            out[name] = {"build_s": round(build, 2), "write_s": round(write, 2),
                         "ask": figures(ms)}
            print(name, out[name], flush=True)
    finally:
        stop_lite_server(proc)
    return out


def synthetic_pages(n_chunks: int, seed: int = 0):
    """SegmentData of ~``n_chunks`` chunks, and one more page to add later."""
    from qa.index.segment import PageRecord, SegmentData, key_of
    from qa.types import Article

    docs = chinese_docs(n_chunks + 100, seed)
    rng = np.random.default_rng(seed)

    def data(first: int, count: int, tag: str) -> SegmentData:
        pages, articles, chunk_article, spans, hashes, embeds, lexical = [], [], [], [], [], [], []
        for p in range(count // 100):
            page_id = f"{tag}{p:05d}"
            for a in range(10):
                title = f"合成文章{page_id}-{a}"
                texts = docs[first + p * 100 + a * 10: first + p * 100 + a * 10 + 10]
                body, pos = "", 0
                for t in texts:
                    chunk_article.append(len(articles))
                    spans.append((pos, pos + len(t)))
                    hashes.append(key_of(t))
                    embeds.append(key_of(title + t))
                    lexical.append(f"{title}\n{t}")
                    body += t + "\n"
                    pos += len(t) + 1
                articles.append(Article(id=f"{page_id}-{a}", issue=page_id, title=title,
                                        source="合成", text=body, paragraphs=texts,
                                        offsets=[tuple(s) for s in spans[-10:]], page_id=page_id))
            pages.append(PageRecord(page_id, page_id, page_id, 10))
        vectors = rng.standard_normal((len(hashes), DIM)).astype(np.float32)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        return SegmentData(pages, articles, np.array(chunk_article, np.int32),
                           np.array(spans, np.int32), np.array(hashes, np.uint64),
                           np.array(embeds, np.uint64), vectors, lexical=lexical)

    return data(0, n_chunks, "p"), data(n_chunks, 100, "extra")


def scale(root: Path, n_chunks: int, n_queries: int) -> dict:
    from qa.config import Settings
    from qa.index.factory import open_backend
    from qa.index.milvus.client import stop_lite_server
    from qa.search.service import SearchService

    started = time.perf_counter()
    bulk, extra = synthetic_pages(n_chunks)
    made = time.perf_counter() - started
    questions = question_texts([SHARED / "bench" / "cmrc2018", SHARED / "bench" / "drcd_simplified"],
                               n_queries)
    encoder = RandomQueries()
    base = replace(Settings.from_env(), model=MODEL, background_merge=False)
    proc, uri = lite(root)
    out = {"chunks": len(bulk), "generated_s": round(made, 1)}
    try:
        for name, settings in {"embedded": replace(base, index_dir=root / "embedded"),
                               "milvus": replace(base, backend="milvus", milvus_uri=uri,
                                                 milvus_prefix="scale")}.items():
            backend = open_backend(settings)
            with backend.lock():
                started = time.perf_counter()
                backend.commit(None, [bulk], [], model=MODEL, dim=DIM, fresh=True)
                commit = time.perf_counter() - started
            started = time.perf_counter()
            archive = backend.open(MODEL)
            vector = encoder.encode_queries([questions[0]])[0]
            archive.dense(vector, 50)
            archive.lexical(questions[0], 50)
            first = time.perf_counter() - started
            dense, lexical = [], []
            for q in questions:
                v = encoder.encode_queries([q])[0]
                t = time.perf_counter()
                archive.dense(v, 50)
                dense.append((time.perf_counter() - t) * 1000)
                t = time.perf_counter()
                archive.lexical(q, 50)
                lexical.append((time.perf_counter() - t) * 1000)
            search = SearchService(settings, encoder)
            asks = [search.ask(q, 5).took_ms for q in questions]
            with backend.lock():
                t = time.perf_counter()
                backend.commit(archive, [extra], [], model=MODEL, dim=DIM)
                add = time.perf_counter() - t
                t = time.perf_counter()
                backend.commit(backend.open(MODEL), [], ["p00000"], model=MODEL, dim=DIM)
                remove = time.perf_counter() - t
            out[name] = {"commit_s": round(commit, 1), "open_and_first_query_s": round(first, 1),
                         "dense_k50": figures(dense), "lexical_k50": figures(lexical),
                         "ask_k5": figures(asks), "add_one_page_s": round(add, 2),
                         "remove_one_page_s": round(remove, 2)}
            print(name, out[name], flush=True)
    finally:
        stop_lite_server(proc)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--chunks", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=100)
    parser.add_argument("--skip-seeds", action="store_true")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="qa-bench-milvus-"))
    try:
        result = {"seeds": None if args.skip_seeds else seeds(root / "seeds"),
                  "scale": scale(root / "scale", args.chunks, args.queries)}
    finally:
        shutil.rmtree(root, ignore_errors=True)
    print(save("milvus_scale", result, args.out))


if __name__ == "__main__":
    main()
