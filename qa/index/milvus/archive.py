"""One commit point of the archive in Milvus, opened for reading: the ``Archive`` the search
service queries.

Both candidate lists come from Milvus, filtered inside the search (``where`` and the view of
this generation are one ``expr``): dense from the HNSW index over the chunk vectors, lexical from
the sparse index over the BM25 vectors. The lexical candidates are then scored exactly as the
embedded archive scores them — bm25s's formula with archive-wide document frequencies (the
``terms`` collection, as of this generation) and the average length of this generation — from the
tokens each chunk row carries; so fusion, which stays ours, sees the same numbers whichever
backend holds the archive. The sparse vectors only find the candidates (their document side was
weighted with the average length at the time it was written, which later additions shift).

A chunk's fields are immutable under its key, so rows fetched by a search are kept (bounded) and
carried over to the next generation's view; passages, citations and the answer-type check then
need no further round trips.
"""

from __future__ import annotations

import json
import threading
from collections import Counter, OrderedDict

import numpy as np

from qa.index.backend import ChunkRef, IssueInfo, Where, issues_of
from qa.index.lexical import Stats, idf, term_hashes, tokenizer_from_config
from qa.index.milvus import schema as S
from qa.index.segment import PageRecord
from qa.types import Article

CHUNK_FIELDS = ("article_id", "start", "stop", "hash", "text")
LEXICAL_FIELDS = CHUNK_FIELDS + ("tokens",)
SUMMARY_FIELDS = ("summary",)
QUERY_WINDOW = 16_384       # offset + limit of one query, at most (a server's default)
BATCH = 1_000


class _LRU:
    """A small thread-safe LRU: gunicorn's threads share the archive."""

    def __init__(self, size: int):
        self.size = size
        self.items: OrderedDict = OrderedDict()
        self.lock = threading.Lock()

    def get(self, key):
        with self.lock:
            value = self.items.get(key)
            if value is not None:
                self.items.move_to_end(key)
            return value

    def put(self, key, value) -> None:
        with self.lock:
            self.items[key] = value
            self.items.move_to_end(key)
            while len(self.items) > self.size:
                self.items.popitem(last=False)


class MilvusArchive:
    def __init__(self, conn, prefix: str, gen: int, meta: dict, ef_search: int,
                 rows: _LRU | None = None):
        self.conn = conn
        self.gen = gen
        self.meta = meta
        self.set = int(meta["set"])
        self.names = {k: S.collection(prefix, self.set, k) for k in S.KINDS}
        self.name = S.generation_name(gen)
        self.model = meta["model"]
        self.dim = int(meta["dim"])
        self.tokenizer = tokenizer_from_config(meta["tokenizer"])
        self.stats = Stats(int(meta["docs"]), int(meta["length"]))
        self.pending = list(meta.get("pending") or [])
        self.view = S.view_expr(gen, self.pending)
        self.ef_search = ef_search
        self.rows = rows if rows is not None else _LRU(20_000)     # chunk key → fields
        self._articles = _LRU(512)
        self._df = _LRU(20_000)
        self._issues: list[IssueInfo] | None = None

    # -- plumbing -------------------------------------------------------------------------

    def _filter(self, where: Where | None = None) -> str:
        extra = S.where_expr(where)
        return f"{self.view} and {extra}" if extra else self.view

    def _query(self, kind: str, expr: str, fields, **kwargs) -> list[dict]:
        return list(self.conn.call("query", collection_name=self.names[kind], filter=expr,
                                   output_fields=list(fields), **kwargs))

    def scan(self, kind: str, expr: str, fields) -> list[dict]:
        """Every row matching ``expr``, in key order, a window at a time (a query returns at
        most ``QUERY_WINDOW`` rows)."""
        out: list[dict] = []
        last = None
        while True:
            cond = expr if last is None else f"({expr}) and id > {last}"
            batch = sorted(self._query(kind, cond, ("id",) + tuple(fields), limit=BATCH),
                           key=lambda r: r["id"])
            out.extend(batch)
            if len(batch) < BATCH:
                return out
            last = batch[-1]["id"]

    def _remember(self, key: int, entity: dict) -> None:
        old = self.rows.get(key)
        self.rows.put(key, {**old, **entity} if old else dict(entity))

    def _chunk_rows(self, keys: list[int], fields=CHUNK_FIELDS) -> dict[int, dict]:
        """Rows of these chunk keys with at least ``fields``; keys the view lacks are absent."""
        out, missing = {}, []
        for key in keys:
            row = self.rows.get(key)
            if row is not None and all(f in row for f in fields):
                out[key] = row
            else:
                missing.append(key)
        for i in range(0, len(missing), BATCH):
            part = missing[i:i + BATCH]
            for r in self._query("chunks", f"{S.in_list('id', part)} and {self.view}",
                                 LEXICAL_FIELDS):
                key = int(r.pop("id"))
                self._remember(key, r)
                out[key] = self.rows.get(key) or r
        return out

    def warm(self, timeout: float) -> None:
        """One search on each index, allowed ``timeout``: Milvus Lite builds its indexes on
        first use (minutes at 100k chunks), which would otherwise fall on a reader's question
        and run into its deadline."""
        for field, data, metric in (("vector", [[0.0] * self.dim], "IP"),
                                    ("sparse", [dict(S.EMPTY)], "IP")):
            self.conn.call("search", collection_name=self.names["chunks"], anns_field=field,
                           data=data, limit=1, filter=self.view, output_fields=[],
                           search_params={"metric_type": metric}, timeout=timeout)

    # -- retrieval ------------------------------------------------------------------------

    def dense(self, vector: np.ndarray, k: int, where: Where | None = None) -> dict[int, float]:
        if k < 1:
            return {}
        found = self.conn.call(
            "search", collection_name=self.names["chunks"], anns_field="vector",
            data=[np.asarray(vector, dtype=np.float32).tolist()], limit=min(k, QUERY_WINDOW),
            filter=self._filter(where), output_fields=list(CHUNK_FIELDS),
            search_params={"metric_type": "IP", "params": {"ef": max(self.ef_search, k)}})
        hits = []
        for hit in found[0]:
            self._remember(int(hit["id"]), hit["entity"])
            hits.append((float(hit["distance"]), int(hit["id"])))
        hits.sort(key=lambda x: (-x[0], x[1]))
        return {key: score for score, key in hits[:k]}

    def document_frequencies(self, tokens: list[str]) -> np.ndarray:
        """Live chunks holding each token, as of this generation."""
        df = np.zeros(len(tokens), np.int64)
        unknown = {t for t in tokens if self._df.get(t) is None}
        if unknown:
            ordered = list(unknown)
            ids = S.signed(term_hashes(ordered)).tolist()
            got = {t: 0 for t in ordered}
            by_id = dict(zip(ids, ordered))
            for r in self._query("terms", S.in_list("id", ids), ("gen", "df", "df_before")):
                # A row a later commit rewrote still holds this generation's count.
                got[by_id[int(r["id"])]] = int(r["df"] if r["gen"] <= self.gen
                                               else r["df_before"])
            for t, n in got.items():
                self._df.put(t, n)
        for i, t in enumerate(tokens):
            df[i] = self._df.get(t) or 0
        return df

    def lexical(self, query: str, k: int, where: Where | None = None) -> dict[int, float]:
        tokens = self.tokenizer(query)
        if not tokens or k < 1:
            return {}
        df = self.document_frequencies(tokens)
        weights: dict[str, float] = {}
        for t, w, known in zip(tokens, idf(df, self.stats.docs), df > 0):
            if known:                       # a token asked twice counts twice
                weights[t] = weights.get(t, 0.0) + float(w)
        if not weights:
            return {}
        found = self.conn.call(
            "search", collection_name=self.names["chunks"], anns_field="sparse",
            data=[S.sparse_weights(weights)], limit=min(2 * k, QUERY_WINDOW),
            filter=self._filter(where), output_fields=list(LEXICAL_FIELDS),
            search_params={"metric_type": "IP", "params": {"drop_ratio_search": 0.0}})
        scored = []
        for hit in found[0]:
            key, entity = int(hit["id"]), hit["entity"]
            self._remember(key, entity)
            score = self._bm25(entity["tokens"], weights)
            if score > 0:
                scored.append((score, key))
        scored.sort(key=lambda x: (-x[0], x[1]))
        return {key: score for score, key in scored[:k]}

    def _bm25(self, tokens: str, weights: dict[str, float]) -> float:
        toks = tokens.split()
        tfc = S.tf_component(Counter(t for t in toks if t in weights), len(toks),
                             self.stats.avgdl)
        return float(sum(weights[t] * c for t, c in tfc.items()))

    def idf(self, text: str) -> dict[str, float]:
        """Each distinct token of ``text`` with its idf over this generation (a token no live
        chunk holds gets the highest), as the embedded archive gives it."""
        tokens = list(dict.fromkeys(self.tokenizer(text)))
        if not tokens:
            return {}
        return dict(zip(tokens, idf(self.document_frequencies(tokens),
                                    self.stats.docs).tolist()))

    def coverage(self, query: str, key: int) -> float:
        """The idf-weighted share of the query's distinct tokens found in chunk ``key`` (as the
        embedded archive computes it: tokens the archive never uses count with the highest
        idf)."""
        weights = self.idf(query)
        if not weights:
            return 0.0
        row = self._chunk_rows([key], LEXICAL_FIELDS).get(key)
        if row is None:
            return 0.0
        held = set(row["tokens"].split())
        total = sum(weights.values())
        return float(sum(w for t, w in weights.items() if t in held) / total) \
            if total > 0 else 0.0

    # -- chunks and articles --------------------------------------------------------------

    def article_key(self, key: int) -> str:
        """The article chunk ``key`` belongs to: its id (a search already fetched the row, so
        this costs no round trip for a candidate)."""
        row = self._chunk_rows([key], ("article_id",)).get(key)
        if row is None:
            raise KeyError(key)
        return row["article_id"]

    def chunks(self, keys: list[int]) -> list[ChunkRef]:
        rows = self._chunk_rows(list(keys))
        out = []
        for key in keys:
            r = rows.get(key)
            if r is None:
                raise KeyError(key)
            out.append(ChunkRef(key, r["article_id"], int(r["start"]), int(r["stop"]),
                                int(r["hash"]), r["text"]))
        return out

    def copies(self, keys: list[int], limit: int) -> dict[int, tuple[list[int], int]]:
        """One ``hash in [...]`` query for all of them (Lite answers each query by checking
        every row, so a query per key made a Lite ``ask`` at 100k chunks take ~10 s), of at
        most ``limit + 1`` rows a hash: when a hash fills its share, the query is repeated for
        the others, and a hash with more copies is counted (``count(*)``) instead of fetched.
        The listed copies' rows and articles are fetched in one query each, for the citations
        the service makes of them."""
        rows = self._chunk_rows(list(keys))
        missing = [k for k in keys if k not in rows]
        if missing:
            raise KeyError(missing[0])
        todo = sorted({int(rows[k]["hash"]) for k in keys})
        same: dict[int, list[int]] = {}         # hash → live chunk keys, in key order
        total: dict[int, int] = {}              # hash → how many live chunks hold it
        while todo:
            share = (limit + 1) * len(todo)
            found: dict[int, list[int]] = {h: [] for h in todo}
            for r in self._query("chunks", f"{S.in_list('hash', todo)} and {self.view}",
                                 ("hash",), limit=share):
                found[int(r["hash"])].append(int(r["id"]))
            complete = sum(map(len, found.values())) < share
            for h, ids in found.items():
                if complete:
                    same[h], total[h] = sorted(ids), len(ids)
                elif len(ids) >= limit + 1:     # enough to list; the rest only counted
                    same[h] = sorted(ids)[:limit + 1]
                    total[h] = self._count("chunks", f"hash == {h} and {self.view}")
            todo = [h for h in todo if h not in same]
        out: dict[int, tuple[list[int], int]] = {}
        for k in keys:
            h = int(rows[k]["hash"])
            others = [o for o in same[h] if o != k][:limit]
            out[k] = ([k, *others], max(0, total[h] - 1 - len(others)))
        listed = [o for keys_, _ in out.values() for o in keys_[1:]]
        self._prefetch_articles([r["article_id"] for r in self._chunk_rows(listed).values()])
        return out

    def _count(self, kind: str, expr: str) -> int:
        return int(self._query(kind, expr, ("count(*)",))[0]["count(*)"])

    def _prefetch_articles(self, article_ids: list[str]) -> None:
        """The articles not cached yet, in one query (cached for ``article``)."""
        wanted = [a for a in dict.fromkeys(article_ids) if self._articles.get(a) is None]
        if not wanted:
            return
        parts: dict[str, list[dict]] = {}
        for r in self._query("articles", f"{S.in_list('article_id', wanted)} and {self.view}",
                             ("article_id", "part", "body")):
            parts.setdefault(r["article_id"], []).append(r)
        for article_id, rows in parts.items():
            self._articles.put(article_id, _article(rows))

    def article(self, article_id: str) -> Article | None:
        cached = self._articles.get(article_id)
        if cached is not None:
            return cached
        rows = self._query("articles", f"article_id == {S.lit(article_id)} and {self.view}",
                           ("part", "body"))
        if not rows:
            return None
        a = _article(rows)
        self._articles.put(article_id, a)
        return a

    def list_articles(self, offset: int, limit: int) -> tuple[int, list[dict]]:
        total = int(self.meta["counts"]["articles"])
        if limit < 1 or offset >= total:
            return total, []
        expr = f"part == 0 and {self.view}"
        if offset + limit <= QUERY_WINDOW:
            rows = sorted(self._query("articles", expr, ("id",) + SUMMARY_FIELDS,
                                      offset=offset, limit=limit), key=lambda r: r["id"])
        else:
            # Past the server's window: walk the keys (ids only) by ranges to the offset, then
            # read that page's summaries; never every summary before it.
            keys = [r["id"] for r in self.scan("articles", expr, ())][offset:offset + limit]
            rows = sorted(self._query("articles", S.in_list("id", keys), ("id",) + SUMMARY_FIELDS),
                          key=lambda r: r["id"]) if keys else []
        return total, [json.loads(r["summary"]) for r in rows]

    def pages(self) -> dict[str, PageRecord]:
        out = {}
        for r in self.scan("pages", self.view, ("record",)):
            p = PageRecord(**json.loads(r["record"]))
            out[p.id] = p
        return out

    def issues(self) -> list[IssueInfo]:
        # Once per generation (it never changes): every page row is read for it, 3.2 s at 17k
        # pages on Lite, which an unauthenticated GET /api/issues must not cost each time.
        if self._issues is None:
            self._issues = issues_of(self.pages())
        return self._issues

    def vectors_for(self, hashes: np.ndarray) -> dict[int, np.ndarray]:
        wanted = S.signed(np.unique(np.asarray(hashes, dtype=np.uint64))).tolist()
        out: dict[int, np.ndarray] = {}
        for i in range(0, len(wanted), BATCH):
            part = wanted[i:i + BATCH]
            for r in self._query("chunks", S.in_list("embed_hash", part),
                                 ("embed_hash", "vector")):
                out.setdefault(S.unsigned(r["embed_hash"]),
                               np.asarray(r["vector"], dtype=np.float32))
        return out

    def health(self) -> dict:
        m = self.meta
        return {"generation": self.name, "model": self.model, **m["counts"],
                "dense_index": "hnsw", "created": m["created"], "backend": "milvus",
                "collections": self.names["chunks"].rsplit("_", 1)[0]}

    def close(self) -> None:
        pass


def _article(rows: list[dict]) -> Article:
    """An article from its rows' parts."""
    record = json.loads("".join(r["body"] for r in sorted(rows, key=lambda r: r["part"])))
    text = record["text"]
    record["paragraphs"] = [text[s:e] for s, e in record["offsets"]]
    return Article.from_dict(record)
