"""Build and add: ingested articles → chunks → vectors → a new index generation.

``add`` embeds only chunks whose text the index does not hold yet; a reprinted passage gets one
more citation instead of a second copy, and re-adding an issue already indexed changes nothing
(no new generation is written).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np

from qa.chunking import chunk_article, chunk_for_embedding
from qa.config import Settings
from qa.index.dense import FaissIndex
from qa.index.lexical import BM25Index
from qa.index.store import IndexStore, fault_point
from qa.ingest import IngestResult
from qa.types import Article

log = logging.getLogger(__name__)


@dataclass
class BuildReport:
    generation: str | None
    articles_added: int = 0
    chunks_added: int = 0
    citations_added: int = 0
    total_articles: int = 0
    total_chunks: int = 0
    titles: list[str | None] = field(default_factory=list)
    new_article_ids: list[str] = field(default_factory=list)

    def summary(self) -> str:
        if not self.articles_added:
            return f"nothing new; index unchanged ({self.generation})"
        return (f"{self.generation}: +{self.articles_added} article(s), +{self.chunks_added} "
                f"chunk(s), +{self.citations_added} reprint citation(s); total "
                f"{self.total_articles} articles, {self.total_chunks} chunks")


class Builder:
    def __init__(self, settings: Settings, encoder):
        self.settings = settings
        self.encoder = encoder
        self.store = IndexStore(settings.index_dir)

    def _dense_params(self) -> dict:
        s = self.settings
        return {"exact_max": s.exact_max, "m": s.hnsw_m,
                "ef_construction": s.hnsw_ef_construction, "ef_search": s.hnsw_ef_search}

    def build(self, result: IngestResult, progress: bool = False) -> BuildReport:
        """A fresh index from these articles only."""
        with self.store.lock():
            return self._write([], [], np.zeros((0, self.encoder.dim), np.float32), None,
                               result.articles, progress)

    def add(self, result: IngestResult, progress: bool = False) -> BuildReport:
        """The live index plus these articles."""
        with self.store.lock():
            if not self.store.exists():
                return self._write([], [], np.zeros((0, self.encoder.dim), np.float32), None,
                                   result.articles, progress)
            snap = self.store.load(model=self.encoder.model_id)
            return self._write(list(snap.articles.values()), snap.chunks, snap.vectors,
                               snap, result.articles, progress)

    def _write(self, articles: list[Article], chunks: list[dict], vectors: np.ndarray,
               snap, incoming: list[Article], progress: bool) -> BuildReport:
        known = {a.id for a in articles}
        by_hash = {c["hash"]: c for c in chunks}
        chunks = [dict(c, citations=list(c["citations"])) for c in chunks]
        by_hash = {c["hash"]: c for c in chunks}
        new_articles = []
        for a in incoming:
            if a.id not in known:
                known.add(a.id)
                new_articles.append(a)
        report = BuildReport(generation=snap.name if snap else self.store.current_name())
        if not new_articles:
            report.total_articles, report.total_chunks = len(articles), len(chunks)
            return report

        pending: list[str] = []
        for a in new_articles:
            for ch in chunk_article(a, self.settings.chunk_chars,
                                    self.settings.chunk_overlap_sentences):
                cite = {"article_id": a.id, "start": ch.start, "end": ch.end}
                if ch.id in by_hash:
                    if cite not in by_hash[ch.id]["citations"]:
                        by_hash[ch.id]["citations"].append(cite)
                        report.citations_added += 1
                    continue
                rec = {"id": len(chunks), "hash": ch.id, "text": ch.text, "citations": [cite],
                       "embed": chunk_for_embedding(ch, a.title)}
                chunks.append(rec)
                by_hash[ch.id] = rec
                pending.append(rec["embed"])
        new_ids = np.arange(len(chunks) - len(pending), len(chunks), dtype=np.int64)
        log.info("embedding %d new chunk(s)", len(pending))
        fault_point("embed")
        if pending:
            new_vectors = self.encoder.encode_passages(pending, show_progress=progress)
        else:
            new_vectors = np.zeros((0, self.encoder.dim), np.float32)
        all_vectors = np.vstack([vectors, new_vectors]).astype(np.float32)
        params = self._dense_params()
        if snap is not None and len(new_ids):
            dense = snap.dense
            dense.add(new_ids, new_vectors)
        elif snap is not None:
            dense = snap.dense
        else:
            dense = FaissIndex.build(np.arange(len(chunks), dtype=np.int64), all_vectors, **params)
        all_articles = articles + new_articles
        titles = {a.id: a.title for a in all_articles}
        lexical_texts = [c.get("embed") or _lexical_text(c, titles) for c in chunks]
        lexical = BM25Index.build([c["id"] for c in chunks], lexical_texts)
        name = self.store.write(model=self.encoder.model_id, dim=self.encoder.dim,
                                articles=all_articles, chunks=chunks, vectors=all_vectors,
                                dense=dense, lexical=lexical, dense_params=params,
                                extra={"chunking": {"chars": self.settings.chunk_chars,
                                                    "overlap": self.settings.chunk_overlap_sentences}})
        report.generation = name
        report.articles_added = len(new_articles)
        report.chunks_added = len(pending)
        report.total_articles, report.total_chunks = len(all_articles), len(chunks)
        report.titles = [a.title for a in new_articles]
        report.new_article_ids = [a.id for a in new_articles]
        return report


def _lexical_text(chunk: dict, titles: dict[str, str | None]) -> str:
    """The same title-prefixed text the chunk was embedded with."""
    title = titles.get(chunk["citations"][0]["article_id"])
    return f"{title}\n{chunk['text']}" if title else chunk["text"]


def add_files(builder: Builder, files: list[tuple[str, bytes]], max_bytes: int) -> dict:
    """Ingest uploaded page files and add them: the service behind ``POST /api/issues``.

    Bad files are skipped with their reason; the rest is indexed. Raises ``BadIssueFile`` only
    when nothing at all could be read, so the client gets a 4xx instead of an empty success.
    """
    from qa.errors import BadIssueFile
    from qa.ingest import IngestResult, Skipped, ingest_bytes, issue_id

    result = IngestResult()
    for name, data in files:
        result.files += 1
        try:
            pages: list[Skipped] = []         # unreadable pages of a PDF whose others were read
            result.articles.extend(ingest_bytes(data, name, max_bytes, pages))
            result.skipped += [Skipped(issue_id(name), s.reason, s.page) for s in pages]
        except BadIssueFile as e:
            result.skipped.append(Skipped(issue_id(name), e.message.split(": ", 1)[-1]))
    if not result.articles:
        reasons = "; ".join(f"{s.name}: {s.reason}" for s in result.skipped) or "没有文件"
        raise BadIssueFile(f"没有可以收录的文章（{reasons}）")
    report = builder.add(result)
    by_id = {a.id: a for a in result.articles}
    return {
        "generation": report.generation,
        "added": report.articles_added,
        "articles": [{"id": i, "issue": by_id[i].issue, "title": by_id[i].title,
                      "source": by_id[i].source} for i in report.new_article_ids],
        "unchanged": len(result.articles) - report.articles_added,
        "skipped": [{"name": s.name, "reason": s.reason} for s in result.skipped],
    }
