"""The moments a crash test kills a writer at (RELIABILITY.md, "How a crash is inflicted").

``fault_point(name)`` does nothing unless ``QA_TEST_PAUSE_AT`` names that point, which only the
tests set. It lives apart from every engine because writers of every kind call it: the builder
(``embed``), the write lock (``lock``), the embedded store (``dense``, ``manifest``, ``switch``,
``merge``).
"""

from __future__ import annotations

import logging
import os
import time

log = logging.getLogger(__name__)


def fault_point(name: str) -> None:
    """Test-only crash hook. With ``QA_TEST_PAUSE_AT`` set to ``name`` (or a comma list holding
    it), append ``<point> <pid> <unix time>`` to the file ``QA_TEST_PAUSE_FILE`` (if set), then
    sleep ``QA_TEST_PAUSE_SECONDS`` (default 3600) so the test can SIGKILL the process here.
    Points: ``lock`` (lock held), ``embed`` (about to embed), ``dense`` (a new segment's arrays
    written, its vector index next), ``manifest`` (manifest written but not flushed),
    ``switch`` (generation renamed, CURRENT not yet replaced), ``merge`` (a merged segment
    written, its commit not begun). This hook reads the environment itself, unlike the rest of
    the package (``Settings``), so that no production setting can turn it on by accident."""
    points = os.environ.get("QA_TEST_PAUSE_AT")
    if not points or name not in points.split(","):
        return
    marker = os.environ.get("QA_TEST_PAUSE_FILE")
    if marker:
        with open(marker, "a", encoding="utf-8") as f:
            f.write(f"{name} {os.getpid()} {time.time():.3f}\n")
    log.warning("test fault point %s reached (pid %d)", name, os.getpid())
    time.sleep(float(os.environ.get("QA_TEST_PAUSE_SECONDS", "3600")))
