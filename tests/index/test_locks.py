"""Writer locks: one file per index, whichever way a process reaches it; a second writer waits
for the first, or (a merger) gives up at once."""

from __future__ import annotations

import threading
import time

import pytest

from qa.errors import IndexBusy
from qa.index.factory import open_backend
from qa.index.locks import file_lock
from tests.fakes import fake_settings


def lock_file(settings):
    """The file the engine ``settings`` name locks for its writers."""
    return open_backend(settings).lock_file


def test_one_lock_file_per_index(tmp_path):
    lite = fake_settings(tmp_path, backend="milvus", milvus_uri=str(tmp_path / "lite"))
    assert lock_file(lite) == tmp_path / "lite.lock"
    # The default Lite folder is <index>/milvus, named or not.
    assert lock_file(fake_settings(tmp_path, backend="milvus")) == lock_file(
        fake_settings(tmp_path, backend="milvus", milvus_uri=str(tmp_path / "milvus")))
    server = fake_settings(tmp_path, backend="milvus", milvus_uri="http://db:19530",
                           cache_dir=tmp_path / "cache")
    assert lock_file(server).parent == tmp_path / "cache" / "milvus-locks"
    assert lock_file(server) == lock_file(fake_settings(
        tmp_path, backend="milvus", milvus_uri="http://db:19530/", cache_dir=tmp_path / "cache"))
    others = {lock_file(fake_settings(tmp_path, backend="milvus", cache_dir=tmp_path / "cache",
                                      **change))
              for change in ({"milvus_uri": "http://db:19531"},
                             {"milvus_uri": "http://db:19530", "milvus_prefix": "other"},
                             {"milvus_uri": "http://db:19530", "milvus_db": "other"})}
    assert len(others) == 3 and lock_file(server) not in others
    assert lock_file(fake_settings(tmp_path)) == tmp_path / "LOCK"


def test_a_second_holder_waits_gives_up_or_is_told_busy(tmp_path):
    path = tmp_path / "x" / "LOCK"
    released = []
    with file_lock(path):
        with file_lock(path, 0, give_up=True) as mine:
            assert mine is False
        with pytest.raises(IndexBusy):
            with file_lock(path, 0.3):
                pass

        def second():
            with file_lock(path, 30) as mine:
                released.append((mine, time.monotonic()))

        waiter = threading.Thread(target=second)
        waiter.start()
        time.sleep(0.5)
        assert not released                 # still waiting
        let_go = time.monotonic()
    waiter.join(30)
    assert released and released[0][0] is True and released[0][1] >= let_go
