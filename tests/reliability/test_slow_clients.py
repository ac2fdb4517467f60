"""Slow clients (issue 23): connections that send a request a byte at a time, against asks from
readers, with the production front (Debian's nginx with deploy/nginx.conf, started by
deploy/entrypoint.sh as the image starts it) and without it (gunicorn's gthread worker commits a
thread to a connection once its first byte arrives, then reads it blocking).
``benchmarks/slow_clients.py`` does the work; RELIABILITY.md ("Slow clients") has the figures.
"""

from __future__ import annotations

import importlib.util
import json
from urllib.parse import urlparse

import pytest

from .conftest import ROOT, load

requests = pytest.importorskip("requests")

_spec = importlib.util.spec_from_file_location("qa_slow_clients_benchmark",
                                               ROOT / "benchmarks" / "slow_clients.py")
slow = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(slow)

pytestmark = pytest.mark.skipif(slow.nginx_binary() is None,
                                reason="no nginx (make serve-deps installs Debian's as root)")


@pytest.fixture(scope="module")
def backend(base_index, tmp_path_factory):
    """A ``qa serve`` of this module's own (it is starved on purpose): its base URL."""
    log = tmp_path_factory.mktemp("slow-serve") / "serve.log"
    with load.serve_copy(base_index, workers=2, log=log) as (base, _, _):
        yield base


@pytest.fixture(scope="module")
def fronted(backend, tmp_path_factory):
    with slow.front(urlparse(backend).port, tmp_path_factory.mktemp("front")) as base:
        yield base


def _print(label: str, report: dict) -> None:
    print(f"\n{label}: " + json.dumps(report, ensure_ascii=False))


def test_front_refusals_are_the_api_envelope(fronted):
    """What nginx refuses itself still reads like the API: JSON with a code and a message."""
    r = requests.post(f"{fronted}/api/ask", data=b'{"q": "' + b"a" * 20_000 + b'"}',
                      headers={"Content-Type": "application/json"}, timeout=30)
    assert r.status_code == 413 and r.json()["error"]["code"] == "payload_too_large"
    r = requests.get(f"{fronted}/api/ask", params={"q": "问" * 4_000}, timeout=30)
    assert r.status_code in (414, 400) and r.json()["error"]["code"]
    r = requests.get(f"{fronted}/api/ask", params={"q": "济阳区配备了多少名驻站社工？"},
                     timeout=30)
    assert r.status_code == 200 and "26人" in r.json()["results"][0]["text"]


def test_slow_clients_behind_the_front_short(fronted):
    report = slow.run(fronted, slow=16, seconds=8, askers=2)
    _print("16 slow connections, 8 s, nginx front", report)
    assert report["asks"] > 0 and report["errors"] == 0, report


@pytest.mark.slow
def test_64_slow_clients_for_30s_behind_the_front(fronted):
    report = slow.run(fronted, slow=64, seconds=30, askers=4)
    _print("64 slow connections, 30 s, nginx front", report)
    assert report["asks"] >= 100 and report["errors"] == 0, report
    assert report["p99_ms"] < 2_000, report


@pytest.mark.slow
def test_64_slow_clients_for_30s_without_the_front(backend):
    """Measured, not held to a bound: this is why the front is there."""
    report = slow.run(backend, slow=64, seconds=30, askers=4)
    _print("64 slow connections, 30 s, gunicorn alone", report)
    assert report["asks"] >= 1
