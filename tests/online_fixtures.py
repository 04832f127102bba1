"""Fixtures shared by the online-serving tests: a real redis-server, a real uvicorn server,
and small feature tables. Imported by tests/test_online*.py (the lead owns conftest.py)."""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from fsql.online import InMemoryStore, OnlineStore, SQLiteStore

REDIS_MISSING = ("redis-server binary not found on PATH: the Redis online-store tests need a real "
                 "server. CI must install it (Debian/Ubuntu: apt-get install -y redis-server).")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def redis_server() -> Iterator[str]:
    """Start ``redis-server`` on a free port (no persistence); yield its URL; kill it."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.fail(REDIS_MISSING, pytrace=False)
    import redis

    port = free_port()
    proc = subprocess.Popen([binary, "--port", str(port), "--save", "", "--appendonly", "no",
                             "--bind", "127.0.0.1"], stdout=subprocess.DEVNULL,
                            stderr=subprocess.STDOUT)
    url = f"redis://127.0.0.1:{port}/0"
    try:
        client = redis.Redis.from_url(url)
        deadline = time.monotonic() + 10
        while True:
            try:
                if client.ping():
                    break
            except redis.ConnectionError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError(f"redis-server did not start on port {port}") from None
                time.sleep(0.02)
        client.close()
        yield url
    finally:
        proc.kill()
        proc.wait(timeout=10)


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    with redis_server() as url:
        yield url


def make_store(kind: str, tmp_path: Path, redis_url: str | None = None) -> OnlineStore:
    if kind == "memory":
        return InMemoryStore()
    if kind == "sqlite":
        return SQLiteStore(tmp_path / "online.sqlite")
    from fsql.online.redis_store import RedisStore

    assert redis_url is not None
    store = RedisStore(redis_url, prefix=f"t{time.monotonic_ns()}")
    return store


STORE_KINDS = ["memory", "sqlite", "redis"]


@pytest.fixture(params=STORE_KINDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[OnlineStore]:
    url = request.getfixturevalue("redis_url") if request.param == "redis" else None
    s = make_store(request.param, tmp_path, url)
    yield s
    s.close()


class ServerThread:
    """A real uvicorn server in a background thread on an ephemeral port."""

    def __init__(self, app: Any) -> None:
        import uvicorn

        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.port = int(self.sock.getsockname()[1])
        config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]},
                                       daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> ServerThread:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.01)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
        self.sock.close()
