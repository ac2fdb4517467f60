"""Builder: fresh builds, adds that embed only what is new, reprints stored once, generations
switched atomically, and an index that refuses another model. A counting fake encoder keeps it
fast; the real model is exercised in tests/search and tests/web."""

from __future__ import annotations

import hashlib
from dataclasses import replace

import numpy as np
import pytest

from qa.config import Settings
from qa.errors import ModelMismatch
from qa.index.builder import Builder
from qa.index.store import IndexStore
from qa.ingest import IngestResult, ingest_bytes

PAGE = ("{city}建成首个珊瑚礁修复实验站\n\n近日，{city}珊瑚礁修复实验站在东湾正式建成投用。"
        "据介绍，实验站配备专职潜水科研人员{n}名。\n\n今年以来，实验站已累计移植珊瑚苗种一万一千株，"
        "成活率超过九成。站长表示，下一步将与高校合作开展长期监测。\n\n（据测试日报）\n")


class CountingEncoder:
    model_id, dim = "test/counting", 16

    def __init__(self):
        self.passages = 0

    def _vec(self, text: str) -> np.ndarray:
        seed = int.from_bytes(hashlib.sha256(text.encode()).digest()[:4], "little")
        v = np.random.default_rng(seed).standard_normal(self.dim).astype(np.float32)
        return v / np.linalg.norm(v)

    def encode_queries(self, texts):
        return np.stack([self._vec(t) for t in texts]) if texts else np.zeros((0, self.dim))

    def encode_passages(self, texts, show_progress=False):
        self.passages += len(texts)
        return self.encode_queries(list(texts)).astype(np.float32).reshape(-1, self.dim)


def page(name: str, city: str = "某市", n: int = 12) -> IngestResult:
    r = IngestResult(files=1)
    r.articles.extend(ingest_bytes(PAGE.format(city=city, n=n).encode(), name))
    return r


@pytest.fixture
def setup(tmp_path):
    settings = replace(Settings(), index_dir=tmp_path / "index", model=CountingEncoder.model_id)
    encoder = CountingEncoder()
    return Builder(settings, encoder), encoder, IndexStore(settings.index_dir)


def test_build_writes_a_generation_and_switches_to_it(setup):
    builder, encoder, store = setup
    report = builder.build(page("001_p.txt"))
    assert report.generation == store.current_name() and report.articles_added == 1
    snap = store.load()
    assert len(snap.chunks) == report.total_chunks == encoder.passages > 0
    assert snap.manifest["model"] == "test/counting" and snap.manifest["dense"]["kind"] == "flat"
    for c in snap.chunks:       # every chunk is an exact span of its article
        cite = c["citations"][0]
        assert snap.articles[cite["article_id"]].text[cite["start"]:cite["end"]] == c["text"]


def test_add_embeds_only_new_chunks_and_readding_changes_nothing(setup):
    builder, encoder, store = setup
    builder.build(page("001_p.txt"))
    first, embedded = store.current_name(), encoder.passages
    report = builder.add(page("002_p.txt", city="另一市", n=30))
    assert report.articles_added == 1 and store.current_name() != first
    assert encoder.passages - embedded == report.chunks_added > 0
    again = builder.add(page("002_p.txt", city="另一市", n=30))
    assert again.articles_added == 0 and "nothing new" in again.summary()
    assert store.current_name() == report.generation


def test_reprinted_article_is_stored_once_and_cites_both_issues(setup):
    builder, encoder, store = setup
    builder.build(page("001_p.txt"))
    before = store.load()
    embedded = encoder.passages
    report = builder.add(page("007_p.txt"))             # the same article in another issue
    after = store.load()
    assert report.articles_added == 1 and report.chunks_added == 0
    assert encoder.passages == embedded
    assert len(after.chunks) == len(before.chunks)
    issues = {after.articles[c["article_id"]].issue for c in after.chunks[0]["citations"]}
    assert issues == {"001_p", "007_p"}


def test_a_build_from_scratch_drops_what_it_was_not_given(setup):
    builder, _, store = setup
    builder.build(page("001_p.txt"))
    builder.add(page("002_p.txt", city="另一市"))
    builder.build(page("003_p.txt", city="第三市"))
    assert {a.issue for a in store.load().articles.values()} == {"003_p"}


def test_index_refuses_another_model(setup, tmp_path):
    builder, _, store = setup
    builder.build(page("001_p.txt"))
    with pytest.raises(ModelMismatch) as e:
        store.load(model="intfloat/multilingual-e5-base")
    assert e.value.status == 409 and "test/counting" in e.value.message

    class Other(CountingEncoder):
        model_id = "other/model"

    with pytest.raises(ModelMismatch):
        Builder(replace(builder.settings, model=Other.model_id), Other()).add(page("002_p.txt"))
