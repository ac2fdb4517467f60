"""How the archive is laid out in Milvus, and the filter expressions over it.

A full build writes a new *set* of collections, named after its first generation, and switches
one alias to it; later commits (add, replace, remove) write into the set::

    <prefix>                 alias of the current set's meta collection: what readers resolve
    <prefix>_s<N>_meta       one row per commit point: generation, model, counts, BM25 statistics
    <prefix>_s<N>_chunks     one row per chunk: vector, BM25 sparse vector, tokens, citation
                             (article, span, text hashes) and issue metadata for filters
    <prefix>_s<N>_articles   article bodies, as JSON cut into parts of at most 16,000 characters
    <prefix>_s<N>_pages      the page catalog (``PageRecord``)
    <prefix>_s<N>_terms      document frequency of each term, for archive-wide idf

Every row carries the generation that wrote it (``gen``); a chunk's key is ``gen << 32 | n``, so
keys are unique across commits and sets. A reader at generation G sees rows with ``gen <= G``
minus the old rows of pages that generation removed (``pending``) until they are deleted.

A server refuses collections without a vector field, so the catalog collections carry a
two-dimensional zero vector ``_v`` that nothing searches.
"""

from __future__ import annotations

import json
import re
from collections import Counter

import numpy as np

from qa.index.backend import Where
from qa.index.lexical import B, K1, term_hashes
from qa.index.segment import date_code

KINDS = ("meta", "chunks", "articles", "pages", "terms")
TEXT_MAX = 65_535            # bytes: Milvus's VARCHAR limit
ID_MAX = 1_024
PART_CHARS = 16_000          # ≤ 4 bytes a character: a part always fits TEXT_MAX
SHIFT = 32
# Sparse vector indices must lie in [0, 2**32 - 1); term hashes are folded into it, and the
# last index is kept for the placeholder of a chunk without tokens (Milvus refuses an empty
# sparse vector). A folded collision only adds a candidate: scores are recomputed exactly.
SPARSE_DIM = 2**32 - 2
EMPTY = {SPARSE_DIM: 1e-9}
DUMMY = [0.0, 0.0]
_PREFIX = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,180}")
_SET = re.compile(r"_s(\d{6,})_(meta|chunks|articles|pages|terms)$")


def valid_prefix(prefix: str) -> bool:
    return bool(_PREFIX.fullmatch(prefix))


def collection(prefix: str, set_gen: int, kind: str) -> str:
    return f"{prefix}_s{set_gen:06d}_{kind}"


def set_of(prefix: str, name: str) -> int | None:
    """The set a collection name belongs to, if it is one of ``prefix``'s."""
    if not name.startswith(prefix + "_s"):
        return None
    m = _SET.fullmatch(name[len(prefix):])
    return int(m.group(1)) if m else None


def generation_name(gen: int) -> str:
    return f"gen-{gen:06d}"


# -- schemas -------------------------------------------------------------------------------------

def create_set(conn, prefix: str, set_gen: int, dim: int, settings) -> dict[str, str]:
    """Create the collections of a new set; their names by kind."""
    from pymilvus import DataType

    client = conn.client(create=True)
    names = {k: collection(prefix, set_gen, k) for k in KINDS}

    def base(extra_vector: bool = True):
        s = client.create_schema(auto_id=False, enable_dynamic_field=False)
        s.add_field("id", DataType.INT64, is_primary=True)
        s.add_field("gen", DataType.INT64)
        if extra_vector:
            s.add_field("_v", DataType.FLOAT_VECTOR, dim=2)
        return s

    def text(s, name: str, size: int = TEXT_MAX):
        s.add_field(name, DataType.VARCHAR, max_length=size)

    def indexes(vector: bool, scalars: tuple[str, ...] = ()):
        p = client.prepare_index_params()
        if vector:
            p.add_index("_v", index_type="FLAT", metric_type="L2")
        for name in scalars:
            p.add_index(name, index_type="INVERTED")
        return p

    chunks = base(extra_vector=False)
    chunks.add_field("vector", DataType.FLOAT_VECTOR, dim=dim)
    chunks.add_field("sparse", DataType.SPARSE_FLOAT_VECTOR)
    for name in ("page_id", "article_id", "issue", "source", "paper"):
        text(chunks, name, ID_MAX)
    for name in ("start", "stop", "hash", "embed_hash", "date"):
        chunks.add_field(name, DataType.INT64)
    text(chunks, "text")
    text(chunks, "tokens")
    chunk_index = indexes(False, ("page_id", "hash", "embed_hash"))
    chunk_index.add_index("vector", index_type="HNSW", metric_type="IP",
                          params={"M": settings.hnsw_m,
                                  "efConstruction": settings.hnsw_ef_construction})
    chunk_index.add_index("sparse", index_type="SPARSE_INVERTED_INDEX", metric_type="IP",
                          params={"drop_ratio_build": 0.0})

    articles = base()
    text(articles, "article_id", ID_MAX)
    text(articles, "page_id", ID_MAX)
    articles.add_field("part", DataType.INT64)
    text(articles, "summary")
    text(articles, "body")

    pages = base()
    text(pages, "page_id", ID_MAX)
    text(pages, "record")

    terms = base()
    terms.add_field("df", DataType.INT64)
    terms.add_field("df_before", DataType.INT64)

    meta = base()
    text(meta, "record")

    plan = {"meta": (meta, indexes(True)), "chunks": (chunks, chunk_index),
            "articles": (articles, indexes(True, ("article_id", "page_id"))),
            "pages": (pages, indexes(True, ("page_id",))), "terms": (terms, indexes(True))}
    for kind, (schema, index) in plan.items():
        # Strong: a reader on another node sees a commit as soon as its meta row is written.
        conn.call("create_collection", collection_name=names[kind], schema=schema,
                  consistency_level="Strong", create=True)
        # Not waited for (pymilvus would poll every 0.5 s per index): indexes of empty
        # collections, which Milvus builds as rows arrive.
        conn.call("create_index", collection_name=names[kind], index_params=index, sync=False,
                  create=True)
        conn.call("load_collection", collection_name=names[kind], create=True)
    return names


# -- values --------------------------------------------------------------------------------------

def signed(values) -> np.ndarray:
    """uint64 hashes as the int64 Milvus stores (same bits)."""
    return np.asarray(values, dtype=np.uint64).view(np.int64)


def unsigned(value: int) -> int:
    return int(np.int64(value).view(np.uint64))


def sparse_weights(weights: dict[str, float]) -> dict[int, float]:
    """Token → weight as a Milvus sparse vector."""
    if not weights:
        return dict(EMPTY)
    out: dict[int, float] = {}
    for h, w in zip(term_hashes(list(weights)).tolist(), weights.values()):
        i = h % SPARSE_DIM
        out[i] = out.get(i, 0.0) + float(w)
    return out


def tf_component(tf: Counter, length: int, avgdl: float) -> dict[str, float]:
    """BM25's term-frequency part (bm25s's Lucene variant, as ``Postings``) of each token."""
    norm = K1 * (1 - B) + K1 * B * length / avgdl
    return {t: n / (n + norm) for t, n in tf.items()}


def dumps(value) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def parts(text: str) -> list[str]:
    return [text[i:i + PART_CHARS] for i in range(0, len(text), PART_CHARS)] or [""]


def fit(value: str | None, what: str, limit: int = TEXT_MAX) -> str:
    value = value or ""
    if len(value.encode("utf-8")) > limit:
        raise ValueError(f"{what} longer than Milvus allows ({limit} bytes): {value[:40]}…")
    return value


# -- filter expressions --------------------------------------------------------------------------

def lit(value) -> str:
    """A Milvus expression literal (strings double-quoted with JSON escapes)."""
    return json.dumps(value, ensure_ascii=False) if isinstance(value, str) else str(int(value))


def in_list(field: str, values) -> str:
    return f"{field} in [{', '.join(lit(v) for v in values)}]"


def where_expr(where: Where | None) -> str | None:
    """``Where`` as an expression over chunk rows (their article's metadata)."""
    if where is None or where.empty():
        return None
    parts_ = [in_list(f, sorted(v)) for f, v in (("issue", where.issues),
                                                 ("source", where.sources),
                                                 ("paper", where.papers)) if v]
    if where.date_from or where.date_to:
        parts_.append("date > 0")
        if where.date_from:
            parts_.append(f"date >= {date_code(where.date_from)}")
        if where.date_to:
            parts_.append(f"date <= {date_code(where.date_to)}")
    return " and ".join(parts_)


def view_expr(gen: int, pending: list[str]) -> str:
    """Rows a reader at ``gen`` sees: written by it or before, less the old rows of the pages it
    removed (``pending``) while their deletion may still be running."""
    expr = f"gen <= {gen}"
    if pending:
        expr += f" and not ({in_list('page_id', pending)} and gen < {gen})"
    return expr
