"""The Milvus backend: the archive in a Milvus server, or in a local folder through Milvus Lite.

Everything the embedded archive keeps on disk lives in Milvus (``schema``), so a second serving
node needs only the URI. Reads are ``archive.MilvusArchive``; writes are ``commit``, and this is
what a reader can observe while one runs (Milvus has no multi-row transactions):

* A build (``fresh``) fills a new set of collections while readers go on with the old one, then
  one ``alter_alias`` moves them all to it at their next request; the old set is dropped
  ``GRACE`` seconds later, so a query still running on it finishes.
* An add, replace or remove inserts the new pages' rows under the next generation number, which
  no reader sees yet (each filters ``gen <= its own``), and rewrites the document frequencies of
  the terms involved keeping the previous value beside the new one (``df_before``), which
  readers of the old generation go on using. Then one meta row for the new generation is
  inserted — the switch — naming the removed pages as ``pending``, so readers of the new
  generation skip their old rows; then those rows are deleted. A reader still on the old
  generation while the delete runs (one query's time: each request looks for a new generation
  first) misses the removed pages before it sees their replacements. A removal of more than
  ``PENDING_MAX`` pages would make every filter long: it is deleted before the switch instead,
  and readers see the pages go while the delete runs.
* A writer that dies mid-commit leaves its marker (meta row ``-N``); the next writer deletes
  the unfinished generation's rows, restores the frequencies and finishes pending deletes.

Writers are serialised by a file lock on this machine (beside the Lite folder; for a server, in
the cache folder): with a Milvus cluster, run writes (``qa add``, ``qa remove``, uploads) from
one node. Readers take no lock.
"""

from __future__ import annotations

import json
import logging
import time
from collections import Counter

from qa.config import Settings
from qa.errors import BadSetting, IndexNotFound
from qa.index.backend import model_mismatch
from qa.index.dense import normalised
from qa.index.lexical import get_tokenizer, term_hashes, tokenizer_from_config
from qa.index.locks import WAIT, write_lock
from qa.index.milvus import schema as S
from qa.index.milvus.archive import BATCH, MilvusArchive
from qa.index.milvus.client import LOAD_TIMEOUT, Connection, describe, lock_file, serving
from qa.index.segment import ARTICLE_FIELDS, PageRecord, SegmentData, date_code

log = logging.getLogger(__name__)
GRACE = 2.0
PENDING_MAX = 200
WRITE_TIMEOUT = 600.0
PAGE_BATCH = 100


class MilvusBackend:
    kind = "milvus"

    def __init__(self, settings: Settings):
        if not S.valid_prefix(settings.milvus_prefix):
            raise BadSetting(f"QA_MILVUS_PREFIX 只能由字母、数字和 _ 组成，且不能以数字开头："
                             f"{settings.milvus_prefix!r}")
        self.settings = settings
        self.prefix = settings.milvus_prefix
        self.conn = Connection(settings)

    # -- reading --------------------------------------------------------------------------

    def _meta_rows(self, fields=("id",)) -> list[dict]:
        """The current set's commit points, newest first; [] when there is no index."""
        try:
            rows = self.conn.call("query", collection_name=self.prefix, filter="id > 0",
                                  output_fields=list(fields))
        except IndexNotFound:
            return []
        return sorted(rows, key=lambda r: -r["id"])

    def exists(self) -> bool:
        return bool(self._meta_rows())

    def current_name(self) -> str | None:
        rows = self._meta_rows()
        return S.generation_name(rows[0]["id"]) if rows else None

    def open(self, model: str | None = None, reuse=None) -> MilvusArchive:
        rows = self._meta_rows(("id", "record"))
        if not rows:
            raise IndexNotFound(f"索引不存在：{describe(self.settings)}（请先运行 qa build）")
        meta = json.loads(rows[0]["record"])
        if model is not None and meta["model"] != model:
            raise model_mismatch(meta["model"], model)
        cache = reuse.rows if isinstance(reuse, MilvusArchive) and reuse.set == meta["set"] \
            else None
        archive = MilvusArchive(self.conn, self.prefix, int(rows[0]["id"]), meta,
                                self.settings.hnsw_ef_search, cache)
        if cache is None:               # a set this reader has not searched yet
            archive.warm(LOAD_TIMEOUT)
        return archive

    # -- writing --------------------------------------------------------------------------

    @property
    def lock_file(self):
        return lock_file(self.settings)

    def lock(self, wait: float = WAIT):
        return write_lock(self.lock_file, wait)

    def serving(self):
        """For ``qa serve``: a Lite folder served by one Lite server for all workers."""
        return serving(self.settings)

    def commit(self, base: MilvusArchive | None, new: list[SegmentData], remove: list[str],
               *, model: str, dim: int, fresh: bool = False) -> str:
        new = [d for d in new if len(d.articles)]
        if fresh or base is None:
            return self._build(new, model, dim)
        if not new and not remove:
            return base.name
        return self._change(base, new, remove)

    def _call(self, method: str, *args, **kwargs):
        return self.conn.call(method, *args, timeout=WRITE_TIMEOUT, create=True, **kwargs)

    def _insert(self, name: str, rows) -> None:
        rows = list(rows)
        for i in range(0, len(rows), BATCH):
            self._call("insert", collection_name=name, data=rows[i:i + BATCH])

    def _sets(self) -> dict[int, list[str]]:
        """This prefix's collections by set."""
        out: dict[int, list[str]] = {}
        for name in self._call("list_collections"):
            n = S.set_of(self.prefix, name)
            if n is not None:
                out.setdefault(n, []).append(name)
        return out

    def _build(self, new: list[SegmentData], model: str, dim: int) -> str:
        old = self._meta_rows()
        sets = self._sets()
        gen = max([old[0]["id"] if old else 0, *sets]) + 1
        tokenizer = get_tokenizer().config()
        names = S.create_set(self.conn, self.prefix, gen, dim, self.settings)
        written = _Writer(self, names, gen, tokenizer_from_config(tokenizer), dim)
        df = written.prepare(new, docs=0, length=0)
        written.write(new)
        self._insert(names["terms"], ({"id": i, "gen": gen, "df": n, "df_before": n,
                                       "_v": S.DUMMY} for i, n in _by_id(df).items()))
        for name in names.values():
            self._call("flush", collection_name=name)
        records = {r.id: r for d in new for r in d.pages}
        self._write_meta(names, gen, gen, model, dim, tokenizer, records, written.chunks,
                         written.docs, written.length, [])
        aliases = self._call("list_aliases").get("aliases", [])
        if self.prefix in aliases:
            self._call("alter_alias", collection_name=names["meta"], alias=self.prefix)
        else:
            self._call("create_alias", collection_name=names["meta"], alias=self.prefix)
        if any(n != gen for n in sets) and old:
            time.sleep(GRACE)           # a query that began on the old set finishes on it
        for n, collections in sets.items():
            if n != gen:
                for name in collections:
                    self._call("drop_collection", collection_name=name)
        log.info("built %s in %s", S.generation_name(gen), names["chunks"])
        return S.generation_name(gen)

    def _change(self, base: MilvusArchive, new: list[SegmentData], remove: list[str]) -> str:
        rows = self._meta_rows(("id", "record"))
        meta = json.loads(rows[0]["record"])
        names = {k: S.collection(self.prefix, int(meta["set"]), k) for k in S.KINDS}
        old = int(rows[0]["id"])
        self._recover(names, old, meta)
        if base.gen != old:
            base = self.open(meta["model"])
        gen = old + 1
        self._insert(names["meta"], [{"id": -gen, "gen": gen, "record": "{}", "_v": S.DUMMY}])
        view = S.view_expr(old, meta.get("pending") or [])

        df: Counter = Counter()
        gone_docs = gone_length = 0
        for i in range(0, len(remove), PAGE_BATCH):
            expr = f"{S.in_list('page_id', remove[i:i + PAGE_BATCH])} and {view}"
            for r in base.scan("chunks", expr, ("tokens",)):
                toks = r["tokens"].split()
                df.subtract(set(toks))
                gone_docs += 1
                gone_length += len(toks)
        written = _Writer(self, names, gen, base.tokenizer, base.dim)
        df.update(written.prepare(new, int(meta["docs"]) - gone_docs,
                                  int(meta["length"]) - gone_length))
        written.write(new)
        self._update_terms(names["terms"], gen, df)

        records = base.pages()
        for p in remove:
            records.pop(p, None)
        records.update((r.id, r) for d in new for r in d.pages)
        chunks = int(meta["counts"]["chunks"]) - gone_docs + written.chunks
        big = len(remove) > PENDING_MAX
        if big:
            self._delete_pages(names, remove, old)
        self._write_meta(names, gen, int(meta["set"]), meta["model"], int(meta["dim"]),
                         meta["tokenizer"], records, chunks, written.docs, written.length,
                         [] if big else list(remove))
        if not big:
            self._delete_pages(names, remove, old)
        self._call("delete", collection_name=names["meta"], filter=f"id < {old} or id == {-gen}")
        return S.generation_name(gen)

    def _write_meta(self, names, gen: int, set_gen: int, model: str, dim: int, tokenizer: dict,
                    records: dict[str, PageRecord], chunks: int, docs: int, length: int,
                    pending: list[str]) -> None:
        counts = {"pages": len(records), "articles": sum(r.articles for r in records.values()),
                  "chunks": chunks, "issues": len({r.issue for r in records.values()})}
        record = {"set": set_gen, "model": model, "dim": dim, "tokenizer": tokenizer,
                  "counts": counts, "docs": docs, "length": length, "pending": pending,
                  "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
        self._insert(names["meta"], [{"id": gen, "gen": gen, "record": S.dumps(record),
                                      "_v": S.DUMMY}])

    def _delete_pages(self, names, pages: list[str], upto: int) -> None:
        for kind in ("chunks", "articles", "pages"):
            for i in range(0, len(pages), PAGE_BATCH):
                self._call("delete", collection_name=names[kind],
                           filter=f"{S.in_list('page_id', pages[i:i + PAGE_BATCH])} "
                                  f"and gen <= {upto}")

    def _update_terms(self, name: str, gen: int, delta: Counter) -> None:
        ids = _by_id(delta)
        if not ids:
            return
        keys = list(ids)
        current: dict[int, int] = {}
        for i in range(0, len(keys), BATCH):
            for r in self._call("query", collection_name=name,
                                filter=S.in_list("id", keys[i:i + BATCH]),
                                output_fields=["df"]):
                current[int(r["id"])] = int(r["df"])
        rows = [{"id": i, "gen": gen, "df": current.get(i, 0) + d,
                 "df_before": current.get(i, 0), "_v": S.DUMMY} for i, d in ids.items() if d]
        for i in range(0, len(rows), BATCH):
            self._call("upsert", collection_name=name, data=rows[i:i + BATCH])

    def _recover(self, names, current: int, meta: dict) -> None:
        """Undo what a writer that died mid-commit left (its marker says which generation)."""
        markers = self._call("query", collection_name=names["meta"], filter="id < 0",
                             output_fields=["id"])
        for m in markers:
            dead = -int(m["id"])
            if dead > current:
                log.warning("removing the rows of unfinished generation %d", dead)
                for kind in ("chunks", "articles", "pages"):
                    self._call("delete", collection_name=names[kind], filter=f"gen >= {dead}")
                rows = self._call("query", collection_name=names["terms"],
                                  filter=f"gen >= {dead}", output_fields=["df_before"])
                restored = [{"id": int(r["id"]), "gen": current, "df": int(r["df_before"]),
                             "df_before": int(r["df_before"]), "_v": S.DUMMY} for r in rows]
                for i in range(0, len(restored), BATCH):
                    self._call("upsert", collection_name=names["terms"],
                               data=restored[i:i + BATCH])
            elif meta.get("pending"):
                self._delete_pages(names, meta["pending"], current - 1)
            self._call("delete", collection_name=names["meta"], filter=f"id == {m['id']}")

    # -- maintenance ----------------------------------------------------------------------

    def compact(self, *, everything: bool = False, max_chunks: int | None = None,
                model: str | None = None) -> list[str]:
        """Milvus merges its segments by itself; this asks it to do so now, which also drops
        deleted rows. Returns the collections compacted."""
        rows = self._meta_rows(("id", "record"))
        if not rows:
            return []
        set_gen = int(json.loads(rows[0]["record"])["set"])
        names = [S.collection(self.prefix, set_gen, k) for k in S.KINDS]
        for name in names:
            self._call("compact", collection_name=name)
        return names

    def merge_after_add(self, model: str) -> None:
        """Nothing: Milvus merges its segments by itself."""


class _Writer:
    """Rows for one commit's new pages: chunks with their BM25 vectors, articles, pages."""

    def __init__(self, backend: MilvusBackend, names: dict[str, str], gen: int, tokenizer,
                 dim: int):
        self.backend, self.names, self.gen = backend, names, gen
        self.tokenizer, self.dim = tokenizer, dim
        self.tokens: list[str] = []         # joined by spaces: a list per chunk costs 10×
        self.docs = self.length = self.chunks = 0

    def prepare(self, new: list[SegmentData], docs: int, length: int) -> Counter:
        """Tokenise the new chunks; the document frequencies they add. ``docs`` and ``length``
        are what the archive keeps of its old chunks."""
        df: Counter = Counter()
        for d in new:
            if d.lexical is None:
                raise ValueError("Milvus needs the chunks' lexical text, not postings")
            for text in d.lexical:
                toks = self.tokenizer(text)
                self.tokens.append(" ".join(toks))
                df.update(set(toks))
                length += len(toks)
        self.chunks = len(self.tokens)
        self.docs = docs + self.chunks
        self.length = length
        return df

    def write(self, new: list[SegmentData]) -> None:
        avgdl = self.length / self.docs if self.docs else 1.0
        chunk_rows, article_rows, page_rows = [], [], []
        n = a_row = 0
        for p_row, page in enumerate(r for d in new for r in d.pages):
            page_rows.append({"id": (self.gen << S.SHIFT) | p_row, "gen": self.gen,
                              "page_id": page.id, "record": S.dumps(page.to_dict()),
                              "_v": S.DUMMY})
        for d in new:
            vectors = normalised(d.vectors, self.dim)
            hashes, embeds = S.signed(d.chunk_hash), S.signed(d.embed_hash)
            for a in d.articles:
                record = {k: getattr(a, k) for k in ARTICLE_FIELDS}
                summary = {k: v for k, v in record.items() if k not in ("offsets", "captions")}
                for part, body in enumerate(S.parts(S.dumps({**record, "text": a.text}))):
                    article_rows.append({
                        "id": (self.gen << S.SHIFT) | a_row, "gen": self.gen,
                        "article_id": S.fit(a.id, "article id", S.ID_MAX),
                        "page_id": a.page_id, "part": part, "_v": S.DUMMY,
                        "summary": S.fit(S.dumps(summary), "article summary") if part == 0
                        else "", "body": body})
                    a_row += 1
            for j in range(len(d)):
                a = d.articles[int(d.chunk_article[j])]
                start, stop = (int(x) for x in d.chunk_span[j])
                toks = self.tokens[n].split()
                chunk_rows.append({
                    "id": (self.gen << S.SHIFT) | n, "gen": self.gen,
                    "vector": vectors[j].tolist(),
                    "sparse": S.sparse_weights(S.tf_component(Counter(toks), len(toks), avgdl)),
                    "page_id": a.page_id, "article_id": a.id, "issue": a.issue or "",
                    "source": a.source or "", "paper": a.paper or "", "date": date_code(a.date),
                    "start": start, "stop": stop, "hash": int(hashes[j]),
                    "embed_hash": int(embeds[j]), "text": S.fit(a.text[start:stop], "a chunk"),
                    "tokens": S.fit(self.tokens[n], "a chunk's tokens")})
                n += 1
                if len(chunk_rows) == BATCH:
                    self.backend._insert(self.names["chunks"], chunk_rows)
                    chunk_rows = []
        self.backend._insert(self.names["chunks"], chunk_rows)
        self.backend._insert(self.names["articles"], article_rows)
        self.backend._insert(self.names["pages"], page_rows)


def _by_id(df: Counter) -> dict[int, int]:
    """Token → count as term row id → count."""
    tokens = [t for t, n in df.items() if n]
    if not tokens:
        return {}
    ids = S.signed(term_hashes(tokens)).tolist()
    return {i: df[t] for i, t in zip(ids, tokens)}


__all__ = ["MilvusBackend", "MilvusArchive"]
