"""One real seed index per session and backend, and apps over it; nothing here is mocked.

The seed index is read-only for the whole session; a test that uploads gets its own copy
(``writable_index``) so the others keep seeing the seeds only. All apps share one encoder, the
expensive part. ``app`` and ``writable_index`` run their tests on both backends (``Place``).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from qa.config import Settings
from qa.search.service import SearchService
from qa.web.app import create_app
from tests.conftest import Place

TOKEN = "test-admin-token"
UPLOAD_LIMIT = 256 * 1024


def make_settings(index: Path | Place, **overrides) -> Settings:
    """Settings for an index folder (embedded) or a ``Place`` (either backend)."""
    place = index if isinstance(index, Place) else Place("embedded", Path(index))
    defaults = {"admin_token": TOKEN, "max_upload_bytes": UPLOAD_LIMIT,
                "max_page_bytes": 128 * 1024, "background_merge": False}
    return place.settings(**{**defaults, **overrides})


@pytest.fixture(scope="session")
def app(seed_archive, encoder):
    settings = make_settings(seed_archive)
    return create_app(settings, SearchService(settings, encoder))


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture(scope="session")
def base_index(seed_index) -> Path:
    """What ``index`` (tests/conftest.py) copies here: the seeds."""
    return seed_index


@pytest.fixture
def writable_index(seed_archive, tmp_path) -> Place:
    return seed_archive.copy(tmp_path / "index")


@pytest.fixture
def make_app(encoder):
    """``make_app(index, **settings)``: another app (another "worker") over an index."""
    def build(index: Path | Place, **overrides):
        settings = make_settings(index, **overrides)
        return create_app(settings, SearchService(settings, encoder))
    return build
