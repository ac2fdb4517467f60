"""Index generations under damage and contention, without the model: a tiny deterministic
encoder stands in for it, so each case builds a real (small) generation in milliseconds.

What is inflicted for real: bytes flipped and files cut in a generation on disk, manifests
broken, writes failing with ENOSPC from the kernel (RLIMIT_FSIZE in a forked child), threads
racing for the LOCK. What would need a separate process (SIGKILL, a full filesystem) is in
tests/reliability/.
"""

from __future__ import annotations

import hashlib
import json
import os
import resource
import shutil
import signal
import threading
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from qa.config import Settings
from qa.errors import IndexCorrupt, IndexNotFound
from qa.index.builder import Builder
from qa.index.store import IndexStore, IndexWriteFailed
from qa.ingest import IngestResult, ingest_bytes
from qa.search.service import SearchService

DIM = 16


class FakeEncoder:
    """Character-hash vectors: deterministic, normalised, instant."""

    model_id = "test/fake-encoder"
    dim = DIM

    def _vec(self, text: str) -> np.ndarray:
        v = np.zeros(DIM, np.float32)
        for ch in text:
            v[int(hashlib.md5(ch.encode()).hexdigest(), 16) % DIM] += 1.0
        n = np.linalg.norm(v)
        return v / n if n else v

    def encode_queries(self, texts):
        return np.stack([self._vec(t) for t in texts]) if texts else np.zeros((0, DIM), np.float32)

    def encode_passages(self, texts, show_progress=False):
        return self.encode_queries(list(texts))


def page(n: int) -> tuple[str, str]:
    """A page in the seeds' layout with one article whose fact is unique to ``n``."""
    city = "青岚白沙云溪松江临川明湖石桥金川清河柳岸"[n % 10] + "东南西北中"[n // 10 % 5]
    text = (f"{city}市建成首个珊瑚礁修复实验站\n\n近日，{city}市珊瑚礁修复实验\n站在东湾正式建成投用。\n\n"
            f"据介绍，实验站占地约三千\n二百平方米，配备专职潜水\n科研人员{100 + n}名，今年已累\n"
            f"计移植珊瑚苗种一万一千株，\n成活率达到百分之九十二。\n\n（据测试日报）\n")
    return text, f"{city}市珊瑚礁修复实验站配备了多少名潜水科研人员？"


def ingest(*numbers: int) -> IngestResult:
    result = IngestResult()
    for n in numbers:
        result.files += 1
        result.articles.extend(ingest_bytes(page(n)[0].encode(), f"page-{n:03d}.txt"))
    return result


def settings_for(root: Path) -> Settings:
    return replace(Settings(), index_dir=root, model=FakeEncoder.model_id,
                   reload_check_seconds=0.0)


@pytest.fixture(scope="module")
def base_index(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("base") / "index"
    Builder(settings_for(root), FakeEncoder()).build(ingest(1, 2, 3))
    return root


def service_for(root: Path) -> SearchService:
    return SearchService(settings_for(root), FakeEncoder())


def add_new_generation(root: Path, *numbers: int) -> str:
    return Builder(settings_for(root), FakeEncoder()).add(ingest(*numbers)).generation


def article_ids(root: Path) -> set[str]:
    return set(IndexStore(root).load().articles)


def answered_by(svc: SearchService, n: int) -> str:
    return svc.ask(page(n)[1], 1).results[0].citation.article_id


# -- damaged files ---------------------------------------------------------------------------

def flip(path: Path, offset_fraction: float = 0.5) -> None:
    data = bytearray(path.read_bytes())
    i = int(len(data) * offset_fraction)
    data[i] ^= 0xFF
    path.write_bytes(bytes(data))


def cut(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


DAMAGE = {
    "flip": flip,
    "cut": cut,
    "empty": lambda p: p.write_bytes(b""),
    "delete": lambda p: p.unlink(),
}
FILES = ["articles.jsonl", "chunks.jsonl", "vectors.npy", "dense.faiss", "lexical/corpus.npz",
         "lexical/lexical.json"]


@pytest.mark.parametrize("damage", sorted(DAMAGE))
@pytest.mark.parametrize("rel", FILES)
def test_damaged_new_generation_is_refused_and_old_one_keeps_answering(index, rel, damage):
    svc = service_for(index)
    old = svc.snapshot().name
    assert answered_by(svc, 2).startswith("page-002")
    new = add_new_generation(index, 4)
    DAMAGE[damage](index / new / rel)

    with pytest.raises(IndexCorrupt) as e:
        IndexStore(index).load(new)
    assert new in e.value.message and ("校验失败" in e.value.message)

    # The service sees CURRENT move, fails the load, logs it and keeps the old generation:
    # every answer is still right and none comes from the damaged one.
    assert svc.snapshot().name == old
    assert answered_by(svc, 2).startswith("page-002")
    assert not any(h.citation.article_id.startswith("page-004") for h in svc.ask(page(4)[1], 5).results)
    assert svc.health()["generation"] == old


BAD_MANIFESTS = {
    "truncated": lambda m: m.read_bytes()[:40],
    "not-json": lambda m: b"\x00\xff garbage",
    "a-list": lambda m: b"[]",
    "no-checksums": lambda m: _edit(m, lambda d: d.pop("checksums")),
    "checksums-dropped": lambda m: _edit(m, lambda d: d.update(checksums={})),
    "no-counts": lambda m: _edit(m, lambda d: d.pop("counts")),
    "wrong-digest": lambda m: _edit(m, lambda d: d["checksums"].update({"vectors.npy": "0" * 64})),
    "wrong-count": lambda m: _edit(m, lambda d: d["counts"].update(chunks=d["counts"]["chunks"] + 1)),
}


def _edit(manifest: Path, change) -> bytes:
    data = json.loads(manifest.read_text("utf-8"))
    change(data)
    return json.dumps(data).encode()


@pytest.mark.parametrize("kind", sorted(BAD_MANIFESTS))
def test_broken_manifest_is_a_clear_error_and_old_generation_serves(index, kind):
    svc = service_for(index)
    old = svc.snapshot().name
    new = add_new_generation(index, 4)
    manifest = index / new / "manifest.json"
    manifest.write_bytes(BAD_MANIFESTS[kind](manifest))
    with pytest.raises(IndexCorrupt) as e:
        IndexStore(index).load(new)
    assert new in e.value.message
    assert svc.snapshot().name == old and answered_by(svc, 3).startswith("page-003")


@pytest.mark.parametrize("damage", ["flip", "cut"])
def test_damaged_current_generation_at_startup_is_a_clear_error(index, damage):
    DAMAGE[damage](index / IndexStore(index).current_name() / "dense.faiss")
    svc = service_for(index)
    with pytest.raises(IndexCorrupt) as e:
        svc.snapshot()
    assert "dense.faiss" in e.value.message and "校验失败" in e.value.message
    health = svc.health()
    assert health["status"] == "unavailable" and "校验失败" in health["error"]


def test_writer_refuses_to_build_on_a_damaged_live_generation(index):
    """``add`` reads the live generation; damaged, it stops rather than carry damage forward."""
    before = sorted(p.name for p in index.iterdir())
    flip(index / IndexStore(index).current_name() / "chunks.jsonl")
    with pytest.raises(IndexCorrupt):
        add_new_generation(index, 4)
    assert sorted(p.name for p in index.iterdir()) == before


# -- leftovers of killed writers --------------------------------------------------------------

def test_next_writer_removes_what_a_killed_writer_left(index):
    store = IndexStore(index)
    live = store.current_name()
    # What SIGKILL leaves at each point (tests/reliability/test_kill.py does it for real).
    (index / "gen-000090.tmp-99999").mkdir()                        # killed while writing
    (index / "gen-000090.tmp-99999" / "vectors.npy").write_bytes(b"partial")
    shutil.copytree(index / live, index / "gen-000091")             # killed before the switch
    (index / "CURRENT.tmp-99999").write_text("gen-000091\n")        # killed inside the switch
    assert store.current_name() == live and store.load().name == live

    before = article_ids(index)
    new = add_new_generation(index, 5)
    names = sorted(p.name for p in index.iterdir())
    assert names == sorted(["CURRENT", "LOCK", live, new])      # the leftovers are gone
    assert before < article_ids(index)


# -- a write that fails -----------------------------------------------------------------------

def _add_in_child_with_file_limit(root: Path, limit: int) -> tuple[int, str]:
    """Fork; in the child cap file size (RLIMIT_FSIZE → the kernel fails writes with EFBIG,
    as a full disk fails them with ENOSPC) and add a page. Returns (exit code, message)."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:                                  # child: no pytest, no threads of ours
        os.close(r)
        code, message = 0, ""
        try:
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
            resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
            add_new_generation(root, 6, 7, 8)
        except IndexWriteFailed as e:
            code, message = 3, e.message
        except BaseException as e:                # noqa: BLE001 — reported to the parent
            code, message = 4, repr(e)
        os.write(w, message.encode())
        os._exit(code)
    os.close(w)
    with os.fdopen(r, "rb") as f:
        message = f.read().decode()
    return os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]), message


def test_failed_write_is_a_clear_error_and_leaves_the_index_as_it_was(index):
    """Files limited to 2 KB: the first large file of the new generation fails to write."""
    live = IndexStore(index).current_name()
    before = sorted(p.name for p in index.iterdir())
    ids = article_ids(index)
    code, message = _add_in_child_with_file_limit(index, 2048)
    assert code == 3, message
    assert "写入新的索引版本失败" in message and live in message
    assert sorted(p.name for p in index.iterdir()) == before     # unfinished folder removed
    assert IndexStore(index).current_name() == live and article_ids(index) == ids
    # And once there is room again, the same add goes through.
    add_new_generation(index, 6, 7, 8)
    assert len(article_ids(index)) == len(ids) + 3


# -- writers at once --------------------------------------------------------------------------

def test_concurrent_adds_in_threads_are_serialised_none_lost_none_duplicated(index):
    """Each thread opens LOCK itself, so flock serialises them as it does processes."""
    before = article_ids(index)
    gen_before = int(IndexStore(index).current_name()[4:])
    batches = [(10, 11), (12,), (13, 14), (11, 12)]        # overlapping on purpose
    errors = []

    def run(numbers):
        try:
            Builder(settings_for(index), FakeEncoder()).add(ingest(*numbers))
        except Exception as e:    # noqa: BLE001
            errors.append(e)

    threads = [threading.Thread(target=run, args=(b,)) for b in batches]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors
    snap = IndexStore(index).load()
    added = set(snap.articles) - before
    assert {a.split("-")[1] for a in added} == {"010", "011", "012", "013", "014"}
    assert len(snap.articles) == len(before) + 5
    hashes = [c["hash"] for c in snap.chunks]
    assert len(hashes) == len(set(hashes))                 # no chunk stored twice
    assert len(snap.vectors) == len(snap.dense) == len(snap.chunks)
    # Three batches brought something new; the one that only repeated others changed nothing.
    assert int(snap.name[4:]) - gen_before in (3, 4)


def test_missing_index_is_index_not_found(tmp_path):
    with pytest.raises(IndexNotFound):
        service_for(tmp_path / "nothing").snapshot()
