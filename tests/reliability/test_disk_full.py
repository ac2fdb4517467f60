"""A full disk during a write: the index lives on a tmpfs just big enough for what it holds
(``mount -t tmpfs -o size=…``, as root), so the kernel fails the new generation's writes with
ENOSPC. Where mounting is not permitted these tests skip; tests/index/test_store_faults.py
inflicts the same failure everywhere with RLIMIT_FSIZE (EFBIG)."""

from __future__ import annotations

import io
import shutil
import subprocess
from pathlib import Path

import pytest

from qa.index.builder import Builder
from qa.index.store import IndexStore, IndexWriteFailed
from qa.search.service import SearchService
from qa.web.app import create_app

from .conftest import (SEED_ANSWER, SEED_QUESTION, ingest_pages, make_page, qa_process,
                       settings_for, write_pages)

TOKEN = "disk-full-token"


def _used_bytes(folder: Path) -> int:
    """What the files take on a tmpfs: whole 4 KB pages."""
    return sum(-(-p.stat().st_size // 4096) * 4096 for p in folder.rglob("*") if p.is_file())


@pytest.fixture
def full_disk_index(base_index, tmp_path):
    """A copy of the base index on a tmpfs with 64 KB to spare: less than a new generation."""
    mount = tmp_path / "tmpfs"
    mount.mkdir()
    size = _used_bytes(base_index) + 64 * 1024
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(mount)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({done.stderr.strip()}); "
                    "tests/index/test_store_faults.py covers failing writes with RLIMIT_FSIZE")
    try:
        index = mount / "index"
        shutil.copytree(base_index, index)
        yield index
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def _state(index: Path) -> dict:
    return {str(p.relative_to(index)): p.stat().st_size for p in sorted(index.rglob("*"))
            if p.is_file() and p.name != "LOCK"}


def test_disk_full_add_is_a_clear_error_and_old_index_intact(full_disk_index, model):
    index = full_disk_index
    store = IndexStore(index)
    live, before = store.current_name(), _state(index)
    service = SearchService(settings_for(index), model)
    assert service.snapshot().name == live

    with pytest.raises(IndexWriteFailed) as e:
        Builder(settings_for(index), model).add(ingest_pages(*range(20, 40)))
    assert "磁盘空间不足" in e.value.message and live in e.value.message
    assert e.value.status == 503

    # Nothing changed: the half-written generation is gone (its space given back), CURRENT
    # and every file of the live generation are as they were and still pass their checksums.
    assert _state(index) == before
    assert store.current_name() == live and store.load().name == live
    assert SEED_ANSWER in service.ask(SEED_QUESTION, 1).results[0].text

    # The same through the upload API: a JSON 503 with the reason, not a 500.
    app = create_app(service=SearchService(settings_for(index, admin_token=TOKEN), model))
    files = [(make_page(n)[0].encode(), f"up-{n}.txt") for n in range(40, 60)]
    r = app.test_client().post("/api/issues", headers={"Authorization": f"Bearer {TOKEN}"},
                               data={"files": [(io.BytesIO(d), name)
                                               for d, name in files]},
                               content_type="multipart/form-data")
    assert r.status_code == 503, r.get_data(as_text=True)
    body = r.get_json()
    assert body["error"]["code"] == "index_write_failed"
    assert "磁盘空间不足" in body["error"]["message"]
    assert _state(index) == before


@pytest.mark.slow
def test_disk_full_qa_add_cli_exits_2_with_one_line(full_disk_index, tmp_path):
    index = full_disk_index
    live, before = IndexStore(index).current_name(), _state(index)
    log = tmp_path / "qa.log"
    proc = qa_process(index, "add", str(write_pages(tmp_path / "pages", *range(60, 80))), log=log)
    assert proc.wait(300) == 2
    out = log.read_text()
    assert "磁盘空间不足" in out and "Traceback" not in out, out[-2000:]
    assert _state(index) == before and IndexStore(index).load().name == live
