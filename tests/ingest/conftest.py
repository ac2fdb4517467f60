"""Shared fixtures for the ingest tests: the seed pages and what they must turn into."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from qa.ingest import ingest_paths

HERE = Path(__file__).parent
REPO = HERE.parents[1]
SEEDS = REPO / "seeds"
DATA = HERE / "data"
# CI checks out ../shared beside the repository; the tests use the copy in data/ and only
# compare it with the shared file when that is present.
SHARED = Path(__file__).parents[2].parent / "shared"


@pytest.fixture(scope="session")
def seed_expected() -> list[dict]:
    lines = (DATA / "seed_articles.jsonl").read_text("utf-8").splitlines()
    return [json.loads(l) for l in lines if l.strip()]


@pytest.fixture(scope="session")
def seed_result():
    return ingest_paths([SEEDS])


@pytest.fixture(scope="session")
def seed_articles(seed_result):
    return seed_result.articles
