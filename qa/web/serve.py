"""``qa serve``: gunicorn running ``create_app(settings)`` in each worker.

No preload: every worker loads its own model and index after the fork (torch and faiss state
must not be shared across fork), and warms up before it accepts requests, so the first reader
does not wait for the model. gthread workers keep the heartbeat going while a thread embeds a
large upload, so only a worker whose main loop hangs is killed.
"""

from __future__ import annotations

import logging
import os
import sys

from gunicorn.app.base import BaseApplication

from qa.config import Settings
from qa.errors import QAError
from qa.index.factory import open_backend

log = logging.getLogger(__name__)
THREADS = 4
# Loading torch and the model can take a minute on a cold, busy machine (longer the very
# first time, when the model is converted); a timeout shorter than that kills healthy workers.
TIMEOUT = 300
# A question of max_question_chars Chinese characters is ~9 bytes each once percent-encoded,
# more than gunicorn's default 4094-byte request line.
REQUEST_LINE = 8190


def _warm_up(worker) -> None:
    service = worker.wsgi.extensions["qa.service"]
    try:
        service.encoder     # first: only its engine imports torch
        if "torch" in sys.modules:
            # The torch engine (any non-default model) would give each query all cores while
            # the worker's threads run several queries at once: oversubscribed, ~1 s a question
            # under load against ~41 ms with one thread each (BENCHMARKS.md, encoder table).
            import torch

            cpus = os.cpu_count() or 1
            torch.set_num_threads(max(1, cpus // (worker.cfg.workers * THREADS)))
        service.warm()
    except QAError as e:      # no index yet: serve anyway, an upload can create one
        worker.log.warning("index not loaded: %s", e.message)


class Server(BaseApplication):
    def __init__(self, settings: Settings):
        self.settings = settings
        super().__init__()

    def load_config(self) -> None:
        s = self.settings
        host = f"[{s.host}]" if ":" in s.host else s.host
        options = {
            "bind": f"{host}:{s.port}", "workers": s.workers, "worker_class": "gthread",
            "threads": THREADS, "timeout": TIMEOUT, "graceful_timeout": 30,
            "preload_app": False, "limit_request_line": REQUEST_LINE,
            # Longer than gunicorn's 2 s, so a client pausing between requests rarely reuses a
            # connection the server is closing at that moment (RELIABILITY.md, F6).
            "keepalive": 5,
            "accesslog": "-", "errorlog": "-",
            # %(p)s (worker pid) shows which worker served what.
            "access_log_format": '%(h)s %(p)s "%(r)s" %(s)s %(b)s %(M)sms',
            "post_worker_init": _warm_up,
            # gunicorn >= 25.1 opens a control socket at one fixed per-user path, so a second
            # server (tests, a dev instance) would take over the first one's; we do not use it.
            "control_socket_disable": True,
        }
        for key, value in options.items():
            if key in self.cfg.settings:      # older gunicorn lacks some of these
                self.cfg.set(key, value)

    def load(self):
        from qa.web.app import create_app

        return create_app(self.settings)


def run(settings: Settings) -> None:
    log.info("serving %s on %s:%s with %d worker(s)", settings.index_dir, settings.host,
             settings.port, settings.workers)
    # What the engine runs once for all workers (Milvus Lite: one server) while gunicorn runs.
    with open_backend(settings).serving() as settings:
        Server(settings).run()
