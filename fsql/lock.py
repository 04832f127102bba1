"""One writer per store: an OS file lock next to the database, released even by kill -9."""

from __future__ import annotations

import fcntl
import os
from datetime import UTC, datetime
from pathlib import Path

from .errors import LockedError

__all__ = ["WriteLock"]


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
