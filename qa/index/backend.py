"""What the search service and the builder see of an index, whatever engine holds it: the
interfaces (``Backend``, ``Archive``) and the records they exchange.

Two engines implement it: the embedded archive (segments on local disk: ``store``,
``snapshot``, ``segment``) and Milvus (``qa.index.milvus``); ``qa.index.factory`` opens the one
``Settings.backend`` names. The engines import this module, never the factory.
``SearchService`` reads through ``Archive`` — one consistent view of the index (a commit point)
— and ``Builder`` writes through ``Backend.commit``, so neither knows which engine it talks to.

Keys are int64 chunk keys, unique within one view.
"""

from __future__ import annotations

import contextlib
from collections.abc import Hashable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np

from qa.errors import ModelMismatch
from qa.index.dense import DenseIndex
from qa.index.lexical import LexicalIndex
from qa.index.segment import PageRecord, SegmentData
from qa.types import Article


@dataclass(frozen=True)
class Where:
    """Filters applied inside retrieval. Empty sets and None restrict nothing; dates are
    YYYY-MM-DD and an article without a date never passes a date filter. Built from a request
    by ``qa.search.filters``."""

    sources: frozenset[str] = frozenset()
    papers: frozenset[str] = frozenset()
    issues: frozenset[str] = frozenset()
    date_from: str | None = None
    date_to: str | None = None

    def empty(self) -> bool:
        return not (self.sources or self.papers or self.issues or self.date_from
                    or self.date_to)


@dataclass(frozen=True)
class ChunkRef:
    key: int
    article_id: str
    start: int
    end: int
    hash: int
    text: str


@dataclass
class IssueInfo:
    id: str
    paper: str | None = None
    date: str | None = None
    number: str | None = None
    pages: list[dict] = field(default_factory=list)     # {"id", "page", "articles"}

    @property
    def articles(self) -> int:
        return sum(p["articles"] for p in self.pages)

    def to_dict(self) -> dict:
        return {"id": self.id, "paper": self.paper, "date": self.date, "number": self.number,
                "articles": self.articles, "pages": self.pages}


def model_mismatch(index_model: str, model: str) -> ModelMismatch:
    return ModelMismatch(f"索引由模型 {index_model} 构建，当前配置的模型是 {model}；"
                         f"请用当前模型重新运行 qa build，或把 QA_MODEL 设回原模型")


def issues_of(pages: dict[str, PageRecord]) -> list[IssueInfo]:
    """The issues these pages make up, by date, each with its pages in page order."""
    issues: dict[str, IssueInfo] = {}
    for p in pages.values():
        info = issues.setdefault(p.issue, IssueInfo(p.issue))
        info.paper = info.paper or p.paper
        info.date = info.date or p.date
        info.number = info.number or p.number
        info.pages.append({"id": p.id, "page": p.page, "articles": p.articles})
    for info in issues.values():
        info.pages.sort(key=lambda x: (x["page"] is None, x["page"] or 0, x["id"]))
    return sorted(issues.values(), key=lambda i: (i.date or "", i.id))


class Archive(DenseIndex, LexicalIndex, Protocol):
    """One consistent, read-only view of the index."""

    name: str            # the commit point (generation) it shows
    model: str
    dim: int

    def chunks(self, keys: list[int]) -> list[ChunkRef]: ...

    def article_key(self, key: int) -> Hashable:
        """The article chunk ``key`` belongs to, as a cheap hashable: results are grouped by
        article before any text is read."""
        ...

    def idf(self, text: str) -> dict[str, float]:
        """Each distinct token of ``text`` with its idf over this view (answer picking and
        confidence weigh question words by it)."""
        ...

    def copies(self, keys: list[int], limit: int) -> dict[int, tuple[list[int], int]]:
        """For each key, the keys of the live chunks with the same text (reprints), itself
        first and at most ``limit`` others, and how many more there are. All at once: one
        question asks for its results' reprints together, and the work is bounded by
        ``limit``, not by how often a boilerplate paragraph was printed."""
        ...

    def article(self, article_id: str) -> Article | None: ...

    def list_articles(self, offset: int, limit: int) -> tuple[int, list[dict]]:
        """(total, summaries ``{"id", "issue", "title", "source", …}``) in index order."""
        ...

    def pages(self) -> dict[str, PageRecord]: ...

    def issues(self) -> list[IssueInfo]: ...

    def vectors_for(self, hashes: np.ndarray) -> dict[int, np.ndarray]:
        """Stored vectors by the hash of the text they embed (``embed_hash``: title + chunk),
        live or deleted, so an add or a correction re-embeds nothing the index has seen."""
        ...

    def health(self) -> dict: ...


class Backend(Protocol):
    """Opening views and committing changes."""

    def exists(self) -> bool: ...

    def current_name(self) -> str | None: ...

    def open(self, model: str | None = None, reuse: Archive | None = None) -> Archive: ...

    @property
    def lock_file(self) -> Path:
        """The file writers of this index lock: one per index, however a process reaches it
        (``qa.index.locks``)."""
        ...

    def lock(self, wait: float = 600.0) -> contextlib.AbstractContextManager:
        """The index's write lock (``qa.index.locks.write_lock`` on ``lock_file``), held around
        ``commit``: the same for every process that writes to the same index."""
        ...

    def serving(self) -> contextlib.AbstractContextManager:
        """Held by ``qa serve`` around its workers, yielding the settings they run with:
        whatever the engine must run once for all of them (a Milvus Lite server)."""
        ...

    def commit(self, base: Archive | None, new: list[SegmentData], remove: list[str],
               *, model: str, dim: int, fresh: bool = False) -> str:
        """Under ``lock()``: make ``new`` (whole pages) visible and the pages ``remove`` (page
        ids) invisible, in one atomic step; ``fresh`` starts from an empty index. Returns the
        new view's name."""
        ...

    def compact(self, *, everything: bool = False, max_chunks: int | None = None,
                model: str | None = None) -> list[str]:
        """Merge what the engine's policy calls for now (``everything``: all of it, dropping
        deleted rows). Returns what was merged or compacted."""
        ...

    def merge_after_add(self, model: str) -> None:
        """After an add, outside ``lock()``: whatever merging the engine leaves to its
        writers (nothing, for an engine that merges by itself)."""
        ...
