"""Writer locks: every process that changes an index — a ``qa`` command, a web worker, a
background merge — holds the same ``flock`` for the same index while it writes.

``write_lock(settings)`` is the one way a writer takes it; the file it locks depends only on
where the index is, never on how this process reaches it:

* embedded: ``<index>/LOCK``;
* Milvus Lite: ``<folder>.lock`` beside the data folder, whether this process serves the folder
  itself or goes through the Lite server of a running ``qa serve``;
* a Milvus server: a file under ``<cache>/milvus-locks`` named by the server, database and
  prefix, so it serialises writers on this machine only (docs/architecture.md, "The Milvus backend").
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import time
from pathlib import Path

from qa.errors import IndexBusy, needs_extra
from qa.index.store import fault_point

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


def lock_file(settings) -> Path:
    """The file that writers of the index ``settings`` name lock."""
    if settings.backend == "milvus":
        with needs_extra("milvus", "QA_BACKEND=milvus "):
            from qa.index.milvus.client import lite_folder

        folder = lite_folder(settings)
        if folder is not None:
            return folder.parent / f"{folder.name}.lock"
        target = f"{settings.milvus_uri.rstrip('/')}|{settings.milvus_db}|{settings.milvus_prefix}"
        name = hashlib.sha1(target.encode()).hexdigest()[:16]
        return Path(settings.cache_dir) / "milvus-locks" / f"{name}.lock"
    return Path(settings.index_dir) / "LOCK"


@contextlib.contextmanager
def write_lock(settings, wait: float = WAIT):
    """Held while a writer changes the index ``settings`` name. Waits (up to ``wait`` s) rather
    than failing, so two uploads both land, one after the other."""
    with file_lock(lock_file(settings), wait):
        fault_point("lock")
        yield
