"""The embedded archive on disk: immutable segments and commit points, as Lucene keeps an index.

::

    index/
      CURRENT              one line: the commit point in force (a generation's folder name)
      LOCK                 held (flock) by whoever commits
      gen-000042/          manifest.json: the segments, each with its deleted pages, and counts
      seg-000007/          a segment (qa.index.segment), written once, never changed, except
        del-000042.npz     …the deletions recorded by generation 42, listed by its manifest
      seg-000009.tmp-PID   a segment being written; never read, removed once its writer is gone

A write (add, replace, remove, merge) writes at most a few new segments and deletion files,
then a new manifest in ``gen-N.tmp-PID``, fsyncs, renames it to ``gen-N`` and only then replaces
``CURRENT`` (write + fsync + ``os.replace``). A crash at any moment leaves either the old commit
point live or the new one complete; readers never see a partial one. Each segment's files carry
CRC-32 checksums in its ``meta.json``, whose own checksum the manifest holds, so a damaged file
is an error when a reader first opens the segment, never a wrong answer. A write that fails (a
full disk, an I/O error) removes what it wrote and raises ``IndexWriteFailed``; the live commit
point is untouched. Files no kept commit point references are deleted by the next writer; a
reader still using one keeps it open (an unlinked file lives on while it is open or mapped).
The crash tests stop a writer at each step of this (``qa.index.faults``).
"""

from __future__ import annotations

import errno
import fcntl
import json
import logging
import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from qa.errors import IndexCorrupt, IndexNotFound, QAError
from qa.index.faults import fault_point
from qa.index.segment import (Segment, SegmentData, checksum, fsync_dir, remove_quietly,
                              write_segment)

log = logging.getLogger(__name__)
FORMAT = 2
KEEP_GENERATIONS = 2
_TMP = re.compile(r"\.tmp-(\d+)(?:-\d+)?$")


class IndexWriteFailed(QAError):
    """Writing a new commit point failed (disk full, I/O error); the live one is untouched."""

    code = "index_write_failed"
    status = 503


@dataclass
class SegmentEntry:
    """A segment as a commit point lists it."""

    name: str
    meta: str                               # checksum of its meta.json
    deleted: list[int] = field(default_factory=list)      # deleted page numbers
    deletes: dict | None = None             # {"file", "checksum"}: stats of the deleted docs

    def to_dict(self) -> dict:
        return {"name": self.name, "meta": self.meta, "deleted": sorted(self.deleted),
                "deletes": self.deletes}


@dataclass
class Manifest:
    name: str
    model: str
    dim: int
    tokenizer: dict
    segments: list[SegmentEntry]
    counts: dict
    created: str = ""

    def to_dict(self) -> dict:
        return {"format": FORMAT, "generation": self.name, "model": self.model, "dim": self.dim,
                "created": self.created, "tokenizer": self.tokenizer,
                "segments": [s.to_dict() for s in self.segments], "counts": self.counts}

    @classmethod
    def parse(cls, data, where: Path) -> "Manifest":
        try:
            if not isinstance(data, dict) or data.get("format") != FORMAT:
                got = data.get("format") if isinstance(data, dict) else type(data).__name__
                raise IndexCorrupt(f"索引 {where} 的格式版本不受支持：{got}"
                                   + ("（请用 qa build 重建索引）" if got == 1 else ""))
            segments = [SegmentEntry(s["name"], s["meta"], [int(p) for p in s["deleted"]],
                                     s.get("deletes")) for s in data["segments"]]
            if not isinstance(data["counts"], dict) or not isinstance(data["tokenizer"], dict):
                raise TypeError("counts/tokenizer")
            return cls(str(data["generation"]), str(data["model"]), int(data["dim"]),
                       data["tokenizer"], segments, data["counts"], str(data.get("created", "")))
        except IndexCorrupt:
            raise
        except (KeyError, TypeError, ValueError, AttributeError):
            raise IndexCorrupt(f"索引 {where} 的 manifest.json 不完整") from None


# Temporary folders this process is writing right now (a merge in a thread writes without the
# lock, so a writer's clean-up in another thread must not take them for a dead writer's), with
# the open marker file each holds an flock on.
_WRITING: dict[str, int] = {}
# Beside a segment folder being written (without the index lock, by a merge): a file its writer
# holds an flock on until it publishes or discards the folder. The kernel drops the flock when
# the writer dies, whatever its pid and whichever PID namespace it ran in (a container sharing
# the index volume, a pid reused after a restart): the next writer's clean-up asks the lock,
# not the pid.
MARKER = ".writer"


def _writer_gone(marker: Path) -> bool:
    """Whether nobody holds ``marker``'s flock (its writer ended); False if it is held."""
    try:
        fd = os.open(marker, os.O_RDWR)
    except FileNotFoundError:
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except BlockingIOError:
        return False
    finally:
        os.close(fd)


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return False            # our own leftover from a failed write
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


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

    def manifest(self, name: str | None = None) -> Manifest:
        name = name or self.current_name()
        if not name:
            raise IndexNotFound(f"索引不存在：{self.root}（请先运行 qa build）")
        gen = self.root / name
        try:
            data = json.loads((gen / "manifest.json").read_text("utf-8"))
        except FileNotFoundError:
            raise IndexNotFound(f"索引 {gen} 缺少 manifest.json") from None
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise IndexCorrupt(f"索引 {gen} 的 manifest.json 已损坏") from None
        return Manifest.parse(data, gen)

    def open_segment(self, entry: SegmentEntry, ef_search: int) -> Segment:
        return Segment(self.root / entry.name, ef_search, verify=True, expected_meta=entry.meta)

    def open_new(self, name: str, ef_search: int) -> Segment:
        """A segment this writer has just written and published, opened without reading its
        files back to verify them; a manifest lists it by its ``meta_checksum``."""
        return Segment(self.root / name, ef_search, verify=False)

    def read_deletes(self, entry: SegmentEntry) -> dict[str, np.ndarray] | None:
        if not entry.deletes:
            return None
        path = self.root / entry.name / entry.deletes["file"]
        if not path.is_file() or checksum(path) != entry.deletes["checksum"]:
            raise IndexCorrupt(f"索引文件校验失败：{path}（文件缺失、被截断或已损坏）")
        try:
            with np.load(path) as z:
                return {k: z[k] for k in ("terms", "counts", "docs", "length")}
        except (OSError, ValueError, KeyError) as e:
            raise IndexCorrupt(f"删除记录无法读取：{path}（{e}）") from e

    def load(self, name: str | None = None, model: str | None = None, ef_search: int = 256,
             reuse: dict[str, Segment] | None = None):
        """The commit point ``name`` (default: current) opened as a ``Snapshot``. Segments in
        ``reuse`` (by name) are taken as they are instead of being opened and verified again."""
        from qa.index.snapshot import Snapshot

        return Snapshot.open(self, name, model=model, ef_search=ef_search, reuse=reuse)

    # -- writing ---------------------------------------------------------------------------

    def _names(self, prefix: str) -> list[str]:
        return sorted(p.name for p in self.root.glob(f"{prefix}-*")
                      if p.is_dir() and not _TMP.search(p.name))

    def _next(self, prefix: str) -> int:
        numbers = [int(m.group(1)) for p in self.root.glob(f"{prefix}-*")
                   if (m := re.match(rf"{prefix}-(\d+)", p.name))]
        return max(numbers, default=0) + 1

    def clean(self) -> None:
        """Under the lock: remove what killed writers left, commit points older than the last
        few, and segments and deletion files no kept commit point references."""
        self._remove_unfinished()
        live = self.current_name()
        if not live:
            return
        referenced = self._referenced(self._remove_old_generations(live), live)
        if referenced is None:
            return
        for s in self._names("seg"):
            if s not in referenced:
                remove_quietly(self.root / s)
                continue
            for d in (self.root / s).glob("del-*.npz"):
                if d.name not in referenced[s]:
                    remove_quietly(d)

    def _remove_unfinished(self) -> None:
        """Temporary folders and files whose writer is gone, and their markers."""
        for p in list(self.root.glob("*.tmp-*")):
            m = _TMP.search(p.name)
            if not m or p.name in _WRITING:
                continue
            marker = p.with_name(p.name + MARKER)
            if p.name.startswith("segment."):       # written without the lock (a merge)
                gone = _writer_gone(marker) if marker.exists() else \
                    not _pid_alive(int(m.group(1)))     # a writer from before markers
            else:       # gen-N.tmp, CURRENT.tmp: written under the lock we hold now
                gone = True
            if gone:
                log.warning("removing unfinished %s", p.name)
                remove_quietly(p)
                remove_quietly(marker)
        for marker in list(self.root.glob(f"*.tmp-*{MARKER}")):
            folder = marker.with_name(marker.name[:-len(MARKER)])
            if not folder.exists() and folder.name not in _WRITING and _writer_gone(marker):
                remove_quietly(marker)

    def _remove_old_generations(self, live: str) -> set[str]:
        """Remove the commit points past ``live`` and all but the last few before it; the ones
        kept."""
        gens = self._names("gen")
        for g in gens:
            if g > live:          # finished but never switched to: a crash before the switch
                remove_quietly(self.root / g)
        older = [g for g in gens if g < live]
        keep = {live, *older[len(older) - (KEEP_GENERATIONS - 1):]}
        for g in gens:
            if g not in keep and g < live:
                remove_quietly(self.root / g)
        return keep

    def _referenced(self, keep: set[str], live: str) -> dict[str, set[str]] | None:
        """The segments the commit points ``keep`` list, each with the deletion files they
        name; None when the live one cannot be read (delete nothing it might need)."""
        referenced: dict[str, set[str]] = {}
        for g in keep:
            try:
                m = self.manifest(g)
            except QAError:
                if g == live:
                    return None
                continue
            for s in m.segments:
                files = referenced.setdefault(s.name, set())
                if s.deletes:
                    files.add(s.deletes["file"])
        return referenced

    def new_segment_dir(self) -> Path:
        """A fresh temporary folder for a segment; ``publish`` gives it its final name."""
        self.root.mkdir(parents=True, exist_ok=True)
        path = self.root / f"segment.tmp-{os.getpid()}-{time.monotonic_ns()}"
        fd = os.open(path.with_name(path.name + MARKER), os.O_RDWR | os.O_CREAT, 0o644)
        fcntl.flock(fd, fcntl.LOCK_EX)
        _WRITING[path.name] = fd
        return path

    def _done(self, tmp: Path) -> None:
        fd = _WRITING.pop(tmp.name, None)
        remove_quietly(tmp.with_name(tmp.name + MARKER))
        if fd is not None:
            os.close(fd)

    def publish(self, tmp: Path) -> str:
        """Rename a written temporary segment to the next free name (under the lock)."""
        name = f"seg-{self._next('seg'):06d}"
        os.rename(tmp, self.root / name)
        self._done(tmp)
        return name

    def discard(self, tmp: Path) -> None:
        remove_quietly(tmp)
        self._done(tmp)

    def write_segment(self, data: SegmentData, **params) -> str:
        """Write and publish a segment; its name. Under the lock."""
        tmp = self.new_segment_dir()
        try:
            write_segment(tmp, data, fault=fault_point, **params)
            name = self.publish(tmp)
        except BaseException:
            self.discard(tmp)
            raise
        return name

    def write_deletes(self, entry: SegmentEntry, segment: Segment, generation: str) -> None:
        """Record the deleted documents' BM25 statistics beside the segment, for ``entry``'s
        deleted pages: what the archive-wide document frequencies must leave out."""
        if not entry.deleted:
            entry.deletes = None
            return
        _, dead = segment.dead_masks(set(entry.deleted))
        terms, counts = segment.postings.deleted_df(dead)
        lengths = np.asarray(segment.postings.lengths, dtype=np.int64)
        name = f"del-{generation[4:]}.npz"
        path = self.root / entry.name / name
        with open(path, "wb") as f:
            np.savez(f, terms=terms, counts=counts, docs=np.int64(dead.sum()),
                     length=np.int64(lengths[dead].sum()))
            f.flush()
            os.fsync(f.fileno())
        # its name too, before a manifest that names it can be made durable (issue 23)
        fsync_dir(path.parent)
        entry.deletes = {"file": name, "checksum": checksum(path)}

    def next_generation(self) -> str:
        return f"gen-{self._next('gen'):06d}"

    def commit(self, manifest: Manifest) -> str:
        """Write ``manifest`` as the next generation and switch to it. Call inside ``lock()``
        after writing the segments it lists."""
        name = manifest.name
        tmp = self.root / f"{name}.tmp-{os.getpid()}"
        final = self.root / name
        manifest.created = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        tmp.mkdir(parents=True)
        with open(tmp / "manifest.json", "w", encoding="utf-8") as f:
            json.dump(manifest.to_dict(), f, ensure_ascii=False, indent=1)
            fault_point("manifest")
            f.flush()
            os.fsync(f.fileno())
        fsync_dir(tmp)
        os.rename(tmp, final)
        fsync_dir(self.root)
        fault_point("switch")
        self._switch(name)
        log.info("switched to %s", name)
        return name

    def failed(self, e: OSError, written: list[Path]) -> IndexWriteFailed:
        """Undo a write that failed before its switch; the error to raise."""
        for p in written:
            remove_quietly(p)
        for p in self.root.glob(f"*.tmp-{os.getpid()}*"):
            remove_quietly(p)
        reason = "磁盘空间不足" if e.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG) \
            else (e.strerror or type(e).__name__)
        return IndexWriteFailed(
            f"写入新的索引版本失败（{reason}）：索引仍是原来的 "
            f"{self.current_name() or '（无）'}，未做任何更改")

    def _switch(self, name: str) -> None:
        tmp = self.root / f"CURRENT.tmp-{os.getpid()}"
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(name + "\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.root / "CURRENT")
        fsync_dir(self.root)
