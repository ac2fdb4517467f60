"""One real seed index per session and apps over it; nothing here is mocked.

The seed index is read-only for the whole session; a test that uploads gets its own copy
(``writable_index``) so the others keep seeing the seeds only. All apps share one encoder, the
expensive part.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from qa.config import Settings
from qa.search.service import SearchService
from qa.web.app import create_app

TOKEN = "test-admin-token"
UPLOAD_LIMIT = 256 * 1024


def make_settings(index_dir: Path, **overrides) -> Settings:
    base = replace(Settings.from_env(), index_dir=Path(index_dir), admin_token=TOKEN,
                   max_upload_bytes=UPLOAD_LIMIT, max_page_bytes=128 * 1024,
                   background_merge=False)
    return replace(base, **overrides)


@pytest.fixture(scope="session")
def app(seed_index, encoder):
    settings = make_settings(seed_index)
    return create_app(settings, SearchService(settings, encoder))


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture(scope="session")
def base_index(seed_index) -> Path:
    """What ``index`` (tests/conftest.py) copies here: the seeds."""
    return seed_index


@pytest.fixture
def writable_index(index) -> Path:
    """A copy of the seed index for a test that uploads."""
    return index


@pytest.fixture
def make_app(encoder):
    """``make_app(index_dir, **settings)``: another app (another "worker") over an index."""
    def build(index_dir: Path, **overrides):
        settings = make_settings(index_dir, **overrides)
        return create_app(settings, SearchService(settings, encoder))
    return build
