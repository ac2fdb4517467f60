"""``qa serve`` settings: CLI flag > QA_* environment > default, and the gunicorn config they
become. (Running it for real is test_server.py.)"""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from qa import cli
from qa.config import Settings
from qa.web import serve
from qa.web.app import create_app


@pytest.fixture
def captured(monkeypatch):
    seen: list[Settings] = []
    monkeypatch.setattr(serve, "run", seen.append)     # stop short of starting gunicorn
    for name in ("QA_HOST", "QA_PORT", "QA_WORKERS", "QA_INDEX_DIR"):
        monkeypatch.delenv(name, raising=False)
    return seen


def invoke(args, env=None):
    result = CliRunner().invoke(cli.main, args, env=env or {})
    assert result.exit_code == 0, result.output
    return result


def test_defaults(captured):
    invoke(["serve"])
    s = captured[-1]
    assert (s.host, s.port, s.workers, s.index_dir) == ("127.0.0.1", 8000, 2, Path("index"))


def test_environment_over_default_and_flags_over_environment(captured):
    env = {"QA_HOST": "0.0.0.0", "QA_PORT": "9001", "QA_WORKERS": "3", "QA_INDEX_DIR": "/env"}
    invoke(["serve"], env)
    s = captured[-1]
    assert (s.host, s.port, s.workers, s.index_dir) == ("0.0.0.0", 9001, 3, Path("/env"))
    invoke(["--index", "/group", "serve", "--port", "9100", "--host", "::1"], env)
    s = captured[-1]
    assert (s.host, s.port, s.workers, s.index_dir) == ("::1", 9100, 3, Path("/group"))
    invoke(["--index", "/group", "serve", "--index", "/flag", "--workers", "1"], env)
    assert captured[-1].index_dir == Path("/flag") and captured[-1].workers == 1


def test_bad_workers_refused():
    result = CliRunner().invoke(cli.main, ["serve", "--workers", "0"])
    assert result.exit_code == 2


def test_gunicorn_config():
    server = serve.Server(Settings(host="127.0.0.1", port=8123, workers=3))
    cfg = server.cfg
    assert cfg.bind == ["127.0.0.1:8123"] and cfg.workers == 3
    assert cfg.worker_class_str == "gthread" and cfg.preload_app is False
    assert cfg.timeout >= 120 and cfg.limit_request_line >= 4500
    assert serve.Server(Settings(host="::1", port=8123)).cfg.bind == ["[::1]:8123"]


def test_factory_reads_the_environment(monkeypatch, tmp_path):
    # What `gunicorn 'qa.web.app:create_app()'` gets.
    monkeypatch.setenv("QA_INDEX_DIR", str(tmp_path))
    monkeypatch.setenv("QA_MAX_UPLOAD_BYTES", "12345")
    app = create_app()
    assert app.extensions["qa.settings"].index_dir == tmp_path
    assert app.config["MAX_CONTENT_LENGTH"] == 12345
