"""Session-wide real resources: the embedding model and an index built from seeds/; and the
writable copy of an index that a test damages or writes to."""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

import pytest

from qa.config import Settings
from qa.index.builder import Builder
from qa.ingest import ingest_paths
from qa.search.service import SearchService

SEEDS = Path(__file__).resolve().parents[1] / "seeds"


@pytest.fixture(scope="session")
def encoder():
    """Loaded once per session: every test that embeds shares it."""
    return SearchService(Settings.from_env()).encoder


@pytest.fixture(scope="session")
def seed_index(tmp_path_factory, encoder) -> Path:
    """The seed pages, built once and read-only; copy it before writing."""
    root = tmp_path_factory.mktemp("seed-index")
    result = ingest_paths([SEEDS])
    assert result.articles and not result.skipped
    Builder(replace(Settings.from_env(), index_dir=root), encoder).build(result)
    return root


@pytest.fixture
def index(base_index, tmp_path) -> Path:
    """A private, writable copy of ``base_index`` — the read-only index that the module or
    package asking for ``index`` builds once — so a test may damage or extend it freely."""
    copy = tmp_path / "index"
    shutil.copytree(base_index, copy)
    return copy
