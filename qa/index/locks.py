"""Writer locks: every process that changes an index — a ``qa`` command, a web worker, a
background merge — holds the same ``flock`` for the same index while it writes.

``write_lock(path)`` is the one way a writer takes it. Each engine names the file
(``Backend.lock_file``), from where the index is, never from how this process reaches it:

* embedded: ``<index>/LOCK``;
* Milvus Lite: ``<folder>.lock`` beside the data folder, whether this process serves the folder
  itself or goes through the Lite server of a running ``qa serve``;
* a Milvus server: a file under ``<cache>/milvus-locks`` named by the server, database and
  prefix, so it serialises writers on this machine only (docs/architecture.md, "The Milvus backend").
"""

from __future__ import annotations

import contextlib
import fcntl
import time
from pathlib import Path

from qa.errors import IndexBusy
from qa.index.faults import fault_point

WAIT = 600.0


@contextlib.contextmanager
def file_lock(path: Path, wait: float = WAIT, *, give_up: bool = False):
    """An exclusive ``flock`` on ``path`` for the block, waited for up to ``wait`` s; yields
    True once held. Still held by another after that: ``IndexBusy``, or with ``give_up`` the
    block runs without it and gets False."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as f:
        deadline = time.monotonic() + wait
        while True:
            try:
                fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    if give_up:
                        yield False
                        return
                    raise IndexBusy("索引正在被另一个任务更新，请稍后再试") from None
                time.sleep(0.1)
        try:
            yield True
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


@contextlib.contextmanager
def write_lock(path: Path, wait: float = WAIT):
    """Held while a writer changes the index whose lock file is ``path``. Waits (up to ``wait``
    s) rather than failing, so two uploads both land, one after the other."""
    with file_lock(path, wait):
        fault_point("lock")
        yield
