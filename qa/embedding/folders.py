"""Cache folders written once: the converted model and its ONNX export.

Both are assembled in a temporary folder beside their destination and renamed into place, so an
interrupted write leaves at most a stray ``.tmp`` folder, never a half-written model; and both are
made under a lock file, so several workers starting at once write them once.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path


def publish(dest: Path, write: Callable[[Path], None]) -> Path:
    """``write(tmp)`` fills a fresh folder, which then replaces ``dest`` in one rename."""
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=dest.name + ".", suffix=".tmp", dir=dest.parent))
    try:
        write(tmp)
        os.chmod(tmp, 0o755)                     # mkdtemp's 0700 would hide it from other users
        if dest.exists():
            old = dest.with_name(dest.name + ".old")
            shutil.rmtree(old, ignore_errors=True)
            os.replace(dest, old)
            os.replace(tmp, dest)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, dest)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return dest


def ensure(dest: Path, marker: str, make: Callable[[Path], None]) -> Path:
    """``dest``, made by ``make(dest)`` unless it exists (``dest / marker`` is a file it holds)."""
    dest = Path(dest)
    if (dest / marker).exists():
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    with open(dest.parent / f".{dest.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (dest / marker).exists():
            # leftovers of a write that was killed; nobody else writes while we hold the lock
            for stale in dest.parent.glob(f"{dest.name}.*.tmp"):
                shutil.rmtree(stale, ignore_errors=True)
            make(dest)
    return dest
