"""A question's independent work, spread over the machine's cores.

At a million chunks one question searches several HNSW segments and several sets of BM25
postings, and embeds itself; each of those is a C or numpy call that releases the GIL, so on two
cores they overlap instead of queueing (BENCHMARKS.md §9). One pool per process, made on first
use (so a forked worker gets its own), with as many threads as cores.

The pool is the only parallelism a question gets: numpy's BLAS is held to one thread in a process
that makes it. Its own threads would split an exact segment search across both cores and then
spin, waiting for more work, on the core the BM25 search runs on; at a million chunks (one graph
and six small exact segments) that alone took a question from 15.5 to 23 ms at p50.

Whoever waits for a task runs it itself if no pool thread has started it yet. So a task that
fans out in turn (the lexical search, run beside the embedding, fans out over segments) never
waits for a free thread, and a burst of requests cannot deadlock the pool: at worst each request
does its own work, as it would without the pool.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")

_lock = threading.Lock()
_pool: ThreadPoolExecutor | None = None
_pid: int | None = None


def _executor() -> ThreadPoolExecutor:
    global _pool, _pid
    with _lock:
        if _pool is None or _pid != os.getpid():
            _pool = ThreadPoolExecutor(max_workers=os.cpu_count() or 1,
                                       thread_name_prefix="qa-search")
            _pid = os.getpid()
            one_blas_thread()
        return _pool


def one_blas_thread() -> None:
    """numpy's BLAS, the kind that runs its own pool of threads, to one thread, for the whole
    process. A BLAS threaded by OpenMP (FAISS's) is left alone: limiting it would also shrink
    the OpenMP team FAISS builds graphs with."""
    import numpy  # noqa: F401  (loads the BLAS: a library not yet loaded cannot be limited)
    from threadpoolctl import ThreadpoolController

    # (select matches any one of its keys, so the layer alone: only BLAS libraries have one)
    ThreadpoolController().select(threading_layer="pthreads").limit(limits=1)


class Later:
    """``fn(*args)`` started on the pool; ``result()`` waits for it, or runs it if it has not
    started."""

    def __init__(self, fn: Callable[..., R], *args):
        self._call = (fn, args)
        self._future: Future = _executor().submit(fn, *args)

    def result(self) -> R:
        if self._future.cancel():
            fn, args = self._call
            return fn(*args)
        return self._future.result()


def fan_out(fn: Callable[[T], R], items: Iterable[T]) -> list[R]:
    """``[fn(x) for x in items]``, the items in parallel: the caller takes the first."""
    items = list(items)
    if len(items) < 2:
        return [fn(x) for x in items]
    rest = [Later(fn, x) for x in items[1:]]
    return [fn(items[0]), *(r.result() for r in rest)]
