"""Session-wide real resources: the embedding model and an index built from seeds/."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from qa.config import Settings
from qa.issues import IssueMeta, IssueService
from qa.search.service import SearchService
from tests.fakes import SEEDS


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
