"""Index generations under damage and contention, without the model: a tiny deterministic
encoder stands in for it, so each case builds a real (small) generation in milliseconds.

What is inflicted for real: bytes flipped and files cut in a generation on disk, manifests
broken, writes failing with ENOSPC from the kernel (RLIMIT_FSIZE in a forked child), threads
racing for the LOCK. What would need a separate process (SIGKILL, a full filesystem) is in
tests/reliability/.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from qa.errors import IndexCorrupt, IndexNotFound
from qa.index.builder import Builder
from qa.index.store import IndexStore, IndexWriteFailed
from qa.ingest import ingest_bytes
from qa.issues import pages_of
from qa.search.service import SearchService
from tests.fakes import FakeEncoder, fake_settings

def page(n: int) -> tuple[str, str]:
    """A page in the seeds' layout with one article whose fact is unique to ``n``."""
    city = "青岚白沙云溪松江临川明湖石桥金川清河柳岸"[n % 10] + "东南西北中"[n // 10 % 5]
    text = (f"{city}市建成首个珊瑚礁修复实验站\n\n近日，{city}市珊瑚礁修复实验\n站在东湾正式建成投用。\n\n"
            f"据介绍，实验站占地约三千\n二百平方米，配备专职潜水\n科研人员{100 + n}名，今年已累\n"
            f"计移植珊瑚苗种一万一千株，\n成活率达到百分之九十二。\n\n（据测试日报）\n")
    return text, f"{city}市珊瑚礁修复实验站配备了多少名潜水科研人员？"


def ingest(*numbers: int) -> list:
    articles = []
    for n in numbers:
        articles.extend(ingest_bytes(page(n)[0].encode(), f"page-{n:03d}.txt"))
    return pages_of(articles)


def builder(root: Path) -> Builder:
    return Builder(fake_settings(root), FakeEncoder())


@pytest.fixture(scope="module")
def base_index(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("base") / "index"
    builder(root).build(ingest(1, 2, 3))
    return root


def service_for(root: Path) -> SearchService:
    return SearchService(fake_settings(root), FakeEncoder())


def add_new_generation(root: Path, *numbers: int) -> str:
    return builder(root).add(ingest(*numbers)).generation


def article_ids(root: Path) -> set[str]:
    return {a["id"] for a in IndexStore(root).load().list_articles(0, 10_000)[1]}


def answered_by(svc: SearchService, n: int) -> str:
    return svc.ask(page(n)[1], 1).results[0].citation.article_id


def newest_segment(root: Path, generation: str) -> Path:
    return root / IndexStore(root).manifest(generation).segments[-1].name


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
FILES = ["meta.json", "articles.jsonl", "bodies.bin", "vectors.npy", "chunk_span.npy",
         "chunk_hash.npy", "art_key.npy", "lexical/docs.npy", "lexical/terms.npy"]


@pytest.mark.parametrize("damage", sorted(DAMAGE))
@pytest.mark.parametrize("rel", FILES)
def test_damaged_new_generation_is_refused_and_old_one_keeps_answering(index, rel, damage):
    svc = service_for(index)
    old = svc.snapshot().name
    assert answered_by(svc, 2).startswith("page-002")
    new = add_new_generation(index, 4)
    DAMAGE[damage](newest_segment(index, new) / rel)

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
    "old-format": lambda m: _edit(m, lambda d: d.update(format=1)),
    "no-segments": lambda m: _edit(m, lambda d: d.pop("segments")),
    "no-counts": lambda m: _edit(m, lambda d: d.pop("counts")),
    "wrong-digest": lambda m: _edit(m, lambda d: d["segments"][-1].update(meta="0" * 8)),
    "missing-segment": lambda m: _edit(m, lambda d: d["segments"][-1].update(name="seg-999999")),
    "deleted-page-out-of-range": lambda m: _edit(m, lambda d: d["segments"][-1].update(
        deleted=[99])),
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
    with pytest.raises((IndexCorrupt, IndexNotFound)) as e:
        IndexStore(index).load(new)
    assert new in e.value.message or "seg-999999" in e.value.message
    assert svc.snapshot().name == old and answered_by(svc, 3).startswith("page-003")


def test_a_manifest_with_keys_this_version_does_not_know_still_opens(index):
    """Older versions wrote an ``extra`` key (unknown keys, carried along; removed in issue 24):
    reading ignores what it does not know, so such an index keeps serving."""
    current = IndexStore(index).current_name()
    manifest = index / current / "manifest.json"
    before = article_ids(index)
    manifest.write_bytes(_edit(manifest, lambda d: d.update(extra={"note": "old writer"})))
    assert article_ids(index) == before
    assert add_new_generation(index, 4) != current and len(article_ids(index)) == len(before) + 1


@pytest.mark.parametrize("damage", ["flip", "cut"])
def test_damaged_current_generation_at_startup_is_a_clear_error(index, damage):
    DAMAGE[damage](newest_segment(index, IndexStore(index).current_name()) / "vectors.npy")
    svc = service_for(index)
    with pytest.raises(IndexCorrupt) as e:
        svc.snapshot()
    assert "vectors.npy" in e.value.message and "校验失败" in e.value.message
    health = svc.health()
    assert health["status"] == "unavailable" and "校验失败" in health["error"]


def test_writer_refuses_to_build_on_a_damaged_live_generation(index):
    """``add`` reads the live generation; damaged, it stops rather than carry damage forward."""
    before = sorted(p.name for p in index.iterdir())
    flip(newest_segment(index, IndexStore(index).current_name()) / "bodies.bin")
    with pytest.raises(IndexCorrupt):
        add_new_generation(index, 4)
    assert sorted(p.name for p in index.iterdir()) == before


# -- leftovers of killed writers --------------------------------------------------------------

def test_next_writer_removes_what_a_killed_writer_left(index):
    store = IndexStore(index)
    live = store.current_name()
    segments = [s.name for s in store.manifest().segments]
    # What SIGKILL leaves at each point (tests/reliability/test_kill.py does it for real).
    (index / "gen-000090.tmp-99999").mkdir()                        # killed writing a manifest
    (index / "segment.tmp-99999-1").mkdir()                         # killed writing a segment
    (index / "segment.tmp-99999-1" / "vectors.npy").write_bytes(b"partial")
    shutil.copytree(index / segments[0], index / "seg-000090")      # written, never committed
    shutil.copytree(index / live, index / "gen-000091")             # killed before the switch
    (index / "CURRENT.tmp-99999").write_text("gen-000091\n")        # killed inside the switch
    assert store.current_name() == live and store.load().name == live

    before = article_ids(index)
    new = add_new_generation(index, 5)
    names = sorted(p.name for p in index.iterdir())
    added = [s.name for s in store.manifest(new).segments if s.name not in segments]
    assert names == sorted(["CURRENT", "LOCK", "MERGE", live, new, *segments, *added])  # no leftover
    assert before < article_ids(index)


def test_leftovers_are_judged_by_their_writer_s_lock_not_its_pid(index):
    """Issue 23: a pid says nothing in another PID namespace (a container sharing the volume)
    or once reused. A segment folder whose writer (another process) still holds its marker's
    flock is kept even though no process here has that pid; once the writer is gone it is
    removed. A manifest or CURRENT leftover is removed even if its pid is a live process: only
    a holder of the index lock writes those, and the clean-up holds it now."""
    from qa.index.store import MARKER

    folder = index / "segment.tmp-999999-1"               # no such pid on this machine
    folder.mkdir()
    marker = index / ("segment.tmp-999999-1" + MARKER)
    marker.touch()
    holder = subprocess.Popen([sys.executable, "-c", (
        "import fcntl, os, sys, time\n"
        f"fd = os.open({str(marker)!r}, os.O_RDWR)\n"
        "fcntl.flock(fd, fcntl.LOCK_EX)\nprint('held', flush=True)\ntime.sleep(60)\n")],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        (index / "gen-000090.tmp-1").mkdir()              # pid 1 is alive
        (index / "CURRENT.tmp-1").write_text("gen-000090\n")
        with builder(index).backend.lock():       # the lock's taker cleans up
            pass
        assert folder.is_dir() and marker.exists()        # its writer is at work
        assert not (index / "gen-000090.tmp-1").exists()
        assert not (index / "CURRENT.tmp-1").exists()
    finally:
        holder.kill()
        holder.wait()
    with builder(index).backend.lock():
        pass
    assert not folder.exists() and not marker.exists()


def test_a_deletion_record_s_folder_is_fsynced(index, monkeypatch):
    """Its directory entry must be durable before a manifest names the file (issue 23): the
    real fsync runs, and is recorded on its way."""
    import qa.index.store as store_module

    synced = []
    real = store_module.fsync_dir
    monkeypatch.setattr(store_module, "fsync_dir", lambda p: (synced.append(Path(p)), real(p)))
    first = sorted(IndexStore(index).load().pages())[0]
    builder(index).remove([first])
    written = [p for p in index.glob("seg-*/del-*.npz")]
    assert written and written[0].parent in synced


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
    code, message = _add_in_child_with_file_limit(index, 1024)
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
            builder(index).add(ingest(*numbers))
        except Exception as e:    # noqa: BLE001
            errors.append(e)

    threads = [threading.Thread(target=run, args=(b,)) for b in batches]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors
    snap = IndexStore(index).load()
    ids = article_ids(index)
    added = ids - before
    assert {a.split("-")[1] for a in added} == {"010", "011", "012", "013", "014"}
    assert len(ids) == len(before) + 5
    hashes = [int(h) for p in snap.parts for h in p.seg.chunk_hash]
    assert len(hashes) == len(set(hashes))                 # no page stored twice
    assert snap.manifest.counts["pages"] == 8
    # Three batches brought something new; the one that only repeated others changed nothing.
    assert int(snap.name[4:]) - gen_before in (3, 4)


def test_missing_index_is_index_not_found(tmp_path):
    with pytest.raises(IndexNotFound):
        service_for(tmp_path / "nothing").snapshot()


# -- deletions and segments no commit point needs -------------------------------------------

def test_damaged_deletion_record_is_refused_and_old_generation_serves(index):
    svc = service_for(index)
    old = svc.snapshot().name
    new = builder(index).remove(["page-002"]).generation
    entry = next(s for s in IndexStore(index).manifest(new).segments if s.deletes)
    flip(index / entry.name / entry.deletes["file"])
    with pytest.raises(IndexCorrupt) as e:
        IndexStore(index).load(new)
    assert "del-" in e.value.message
    assert svc.snapshot().name == old and answered_by(svc, 2).startswith("page-002")


def test_a_reload_reuses_open_segments_and_opens_only_the_new_one(index):
    svc = service_for(index)
    first = svc.snapshot()
    add_new_generation(index, 4)
    second = svc.snapshot()
    assert second.name != first.name and len(second.parts) == len(first.parts) + 1
    assert all(a.seg is b.seg for a, b in zip(first.parts, second.parts))
    assert "page-004" in second.pages()
    cited = {c.page_id for h in svc.ask(page(4)[1], 5).results for c in [h.citation, *h.also_in]}
    assert "page-004" in cited


def test_a_reader_keeps_answering_from_segments_a_merge_deleted(index):
    svc = service_for(index)
    add_new_generation(index, 4)
    old = svc.snapshot()
    names = [p.seg.name for p in old.parts]
    builder(index).compact()
    add_new_generation(index, 5)          # the next writer deletes what no commit point needs
    add_new_generation(index, 6)
    assert not any((index / n).exists() for n in names)
    # The old snapshot still answers from the unlinked files it holds open.
    key = next(iter(old.dense(FakeEncoder().encode_queries([page(4)[1]])[0], 1)))
    assert old.chunks([key])[0].text and old.article(old.chunks([key])[0].article_id).title
    assert svc.snapshot().manifest.counts["pages"] == 6
