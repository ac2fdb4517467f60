"""Index generations on disk, committed the way Lucene commits a segment set.

::

    index/
      CURRENT          one line: the live generation's folder name
      LOCK             held (flock) by whoever writes a generation
      gen-000007/      manifest.json + the files it lists with their sha256
      gen-000008.tmp-… a generation being written; never read, removed by the next writer

A writer builds the new generation in a ``.tmp`` folder, fsyncs every file, renames the folder
and only then replaces ``CURRENT`` (write + fsync + ``os.replace``). A crash at any moment
leaves either the old generation live or the new one complete; readers never see a partial
one. Readers verify the manifest's checksums on load, so a damaged file is an error, never a
wrong answer.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from qa.errors import IndexBusy, IndexCorrupt, IndexNotFound, ModelMismatch
from qa.index.dense import FaissIndex
from qa.index.lexical import BM25Index
from qa.types import Article

log = logging.getLogger(__name__)
FORMAT = 1
KEEP_GENERATIONS = 2
_CHUNK_FIELDS = ("id", "hash", "text", "citations")


@dataclass
class Snapshot:
    """Everything one generation holds, loaded and verified; shared read-only by queries."""

    name: str
    manifest: dict
    articles: dict[str, Article]
    chunks: list[dict]            # id == position; citations: [{article_id, start, end}]
    vectors: np.ndarray
    dense: FaissIndex
    lexical: BM25Index

    @property
    def model(self) -> str:
        return self.manifest["model"]


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class IndexStore:
    def __init__(self, root: Path):
        self.root = Path(root)

    # -- reading ---------------------------------------------------------------------------

    def current_name(self) -> str | None:
        try:
            name = (self.root / "CURRENT").read_text("utf-8").strip()
        except FileNotFoundError:
            return None
        return name or None

    def exists(self) -> bool:
        return self.current_name() is not None

    def load(self, name: str | None = None, model: str | None = None) -> Snapshot:
        name = name or self.current_name()
        if not name:
            raise IndexNotFound(f"索引不存在：{self.root}（请先运行 qa build）")
        gen = self.root / name
        try:
            manifest = json.loads((gen / "manifest.json").read_text("utf-8"))
        except FileNotFoundError:
            raise IndexNotFound(f"索引 {gen} 缺少 manifest.json") from None
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise IndexCorrupt(f"索引 {gen} 的 manifest.json 已损坏") from None
        if manifest.get("format") != FORMAT:
            raise IndexCorrupt(f"索引 {gen} 的格式版本不受支持：{manifest.get('format')}")
        if model is not None and manifest.get("model") != model:
            raise ModelMismatch(
                f"索引由模型 {manifest.get('model')} 构建，当前配置的模型是 {model}；"
                f"请用当前模型重新运行 qa build，或把 QA_MODEL 设回原模型")
        for rel, digest in manifest["checksums"].items():
            path = gen / rel
            if not path.is_file() or _sha256(path) != digest:
                raise IndexCorrupt(f"索引文件校验失败：{path}（文件缺失、被截断或已损坏）")
        try:
            articles = {}
            with open(gen / "articles.jsonl", encoding="utf-8") as f:
                for line in f:
                    a = Article.from_dict(json.loads(line))
                    articles[a.id] = a
            with open(gen / "chunks.jsonl", encoding="utf-8") as f:
                chunks = [json.loads(line) for line in f]
            vectors = np.load(gen / "vectors.npy")
            p = manifest["dense"]
            dense = FaissIndex.load(gen / "dense.faiss", exact_max=p["exact_max"], m=p["m"],
                                    ef_construction=p["ef_construction"],
                                    ef_search=p["ef_search"])
            lexical = BM25Index.load(gen / "lexical")
        except IndexCorrupt:
            raise
        except Exception as e:   # checksums passed, so this is a bug or a foreign file
            raise IndexCorrupt(f"索引 {gen} 无法读取：{e}") from e
        if not (len(chunks) == len(vectors) == len(dense) == manifest["counts"]["chunks"]):
            raise IndexCorrupt(f"索引 {gen} 的各部分数量不一致")
        return Snapshot(name, manifest, articles, chunks, vectors, dense, lexical)

    # -- writing ---------------------------------------------------------------------------

    @contextlib.contextmanager
    def lock(self, wait: float = 600.0):
        """Serialise writers. Waits (up to ``wait`` s) rather than failing, so two uploads
        both land, one after the other."""
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / "LOCK", "a+") as f:
            deadline = time.monotonic() + wait
            while True:
                try:
                    fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        raise IndexBusy("索引正在被另一个任务更新，请稍后再试") from None
                    time.sleep(0.1)
            try:
                self._clean()
                yield
            finally:
                fcntl.flock(f, fcntl.LOCK_UN)

    def _clean(self) -> None:
        """Remove what killed writers left, and generations older than the last few."""
        live = self.current_name()
        gens = sorted(p for p in self.root.glob("gen-*") if p.is_dir())
        for p in gens:
            if ".tmp" in p.name:
                log.warning("removing unfinished generation %s", p.name)
                shutil.rmtree(p, ignore_errors=True)
        finished = [p for p in gens if ".tmp" not in p.name]
        if live:
            older = [p.name for p in finished if p.name < live]
            keep = {live, *older[len(older) - (KEEP_GENERATIONS - 1):]}
            for p in finished:
                if p.name not in keep and p.name < live:
                    shutil.rmtree(p, ignore_errors=True)
            for p in finished:
                if p.name > live:   # finished but never switched to: a crash before the switch
                    shutil.rmtree(p, ignore_errors=True)

    def _next_name(self) -> str:
        numbers = [int(p.name[4:10]) for p in self.root.glob("gen-*") if p.name[4:10].isdigit()]
        return f"gen-{max(numbers, default=0) + 1:06d}"

    def write(self, *, model: str, dim: int, articles: list[Article], chunks: list[dict],
              vectors: np.ndarray, dense: FaissIndex, lexical: BM25Index,
              dense_params: dict, extra: dict | None = None) -> str:
        """Write a complete generation and switch to it. Call inside ``lock()``."""
        name = self._next_name()
        tmp = self.root / f"{name}.tmp-{os.getpid()}"
        tmp.mkdir(parents=True)
        with open(tmp / "articles.jsonl", "w", encoding="utf-8") as f:
            for a in articles:
                f.write(json.dumps(a.to_dict(), ensure_ascii=False) + "\n")
        with open(tmp / "chunks.jsonl", "w", encoding="utf-8") as f:
            for c in chunks:
                f.write(json.dumps({k: c[k] for k in _CHUNK_FIELDS}, ensure_ascii=False) + "\n")
        np.save(tmp / "vectors.npy", np.ascontiguousarray(vectors, dtype=np.float32))
        dense.save(tmp / "dense.faiss")
        lexical.save(tmp / "lexical")
        files = sorted(p for p in tmp.rglob("*") if p.is_file())
        for p in files:
            with open(p, "rb") as f:
                os.fsync(f.fileno())
        manifest = {
            "format": FORMAT, "generation": name, "model": model, "dim": dim,
            "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "counts": {"articles": len(articles), "chunks": len(chunks),
                       "issues": len({a.issue for a in articles})},
            "dense": {"kind": dense.kind, **dense_params},
            "checksums": {str(p.relative_to(tmp)): _sha256(p) for p in files},
            **(extra or {}),
        }
        with open(tmp / "manifest.json", "w", encoding="utf-8") as f:
            json.dump(manifest, f, ensure_ascii=False, indent=1)
            f.flush()
            os.fsync(f.fileno())
        _fsync_dir(tmp)
        final = self.root / name
        os.rename(tmp, final)
        _fsync_dir(self.root)
        self._switch(name)
        log.info("switched to %s", name)
        return name

    def _switch(self, name: str) -> None:
        tmp = self.root / f"CURRENT.tmp-{os.getpid()}"
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(name + "\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.root / "CURRENT")
        _fsync_dir(self.root)
