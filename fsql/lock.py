"""One writer per store: an OS file lock next to the database, released even by kill -9."""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import os
import re
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from .errors import LockedError

__all__ = ["WriteLock", "lock_holder", "mark_reader", "open_waiting"]

T = TypeVar("T")


class WriteLock:
    """``with WriteLock(db_path):`` — raises LockedError "locked by pid N since T"."""

    def __init__(self, db_path: Path) -> None:
        self.path = Path(str(db_path) + ".lock")
        self._fd: int | None = None

    def __enter__(self) -> WriteLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, _RECORD, 0).decode("utf-8", "replace").strip()
            os.close(fd)
            pid, _, since = (holder or "unknown pid").partition(" ")
            raise LockedError(
                f"store {self.path.with_suffix('')} is locked by pid {pid} since {since or '?'}",
                path=str(self.path), expected="no other fsql run on this store",
                hint="wait for that run to finish (or stop it); the lock is released "
                     "automatically when that process exits") from None
        # overwrite a fixed-width record in place: truncating the file instead makes ext4
        # flush it (its truncate-and-rewrite heuristic) behind every pending write of the
        # database — ~17 ms right after a build
        who = f"{os.getpid()} {datetime.now(UTC).isoformat(timespec='seconds')}"
        os.pwrite(fd, who.ljust(_RECORD - 1).encode("utf-8")[:_RECORD - 1] + b"\n", 0)
        self._fd = fd
        return self

    def __exit__(self, *exc: object) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None


_RECORD = 64  # bytes of "pid since" written at offset 0


def open_waiting(open_fn: Callable[[], T], db_path: Path, is_lock_error: Callable[[Any], bool],
                 *, timeout: float | None = None,
                 notify: Callable[[str], None] | None = None) -> T:
    """``open_fn()``, waiting while another process holds the database file (DuckDB lets one
    process write it, or several read it): a reader waits for a build, a build for a reader.
    Says once whom it waits for; after ``timeout`` seconds (``$FSQL_LOCK_TIMEOUT``, default
    30) raises LockedError naming the holder (a build, an fsql reader, another program)."""
    wait = float(os.environ.get("FSQL_LOCK_TIMEOUT", "30")) if timeout is None else timeout
    deadline = time.monotonic() + wait
    told = False
    while True:
        try:
            return open_fn()
        except Exception as e:
            if not is_lock_error(e):
                raise
            holder, hint = lock_holder(db_path, str(e))
            if time.monotonic() >= deadline:
                raise LockedError(f"store {db_path} is in use by {holder}", path=str(db_path),
                                  expected="no other process using the store",
                                  hint=f"{hint} (waited {wait:g} s; FSQL_LOCK_TIMEOUT sets "
                                  "how long)") from None
            if not told:
                (notify or _stderr)(f"waiting for {holder} to release {db_path.name} "
                                    f"(up to {wait:g} s; Ctrl+C to stop)")
                told = True
            time.sleep(0.1)


def lock_holder(db_path: Path, message: str) -> tuple[str, str]:
    """Who holds ``db_path`` (from DuckDB's lock error and fsql's write lock), and a hint."""
    found = re.search(r"PID (\d+)", message)
    pid = int(found.group(1)) if found else None
    try:
        record = Path(str(db_path) + ".lock").read_text(errors="replace").split()
    except OSError:
        record = []
    if pid is not None and record and record[0] == str(pid):
        since = record[1] if len(record) > 1 else "?"
        return (f"a build (fsql pid {pid}, since {since})",
                "wait for it to finish: it publishes atomically")
    if pid is None:
        return "another process", "close the other connection to the file"
    cmd = _cmdline(pid)
    if Path(f"{db_path}.readers/{pid}").exists() or "fsql" in cmd:
        return (f"an fsql reader (pid {pid}: {cmd})",
                "readers are brief; a long-lived fsql.FeatureStore keeps the store open "
                "until store.close()")
    return (f"another program (pid {pid}: {cmd or '?'})",
            "close that program's connection to the file")


def _cmdline(pid: int) -> str:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return ""
    return " ".join(p.decode(errors="replace") for p in raw.split(b"\0") if p)[:120]


def _stderr(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


_MARKED: set[Path] = set()


def mark_reader(db_path: Path) -> None:
    """Note that this process reads ``db_path`` (``<db>.readers/<pid>``), so that a build
    waiting for the file can say it waits for an fsql reader; removed at exit. Best effort
    (a read-only folder just goes unnoted)."""
    folder = Path(str(db_path) + ".readers")
    mine = folder / str(os.getpid())
    if mine in _MARKED:
        return
    try:
        folder.mkdir(exist_ok=True)
        mine.touch()
    except OSError:
        return
    if not _MARKED:
        atexit.register(_unmark)
    _MARKED.add(mine)


def _unmark() -> None:
    for path in _MARKED:
        with contextlib.suppress(OSError):
            path.unlink()
