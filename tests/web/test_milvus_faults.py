"""Milvus going away and coming back, for real: a ``milvus-lite server`` process stopped and
started again under a running app. Every failure is the API's 503 JSON envelope (never a
traceback), ``/api/health`` says why, and the app answers again by itself once Milvus is back."""

from __future__ import annotations

import signal
import time

import pytest

from qa.index.migrate import migrate
from qa.index.milvus.client import free_port, start_lite_server, stop_lite_server
from tests.conftest import Place

from .support import SEED_ANSWER, SEED_QUESTION, error_of


def ask(client):
    return client.get("/api/ask", query_string={"q": SEED_QUESTION, "k": 2})


def unavailable(client) -> str:
    """Both the question and the health check are 503s naming Milvus; the health message."""
    error_of(ask(client), 503, "milvus_unavailable")
    r = client.get("/api/health")
    assert r.status_code == 503
    body = r.get_json()
    assert body["status"] == "unavailable" and body["error"]["code"] == "unavailable"
    assert "Milvus" in body["error"]["message"]
    return body["error"]["message"]


def answered_within(client, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        r = ask(client)
        if r.status_code == 200:
            assert SEED_ANSWER in r.get_json()["results"][0]["text"]
            return True
        error_of(r, 503, "milvus_unavailable")
        time.sleep(0.3)
    return False


@pytest.fixture
def lite(tmp_path):
    """A Lite server process of this test's own: ``(start, stop)`` on one folder and port."""
    folder, port, procs = tmp_path / "lite", free_port(), []

    def start():
        procs.append(start_lite_server(folder, port, tmp_path / "lite.log"))
        return f"http://127.0.0.1:{port}"

    def stop():
        stop_lite_server(procs.pop())

    def pause(paused: bool):
        procs[-1].send_signal(signal.SIGSTOP if paused else signal.SIGCONT)

    yield start, stop, f"http://127.0.0.1:{port}", pause
    while procs:
        stop()


def test_milvus_unreachable_at_start_then_there(lite, make_app, seed_index, tmp_path, caplog):
    start, _, uri, _ = lite
    place = Place("milvus", tmp_path / "index", uri, "faults")
    client = make_app(place, milvus_timeout=3.0).test_client()
    with caplog.at_level("WARNING"):
        message = unavailable(client)
    # which server it cannot reach, and why, go to the log, not to the reader (issue 23)
    assert uri.split("//")[1] not in message and str(tmp_path) not in message
    assert uri.split("//")[1] in caplog.text
    start()
    migrate(Place("embedded", seed_index).settings(), place.settings())
    assert answered_within(client, 30), "the app did not recover once Milvus was up"


def test_milvus_lost_while_serving_and_back(lite, make_app, seed_index, tmp_path):
    start, stop, uri, pause = lite
    start()
    place = Place("milvus", tmp_path / "index", uri, "faults")
    migrate(Place("embedded", seed_index).settings(), place.settings())
    client = make_app(place, milvus_timeout=3.0).test_client()
    assert answered_within(client, 5)
    pause(True)                  # hung, not gone: every call runs into its deadline
    started = time.monotonic()
    unavailable(client)
    assert time.monotonic() - started < 20
    pause(False)
    assert answered_within(client, 30), "the app did not recover once Milvus answered again"
    stop()
    unavailable(client)
    assert client.get("/api/issues").status_code == 503
    start()             # same folder and port: the collections must be loaded again
    assert answered_within(client, 30), "the app did not recover once Milvus was back"
    assert client.get("/api/health").get_json()["status"] == "ok"
