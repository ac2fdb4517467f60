"""Talking to Milvus: a server by its URI, or a local folder served by Milvus Lite.

A Lite folder can be opened by one process only (Lite's ``LOCK``). ``qa serve`` runs one
``milvus-lite server`` process for all its workers (``serving``) and writes its port into the
folder (``qa-server.json``), so its workers, and a ``qa add`` or ``qa ask`` run meanwhile, go
through that server;
with no server running, a command serves the folder from a thread of its own process for as long
as it runs. A server URI (``http://host:19530``) is used as it is, by every process.

Every call goes through ``Connection.call``, which bounds it (``milvus_timeout``) and turns what
pymilvus raises into the package's typed errors: an unreachable or failing server is
``MilvusUnavailable`` (503), a collection that is not there ``IndexNotFound``. A collection the
server has not loaded (Lite after a restart) is loaded and the call retried once. The client is
made on first use and remade after a connection failure, so a service started while Milvus was
down, or that lost it, recovers by itself when it is back.
"""

from __future__ import annotations

import atexit
import contextlib
import hashlib
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import grpc
from pymilvus import MilvusClient      # configures its logger on import: quietened below
from pymilvus.exceptions import MilvusException

from qa.config import Settings
from qa.errors import IndexNotFound, MilvusUnavailable

log = logging.getLogger(__name__)
# pymilvus logs every failed call with a full traceback at ERROR; the typed error we raise
# says what matters, once.
logging.getLogger("pymilvus").setLevel(logging.CRITICAL)

PORT_FILE = "qa-server.json"
SERVER_LOG = "qa-server.log"
START_TIMEOUT = 120.0
LOAD_TIMEOUT = 300.0     # Lite reads a collection's files and builds its indexes when loading
NOT_LOADED, NO_COLLECTION, CONNECT_FAILED = 101, 100, 2
# pymilvus pings every 10 s, even when idle; a gRPC server with default settings (Milvus Lite)
# answers that with GOAWAY "too_many_pings". Pings only during calls: a lost server is found by
# each call's deadline anyway.
GRPC_OPTIONS = {"grpc.keepalive_time_ms": 60_000, "grpc.keepalive_permit_without_calls": False}


def lite_folder(settings: Settings) -> Path | None:
    """The Lite data folder the settings name, or None for a server URI."""
    uri = settings.milvus_uri
    if uri and "://" in uri:
        return None
    return Path(uri) if uri else Path(settings.index_dir) / "milvus"


def lock_file(settings: Settings) -> Path:
    """The file writers of this Milvus index lock (``qa.index.locks``): beside a Lite folder,
    else in the cache folder, named by the server, database and prefix."""
    folder = lite_folder(settings)
    if folder is not None:
        return folder.parent / f"{folder.name}.lock"
    target = f"{settings.milvus_uri.rstrip('/')}|{settings.milvus_db}|{settings.milvus_prefix}"
    name = hashlib.sha1(target.encode()).hexdigest()[:16]
    return Path(settings.cache_dir) / "milvus-locks" / f"{name}.lock"


def describe(settings: Settings) -> str:
    folder = lite_folder(settings)
    return f"Milvus Lite {folder}" if folder is not None else f"Milvus {settings.milvus_uri}"


# -- Milvus Lite in this process ---------------------------------------------------------------

_lite_lock = threading.Lock()
_lite: dict[str, tuple] = {}          # folder → (grpc server, MilvusLite, port)


def _local_lite(folder: Path) -> int:
    """Serve ``folder`` from a thread of this process (once per folder); its port."""
    key = str(folder.resolve())
    with _lite_lock:
        if key not in _lite:
            from milvus_lite.adapter.grpc.server import start_server_in_thread
            from milvus_lite.exceptions import DataDirLockedError

            try:
                _lite[key] = start_server_in_thread(key, host="127.0.0.1", port=0)
            except DataDirLockedError:
                raise MilvusUnavailable(
                    f"Milvus Lite 数据目录 {folder} 正被另一个进程使用；请通过运行中的 qa serve "
                    f"操作，或设置 QA_MILVUS_URI 指向 Milvus 服务器") from None
            log.info("serving Milvus Lite %s in this process on port %d", folder, _lite[key][2])
        return _lite[key][2]


@atexit.register
def _stop_local_lite() -> None:
    with _lite_lock:
        for server, db, _ in _lite.values():
            server.stop(grace=1)
            db.close()
        _lite.clear()


def _served_port(folder: Path) -> int | None:
    """The port of the Lite server a running ``qa serve`` holds ``folder`` with. While that
    ``qa serve`` runs its port is the way to the folder, even if its Lite server has died (a
    503 until it is back), so no other process takes the folder over."""
    try:
        info = json.loads((folder / PORT_FILE).read_text("utf-8"))
        os.kill(int(info.get("owner", info["pid"])), 0)
        return int(info["port"])
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


def resolve_uri(settings: Settings, create: bool) -> str | None:
    """The URI to connect to; None when the Lite folder does not exist and ``create`` is off
    (nothing to read, and a reader must not leave an empty database behind)."""
    folder = lite_folder(settings)
    if folder is None:
        return settings.milvus_uri
    port = _served_port(folder)
    if port is None:
        if not create and not folder.is_dir():
            return None
        port = _local_lite(folder)
    return f"http://127.0.0.1:{port}"


# -- calls ---------------------------------------------------------------------------------------

class Connection:
    def __init__(self, settings: Settings):
        self.settings = settings
        self._client = None
        self._lock = threading.Lock()

    def client(self, create: bool = False):
        """The client, connected (``create``: make the Lite folder if there is none). Raises
        ``IndexNotFound`` for a Lite folder that does not exist."""
        with self._lock:
            if self._client is None:
                uri = resolve_uri(self.settings, create)
                if uri is None:
                    raise IndexNotFound(f"索引不存在：{lite_folder(self.settings)}（请先运行 qa build）")
                s = self.settings
                try:
                    client = MilvusClient(uri=uri, token=s.milvus_token or "",
                                          timeout=s.milvus_timeout, dedicated=True,
                                          grpc_options=GRPC_OPTIONS)
                    if s.milvus_db and s.milvus_db != "default":
                        if s.milvus_db not in client.list_databases():
                            if not create:
                                client.close()
                                raise IndexNotFound(f"索引不存在：{describe(s)} 中没有数据库 "
                                                    f"{s.milvus_db}（请先运行 qa build）")
                            client.create_database(s.milvus_db)
                        client.use_database(s.milvus_db)
                except (MilvusException, grpc.RpcError, OSError) as e:
                    raise self._unavailable(e) from None
                self._client = client
            return self._client

    def reset(self) -> None:
        with self._lock:
            client, self._client = self._client, None
        if client is not None:
            with contextlib.suppress(Exception):
                client.close()

    def call(self, method: str, *args, create: bool = False, **kwargs):
        """``client.<method>(*args, **kwargs)`` with the translations above."""
        kwargs.setdefault("timeout", self.settings.milvus_timeout)
        for attempt in (1, 2):
            client = self.client(create)
            try:
                return getattr(client, method)(*args, **kwargs)
            except MilvusException as e:
                name = kwargs.get("collection_name") or (args[0] if args else "")
                if e.code == NOT_LOADED and attempt == 1 and name:
                    log.info("loading collection %s", name)
                    self.call("load_collection", name, timeout=LOAD_TIMEOUT)
                    continue
                if e.code == NO_COLLECTION:
                    raise IndexNotFound(f"索引不存在：{describe(self.settings)} 中没有集合 "
                                        f"{name}（请先运行 qa build）") from None
                if e.code == CONNECT_FAILED:
                    self.reset()
                raise self._unavailable(e) from None
            except (grpc.RpcError, OSError) as e:     # a deadline passed: pymilvus lets it out
                self.reset()
                raise self._unavailable(e) from None

    def _unavailable(self, e: Exception) -> MilvusUnavailable:
        detail = getattr(e, "message", None) or str(e) or type(e).__name__
        log.debug("%s: %s", describe(self.settings), detail)
        return MilvusUnavailable(f"无法使用 {describe(self.settings)}：{detail[:300]}")


# -- one Lite server for `qa serve` ------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _lite_child() -> None:
    """Runs in the Lite server child before exec. SIGINT is its clean shutdown: restored if
    inherited ignored (as from a background shell), and sent to it if ``qa serve`` dies
    without stopping it, even by SIGKILL."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGINT)   # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def start_lite_server(folder: Path, port: int, log_path: Path) -> subprocess.Popen:
    """``milvus-lite server`` on ``folder`` at 127.0.0.1:``port``, ready to answer."""
    folder.mkdir(parents=True, exist_ok=True)
    with open(log_path, "ab") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "milvus_lite", "server", "--data-dir", str(folder),
             "--host", "127.0.0.1", "--port", str(port)],
            stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
            # Its own session: a Ctrl-C meant for qa serve must not stop it before gunicorn
            # has drained its requests.
            start_new_session=True,
            preexec_fn=_lite_child)
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        if proc.poll() is not None:
            tail = log_path.read_text("utf-8", errors="replace")[-800:]
            raise MilvusUnavailable(f"Milvus Lite 服务器未能启动（{folder}）：{tail.strip()}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
            return proc
        if time.monotonic() > deadline:
            stop_lite_server(proc)
            raise MilvusUnavailable(f"Milvus Lite 服务器 {START_TIMEOUT:.0f} 秒内未就绪（{folder}）")
        time.sleep(0.1)


def stop_lite_server(proc: subprocess.Popen, wait: float = 30.0) -> None:
    """SIGINT is Lite's clean shutdown (it drains requests and closes its files)."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(wait)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@contextlib.contextmanager
def serving(settings: Settings):
    """For ``qa serve``: with a Lite folder, one Lite server for all workers while the block
    runs. The settings stay as they are: every process that names the folder — a worker, a
    ``qa add`` meanwhile — reaches the server through the folder's ``PORT_FILE``, and locks the
    folder's write lock (``lock_file``) for a write."""
    folder = lite_folder(settings)
    if folder is None:
        yield settings
        return
    if _served_port(folder) is not None:
        raise MilvusUnavailable(f"Milvus Lite 数据目录 {folder} 已由另一个 qa serve 使用")
    port = free_port()
    proc = start_lite_server(folder, port, folder.parent / f"{folder.name}.{SERVER_LOG}")
    port_file = folder / PORT_FILE
    port_file.write_text(json.dumps({"pid": proc.pid, "port": port, "owner": os.getpid()}),
                         "utf-8")
    log.info("Milvus Lite server for %s on port %d (pid %d)", folder, port, proc.pid)
    try:
        yield settings
    finally:
        with contextlib.suppress(FileNotFoundError):
            port_file.unlink()
        stop_lite_server(proc)
