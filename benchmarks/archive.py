"""The archive at scale (issue 10): a synthetic newspaper archive of realistic Chinese text, built,
updated, opened and served through the project's own code at several sizes, and retrieval
quality built at once vs in adds.

What is real and what is stand-in:

* Text: sentences of the seed pages (ingested with ``qa.ingest``) and of the bench passages,
  drawn at random into articles whose lengths follow the seed articles' (× 0.8–1.25), 4–5
  articles a page, 20 articles an issue; each issue has a date, a paper, a number and page
  numbers. Articles are constructed directly (ingesting page files is not part of building an
  index) and grouped into pages by ``qa.issues.pages_of``; builds, adds, replacements and
  removals go through ``IssueService`` as ``qa build``/``qa add``/``qa remove`` and uploads do.
  Sentences over ``MAX_SENTENCE`` characters are left out: the pool (~22k sentences) is reused
  ~100 times at 1M chunks, and a long sentence becomes a chunk on its own, so it would be the
  same chunk hundreds of times over — reprints no real archive has, which every hit would list.
* Vectors: ``StandIn``, an encoder that gives each text one of a few thousand real chunk vectors
  (embedded once by the real encoder) chosen by the text's hash, plus Gaussian noise, renormalised
  (``scale.py``'s approach), so HNSW sees a realistic neighbourhood structure; it costs ~0, and
  what it leaves out is measured separately (``embed``: the real encoder on an added issue).
* Everything else is the pipeline's own: chunking, jieba, postings, HNSW, segments, merges, the
  server (``qa serve``, real int8 encoder embedding every question).
* Quality: the real encoder throughout.

Steps, each in its own process so memory and I/O are that step's alone:

  build    ``IssueService.build`` of the whole archive: wall; peak memory as GNU time's peak RSS
           (the largest single process) and as the sampled peak of PSS summed over the builder
           and its tokenising workers; size on disk.
  open     a fresh process opening the archive (every segment's checksums verified), as each
           worker does at start: with the index's pages evicted from the page cache, then warm.
  update   in a process already holding the archive open (the upload path: ``IssueService``
           over the serving ``SearchService``'s backend): add a new 20-article issue, replace one
           page with changed text, remove one issue. Wall (the stand-in's time subtracted),
           bytes written (``/proc/self/io``) against the new segment's size, and the
           ``SearchService.reload`` that picks the new commit point up.
  embed    the real encoder embedding the added issue's chunks.
  serve    ``qa serve --workers 2``: per-worker USS/PSS after warm-up and after the query run,
           against workers serving a one-issue archive (the encoder's own footprint);
           ``/api/ask`` at c=1, every question new (cache misses), one connection per request so
           both workers answer; then an add from another process and the first requests after
           its commit.
  quality  (``--quality``) hit@1/hit@5 as ``qa eval`` computes them, for each bench set and the
           seed pages, indexed at once and in ``--adds`` adds (seeds: one page per add); both,
           and how many questions got different results.

    .venv/bin/python benchmarks/archive.py [--sizes 27000,187000,1000000]
        [--data ../bench-data/archive] [--steps build,open,update,embed,serve] [--quality]
        [--questions 1000] [--name archive] [--out DIR]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import re
import shutil
import subprocess
import sys
import threading
import time
import urllib.parse
import zlib
from datetime import date, timedelta
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import (BENCH_SETS, PYTHON, ROOT, SHARED, PssSampler, io_counters,  # noqa: E402
                     machine, median, pct, question_texts, read_jsonl, run_measured, save,
                     smaps, tree_size)

PAPERS = ("中国社会报", "大众日报", "济南日报", "齐鲁晚报")
ISSUE_ARTICLES = 20
MAX_SENTENCE = 100
NOISE = 0.5           # norm of the noise added to a unit base vector (scale.py)
NOISE_ROWS = 1 << 16
STEPS = ("build", "open", "update", "embed", "serve")
# Issue 10's table, measured on the design before segments (not by this script).
TODAY = {27_000: {"build_s": 32, "add_s": 20.6, "peak_gb": 0.8, "disk": "151 MB", "load_s": 1.0},
         187_000: {"build_s": 450, "add_s": 116.8, "peak_gb": 4.3, "disk": "1.1 GB",
                   "load_s": 5.8}}


def settings_for(index: Path):
    from qa.config import Settings

    return Settings.from_env(index_dir=Path(index))


# -- the synthetic archive -----------------------------------------------------------------------

class Corpus:
    """Real sentences, titles, outlets and article lengths; issues drawn from them, each a
    deterministic function of (seed, issue number, variant)."""

    def __init__(self, seed: int = 0):
        from qa.chunking import split_sentences
        from qa.ingest import ingest_paths

        seeds = ingest_paths([ROOT / "seeds"]).articles
        sentences, titles = [], [a.title for a in seeds]
        for a in seeds:
            sentences += [a.text[s:e] for s, e in split_sentences(a.text)]
        for name in BENCH_SETS:
            for r in read_jsonl(SHARED / "bench" / name / "passages.jsonl"):
                sentences += [r["text"][s:e] for s, e in split_sentences(r["text"])]
                titles.append(r.get("title"))
        self.seed = seed
        self.sentences = [s for s in dict.fromkeys(sentences) if 5 <= len(s) <= MAX_SENTENCE]
        self.titles = sorted({t for t in titles if t})
        self.sources = sorted({a.source for a in seeds if a.source}) + [None]
        self.lengths = sorted(len(a.text) for a in seeds)

    def _article(self, rng: random.Random, issue: str, page_id: str, page: int):
        from qa.ingest.articles import article_id
        from qa.types import Article

        target = rng.choice(self.lengths) * rng.uniform(0.8, 1.25)
        paragraphs, size = [], 0
        while size < target:
            p = "".join(rng.choice(self.sentences) for _ in range(rng.randint(2, 5)))
            paragraphs.append(p)
            size += len(p) + 1
        text = "\n".join(paragraphs)
        offsets, pos = [], 0
        for p in paragraphs:
            offsets.append((pos, pos + len(p)))
            pos += len(p) + 1
        title = rng.choice(self.titles)
        return Article(id=article_id(page_id, title, text), issue=issue, title=title,
                       source=rng.choice(self.sources), text=text, paragraphs=paragraphs,
                       offsets=offsets, page_id=page_id, page=page)

    @staticmethod
    def issue_id(n: int) -> str:
        return f"i{n:06d}"

    def issue(self, n: int, variant: int = 0):
        """Issue ``n``: 4 or 5 pages, 20 articles, a date, paper and number. Another
        ``variant`` is the same issue with other text (a corrected edition)."""
        from qa.issues import IssueMeta, pages_of

        pages = 4 + n % 2
        per = [ISSUE_ARTICLES // pages + (k < ISSUE_ARTICLES % pages) for k in range(pages)]
        issue = self.issue_id(n)
        articles = []
        for k in range(pages):
            rng = random.Random(f"{self.seed}/{n}/{k}/{variant}")
            articles += [self._article(rng, issue, f"p{k + 1}", k + 1) for _ in range(per[k])]
        meta = IssueMeta(issue=issue, date=(date(2000, 1, 1) + timedelta(days=n)).isoformat(),
                         paper=PAPERS[n % len(PAPERS)], number=str(n + 1))
        return pages_of(articles, meta)


class StandIn:
    """The stand-in encoder: a text's vector is a real chunk vector picked by the text's hash,
    plus noise picked by another hash, renormalised. Same text, same vector. Records the time
    it takes and, if asked, the texts it was given (what the real encoder would have embedded)."""

    def __init__(self, base: np.ndarray, model_id: str, record: bool = False):
        self.base = base.astype(np.float32)
        self.dim = base.shape[1]
        self.model_id = model_id
        rng = np.random.default_rng(0)
        self.noise = rng.standard_normal((NOISE_ROWS, self.dim), dtype=np.float32) \
            * np.float32(NOISE / np.sqrt(self.dim))
        self.seconds = 0.0
        self.texts: list[str] | None = [] if record else None

    def encode_passages(self, texts: list[str], show_progress: bool = False) -> np.ndarray:
        started = time.perf_counter()
        raw = [t.encode("utf-8") for t in texts]
        a = np.array([zlib.crc32(b) for b in raw], dtype=np.int64)
        b = np.array([zlib.adler32(b) for b in raw], dtype=np.int64)
        x = self.base[a % len(self.base)] + self.noise[b % NOISE_ROWS]
        x /= np.linalg.norm(x, axis=1, keepdims=True)
        if self.texts is not None:
            self.texts.extend(texts)
        self.seconds += time.perf_counter() - started
        return x

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        raise RuntimeError("the stand-in encoder only indexes; questions go to the real one")


def real_encoder():
    from qa.embedding import Encoder

    return Encoder.from_settings(settings_for(ROOT / "index"))


def step_base(out: Path, n: int) -> dict:
    """``n`` real chunks (of the bench passages and seed pages, chunked as the pipeline does)
    embedded by the real encoder: the stand-in's base vectors."""
    from qa.chunking import chunk_article, chunk_for_embedding
    from qa.ingest import ingest_paths

    s = settings_for(ROOT / "index")
    articles = ingest_paths([ROOT / "seeds"] + [SHARED / "bench" / b / "passages.jsonl"
                                                for b in BENCH_SETS]).articles
    texts = [chunk_for_embedding(c, a.title) for a in articles
             for c in chunk_article(a, s.chunk_chars, s.chunk_overlap_sentences)]
    texts = random.Random(0).sample(texts, min(n, len(texts)))
    enc = real_encoder()
    started = time.perf_counter()
    vectors = enc.encode_passages(texts)
    np.save(out, vectors.astype(np.float32))
    return {"base_vectors": len(vectors), "seconds": round(time.perf_counter() - started, 1),
            "model": enc.model_id}


# -- steps run in their own process ----------------------------------------------------------------

def _state(data: Path) -> dict:
    return json.loads((data / "corpus.json").read_text())


def _save_state(data: Path, state: dict) -> None:
    (data / "corpus.json").write_text(json.dumps(state, indent=1))


def step_build(data: Path, size: int, base: Path, seed: int) -> dict:
    from qa.chunking import chunk_article
    from qa.issues import IssueService

    index = data / "index"
    s = settings_for(index)
    corpus = Corpus(seed)
    # How many issues make ``size`` chunks: from the mean of the first 400 issues (issues are
    # drawn independently; per-issue chunks vary by ~7%, so the mean is within ~0.4%).
    sample = [corpus.issue(n) for n in range(min(400, max(1, size // 150)))]
    per_issue = float(np.mean([sum(len(chunk_article(a, s.chunk_chars,
                                                     s.chunk_overlap_sentences))
                                   for p in pages for a in p.articles) for pages in sample]))
    issues = max(1, round(size / per_issue))
    started = time.perf_counter()
    pages = [p for n in range(issues) for p in corpus.issue(n)]
    generate_s = time.perf_counter() - started
    input_mb = smaps()["Rss"]
    enc = StandIn(np.load(base), s.model)
    service = IssueService(s, enc)
    started = time.perf_counter()
    result = service.build(pages)
    wall = time.perf_counter() - started
    r = result.report
    _save_state(data, {"seed": seed, "issues": issues, "next_issue": issues, "replaced": 0,
                       "removed": 0})
    return {"issues": issues, "pages": len(pages), "articles": len(r.articles),
            "chunks": r.chunks, "generate_s": round(generate_s, 1),
            "rss_with_input_mb": round(input_mb), "build_s": round(wall, 2),
            "stand_in_s": round(enc.seconds, 2),
            "build_excl_embed_s": round(wall - enc.seconds, 2), "generation": r.generation,
            "totals": r.totals, "disk_bytes": tree_size(index),
            "segments": _segments(index),
            "settings": {k: getattr(s, k) for k in ("segment_max_chunks", "exact_max", "hnsw_m",
                                                    "hnsw_ef_construction", "hnsw_ef_search",
                                                    "chunk_chars", "chunk_overlap_sentences")}}


def _segments(index: Path) -> list[dict]:
    from qa.index.store import IndexStore

    store = IndexStore(index)
    m = store.manifest()
    return [{"name": e.name, "chunks": json.loads((index / e.name / "meta.json").read_text())
             ["counts"]["chunks"], "deleted_pages": len(e.deleted),
             "bytes": tree_size(index / e.name)} for e in m.segments]


def _evict(index: Path) -> None:
    """Drop the index's own files from the page cache (and nobody else's)."""
    for p in index.rglob("*"):
        if p.is_file():
            fd = os.open(p, os.O_RDONLY)
            try:
                os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
            finally:
                os.close(fd)


def step_open(index: Path, evict: bool) -> dict:
    """Open the archive in a fresh process. jieba's dictionary, which every process loads once
    whatever the archive's size, is timed on its own."""
    from qa.index.lexical import tokenizer_from_config
    from qa.index.store import IndexStore

    s = settings_for(index)
    store = IndexStore(index)
    if evict:
        _evict(index)
    started = time.perf_counter()
    tokenizer_from_config(store.manifest().tokenizer)
    tokenizer_s = time.perf_counter() - started
    started = time.perf_counter()
    snap = store.load(model=s.model, ef_search=s.hnsw_ef_search)
    wall = time.perf_counter() - started
    return {"evicted": evict, "open_s": round(wall, 3), "tokenizer_s": round(tokenizer_s, 2),
            "segments": len(snap.parts), "chunks": snap.health()["chunks"],
            "rss_mb": round(smaps()["Rss"])}


def _files(index: Path) -> dict[str, int]:
    return {str(p.relative_to(index)): p.stat().st_size for p in index.rglob("*") if p.is_file()}


def step_update(data: Path, base: Path, ops: list[str], texts_out: Path | None) -> dict:
    """Add, replace, remove as the upload handler does them: in a process that already serves
    the archive (its SearchService holds it open)."""
    from qa.issues import IssueService
    from qa.search.service import SearchService

    index = data / "index"
    s = settings_for(index)
    state = _state(data)
    corpus = Corpus(state["seed"])
    enc = StandIn(np.load(base), s.model, record=True)
    service = SearchService(s, enc)
    started = time.perf_counter()
    before = service.snapshot()
    out = {"open_s": round(time.perf_counter() - started, 3), "chunks_before":
           before.health()["chunks"], "ops": []}
    issues = IssueService(s, enc, service.backend)
    for op in ops:
        held = service.snapshot().health()
        if op == "add":
            n = state["next_issue"]
            state["next_issue"] += 1
            pages = corpus.issue(n)
            target = Corpus.issue_id(n)
        elif op == "replace":
            state["replaced"] += 1
            n = state["issues"] // 2 + state["replaced"] - 1
            target = f"{Corpus.issue_id(n)}.p1"
            pages = [p for p in corpus.issue(n, variant=state["replaced"]) if p.id == target]
        elif op == "remove":
            state["removed"] += 1
            n = state["issues"] // 4 + state["removed"] - 1
            target = Corpus.issue_id(n)
        else:
            raise SystemExit(f"unknown op {op}")
        files0, io0 = _files(index), io_counters()
        enc.seconds, enc.texts = 0.0, []
        compact_log = index / "compact.log"
        compacts0 = compact_log.stat().st_size if compact_log.exists() else 0
        started = time.perf_counter()
        if op == "remove":
            report = issues.remove([target])
        else:
            report = issues.add(pages).report
        wall = time.perf_counter() - started
        io1, files1 = io_counters(), _files(index)
        _save_state(data, state)
        new = {k: v for k, v in files1.items() if files0.get(k) != v}
        new_segs = {k.split("/")[0] for k in new if k.startswith("seg-")
                    and not any(f.startswith(k.split("/")[0] + "/") for f in files0)}
        started = time.perf_counter()
        snap = service.reload()
        reload_s = time.perf_counter() - started
        pages_now = snap.pages()
        row = {"op": op, "target": target, "wall_s": round(wall, 3),
               "stand_in_s": round(enc.seconds, 4),
               "wall_excl_embed_s": round(wall - enc.seconds, 3),
               "write_bytes": io1["write_bytes"] - io0["write_bytes"],
               "wchar": io1["wchar"] - io0["wchar"],
               "new_segment_bytes": sum(v for k, v in new.items()
                                        if k.split("/")[0] in new_segs),
               "new_files_bytes": sum(new.values()), "new_segments": sorted(new_segs),
               "added": report.added, "replaced": report.replaced, "removed": report.removed,
               "chunks": report.chunks, "embedded": report.embedded,
               "generation": report.generation, "reloaded_generation": snap.name,
               "reload_s": round(reload_s, 4),
               "chunks_before": held["chunks"], "chunks_after": snap.health()["chunks"],
               "articles_before": held["articles"], "articles_after": snap.health()["articles"],
               "segments_after": len(snap.parts),
               "background_merge_started": (compact_log.stat().st_size if compact_log.exists()
                                            else 0) > compacts0}
        if op == "remove":
            row["target_gone"] = not any(p.issue == target for p in pages_now.values())
        else:
            row["target_held"] = all(p.id in pages_now and pages_now[p.id].hash == p.hash()
                                     for p in pages)
        if op == "add" and texts_out is not None:
            texts_out.write_text(json.dumps(enc.texts, ensure_ascii=False))
            row["texts_recorded"] = len(enc.texts)
        if row["write_bytes"] and row["new_segment_bytes"]:
            row["written_per_segment_byte"] = round(row["write_bytes"] / row["new_segment_bytes"],
                                                    2)
        out["ops"].append(row)
    return out


def step_embed(texts: Path) -> dict:
    """The real encoder on the texts an add embedded (the stand-in's share of the work)."""
    items = json.loads(texts.read_text())
    started = time.perf_counter()
    enc = real_encoder()
    enc.encode_passages(["预热"])
    load_s = time.perf_counter() - started
    started = time.perf_counter()
    enc.encode_passages(items)
    wall = time.perf_counter() - started
    return {"chunks": len(items), "model_load_s": round(load_s, 2), "embed_s": round(wall, 2),
            "ms_per_chunk": round(wall * 1000 / max(1, len(items)), 1)}


def step_quality(work: Path, sets: list[str], adds: int, limit: int | None) -> dict:
    """hit@k as ``qa eval`` computes it, on an index built at once and one built in ``adds``
    adds (the seed pages: one page per add), same encoder, same questions."""
    from qa.evaluation import evaluate, read_questions
    from qa.issues import IssueMeta, IssueService
    from qa.search.service import SearchService

    enc = Cached(real_encoder())
    rows = []
    for name in sets:
        if name == "seeds":
            files = sorted((ROOT / "seeds").glob("*.txt"))
            qfile = SHARED / "eval" / "seed_questions_dev.jsonl"
        else:
            d = Path(name) if "/" in name else SHARED / "bench" / name
            files, qfile = [d / "passages.jsonl"], d / "questions.jsonl"
        label = Path(name).name
        questions = read_questions(qfile)[:limit]
        row = {"set": label, "questions": len(questions)}
        for mode in ("at_once", "in_adds"):
            index = work / f"{label}-{mode}"
            shutil.rmtree(index, ignore_errors=True)
            s = settings_for(index)
            service = IssueService(s, enc)
            pages, skipped, _ = service.read_paths(files, IssueMeta())
            assert not skipped, skipped
            started = time.perf_counter()
            if mode == "at_once":
                service.build(pages)
                row["pages"] = len(pages)
            else:
                n = min(adds, len(pages))
                parts = [pages[i * len(pages) // n:(i + 1) * len(pages) // n] for i in range(n)]
                for part in parts:
                    service.add(part)
                row["adds"] = len(parts)
            row[f"{mode}_index_s"] = round(time.perf_counter() - started, 1)
            search = Recorder(SearchService(s, enc))
            report = evaluate(search, questions, 5, label)
            health = search.service.health()
            row[mode] = {k: round(v, 4) if isinstance(v, float) else v
                         for k, v in report.figures().items()}
            row[mode].update(chunks=health["chunks"], segments=health["segments"])
            row[f"_{mode}_results"] = search.results
        a, b = row.pop("_at_once_results"), row.pop("_in_adds_results")
        row["different_results"] = sum(x != y for x, y in zip(a, b))
        row["different_ranking"] = sum([r[:2] for r in x] != [r[:2] for r in y]
                                       for x, y in zip(a, b))
        rows.append(row)
        print(f"quality {label}: {row}", file=sys.stderr, flush=True)
    return {"sets": rows, "embedded_texts": len(enc.passages), "embed_s": round(enc.seconds, 1)}


class Cached:
    """The real encoder with its vectors kept by text: the second index of a set embeds
    nothing again (the ONNX engine embeds one text per call, so a vector does not depend on
    the batch it came in and the cache changes no vector)."""

    def __init__(self, inner):
        self.inner, self.model_id, self.dim = inner, inner.model_id, inner.dim
        self.passages: dict[str, np.ndarray] = {}
        self.queries: dict[str, np.ndarray] = {}
        self.seconds = 0.0

    def _get(self, store: dict, fn, texts: list[str]) -> np.ndarray:
        todo = [t for t in dict.fromkeys(texts) if t not in store]
        if todo:
            started = time.perf_counter()
            store.update(zip(todo, fn(todo)))
            self.seconds += time.perf_counter() - started
        return np.stack([store[t] for t in texts]) if texts else \
            np.zeros((0, self.dim), np.float32)

    def encode_passages(self, texts, show_progress: bool = False):
        return self._get(self.passages, self.inner.encode_passages, list(texts))

    def encode_queries(self, texts):
        return self._get(self.queries, self.inner.encode_queries, list(texts))


class Recorder:
    """A SearchService that also keeps what it answered, to compare two indexes answer by
    answer: (article, start, end, score) of each hit."""

    def __init__(self, service):
        self.service = service
        self.results: list[list[tuple]] = []

    def ask(self, question, k=None):
        answer = self.service.ask(question, k)
        self.results.append([(h.citation.article_id, h.citation.start, h.citation.end,
                              round(h.score, 4)) for h in answer.results])
        return answer


# -- serving -------------------------------------------------------------------------------------

_LOG = re.compile(r'<(\d+)> "GET \S*[?&]probe=([\w-]+)\S* HTTP/[\d.]+" (\d+) \S+ (\d+)ms')


def _get(port: int, path: str, tag: str, timeout: float = 60) -> tuple[int, float, bytes]:
    """One request on its own connection (so the kernel spreads them over the workers)."""
    sep = "&" if "?" in path else "?"
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    started = time.perf_counter()
    try:
        c.request("GET", f"{path}{sep}probe={tag}")
        r = c.getresponse()
        body = r.read()
        return r.status, (time.perf_counter() - started) * 1000, body
    except (OSError, http.client.HTTPException):
        return 0, (time.perf_counter() - started) * 1000, b""
    finally:
        c.close()


def _ask(port: int, q: str, tag: str) -> tuple[int, float, bytes]:
    return _get(port, "/api/ask?" + urllib.parse.urlencode({"q": q, "k": 5}), tag)


def _served_by(server) -> dict[str, tuple[int, float]]:
    """tag → (worker pid, server-side ms), from the access log."""
    return {m.group(2): (int(m.group(1)), float(m.group(4)))
            for m in _LOG.finditer(server.log_text())}


def _memory(server) -> dict[str, dict]:
    keys = ("Rss", "Pss", "USS", "Anonymous", "Pss_Anon", "Pss_File")
    return {str(pid): {k: round(v) for k, v in smaps(pid).items() if k in keys}
            for pid in server.worker_pids()}


def _warm(server, questions: list[str], tag: str) -> list[int]:
    """Ask until every worker has answered at least twice (their first question loads
    nothing any more: post_worker_init warmed them); returns the statuses."""
    workers = set(server.worker_pids())
    statuses = []
    for i, q in enumerate(questions):
        statuses.append(_ask(server.port, q, f"{tag}{i}")[0])
        seen = [pid for pid, _ in _served_by(server).values()]
        if i >= 4 and all(seen.count(w) >= 2 for w in workers):
            break
    return statuses


def serve(index: Path, questions: dict[str, list[str]], workers: int,
          pickup: dict | None = None) -> dict:
    """Serve ``index``: memory after warm-up (``questions["warm"]``) and after asking each of
    ``questions["measure"]`` once at c=1; with ``pickup`` (``{"data", "base"}``), an add from
    another process, then ``questions["pickup"]`` right after its commit."""
    from http_latency import Server

    server = Server(index, "onnx-int8", workers)
    out: dict = {"workers": workers}
    try:
        out["first_answer_s"] = round(server.wait_answering(), 2)
        warm = _warm(server, questions["warm"], "w")
        out["warmup_requests"] = len(warm)
        out["memory_warm"] = _memory(server)
        load0 = machine()["loadavg_1m"]
        lat, errors, tags = [], 0, []
        for i, q in enumerate(questions["measure"]):
            status, ms, _ = _ask(server.port, q, f"q{i}")
            if status == 200:
                lat.append(ms)
                tags.append(f"q{i}")
            else:
                errors += 1
        time.sleep(0.2)         # the last request's log line
        served = _served_by(server)
        per_worker: dict[int, int] = {}
        for t in tags:
            if t in served:
                per_worker[served[t][0]] = per_worker.get(served[t][0], 0) + 1
        server_ms = [served[t][1] for t in tags if t in served]
        out["latency"] = {"requests": len(lat), "errors": errors, "concurrency": 1,
                          "p50_ms": round(median(lat), 1), "p90_ms": round(pct(lat, 90), 1),
                          "p99_ms": round(pct(lat, 99), 1), "max_ms": round(max(lat), 1),
                          "server_p50_ms": median(server_ms), "server_p99_ms": pct(server_ms, 99),
                          "per_worker": {str(k): v for k, v in per_worker.items()},
                          "loadavg_1m_before": load0, "loadavg_1m_after": machine()["loadavg_1m"]}
        out["memory_after_queries"] = _memory(server)
        if pickup is not None:
            out["pickup"] = _pickup(server, index, pickup, questions["pickup"])
            out["memory_after_pickup"] = _memory(server)
        out["master_rss_mb"] = round(smaps(server.proc.pid).get("Rss", 0))
    finally:
        server.stop()
    return out


def _pickup(server, index: Path, pickup: dict, questions: list[str]) -> dict:
    """An issue added by another process while the server runs; then (once that process is
    done) new questions on fresh connections: the first one each worker answers pays for its
    reload. Then health probes until every worker reports the new generation."""
    current = index / "CURRENT"
    gen0 = current.read_text().strip()
    switched: list[float] = []
    stop = threading.Event()

    def watch():
        while not stop.is_set():
            try:
                if current.read_text().strip() != gen0:
                    switched.append(time.perf_counter())
                    return
            except OSError:
                pass
            time.sleep(0.002)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    add = _run_step(["--step", "update", "--data", str(pickup["data"]), "--base",
                     str(pickup["base"]), "--ops", "add"])
    stop.set()
    watcher.join()
    # The add's own commit, or a merge it ran after it: the commit point in force now.
    gen1 = current.read_text().strip()
    if not switched:
        raise SystemExit("the add did not switch CURRENT")
    t0 = switched[0]
    asked = []
    for i, q in enumerate(questions):
        sent = time.perf_counter()
        status, ms, _ = _ask(server.port, q, f"a{i}")
        asked.append({"tag": f"a{i}", "after_commit_s": round(sent - t0, 3), "ms": round(ms, 1),
                      "status": status})
    workers = set(server.worker_pids())
    generations: dict[int, str] = {}
    bodies: dict[str, bytes] = {}
    for i in range(60):
        status, _, body = _get(server.port, "/api/health", f"h{i}")
        if status == 200:
            bodies[f"h{i}"] = body
        # gunicorn logs a request just after answering it: look a little later, at them all
        time.sleep(0.05)
        served = _served_by(server)
        for tag, body in bodies.items():
            if tag in served:
                generations[served[tag][0]] = json.loads(body)["generation"]
        if all(generations.get(w) == gen1 for w in workers):
            break
    served = _served_by(server)
    first: dict[str, dict] = {}
    for a in asked:
        pid = served.get(a["tag"], (None,))[0]
        a["worker"] = pid
        if pid is not None and str(pid) not in first:
            first[str(pid)] = a
    later = [a["ms"] for a in asked if a not in first.values() and a["status"] == 200]
    return {"generation_before": gen0, "generation_after": gen1, "add": add["ops"][0],
            "add_process_open_s": add["open_s"], "asks": asked,
            "first_ask_per_worker": first, "later_asks_p50_ms": median(later),
            "workers_on_new_generation": sorted(str(w) for w in workers
                                                if generations.get(w) == gen1),
            "workers": sorted(str(w) for w in workers)}


# -- orchestration -------------------------------------------------------------------------------

def _run_step(args: list[str]) -> dict:
    p = subprocess.run([PYTHON, __file__, *args], capture_output=True, text=True)
    if p.returncode:
        raise SystemExit(f"step {' '.join(args)} failed:\n{p.stderr[-4000:]}")
    return json.loads(p.stdout.strip().splitlines()[-1])


def _measured_step(args: list[str]) -> dict:
    sampler = PssSampler(0.5)
    r = run_measured([PYTHON, __file__, *args], on_start=sampler.start)
    mem = sampler.stop()
    if r["status"]:
        raise SystemExit(f"step {' '.join(args)} failed:\n{r['stderr'][-4000:]}")
    out = json.loads(r["stdout"].strip().splitlines()[-1])
    out.update(process_s=round(r["seconds"], 1), peak_rss_mb=round(r["peak_rss_mb"]),
               peak_rss_source=r["peak_rss_source"], **mem)
    return out


def _mb(n: float) -> str:
    return f"{n / 2**30:.2f} GB" if n >= 2**30 else f"{n / 2**20:.0f} MB"


def _count(n: int) -> str:
    return f"{n / 1000:.0f}k" if n >= 10_000 else str(n)


def _today(chunks: int) -> dict | None:
    for size, row in TODAY.items():
        if abs(chunks - size) <= 0.1 * size:
            return row
    return None


def table(rows: list[dict]) -> str:
    """Issue 10's table, today's figures (where the size matches) above ours. Peak memory is
    the larger of the sampled PSS sum and the largest process's peak RSS."""
    lines = ["| archive | `build` | `add` of one 20-article issue | peak memory | "
             "one generation on disk | `store.load` per worker |", "|---|---|---|---|---|---|"]
    for r in rows:
        b = r.get("build")
        chunks = b["chunks"] if b else r["size"]
        today = _today(chunks)
        if today:
            lines.append(f"| {_count(chunks)} chunks, before (issue 10) | {today['build_s']} s "
                         f"| {today['add_s']} s | {today['peak_gb']} GB | {today['disk']} | "
                         f"{today['load_s']} s |")
        add = next((o for o in r.get("update", {}).get("ops", []) if o["op"] == "add"), None)
        opens = r.get("open", [])
        cells = [f"{_count(chunks)} chunks, segments",
                 f"{b['build_s']} s" if b else "–",
                 f"{add['wall_excl_embed_s']} s" if add else "–",
                 f"{max(b['peak_pss_mb'], b['peak_rss_mb']) / 1024:.1f} GB" if b else "–",
                 _mb(b["disk_bytes"]) if b else "–",
                 " / ".join(f"{o['open_s']} s" for o in opens)
                 + f" (cold / warm; + {opens[0]['tokenizer_s']} s jieba)" if opens else "–"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", default="27000,187000,1000000",
                    help="archive sizes in chunks (approximate: whole issues)")
    ap.add_argument("--data", type=Path, default=ROOT.parent / "bench-data" / "archive",
                    help="where the archives are built (~5 GB at 1M chunks: not in the repo, "
                         "not in a small /tmp)")
    ap.add_argument("--steps", default=",".join(STEPS))
    ap.add_argument("--quality", action="store_true", help="also built-at-once vs in adds")
    ap.add_argument("--quality-sets", default=",".join(BENCH_SETS) + ",seeds",
                    help="bench set names or folders (passages.jsonl + questions.jsonl), seeds")
    ap.add_argument("--quality-limit", type=int, default=None, help="questions per set")
    ap.add_argument("--adds", type=int, default=20)
    ap.add_argument("--questions", type=int, default=1000, help="/api/ask requests at c=1")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--base-vectors", type=int, default=3000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--name", default="archive", help="results file name")
    ap.add_argument("--out", type=Path, default=None)
    # one step, in this process (the orchestrator runs them)
    ap.add_argument("--step", help=argparse.SUPPRESS)
    ap.add_argument("--size", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--base", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--ops", default="add,replace,remove", help=argparse.SUPPRESS)
    ap.add_argument("--texts", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--evict", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()

    if args.step:
        result = {
            "base": lambda: step_base(args.base, args.base_vectors),
            "build": lambda: step_build(args.data, args.size, args.base, args.seed),
            "open": lambda: step_open(args.data / "index", args.evict),
            "update": lambda: step_update(args.data, args.base, args.ops.split(","),
                                          args.texts),
            "embed": lambda: step_embed(args.texts),
            "quality": lambda: step_quality(args.data, args.quality_sets.split(","), args.adds,
                                            args.quality_limit),
        }[args.step]()
        print(json.dumps(result, ensure_ascii=False))
        return

    steps = [s for s in args.steps.split(",") if s]
    unknown = set(steps) - set(STEPS)
    if unknown:
        raise SystemExit(f"unknown steps {sorted(unknown)}; choose from {STEPS}")
    sizes = [int(x) for x in args.sizes.split(",") if x]
    data = args.data.resolve()
    data.mkdir(parents=True, exist_ok=True)
    results: dict = {"start": machine(), "sizes": [], "data": str(data), "steps": steps}

    base = data / f"base-{args.base_vectors}.npy"
    if steps and not base.exists():
        results["base"] = _run_step(["--step", "base", "--base", str(base),
                                     "--base-vectors", str(args.base_vectors)])
        print("base vectors:", results["base"], flush=True)
    pool = question_texts([SHARED / "bench" / b for b in BENCH_SETS])
    pool = [q for q in pool if len(q) <= 200]
    random.Random(args.seed).shuffle(pool)
    # Distinct questions for each phase: every request is a cache miss in its server.
    asked = {"warm": pool[:60], "measure": pool[60:60 + args.questions],
             "pickup": pool[60 + args.questions:72 + args.questions]}
    reference = {"warm": pool[-100:-40], "measure": pool[-40:], "pickup": []}

    if "serve" in steps:
        tiny = data / "tiny"
        if not (tiny / "index" / "CURRENT").exists():
            shutil.rmtree(tiny, ignore_errors=True)
            tiny.mkdir(parents=True)
            _run_step(["--step", "build", "--data", str(tiny), "--size", "1", "--base",
                       str(base), "--seed", str(args.seed + 1)])
        results["encoder_only"] = serve(tiny / "index", reference, args.workers)
        print("workers on a one-issue archive (the encoder's own footprint):",
              results["encoder_only"]["memory_after_queries"], flush=True)

    for size in sizes if steps else []:
        d = data / f"archive-{size}"
        row: dict = {"size": size, "dir": str(d)}
        if "build" in steps:
            shutil.rmtree(d, ignore_errors=True)
            d.mkdir(parents=True)
            row["build"] = b = _measured_step(["--step", "build", "--data", str(d), "--size",
                                               str(size), "--base", str(base), "--seed",
                                               str(args.seed)])
            row["build"]["loadavg_1m"] = machine()["loadavg_1m"]
            print(f"[{size}] build: {b['chunks']} chunks in {b['build_s']} s, peak PSS "
                  f"{b['peak_pss_mb']} MB (largest process {b['peak_rss_mb']} MB), disk "
                  f"{_mb(b['disk_bytes'])}, load {b['loadavg_1m']}", flush=True)
        if not (d / "index" / "CURRENT").exists():
            raise SystemExit(f"no archive at {d}: run the build step first")
        if "open" in steps:
            row["open"] = [dict(_run_step(["--step", "open", "--data", str(d)]
                                          + (["--evict"] if evict else [])),
                                loadavg_1m=machine()["loadavg_1m"]) for evict in (True, False)]
            print(f"[{size}] open:", row["open"], flush=True)
        if "update" in steps:
            row["update"] = _run_step(["--step", "update", "--data", str(d), "--base",
                                       str(base), "--texts", str(d / "add-texts.json")])
            row["update"]["loadavg_1m"] = machine()["loadavg_1m"]
            for o in row["update"]["ops"]:
                print(f"[{size}] {o['op']} {o['target']}: {o['wall_excl_embed_s']} s, wrote "
                      f"{_mb(o['write_bytes'])} for a {_mb(o['new_segment_bytes'])} segment, "
                      f"reload {o['reload_s']} s", flush=True)
        if "embed" in steps and (d / "add-texts.json").exists():
            row["embed"] = _run_step(["--step", "embed", "--texts", str(d / "add-texts.json")])
            row["embed"]["loadavg_1m"] = machine()["loadavg_1m"]
            print(f"[{size}] real encoder on the added issue:", row["embed"], flush=True)
        if "serve" in steps:
            row["serve"] = serve(d / "index", asked, args.workers, {"data": d, "base": base})
            lat = row["serve"]["latency"]
            print(f"[{size}] serve: p50 {lat['p50_ms']} ms p99 {lat['p99_ms']} ms "
                  f"({lat['requests']} questions, {lat['errors']} errors, load "
                  f"{lat['loadavg_1m_before']}–{lat['loadavg_1m_after']}); memory "
                  f"{row['serve']['memory_after_queries']}", flush=True)
        results["sizes"].append(row)
        save(args.name, results, args.out)

    if args.quality:
        work = data / "quality"
        work.mkdir(exist_ok=True)
        results["quality"] = _run_step(["--step", "quality", "--data", str(work),
                                        "--quality-sets", args.quality_sets, "--adds",
                                        str(args.adds)]
                                       + (["--quality-limit", str(args.quality_limit)]
                                          if args.quality_limit else []))
        results["quality"]["loadavg_1m"] = machine()["loadavg_1m"]
        for r in results["quality"]["sets"]:
            print(f"quality {r['set']}: at once {r['at_once']} | in {r.get('adds', '?')} adds "
                  f"{r['in_adds']} | different results {r['different_results']}", flush=True)
    results["end"] = machine()
    if results["sizes"]:
        print(table(results["sizes"]))
    print("results:", save(args.name, results, args.out))


if __name__ == "__main__":
    main()
