"""The embedded backend: the archive as segments and commit points on local disk.

``commit`` turns a change — new pages, pages to remove (a replacement is both) — into at most
one new segment per batch plus deletion records for the segments holding removed pages, and
switches to a new commit point. ``compact`` merges segments the way ``qa.index.merge`` plans,
building the merged segment without the lock (readers and writers go on) and taking the lock only
to swap it in, carrying over whatever was deleted from its sources in the meantime.
"""

from __future__ import annotations

import contextlib
import logging
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

from qa.config import Settings
from qa.index import merge as merging
from qa.index.faults import fault_point
from qa.index.lexical import get_tokenizer
from qa.index.locks import WAIT, file_lock, write_lock
from qa.index.segment import Segment, SegmentData, write_segment
from qa.index.snapshot import Snapshot
from qa.index.store import IndexStore, Manifest, SegmentEntry

log = logging.getLogger(__name__)


class EmbeddedBackend:
    kind = "embedded"

    def __init__(self, settings: Settings):
        self.settings = settings
        self.store = IndexStore(settings.index_dir)
        self._last: Snapshot | None = None      # the last view opened; its segments are reused

    def exists(self) -> bool:
        return self.store.exists()

    def current_name(self) -> str | None:
        return self.store.current_name()

    def open(self, model: str | None = None, reuse: Snapshot | None = None,
             name: str | None = None) -> Snapshot:
        """Segments already open — in ``reuse``, else in the last view this backend opened —
        are taken as they are: they are immutable and were verified when first opened. Without
        that, one add opened and checksummed the whole archive four times (its base, its
        totals, the merge plan twice): ~85% of an add at 27k chunks, seconds per add at 1M."""
        reuse = reuse if reuse is not None else self._last
        snap = self.store.load(name, model=model, ef_search=self.settings.hnsw_ef_search,
                               reuse=reuse.segments() if reuse is not None else None)
        self._last = snap
        return snap

    @property
    def lock_file(self) -> Path:
        return self.store.root / "LOCK"

    @contextlib.contextmanager
    def lock(self, wait: float = WAIT):
        """The index's write lock; whoever takes it first removes what killed writers left."""
        with write_lock(self.lock_file, wait):
            self.store.clean()
            yield

    def serving(self):
        """Nothing to start: every worker reads the folder itself."""
        return contextlib.nullcontext(self.settings)

    def _segment_params(self, model: str, dim: int, tokenizer: dict) -> dict:
        s = self.settings
        return {"model": model, "dim": dim, "tokenizer": tokenizer, "exact_max": s.exact_max,
                "hnsw_m": s.hnsw_m, "hnsw_ef_construction": s.hnsw_ef_construction}

    # -- writes ---------------------------------------------------------------------------

    def commit(self, base: Snapshot | None, new: list[SegmentData], remove: list[str], *,
               model: str, dim: int, fresh: bool = False) -> str:
        store = self.store
        if fresh or base is None:
            entries, segments = [], {}
            tokenizer = get_tokenizer().config()
        else:
            entries = [replace(e, deleted=list(e.deleted)) for e in base.manifest.segments]
            segments, tokenizer = base.segments(), base.manifest.tokenizer
        new = [d for d in new if len(d.articles)]
        if not new and not remove and not fresh and base is not None:
            return base.name
        written: list[Path] = []
        gen = store.next_generation()
        try:
            removing = set(remove)
            for entry in entries:
                seg = segments[entry.name]
                hit = {seg.page_index[p] for p in removing if p in seg.page_index}
                if hit - set(entry.deleted):
                    entry.deleted = sorted(set(entry.deleted) | hit)
                    store.write_deletes(entry, seg, gen)
                    written.append(store.root / entry.name / entry.deletes["file"])
            # A segment whose every page is gone is simply no longer listed.
            entries = [e for e in entries if len(e.deleted) < len(segments[e.name].pages)]
            params = self._segment_params(model, dim, tokenizer)
            for data in new:
                name = store.write_segment(data, **params)
                written.append(store.root / name)
                segments[name] = store.open_new(name, self.settings.hnsw_ef_search)
                entries.append(SegmentEntry(name, segments[name].meta_checksum))
            manifest = Manifest(gen, model, dim, tokenizer, entries,
                                _counts(entries, segments))
            return store.commit(manifest)
        except OSError as e:
            if store.current_name() == gen:       # switched after all: only a late fsync failed
                log.error("switched to %s, but: %s", gen, e)
                return gen
            raise store.failed(e, written) from e

    # -- merging --------------------------------------------------------------------------

    def candidates(self, snap: Snapshot) -> list[merging.Candidate]:
        return [merging.Candidate(p.seg.name, p.seg.chunks - (0 if p.live is None
                                                              else int((~p.live).sum())),
                                  p.seg.chunks, p.seg.kind) for p in snap.parts]

    def compact(self, *, everything: bool = False, max_chunks: int | None = None,
                model: str | None = None) -> list[str]:
        """Run the merges the policy calls for (``everything``: merge the whole archive into
        one segment), or only those whose result has at most ``max_chunks`` chunks. Returns the
        names of the new segments."""
        s = self.settings
        policy = merging.Policy(exact_max=s.exact_max, factor=s.merge_factor)
        done: list[str] = []
        # One merger at a time (a lock of its own: writers are never blocked by it).
        with file_lock(self.store.root / "MERGE", 0, give_up=True) as mine:
            if not mine:
                log.info("another merge is running; not merging")
                return done
            while True:
                if not self.exists():
                    return done
                base = self.open(model)
                cands = self.candidates(base)
                if everything:
                    groups = [[c.name for c in cands]] if len(cands) > 1 or any(
                        c.live < c.total for c in cands) else []
                else:
                    groups = merging.plan(cands, policy)
                if max_chunks is not None:
                    groups = [g for g in groups if merging.merged_size(g, cands) <= max_chunks]
                if not groups:
                    return done
                name = self._merge(base, groups[0])
                if name is None:
                    continue            # the archive changed under the merge: plan again
                done.append(name)
                if everything:
                    return done

    def _merge(self, base: Snapshot, group: list[str]) -> str | None:
        store = self.store
        parts = {p.seg.name: p for p in base.parts}
        sources = [parts[n] for n in group]
        data = merging.merge([(p.seg, set(p.deleted)) for p in sources])
        tmp = store.new_segment_dir()
        try:
            write_segment(tmp, data, fault=fault_point, **self._segment_params(
                base.model, base.dim, base.manifest.tokenizer))
            fault_point("merge")
            with self.lock():
                current = self.open(base.model, reuse=base)
                now = {e.name: e for e in current.manifest.segments}
                if any(n not in now for n in group):
                    log.info("merge of %s abandoned: the archive changed", ", ".join(group))
                    store.discard(tmp)
                    return None
                gen = store.next_generation()
                name = store.publish(tmp)
                merged = store.open_new(name, self.settings.hnsw_ef_search)
                entry = SegmentEntry(name, merged.meta_checksum)
                # Pages deleted from the sources since the merge began are deleted here too.
                gone = {src.seg.pages[n]["id"] for src in sources
                        for n in set(now[src.seg.name].deleted) - set(src.deleted)}
                entry.deleted = sorted(merged.page_index[p] for p in gone
                                       if p in merged.page_index)
                written = [store.root / name]
                try:
                    if entry.deleted:
                        store.write_deletes(entry, merged, gen)
                    first = min(i for i, e in enumerate(current.manifest.segments)
                                if e.name in group)
                    entries = [e for e in current.manifest.segments if e.name not in group]
                    entries.insert(first, entry)
                    segments = current.segments()
                    segments[name] = merged
                    m = current.manifest
                    store.commit(Manifest(gen, m.model, m.dim, m.tokenizer, entries,
                                          _counts(entries, segments)))
                except OSError as e:
                    raise store.failed(e, written) from e
            log.info("merged %s into %s (%d chunks)", ", ".join(group), name, len(data))
            return name
        except BaseException:
            store.discard(tmp)
            raise

    def merge_after_add(self, model: str) -> None:
        """After an add: small merges now, a big one in a background process."""
        s = self.settings
        self.compact(max_chunks=s.merge_inline_max, model=model)
        if not s.background_merge or not self.exists():
            return
        policy = merging.Policy(exact_max=s.exact_max, factor=s.merge_factor)
        if merging.plan(self.candidates(self.open(model)), policy):
            spawn_compact(s)


def spawn_compact(settings: Settings) -> None:
    """``qa compact`` in its own session, so a merge that takes minutes outlives the request
    (or command) that called for it; its log goes to ``<index>/compact.log``."""
    log_path = Path(settings.index_dir) / "compact.log"
    with open(log_path, "ab") as out:
        subprocess.Popen([sys.executable, "-m", "qa.cli", "--index", str(settings.index_dir),
                          "compact"], stdin=subprocess.DEVNULL, stdout=out, stderr=out,
                         start_new_session=True, env=os.environ.copy())
    log.info("started a background merge (log: %s)", log_path)


def _counts(entries: list[SegmentEntry], segments: dict[str, Segment]) -> dict:
    pages = articles = chunks = 0
    issues: set[str] = set()
    for e in entries:
        seg = segments[e.name]
        dead_articles, dead_chunks = seg.dead_masks(set(e.deleted))
        pages += len(seg.pages) - len(e.deleted)
        articles += int((~dead_articles).sum())
        chunks += int((~dead_chunks).sum())
        issues.update(p["issue"] for n, p in enumerate(seg.pages) if n not in set(e.deleted))
    return {"pages": pages, "articles": articles, "chunks": chunks, "issues": len(issues),
            "segments": len(entries)}
