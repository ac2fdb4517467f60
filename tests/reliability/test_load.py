"""benchmarks/load.py against the real server (gunicorn, two workers, loopback): concurrent
readers for a fixed time, optionally with uploads every few seconds; 0 errors, and every
uploaded article is the top answer to its own question afterwards. The figures are printed
(run with -s) and recorded in RELIABILITY.md."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from qa.config import Settings

from .conftest import load


def _run(served, **kwargs) -> dict:
    base, pid, token = served
    report = load.run_load(base, token=token, server_pid=pid, **kwargs)
    print("\nload:", json.dumps({k: v for k, v in report.items() if k != "by_kind"},
                                ensure_ascii=False))
    print("by kind:", json.dumps(report["by_kind"], ensure_ascii=False))
    assert report["errors"] == 0, report["error_examples"]
    assert report["requests"] > 0
    assert not report["uploads_not_answerable"], report
    return report


def test_load_short_with_uploads(served):
    report = _run(served, clients=8, seconds=5, upload_every=1.5, first_page=1000)
    assert report["uploads"] >= 1


@pytest.mark.slow
def test_load_60s_32_clients(served):
    report = _run(served, clients=32, seconds=60)
    assert report["requests"] >= 32


@pytest.mark.slow
def test_load_60s_32_clients_with_uploads(served):
    report = _run(served, clients=32, seconds=60, upload_every=5, first_page=2000)
    assert report["uploads"] >= 3


def test_the_served_server_uses_this_runs_model_cache(served):
    """A CI run gets its own, empty QA_CACHE_DIR: a server it starts must convert and use the
    model there too, not lean on whatever ~/.cache/qa holds from earlier runs."""
    _, pid, _ = served
    raw = Path(f"/proc/{pid}/environ").read_bytes().decode(errors="replace")
    child = dict(kv.split("=", 1) for kv in raw.split("\0") if "=" in kv)
    assert Settings.from_env(child).cache_dir == Settings.from_env().cache_dir
