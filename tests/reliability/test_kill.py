"""``kill -9`` of a real ``qa build`` / ``qa add`` at named moments of a write, while a
SearchService on the same index answers questions non-stop.

The writer runs with ``QA_TEST_PAUSE_AT=<point>``: it stops there (``qa.index.faults.fault_point``)
and we SIGKILL it. Then: every query during the whole episode succeeded from the old generation,
CURRENT still names it, the lock is free again, and the next writer removes the leftovers
without losing any article indexed before.
"""

from __future__ import annotations

import os
import signal
import threading
import time

import pytest

from qa.index.builder import Builder
from qa.index.embedded import EmbeddedBackend
from qa.index.store import IndexStore

from .conftest import (SEED_ANSWER, SEED_QUESTION, article_ids, ingest_pages, qa_process,
                       settings_for, wait_for_marker, write_pages)
from qa.search.service import SearchService

# (command, point, what the killed writer leaves on disk)
CASES = [
    ("add", "embed", "nothing"),          # lock held, model busy embedding: no files yet
    ("add", "dense", "tmp"),              # the new segment's arrays written; vectors index next
    ("add", "manifest", "tmp"),           # segment published, manifest not yet flushed
    ("add", "switch", "unswitched"),      # generation complete and renamed, CURRENT not moved
    ("build", "embed", "nothing"),
    ("build", "dense", "tmp"),
    ("build", "manifest", "tmp"),
    ("build", "switch", "unswitched"),
    ("remove", "manifest", "tmp"),        # deletion record written, manifest not flushed
    ("remove", "switch", "unswitched"),
    ("compact", "merge", "tmp"),          # merged segment written (no lock), not yet swapped in
    ("compact", "switch", "unswitched"),
    ("add", "embed-running", "nothing"),  # no pause: killed 0.5 s into the real embedding
]
# The short version in `make test`.
QUICK = {("add", "manifest"), ("build", "switch"), ("remove", "switch"), ("compact", "merge")}


def _params():
    for cmd, point, leaves in CASES:
        marks = () if (cmd, point) in QUICK else (pytest.mark.slow,)
        yield pytest.param(cmd, point, leaves, marks=marks, id=f"{cmd}-{point}")


class Reader(threading.Thread):
    """Asks the seed question in a loop; counts failures and where answers came from."""

    def __init__(self, service: SearchService):
        super().__init__(daemon=True)
        self.service, self.stop = service, threading.Event()
        self.ok = self.failed = 0
        self.generations: set[str] = set()
        self.errors: list[str] = []

    def run(self):
        while not self.stop.is_set():
            try:
                answer = self.service.ask(SEED_QUESTION, 3)
                self.generations.add(self.service.snapshot().name)
                if answer.results and SEED_ANSWER in answer.results[0].text:
                    self.ok += 1
                else:
                    self.failed += 1
                    self.errors.append(f"wrong answer: {answer.results[:1]}")
            except Exception as e:  # noqa: BLE001 — every failure counts
                self.failed += 1
                self.errors.append(repr(e))
            time.sleep(0.05)


@pytest.mark.parametrize("cmd, point, leaves", list(_params()))
def test_kill_9_during_write_loses_nothing(index, model, tmp_path, cmd, point, leaves):
    store = IndexStore(index)
    if cmd in ("remove", "compact"):
        # Something to remove, and a second segment to merge with.
        Builder(settings_for(index), model).add(ingest_pages(7))
    old = store.current_name()
    old_ids = article_ids(index)
    service = SearchService(settings_for(index), model)
    assert service.snapshot().name == old
    reader = Reader(service)
    reader.start()

    # Enough pages that embedding (int8 ONNX: tens of chunks a second) is still running when the
    # kill comes 0.5 s into it.
    numbers = range(1, 301) if point == "embed-running" else (1, 2)
    pages = write_pages(tmp_path / "pages", *numbers)
    marker, log = tmp_path / "marker", tmp_path / "qa.log"
    pause = "embed" if point == "embed-running" else point
    args = {"remove": ["rel-0007"], "compact": ["--all"]}.get(cmd, [str(pages)])
    proc = qa_process(index, cmd, *args, pause_at=pause, marker=marker, log=log,
                      pause_seconds=0 if point == "embed-running" else None)
    try:
        wait_for_marker(marker, proc, log)
        if point == "embed-running":
            time.sleep(0.5)
        assert proc.poll() is None, "the writer finished before it could be killed"
        os.kill(proc.pid, signal.SIGKILL)
        assert proc.wait(30) == -signal.SIGKILL
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(30)
    time.sleep(0.3)                 # a few more queries after the death
    reader.stop.set()
    reader.join(30)

    # The service never failed and never left the old generation.
    assert reader.failed == 0, reader.errors[:5]
    assert reader.ok > 0 and reader.generations == {old}
    assert store.current_name() == old and service.snapshot().name == old
    assert article_ids(index) == old_ids                   # checksums verified again

    # What the killed writer left behind really is there (the fault did happen mid-write).
    names = {p.name for p in index.iterdir()}
    referenced = {s.name for s in store.manifest(old).segments}
    leftovers = sorted(n for n in names if (n.startswith("gen-") and n > old)
                       or f".tmp-{proc.pid}" in n
                       or (n.startswith("seg-") and n not in referenced))
    if any(f".tmp-{proc.pid}" in n for n in leftovers):
        found = "tmp"
    elif any(n.startswith("gen-") for n in leftovers):
        found = "unswitched"
    else:
        found = "nothing"
    assert found == leaves, sorted(names)

    # The kernel released the dead writer's flock: the next writer gets it at once, removes
    # the leftovers, and keeps every article indexed before.
    with EmbeddedBackend(settings_for(index)).lock(wait=5):
        pass
    assert not [n for n in (p.name for p in index.iterdir()) if n in leftovers]
    report = Builder(settings_for(index), model).add(ingest_pages(3))
    names = {p.name for p in index.iterdir()}
    assert not [n for n in names if ".tmp" in n] and store.current_name() == report.generation
    new_ids = article_ids(index)
    assert old_ids < new_ids and len(new_ids) == len(old_ids) + 1
    assert service.snapshot().name == report.generation
    assert SEED_ANSWER in service.ask(SEED_QUESTION, 1).results[0].text
