"""SearchService when CURRENT names a generation it cannot load: it keeps serving the old one
(tests/index/test_store_faults.py) — and does not try it again on every request (finding F3 in
RELIABILITY.md: each try re-hashes every file of the generation). A tiny fake encoder keeps this
model-free."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from qa.config import Settings
from qa.index.builder import Builder
from qa.index.store import IndexStore
from qa.ingest import ingest_bytes
from qa.issues import pages_of
from qa.search.service import SearchService

PAGE = ("某市建成首个珊瑚礁修复实验站\n\n近日，某市珊瑚礁修复实验\n站在东湾正式建成投用。\n\n"
        "据介绍，实验站配备专职潜水\n科研人员{n}名，今年已累\n计移植珊瑚苗种一万一千株。\n\n（据测试日报）\n")


class Fake:
    model_id, dim = "test/fake", 8

    def encode_queries(self, texts):
        return np.ones((len(texts), 8), np.float32) / np.sqrt(8)

    encode_passages = lambda self, texts, show_progress=False: self.encode_queries(texts)  # noqa: E731


def _result(n: int) -> list:
    return pages_of(ingest_bytes(PAGE.format(n=n).encode(), f"p{n}.txt"))


def test_a_generation_that_failed_to_load_is_not_retried_on_every_request(tmp_path, monkeypatch):
    settings = replace(Settings(), index_dir=tmp_path, model=Fake.model_id,
                       background_merge=False)
    Builder(settings, Fake()).build(_result(1))
    service = SearchService(settings, Fake())
    old = service.snapshot().name
    new = Builder(settings, Fake()).add(_result(2)).generation
    path = tmp_path / IndexStore(tmp_path).manifest(new).segments[-1].name / "vectors.npy"
    path.write_bytes(path.read_bytes()[:-8])

    attempts = []
    real_load = IndexStore.load
    monkeypatch.setattr(IndexStore, "load",
                        lambda self, *a, **k: attempts.append(a) or real_load(self, *a, **k))
    for _ in range(5):
        assert service.ask("潜水科研人员", 1).results
        assert service.snapshot().name == old
    assert len(attempts) <= 1, f"{len(attempts)} loads of the same damaged generation"


class OtherFake(Fake):
    model_id = "test/other-model"


def test_a_generation_built_with_another_model_is_refused_and_the_old_one_serves(tmp_path):
    settings = replace(Settings(), index_dir=tmp_path, model=Fake.model_id,
                       background_merge=False)
    Builder(settings, Fake()).build(_result(1))
    service = SearchService(settings, Fake())
    old = service.snapshot().name
    # Another writer, configured with another model, builds from scratch and switches.
    Builder(replace(settings, model=OtherFake.model_id), OtherFake()).build(_result(2))
    assert IndexStore(tmp_path).current_name() != old
    assert service.ask("潜水科研人员", 1).results
    assert service.snapshot().name == old
    assert service.health()["status"] == "ok"
