"""One commit point of the embedded archive, opened for reading: the ``Archive`` the search
service queries.

A query fans out over the segments and merges once. BM25 uses archive-wide statistics — live
documents, their total length, and document frequencies summed over segments minus what deleted
pages held — so a score does not depend on how the archive happens to be cut into segments, nor
on whether a merge has run. Opening a new commit point reuses the segments the previous one had
open (they are immutable); only new segments are opened and verified, and only the deletions are
re-read, which is what lets a worker pick up an added issue in milliseconds.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from qa.errors import IndexCorrupt, IndexNotFound
from qa.index.backend import ChunkRef, IssueInfo, Where, issues_of, model_mismatch
from qa.index.lexical import Stats, idf, term_hashes, tokenizer_from_config
from qa.index.segment import PageRecord, Segment, key_of
from qa.parallel import fan_out

log = logging.getLogger(__name__)
SHIFT = 32


@dataclass
class _Part:
    """A segment as this commit point sees it: with its deletions."""

    no: int
    seg: Segment
    deleted: set[int]
    live: np.ndarray | None             # live chunks, None when nothing is deleted
    live_articles: np.ndarray | None
    del_terms: np.ndarray               # sorted term positions with deleted documents …
    del_counts: np.ndarray              # … and how many
    deletes: dict | None = None         # the deletion record: also its documents and length


class Snapshot:
    def __init__(self, name: str, manifest, parts: list[_Part]):
        self.name = name
        self.manifest = manifest
        self.model = manifest.model
        self.dim = manifest.dim
        self.parts = parts
        self._by_no = {p.no: p for p in parts}
        self.tokenizer = tokenizer_from_config(manifest.tokenizer)
        docs = length = 0
        for p in parts:
            docs += p.seg.chunks
            length += int(p.seg.meta["length"])
            if p.deletes is not None:
                docs -= int(p.deletes["docs"])
                length -= int(p.deletes["length"])
        self.stats = Stats(docs, length)
        # A question asks for its idf twice (the fusion weight, then the answer); a snapshot
        # never changes, so the second is read from here.
        self._idf_memo: dict[str, dict[str, float]] = {}
        self._issues: list[IssueInfo] | None = None

    @classmethod
    def open(cls, store, name: str | None = None, *, model: str | None = None,
             ef_search: int = 256, reuse: dict[str, Segment] | None = None) -> "Snapshot":
        name = name or store.current_name()
        if not name:
            raise IndexNotFound(f"索引不存在：{store.root}（请先运行 qa build）")
        manifest = store.manifest(name)
        if model is not None and manifest.model != model:
            raise model_mismatch(manifest.model, model)
        reuse = reuse or {}

        def part_of(entry) -> _Part:
            seg = reuse.get(entry.name)
            if seg is None or seg.meta_checksum != entry.meta:
                seg = store.open_segment(entry, ef_search)
            return _part(seg, entry, store.read_deletes(entry))

        try:
            # Checksumming is most of opening a segment, and zlib does it without the GIL:
            # a worker starting on a big archive verifies its segments on all cores.
            parts = fan_out(part_of, manifest.segments)
        except IndexCorrupt as e:
            raise IndexCorrupt(f"索引 {store.root / name}：{e.message}") from None
        counts = manifest.counts
        if sum(p.seg.chunks - (0 if p.live is None else int((~p.live).sum()))
               for p in parts) != counts.get("chunks"):
            raise IndexCorrupt(f"索引 {store.root / name} 的各部分数量不一致")
        return cls(name, manifest, parts)

    def segments(self) -> dict[str, Segment]:
        return {p.seg.name: p.seg for p in self.parts}

    # -- keys -----------------------------------------------------------------------------

    @staticmethod
    def key(part: _Part, local: int) -> int:
        return (part.no << SHIFT) | int(local)

    def _locate(self, key: int) -> tuple[_Part, int]:
        part = self._by_no.get(key >> SHIFT)
        local = key & ((1 << SHIFT) - 1)
        if part is None or local >= part.seg.chunks:
            raise KeyError(key)
        return part, local

    # -- retrieval ------------------------------------------------------------------------

    def _allowed(self, part: _Part, where: Where | None) -> np.ndarray | None:
        articles = part.seg.article_filter(where)
        if articles is None:
            return part.live
        allowed = articles[np.asarray(part.seg.chunk_article)]
        return allowed if part.live is None else allowed & part.live

    def dense(self, vector: np.ndarray, k: int, where: Where | None = None) -> dict[int, float]:
        def search(part: _Part):
            return part, part.seg.vectors.search(vector, k, self._allowed(part, where))

        found: list[tuple[float, int]] = []
        for part, (scores, ids) in fan_out(search, self.parts):
            found.extend((float(s), self.key(part, i)) for s, i in zip(scores, ids))
        found.sort(key=lambda x: (-x[0], x[1]))
        return {key: score for score, key in found[:k]}

    def _terms(self, query: str) -> tuple[list[str], np.ndarray, np.ndarray, list[np.ndarray]]:
        """Query tokens with their idf over the whole archive, and their position in each
        segment's vocabulary. Tokens no live document holds are dropped."""
        tokens = self.tokenizer(query)
        if not tokens:
            return [], np.zeros(0), np.zeros(0, np.uint64), []
        keys = term_hashes(tokens)
        df, positions = self._df(keys)
        known = df > 0
        weights = idf(df, self.stats.docs)
        return ([t for t, k in zip(tokens, known) if k], weights[known], keys[known],
                [pos[known] for pos in positions])

    def lexical(self, query: str, k: int, where: Where | None = None) -> dict[int, float]:
        tokens, weights, _, positions = self._terms(query)
        if not tokens or k < 1:
            return {}

        def search(part_pos: tuple[_Part, np.ndarray]):
            part, pos = part_pos
            return part, part.seg.postings.top(pos, weights, self.stats.avgdl,
                                               self._allowed(part, where), k)

        found: list[tuple[float, int]] = []
        for part, (docs, scores) in fan_out(search, list(zip(self.parts, positions))):
            found.extend((float(s), self.key(part, d)) for s, d in zip(scores, docs))
        found.sort(key=lambda x: (-x[0], x[1]))
        return {key: score for score, key in found[:k]}

    def idf(self, text: str) -> dict[str, float]:
        """Each distinct token of ``text`` with its idf over the whole archive (a token no
        live chunk holds gets the highest)."""
        memo = self._idf_memo.get(text)
        if memo is None:
            memo = self._idf(text)
            if len(self._idf_memo) >= 256:
                self._idf_memo.clear()
            self._idf_memo[text] = memo
        return dict(memo)

    def _idf(self, text: str) -> dict[str, float]:
        tokens = list(dict.fromkeys(self.tokenizer(text)))
        if not tokens:
            return {}
        df, _ = self._df(term_hashes(tokens))
        return dict(zip(tokens, idf(df, self.stats.docs).tolist()))

    def _df(self, keys: np.ndarray) -> tuple[np.ndarray, list[np.ndarray]]:
        """Each term's live document frequency over the archive, and its position in each
        segment's vocabulary (-1 where absent)."""
        df = np.zeros(len(keys), np.int64)
        positions = []
        for part in self.parts:
            pos = part.seg.postings.find(keys)
            df += part.seg.postings.df(pos) - _deleted_df(part, pos)
            positions.append(pos)
        return df, positions

    def coverage(self, query: str, key: int) -> float:
        """How much of what the query says lexically this chunk says too: the idf-weighted
        share of the query's distinct tokens found in it. Tokens the archive never uses count
        against it (with the highest idf), which is what a paraphrase looks like to BM25."""
        weights = self.idf(query)
        if not weights:
            return 0.0
        try:
            part, local = self._locate(key)
        except KeyError:
            return 0.0
        mine = part.seg.postings.find(term_hashes(list(weights)))
        held = sum(w for w, pos in zip(weights.values(), mine)
                   if part.seg.postings.holds(int(pos), local))
        total = sum(weights.values())
        return float(held / total) if total > 0 else 0.0

    # -- chunks and articles --------------------------------------------------------------

    def article_key(self, key: int) -> tuple[int, int]:
        """Which article chunk ``key`` belongs to, as a cheap hashable (no text is read)."""
        part, local = self._locate(key)
        return part.no, int(part.seg.chunk_article[local])

    def chunks(self, keys: list[int]) -> list[ChunkRef]:
        out = []
        for key in keys:
            part, local = self._locate(key)
            seg = part.seg
            a = int(seg.chunk_article[local])
            start, end = (int(x) for x in seg.chunk_span[local])
            out.append(ChunkRef(key, seg.article_summary(a)["id"], start, end,
                                int(seg.chunk_hash[local]), seg.body(a)[start:end]))
        return out

    def copies(self, keys: list[int], limit: int) -> dict[int, tuple[list[int], int]]:
        return {key: self._copies(key, limit) for key in keys}

    def _copies(self, key: int, limit: int) -> tuple[list[int], int]:
        part, local = self._locate(key)
        h = np.array([part.seg.chunk_hash[local]], dtype=np.uint64)
        out, more = [key], 0
        for p in self.parts:
            rows = p.seg.find_chunks(h)[0]
            if p.live is not None:
                rows = rows[p.live[rows]]
            if p is part:
                rows = rows[rows != local]
            take = max(0, limit + 1 - len(out))
            out.extend(self.key(p, int(j)) for j in rows[:take])
            more += max(0, len(rows) - take)
        return out, more

    def _find_article(self, article_id: str) -> tuple[_Part, int] | None:
        key = key_of(article_id)
        for part in reversed(self.parts):       # newest first: a live copy wins
            i = part.seg.find_article(key)
            if i is not None and (part.live_articles is None or part.live_articles[i]):
                return part, i
        return None

    def article(self, article_id: str):
        found = self._find_article(article_id)
        if found is None:
            return None
        part, i = found
        a = part.seg.article(i)
        return a if a.id == article_id else None

    def list_articles(self, offset: int, limit: int) -> tuple[int, list[dict]]:
        live = [np.arange(p.seg.articles) if p.live_articles is None
                else np.flatnonzero(p.live_articles) for p in self.parts]
        total = sum(len(x) for x in live)
        out: list[dict] = []
        for part, numbers in zip(self.parts, live):
            if offset >= len(numbers):
                offset -= len(numbers)
                continue
            for i in numbers[offset: offset + limit - len(out)]:
                out.append(part.seg.article_summary(int(i)))
            offset = 0
            if len(out) >= limit:
                break
        return total, out

    def pages(self) -> dict[str, PageRecord]:
        out = {}
        for part in self.parts:
            for n, p in enumerate(part.seg.pages):
                if n not in part.deleted:
                    out[p["id"]] = PageRecord(**p)
        return out

    def issues(self) -> list[IssueInfo]:
        # once per commit point (it never changes), not once per request
        if self._issues is None:
            self._issues = issues_of(self.pages())
        return self._issues

    def vectors_for(self, hashes: np.ndarray) -> dict[int, np.ndarray]:
        hashes = np.asarray(hashes, dtype=np.uint64)
        out: dict[int, np.ndarray] = {}
        for part in self.parts:
            for h, rows in zip(hashes, part.seg.find_chunks(hashes, embedded=True)):
                if len(rows) and int(h) not in out:
                    out[int(h)] = np.array(part.seg.vectors.vectors[int(rows[0])])
        return out

    def health(self) -> dict:
        m = self.manifest
        kinds = {p.seg.kind for p in self.parts}
        return {"generation": self.name, "model": m.model, "articles": m.counts["articles"],
                "chunks": m.counts["chunks"], "issues": m.counts["issues"],
                "pages": m.counts["pages"], "segments": len(self.parts),
                "dense_index": "hnsw" if "hnsw" in kinds else "flat", "created": m.created}

    def close(self) -> None:
        for p in self.parts:
            p.seg.close()


def _deleted_df(part: _Part, positions: np.ndarray) -> np.ndarray:
    if not len(part.del_terms):
        return np.zeros(len(positions), np.int64)
    i = np.searchsorted(part.del_terms, positions)
    i = np.minimum(i, len(part.del_terms) - 1)
    hit = (positions >= 0) & (part.del_terms[i] == positions)
    return np.where(hit, part.del_counts[i], 0)


def _part(seg: Segment, entry, deletes: dict | None) -> _Part:
    deleted = set(entry.deleted)
    if any(not 0 <= n < len(seg.pages) for n in deleted):
        raise IndexCorrupt(f"删除记录指向不存在的版面：{seg.name}")
    live = live_articles = None
    if deleted:
        dead_articles, dead_chunks = seg.dead_masks(deleted)
        live, live_articles = ~dead_chunks, ~dead_articles
    empty = np.zeros(0, np.int64)
    if deletes is None:
        return _Part(int(seg.name[4:]), seg, deleted, live, live_articles, empty, empty)
    return _Part(int(seg.name[4:]), seg, deleted, live, live_articles,
                 deletes["terms"], deletes["counts"], deletes)
