"""Writes to the index, whatever engine holds it: add, replace, remove, build, compact.

The unit is a page: one page file, or one record of a JSON Lines corpus. A page already held with
the same content (and metadata) is left alone; held with other content it is replaced — its old
articles are never answered again; a new page is added. Chunks are embedded only if the index has
never embedded their text (title included): a corrected page re-embeds only what changed, and a
re-added page nothing. A passage reprinted elsewhere is indexed again (segments are immutable)
and grouped with its copies at query time (``also_in``).
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass, field

import numpy as np

from qa.chunking import chunk_article, chunk_for_embedding
from qa.embedding import UsesEncoder
from qa.config import Settings
from qa.errors import Conflict, NotFound
from qa.index.factory import open_backend
from qa.index.faults import fault_point
from qa.index.segment import PageRecord, SegmentData, chunk_hash, key_of
from qa.types import Article

log = logging.getLogger(__name__)


@dataclass
class Page:
    """A page to write, with its issue's metadata (None where unknown)."""

    id: str
    issue: str
    articles: list[Article]
    page: int | None = None
    paper: str | None = None
    date: str | None = None
    number: str | None = None

    def record(self) -> PageRecord:
        return PageRecord(self.id, self.issue, self.hash(), len(self.articles), self.page,
                          self.paper, self.date, self.number)

    def hash(self) -> str:
        content = [[a.id, a.title, a.source, a.text, a.captions, a.date, a.url, a.page]
                   for a in self.articles]
        meta = [self.issue, self.page, self.paper, self.date, self.number]
        return hashlib.sha1(json.dumps([meta, content], ensure_ascii=False)
                            .encode("utf-8")).hexdigest()[:16]


@dataclass
class BuildReport:
    generation: str | None
    added: list[str] = field(default_factory=list)        # page ids
    replaced: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    articles: list[Article] = field(default_factory=list)  # the articles written
    chunks: int = 0
    embedded: int = 0                   # chunks whose text had to be embedded
    totals: dict = field(default_factory=dict)

    @property
    def changed(self) -> bool:
        return bool(self.added or self.replaced or self.removed)


class Builder(UsesEncoder):
    def __init__(self, settings: Settings, encoder=None, backend=None):
        self.settings = settings
        self._encoder = encoder
        self.backend = backend or open_backend(settings)

    # -- public ---------------------------------------------------------------------------

    def build(self, pages: list[Page], progress: bool = False, reuse=None) -> BuildReport:
        """A fresh index from these pages only, switched to atomically. Vectors ``reuse`` (an
        archive, of any backend) holds for the same text are taken from it."""
        with self.backend.lock():
            report = BuildReport(None, added=[p.id for p in pages])
            data = self._segments(pages, reuse, report, progress)
            report.generation = self.backend.commit(None, data, [], model=self.model_id,
                                                    dim=self._dim(reuse), fresh=True)
            report.totals = self._totals()
        return report

    def add(self, pages: list[Page], progress: bool = False) -> BuildReport:
        """New pages are added, changed ones replaced, identical ones left alone."""
        with self.backend.lock():
            base = self._base()
            held = base.pages() if base is not None else {}
            report = BuildReport(base.name if base is not None else None)
            fresh = []
            for page in _inherit(pages, held):
                old = held.get(page.id)
                if old is None:
                    report.added.append(page.id)
                elif old.hash != page.hash():
                    report.replaced.append(page.id)
                else:
                    report.unchanged.append(page.id)
                    continue
                fresh.append(page)
            if fresh:
                data = self._segments(fresh, base, report, progress)
                report.generation = self.backend.commit(
                    base, data, report.replaced, model=self.model_id, dim=self._dim(base))
            report.totals = self._totals()
        if fresh:
            self.backend.merge_after_add(self.model_id)
        return report

    def remove(self, ids: list[str]) -> BuildReport:
        """Remove issues or pages by id; every id must be held (else nothing is removed)."""
        with self.backend.lock():
            base = self._base()
            held = base.pages() if base is not None else {}
            by_issue: dict[str, list[str]] = {}
            for p in held.values():
                by_issue.setdefault(p.issue, []).append(p.id)
            pages: list[str] = []
            unknown = []
            for i in ids:
                found = by_issue.get(i) or ([i] if i in held else [])
                if not found:
                    unknown.append(i)
                pages.extend(p for p in found if p not in pages)
            if unknown:
                raise NotFound("没有这一期或这个版面：" + "、".join(unknown))
            report = BuildReport(base.name if base is not None else None, removed=pages)
            if pages:
                report.generation = self.backend.commit(base, [], pages, model=base.model,
                                                        dim=base.dim)
            report.totals = self._totals()
        return report

    def compact(self) -> list[str]:
        """Merge the whole archive into one segment (dropping what was deleted)."""
        return self.backend.compact(everything=True, model=self.model_id)

    # -- steps ----------------------------------------------------------------------------

    def _base(self):
        if not self.backend.exists():
            return None
        return self.backend.open(model=self.model_id)

    def _dim(self, base) -> int:
        """The vectors' dimension, without loading the model when nothing needed embedding."""
        if self._encoder is None and base is not None and base.dim:
            return base.dim
        return self.encoder.dim

    def _totals(self) -> dict:
        if not self.backend.exists():
            return {}
        return self.backend.open(model=self.model_id).health()

    def _segments(self, pages: list[Page], base, report: BuildReport,
                  progress: bool) -> list[SegmentData]:
        """Pages → segments of at most ``segment_max_chunks`` chunks, embedded."""
        s = self.settings
        batches, batch, size = [], [], 0
        for page in pages:
            n = sum(len(chunk_article(a, s.chunk_chars, s.chunk_overlap_sentences))
                    for a in page.articles) if len(pages) > 1 else 0
            if batch and size + n > s.segment_max_chunks:
                batches.append(batch)
                batch, size = [], 0
            batch.append(page)
            size += n
        if batch:
            batches.append(batch)
        return [self._segment(b, base, report, progress) for b in batches]

    def _segment(self, pages: list[Page], base, report: BuildReport,
                 progress: bool) -> SegmentData:
        s = self.settings
        articles: list[Article] = []
        chunk_articles, spans, hashes, embeds, texts = [], [], [], [], []
        for page in pages:
            for a in page.articles:
                for ch in chunk_article(a, s.chunk_chars, s.chunk_overlap_sentences):
                    text = chunk_for_embedding(ch, a.title)
                    chunk_articles.append(len(articles))
                    spans.append((ch.start, ch.end))
                    hashes.append(chunk_hash(ch.id))
                    embeds.append(key_of(text))
                    texts.append(text)
                articles.append(a)
        embed_hash = np.array(embeds, dtype=np.uint64)
        vectors = self._vectors(texts, embed_hash, base, report, progress)
        report.articles.extend(articles)
        report.chunks += len(texts)
        return SegmentData([p.record() for p in pages], articles,
                           np.array(chunk_articles, dtype=np.int32),
                           np.array(spans, dtype=np.int32).reshape(-1, 2),
                           np.array(hashes, dtype=np.uint64), embed_hash, vectors,
                           lexical=texts)

    def _vectors(self, texts: list[str], keys: np.ndarray, base, report: BuildReport,
                 progress: bool) -> np.ndarray:
        known = base.vectors_for(np.unique(keys)) if base is not None and len(keys) else {}
        pending: dict[int, str] = {}
        for key, text in zip(keys.tolist(), texts):
            if key not in known:
                pending.setdefault(key, text)
        log.info("embedding %d new chunk(s), reusing %d", len(pending), len(keys) - len(pending))
        fault_point("embed")
        if pending:
            fresh = self.encoder.encode_passages(list(pending.values()), show_progress=progress)
            known.update(zip(pending, fresh))
        report.embedded += len(pending)
        dim = self._dim(base)
        if not len(keys):
            return np.zeros((0, dim), np.float32)
        return np.stack([known[k] for k in keys.tolist()]).astype(np.float32, copy=False).reshape(-1, dim)


def _inherit(pages: list[Page], held: dict[str, PageRecord]) -> list[Page]:
    """Pages with their issue's metadata filled in from what the index holds, and refused if
    they contradict it (one issue has one date, one paper, one number)."""
    issues: dict[str, dict] = {}
    for p in held.values():
        meta = issues.setdefault(p.issue, {})
        for k in ("paper", "date", "number"):
            if getattr(p, k) and k not in meta:
                meta[k] = getattr(p, k)
    # Pages replaced in this same batch do not hold their issue's metadata any more.
    out = []
    for page in pages:
        meta = issues.setdefault(page.issue, {})
        replaced = held.get(page.id)
        for k, label in (("paper", "报纸名称"), ("date", "日期"), ("number", "期号")):
            given, known = getattr(page, k), meta.get(k)
            if given and known and given != known:
                only_this = replaced is not None and all(
                    p.id == page.id for p in held.values() if p.issue == page.issue)
                if not only_this:
                    raise Conflict(f"第 {page.issue} 期已登记{label}“{known}”，与这次给出的"
                                   f"“{given}”不一致；请先用 qa remove {page.issue} 删除该期，"
                                   f"或给出相同的{label}")
            if not given and known:
                setattr(page, k, known)
                for a in page.articles:
                    if k in ("paper", "date") and getattr(a, k) is None:
                        setattr(a, k, known)
            elif given:
                meta[k] = given
        out.append(page)
    return out
