import multiprocessing
import os
import threading
import time

import pytest

from qa.parallel import Later, fan_out


def test_fan_out_keeps_order_and_runs_in_parallel():
    seen: set[int] = set()

    def work(x):
        seen.add(threading.get_ident())
        time.sleep(0.05)
        return x * x

    assert fan_out(work, range(6)) == [0, 1, 4, 9, 16, 25]
    if (os.cpu_count() or 1) > 1:
        assert len(seen) > 1      # the caller and at least one pool thread


def test_errors_reach_the_caller():
    def work(x):
        if x == 2:
            raise ValueError("bad item")
        return x

    with pytest.raises(ValueError, match="bad item"):
        fan_out(work, range(4))


def test_nested_fan_out_from_many_threads_never_deadlocks():
    """Every pool thread busy with a task that itself fans out: the waiting tasks must run
    their own queued work instead of waiting for a free thread (which would never come)."""
    def inner(x):
        time.sleep(0.01)
        return x

    def outer(x):
        return sum(fan_out(inner, range(4))) + x

    results: list[int] = []

    def request(i):
        later = Later(outer, i)
        results.append(later.result())

    threads = [threading.Thread(target=request, args=(i,), daemon=True) for i in range(16)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 30
    for t in threads:
        t.join(timeout=max(0.0, deadline - time.monotonic()))
    assert not any(t.is_alive() for t in threads), "fan-out deadlocked"
    assert sorted(results) == [6 + i for i in range(16)]


def _threads_used(n: int) -> int:
    seen: set[int] = set()

    def work(x):
        seen.add(threading.get_ident())
        time.sleep(0.05)

    fan_out(work, range(n))
    return len(seen)


def _child(queue):
    queue.put(_threads_used(4))


@pytest.mark.skipif(not hasattr(os, "fork") or (os.cpu_count() or 1) < 2,
                    reason="needs fork and two cores")
def test_a_forked_process_gets_its_own_pool():
    """gunicorn forks workers after the master may have searched: a pool inherited from the
    parent has no threads in the child, so the child would do everything alone."""
    assert _threads_used(4) > 1         # the parent's pool exists and works
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    child = ctx.Process(target=_child, args=(queue,))
    child.start()
    child.join(timeout=30)
    if child.is_alive():
        child.kill()
        pytest.fail("the forked child hung")
    assert queue.get(timeout=5) > 1


PROBE = """
import json
import faiss, numpy
from threadpoolctl import threadpool_info
from qa.parallel import Later

def threads(layer):
    return [i["num_threads"] for i in threadpool_info()
            if i["user_api"] == "blas" and i.get("threading_layer") == layer]

before, omp = threads("pthreads"), faiss.omp_get_max_threads()
Later(int).result()
print(json.dumps([before, threads("pthreads"), omp, faiss.omp_get_max_threads()]))
"""


@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="one core: BLAS has one thread anyway")
def test_the_pool_holds_numpys_blas_to_one_thread_and_leaves_openmp_alone():
    """numpy's BLAS threads would take the core a question's other parts run on; FAISS's
    OpenMP team must still build graphs on every core. A fresh process, so that no earlier
    test has made the pool already."""
    import json
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True,
                         check=True).stdout
    before, after, omp_before, omp_after = json.loads(out)
    assert before and all(n > 1 for n in before)     # else this test shows nothing
    assert after == [1] * len(before)
    assert omp_after == omp_before > 1
