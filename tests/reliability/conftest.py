"""Fixtures for the fault, load and hostile-input tests (RELIABILITY.md).

One real model (the session's ``encoder`` when a conftest above provides it), one
small real index (the seed page with the 济阳 article) built once, and one real ``qa serve``
(gunicorn, two workers, default bind address) over a copy of it, shared by the load,
schemathesis and hostile-input tests. Writers under test run as real ``qa`` processes.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest

from qa.config import Settings
from qa.index.builder import Builder
from qa.index.store import IndexStore
from qa.ingest import ingest_bytes, ingest_paths
from qa.issues import pages_of
from qa.search.service import SearchService

ROOT = Path(__file__).resolve().parents[2]
SEED_PAGE = ROOT / "seeds" / "001_5e68e9660a63f3de.txt"
SEED_QUESTION = "济阳区配备了多少名驻站社工？"
SEED_ANSWER = "26人"


def _load_module():
    spec = importlib.util.spec_from_file_location("qa_load_benchmark", ROOT / "benchmarks" / "load.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


load = _load_module()          # benchmarks/load.py: the load runner and the page maker
make_page = load.make_page


def settings_for(index: Path, **overrides) -> Settings:
    base = replace(Settings.from_env(), index_dir=Path(index), reload_check_seconds=0.0,
                   background_merge=False)
    return replace(base, **overrides)


def ingest_pages(*numbers: int) -> list:
    articles = []
    for n in numbers:
        articles.extend(ingest_bytes(make_page(n)[0].encode(), f"rel-{n:04d}.txt"))
    return pages_of(articles)


def article_ids(index: Path) -> set[str]:
    return {a["id"] for a in IndexStore(index).load().list_articles(0, 100_000)[1]}


def write_pages(folder: Path, *numbers: int) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for n in numbers:
        (folder / f"rel-{n:04d}.txt").write_text(make_page(n)[0], "utf-8")
    return folder


def qa_process(index: Path, *args: str, pause_at: str | None = None, marker: Path | None = None,
               pause_seconds: float | None = None, log: Path | None = None,
               env: dict[str, str] | None = None) -> subprocess.Popen:
    """A real ``qa --index INDEX ARGS…`` process (with the settings ``env`` adds), optionally
    stopping at a fault point."""
    env = load.child_env(**(env or {}))
    if pause_at:
        env["QA_TEST_PAUSE_AT"] = pause_at
    if marker:
        env["QA_TEST_PAUSE_FILE"] = str(marker)
    if pause_seconds is not None:
        env["QA_TEST_PAUSE_SECONDS"] = str(pause_seconds)
    out = open(log, "wb") if log else subprocess.DEVNULL
    return subprocess.Popen([sys.executable, "-c", "from qa.cli import main; main()",
                             "--index", str(index), *args],
                            stdout=out, stderr=subprocess.STDOUT, env=env, cwd=ROOT)


def wait_for_marker(marker: Path, proc: subprocess.Popen, log: Path | None = None,
                    timeout: float = 240) -> list[str]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if marker.exists() and marker.read_text().strip():
            return marker.read_text().split()
        if proc.poll() is not None:
            tail = log.read_text(errors="replace")[-2000:] if log else ""
            pytest.fail(f"qa exited with {proc.returncode} before the fault point:\n{tail}")
        time.sleep(0.1)
    proc.kill()
    pytest.fail(f"fault point not reached in {timeout}s")


@pytest.fixture(scope="package")
def model(request):
    """The session's shared encoder (``encoder`` from a conftest above, when there is one),
    else one of our own for this package only."""
    try:
        return request.getfixturevalue("encoder")
    except pytest.FixtureLookupError:
        return SearchService(Settings.from_env()).encoder


@pytest.fixture(scope="package")
def base_index(tmp_path_factory, model) -> Path:
    root = tmp_path_factory.mktemp("rel-base") / "index"
    result = ingest_paths([SEED_PAGE])
    assert result.articles and not result.skipped
    Builder(settings_for(root), model).build(pages_of(result.articles))
    return root


@pytest.fixture(scope="package")
def served(base_index, tmp_path_factory):
    """``qa serve`` (no --host: the default bind) on a copy of the base index:
    ``(base_url, master pid, admin token)``."""
    log = tmp_path_factory.mktemp("rel-serve") / "serve.log"
    with load.serve_copy(base_index, workers=2, log=log) as running:
        yield running
