"""One immutable segment of the archive: some pages, their articles, chunks, vectors and postings.

A segment is written once (by an add, a bulk build or a merge) and never changed; deletions are
recorded by the commit point that lists it (``store``), never in the segment. Everything a query
touches is a numpy array opened with ``mmap_mode="r"``, so any number of workers share one copy
in the page cache and opening a segment costs no more than reading its small ``meta.json``::

    seg-000007/
      meta.json          counts, pages (with their issue metadata), code lists, checksums
      articles.jsonl     one article per line, without its body (title, offsets, captions, …)
      articles.idx.npy   byte offset of each line (n + 1)
      bodies.bin         the article bodies, UTF-8, one after another; bodies.idx.npy: offsets
      art_key.npy        uint64 key of each article id; art_order.npy sorts them (lookup)
      art_page.npy art_issue.npy art_source.npy art_paper.npy   int32 codes (filters)
      art_date.npy       int32 YYYYMMDD, 0 when unknown
      chunk_article.npy  int32 article of each chunk; chunk_span.npy int32 (start, end)
      chunk_hash.npy     uint64 hash of the chunk text; chunk_order.npy sorts them (reprints)
      embed_hash.npy     uint64 hash of the text embedded (title + chunk); embed_order.npy
      vectors.npy        float32 (chunks, dim), L2-normalised
      hnsw.faiss         only when chunks > exact_max
      lexical/           Postings arrays

Local numbers (article i, chunk j) are positions in these arrays; the archive-wide key of a chunk
is ``segment number << 32 | j``.
"""

from __future__ import annotations

import errno
import json
import logging
import os
import time
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from qa.errors import IndexCorrupt
from qa.index.dense import SegmentVectors, build_hnsw, normalised, write_hnsw
from qa.index.lexical import Postings, key_of, tokenize_many
from qa.types import Article

log = logging.getLogger(__name__)
FORMAT = 2
ARTICLE_FIELDS = ("id", "issue", "title", "source", "offsets", "captions", "date", "url",
                   "page_id", "page", "paper")


def chunk_hash(chunk_id: str) -> int:
    """Chunk ids are 16 hex digits of the text's sha1 (qa.chunking): 64 bits as they are."""
    return int(chunk_id, 16)


def date_code(date: str | None) -> int:
    """``2024-08-15`` → 20240815; 0 when unknown or not a date."""
    if not date:
        return 0
    digits = date.replace("-", "")
    return int(digits) if len(digits) == 8 and digits.isdigit() else 0


def checksum(path: Path) -> str:
    """CRC-32 of a file, as Lucene checks its segment files: it catches what damages files here
    (flipped bits, truncation, a lost write) at ~1.8 GB/s against ~0.6 GB/s for SHA-256, which
    matters when a worker opens a million-chunk archive."""
    crc = 0
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 22), b""):
            crc = zlib.crc32(block, crc)
    return f"{crc:08x}"


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@dataclass
class PageRecord:
    """A page as the catalog knows it. ``hash`` is of its parsed content and metadata, so adding
    the same page again is recognised as a no-op and a corrected one as a replacement."""

    id: str
    issue: str
    hash: str
    articles: int
    page: int | None = None
    paper: str | None = None
    date: str | None = None
    number: str | None = None

    def to_dict(self) -> dict:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


@dataclass
class SegmentData:
    """Everything a new segment holds, in memory, before it is written."""

    pages: list[PageRecord]
    articles: list[Article]                 # grouped by page, in ``pages`` order
    chunk_article: np.ndarray               # int32 index into ``articles``
    chunk_span: np.ndarray                  # int32 (n, 2)
    chunk_hash: np.ndarray                  # uint64, of the chunk's text (reprints)
    embed_hash: np.ndarray                  # uint64, of what was embedded (vector reuse)
    vectors: np.ndarray                     # float32 (n, dim)
    lexical: list[str] | None = None        # what BM25 indexes for each chunk (title + text)
    postings: Postings | None = None        # or the postings themselves (a merge has them)

    def __len__(self) -> int:
        return len(self.chunk_hash)


def _codes(values: list[str | None]) -> tuple[list[str], np.ndarray]:
    names = sorted({v for v in values if v})
    index = {v: i for i, v in enumerate(names)}
    return names, np.array([index.get(v, -1) if v else -1 for v in values], dtype=np.int32)


def write_segment(directory: Path, data: SegmentData, *, model: str, dim: int,
                  tokenizer: dict, exact_max: int, hnsw_m: int, hnsw_ef_construction: int,
                  fault=lambda name: None) -> dict:
    """Write ``data`` into ``directory`` (which must not exist) and fsync it; return its
    ``meta``. The caller renames it into place."""
    postings = data.postings
    if postings is None:
        postings = Postings.build(tokenize_many(data.lexical or [], tokenizer))
    if len(postings) != len(data):
        raise ValueError(f"{len(postings)} lexical documents for {len(data)} chunks")
    directory.mkdir(parents=True)
    n_art = len(data.articles)
    page_index = {p.id: i for i, p in enumerate(data.pages)}
    arrays: dict[str, np.ndarray] = {}

    lines, bodies = [], []
    for a in data.articles:
        lines.append((json.dumps({k: getattr(a, k) for k in ARTICLE_FIELDS}, ensure_ascii=False)
                      + "\n").encode("utf-8"))
        bodies.append(a.text.encode("utf-8"))
    with open(directory / "articles.jsonl", "wb") as f:
        f.writelines(lines)
    with open(directory / "bodies.bin", "wb") as f:
        f.writelines(bodies)
    arrays["articles.idx"] = np.concatenate([[0], np.cumsum([len(x) for x in lines])]).astype(np.int64)
    arrays["bodies.idx"] = np.concatenate([[0], np.cumsum([len(x) for x in bodies])]).astype(np.int64)
    keys = np.array([key_of(a.id) for a in data.articles], dtype=np.uint64)
    arrays["art_key"] = keys
    arrays["art_order"] = np.argsort(keys, kind="stable").astype(np.int64)
    arrays["art_page"] = np.array([page_index[a.page_id] for a in data.articles], dtype=np.int32)
    issues, arrays["art_issue"] = _codes([a.issue for a in data.articles])
    sources, arrays["art_source"] = _codes([a.source for a in data.articles])
    papers, arrays["art_paper"] = _codes([a.paper for a in data.articles])
    arrays["art_date"] = np.array([date_code(a.date) for a in data.articles], dtype=np.int32)
    arrays["chunk_article"] = np.asarray(data.chunk_article, dtype=np.int32)
    arrays["chunk_span"] = np.asarray(data.chunk_span, dtype=np.int32).reshape(-1, 2)
    arrays["chunk_hash"] = np.asarray(data.chunk_hash, dtype=np.uint64)
    arrays["chunk_order"] = np.argsort(arrays["chunk_hash"], kind="stable").astype(np.int64)
    arrays["embed_hash"] = np.asarray(data.embed_hash, dtype=np.uint64)
    arrays["embed_order"] = np.argsort(arrays["embed_hash"], kind="stable").astype(np.int64)
    vectors = normalised(data.vectors, dim) if len(data.vectors) else \
        np.zeros((0, dim), np.float32)
    arrays["vectors"] = vectors
    for name, array in arrays.items():
        np.save(directory / f"{name}.npy", np.ascontiguousarray(array))
    fault("dense")
    kind = "flat"
    if len(vectors) > exact_max:
        write_hnsw(build_hnsw(vectors, hnsw_m, hnsw_ef_construction), directory / "hnsw.faiss")
        kind = "hnsw"
    postings.save(directory / "lexical")

    files = sorted(p for p in directory.rglob("*") if p.is_file())
    for p in files:
        with open(p, "rb") as f:
            os.fsync(f.fileno())
    fsync_dir(directory / "lexical")
    meta = {
        "format": FORMAT, "name": directory.name.split(".tmp")[0], "model": model, "dim": dim,
        "kind": kind, "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "counts": {"pages": len(data.pages), "articles": n_art, "chunks": len(data)},
        "length": int(np.asarray(postings.lengths, dtype=np.int64).sum()),
        "tokenizer": tokenizer,
        "pages": [p.to_dict() for p in data.pages],
        "codes": {"issue": issues, "source": sources, "paper": papers},
        "checksums": {str(p.relative_to(directory)): checksum(p) for p in files},
    }
    with open(directory / "meta.json", "w", encoding="utf-8") as f:
        json.dump(meta, f, ensure_ascii=False)
        f.flush()
        os.fsync(f.fileno())
    fsync_dir(directory)
    return meta


class Segment:
    """A written segment, opened read-only: verified once, then only memory-mapped reads."""

    ARRAYS = ("articles.idx", "bodies.idx", "art_key", "art_order", "art_page", "art_issue",
              "art_source", "art_paper", "art_date", "chunk_article", "chunk_span",
              "chunk_hash", "chunk_order", "embed_hash", "embed_order")

    def __init__(self, directory: Path, ef_search: int, verify: bool = True,
                 expected_meta: str | None = None):
        self.dir = directory
        self.name = directory.name
        meta_path = directory / "meta.json"
        try:
            self.meta_checksum = checksum(meta_path)     # what a manifest lists it by
            if expected_meta is not None and self.meta_checksum != expected_meta:
                raise IndexCorrupt(f"索引文件校验失败：{meta_path}（文件缺失、被截断或已损坏）")
            self.meta = json.loads(meta_path.read_text("utf-8"))
        except FileNotFoundError:
            raise IndexCorrupt(f"索引文件校验失败：{meta_path}（文件缺失、被截断或已损坏）") from None
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise IndexCorrupt(f"索引段 {directory} 的 meta.json 已损坏") from None
        if not isinstance(self.meta, dict) or self.meta.get("format") != FORMAT \
                or not isinstance(self.meta.get("checksums"), dict):
            raise IndexCorrupt(f"索引段 {directory} 的 meta.json 不完整或格式不受支持")
        if verify:
            for rel, digest in self.meta["checksums"].items():
                path = directory / rel
                if not path.is_file() or checksum(path) != digest:
                    raise IndexCorrupt(f"索引文件校验失败：{path}（文件缺失、被截断或已损坏）")
        try:
            for name in self.ARRAYS:
                setattr(self, name.replace(".", "_"),
                        np.asarray(np.load(directory / f"{name}.npy", mmap_mode="r")))
            self.vectors = SegmentVectors.open(directory, ef_search)
            self.postings = Postings.load(directory / "lexical")
            # Held open for the segment's lifetime: a merge may delete the folder while this
            # reader still answers from it, and an open file outlives its name (POSIX).
            self._articles_file = open(directory / "articles.jsonl", "rb")
            self._bodies_file = open(directory / "bodies.bin", "rb")
        except IndexCorrupt:
            raise
        except (OSError, ValueError) as e:
            raise IndexCorrupt(f"索引段 {directory} 无法读取：{e}") from e
        counts = self.meta["counts"]
        if not (len(self.chunk_hash) == len(self.vectors) == len(self.postings)
                == len(self.chunk_article) == counts["chunks"]
                and len(self.art_key) == counts["articles"] == len(self.articles_idx) - 1
                and len(self.meta["pages"]) == counts["pages"]):
            raise IndexCorrupt(f"索引段 {directory} 的各部分数量不一致")
        self.pages = [dict(p) for p in self.meta["pages"]]
        self.page_index = {p["id"]: i for i, p in enumerate(self.pages)}
        self.codes = self.meta["codes"]

    # -- sizes ----------------------------------------------------------------------------

    @property
    def chunks(self) -> int:
        return len(self.chunk_hash)

    @property
    def articles(self) -> int:
        return len(self.art_key)

    @property
    def kind(self) -> str:
        return self.vectors.kind

    def close(self) -> None:
        self._articles_file.close()
        self._bodies_file.close()

    # -- masks ----------------------------------------------------------------------------

    def dead_masks(self, deleted_pages: set[int]) -> tuple[np.ndarray, np.ndarray]:
        """(dead articles, dead chunks) for these deleted page numbers."""
        pages = np.zeros(len(self.pages), bool)
        pages[list(deleted_pages)] = True
        dead_articles = pages[np.asarray(self.art_page)] if len(self.art_page) else \
            np.zeros(0, bool)
        dead_chunks = dead_articles[np.asarray(self.chunk_article)] if self.chunks else \
            np.zeros(0, bool)
        return dead_articles, dead_chunks

    def article_filter(self, where) -> np.ndarray | None:
        """Articles matching ``where`` (a ``Where``), or None when it restricts nothing."""
        if where is None or where.empty():
            return None
        mask = np.ones(self.articles, bool)
        for column, wanted in (("issue", where.issues), ("source", where.sources),
                               ("paper", where.papers)):
            if wanted:
                codes = [i for i, v in enumerate(self.codes[column]) if v in wanted]
                mask &= np.isin(getattr(self, f"art_{column}"), codes)
        if where.date_from or where.date_to:
            dates = np.asarray(self.art_date)
            mask &= dates > 0
            if where.date_from:
                mask &= dates >= date_code(where.date_from)
            if where.date_to:
                mask &= dates <= date_code(where.date_to)
        return mask

    # -- reading --------------------------------------------------------------------------

    def _read(self, f, offsets: np.ndarray, i: int) -> bytes:
        start, end = int(offsets[i]), int(offsets[i + 1])
        return os.pread(f.fileno(), end - start, start)

    def body(self, i: int) -> str:
        return self._read(self._bodies_file, self.bodies_idx, i).decode("utf-8")

    def article(self, i: int) -> Article:
        record = json.loads(self._read(self._articles_file, self.articles_idx, i))
        text = self.body(i)
        record["text"] = text
        record["paragraphs"] = [text[s:e] for s, e in record["offsets"]]
        return Article.from_dict(record)

    def article_summary(self, i: int) -> dict:
        return json.loads(self._read(self._articles_file, self.articles_idx, i))

    def find_article(self, key: int) -> int | None:
        pos = int(np.searchsorted(self.art_key, np.uint64(key), sorter=self.art_order))
        if pos < len(self.art_order):
            i = int(self.art_order[pos])
            if int(self.art_key[i]) == key:
                return i
        return None

    def find_chunks(self, hashes: np.ndarray, embedded: bool = False) -> list[np.ndarray]:
        """For each hash, the local chunk numbers holding that text (``embedded``: whose
        embedded text, title included, has that hash)."""
        values, order = (self.embed_hash, self.embed_order) if embedded else \
            (self.chunk_hash, self.chunk_order)
        hashes = np.asarray(hashes, dtype=np.uint64)
        lo = np.searchsorted(values, hashes, side="left", sorter=order)
        hi = np.searchsorted(values, hashes, side="right", sorter=order)
        return [np.asarray(order[a:b]) for a, b in zip(lo, hi)]


def remove_quietly(path: Path) -> None:
    """Best-effort removal of a file or folder (a leftover, an unreferenced segment)."""
    import shutil

    try:
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink()
    except FileNotFoundError:
        pass
    except OSError as e:
        if e.errno != errno.ENOENT:
            log.warning("could not remove %s: %s", path, e)
