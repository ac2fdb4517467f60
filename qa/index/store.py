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
wrong answer. A write that fails (a full disk, an I/O error) removes its unfinished folder and
raises ``IndexWriteFailed``; the live generation is untouched.

``fault_point(name)`` marks the moments a crash test kills a writer at (RELIABILITY.md): it does
nothing unless ``QA_TEST_PAUSE_AT`` names that point, which only the tests set.
"""

from __future__ import annotations

import contextlib
import errno
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

from qa.errors import IndexBusy, IndexCorrupt, IndexNotFound, ModelMismatch, QAError
from qa.index.dense import FaissIndex
from qa.index.lexical import BM25Index
from qa.types import Article

log = logging.getLogger(__name__)
FORMAT = 1
KEEP_GENERATIONS = 2
_CHUNK_FIELDS = ("id", "hash", "text", "citations")
# Every generation has these; a manifest that does not vouch for all of them is not trusted.
REQUIRED_FILES = ("articles.jsonl", "chunks.jsonl", "vectors.npy", "dense.faiss")


class IndexWriteFailed(QAError):
    """Writing a new generation failed (disk full, I/O error); the live one is untouched."""

    code = "index_write_failed"
    status = 503


def fault_point(name: str) -> None:
    """Test-only crash hook. With ``QA_TEST_PAUSE_AT`` set to ``name`` (or a comma list holding
    it), append ``<point> <pid> <unix time>`` to the file ``QA_TEST_PAUSE_FILE`` (if set), then
    sleep ``QA_TEST_PAUSE_SECONDS`` (default 3600) so the test can SIGKILL the process here.
    Points: ``lock`` (lock held), ``embed`` (about to embed), ``dense`` (FAISS file next),
    ``manifest`` (manifest written but not flushed), ``switch`` (generation renamed, CURRENT not
    yet replaced). This hook reads the environment itself, unlike the rest of the package
    (``Settings``), so that no production setting can turn it on by accident."""
    points = os.environ.get("QA_TEST_PAUSE_AT")
    if not points or name not in points.split(","):
        return
    marker = os.environ.get("QA_TEST_PAUSE_FILE")
    if marker:
        with open(marker, "a", encoding="utf-8") as f:
            f.write(f"{name} {os.getpid()} {time.time():.3f}\n")
    log.warning("test fault point %s reached (pid %d)", name, os.getpid())
    time.sleep(float(os.environ.get("QA_TEST_PAUSE_SECONDS", "3600")))


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
        if not isinstance(manifest, dict):
            raise IndexCorrupt(f"索引 {gen} 的 manifest.json 已损坏")
        if manifest.get("format") != FORMAT:
            raise IndexCorrupt(f"索引 {gen} 的格式版本不受支持：{manifest.get('format')}")
        if model is not None and manifest.get("model") != model:
            raise ModelMismatch(
                f"索引由模型 {manifest.get('model')} 构建，当前配置的模型是 {model}；"
                f"请用当前模型重新运行 qa build，或把 QA_MODEL 设回原模型")
        checksums = manifest.get("checksums")
        if (not isinstance(checksums, dict) or not set(REQUIRED_FILES) <= set(checksums)
                or not isinstance(manifest.get("counts"), dict)
                or not isinstance(manifest.get("dense"), dict)):
            raise IndexCorrupt(f"索引 {gen} 的 manifest.json 不完整")
        for rel, digest in checksums.items():
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
            counts_agree = (len(chunks) == len(vectors) == len(dense)
                            == manifest["counts"]["chunks"])
        except IndexCorrupt:
            raise
        except Exception as e:   # checksums passed, so this is a bug or a foreign file
            raise IndexCorrupt(f"索引 {gen} 无法读取：{e}") from e
        if not counts_agree:
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
                fault_point("lock")
                yield
            finally:
                fcntl.flock(f, fcntl.LOCK_UN)

    def _clean(self) -> None:
        """Remove what killed writers left, and generations older than the last few."""
        live = self.current_name()
        for p in self.root.glob("CURRENT.tmp-*"):    # a switch that was killed half-way
            p.unlink(missing_ok=True)
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
        """Write a complete generation and switch to it. Call inside ``lock()``.

        If anything fails before ``CURRENT`` is replaced (``ENOSPC`` on a full disk, an I/O
        error), the unfinished generation is removed and ``IndexWriteFailed`` raised: the live
        generation is what it was."""
        name = self._next_name()
        tmp = self.root / f"{name}.tmp-{os.getpid()}"
        final = self.root / name
        try:
            self._write_generation(tmp, name, model=model, dim=dim, articles=articles,
                                   chunks=chunks, vectors=vectors, dense=dense,
                                   lexical=lexical, dense_params=dense_params, extra=extra)
            os.rename(tmp, final)
            _fsync_dir(self.root)
            fault_point("switch")
            self._switch(name)
        except OSError as e:
            if self.current_name() == name:      # switched after all: only a late fsync failed
                log.error("switched to %s, but: %s", name, e)
                return name
            shutil.rmtree(tmp, ignore_errors=True)
            shutil.rmtree(final, ignore_errors=True)
            for p in self.root.glob(f"CURRENT.tmp-{os.getpid()}"):
                p.unlink(missing_ok=True)
            reason = "磁盘空间不足" if e.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG) \
                else (e.strerror or type(e).__name__)
            raise IndexWriteFailed(
                f"写入新的索引版本失败（{reason}）：索引仍是原来的 "
                f"{self.current_name() or '（无）'}，未做任何更改") from e
        log.info("switched to %s", name)
        return name

    def _write_generation(self, tmp: Path, name: str, *, model: str, dim: int,
                          articles: list[Article], chunks: list[dict], vectors: np.ndarray,
                          dense: FaissIndex, lexical: BM25Index, dense_params: dict,
                          extra: dict | None) -> None:
        tmp.mkdir(parents=True)
        with open(tmp / "articles.jsonl", "w", encoding="utf-8") as f:
            for a in articles:
                f.write(json.dumps(a.to_dict(), ensure_ascii=False) + "\n")
        with open(tmp / "chunks.jsonl", "w", encoding="utf-8") as f:
            for c in chunks:
                f.write(json.dumps({k: c[k] for k in _CHUNK_FIELDS}, ensure_ascii=False) + "\n")
        np.save(tmp / "vectors.npy", np.ascontiguousarray(vectors, dtype=np.float32))
        fault_point("dense")
        try:
            dense.save(tmp / "dense.faiss")
        except RuntimeError as e:     # faiss reports a failed write (ENOSPC) as RuntimeError
            full = "No space left" in str(e) or "errno=28" in str(e)
            raise OSError(errno.ENOSPC if full else errno.EIO, f"写入向量索引失败：{e}") from e
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
            fault_point("manifest")
            f.flush()
            os.fsync(f.fileno())
        _fsync_dir(tmp)

    def _switch(self, name: str) -> None:
        tmp = self.root / f"CURRENT.tmp-{os.getpid()}"
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(name + "\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.root / "CURRENT")
        _fsync_dir(self.root)
