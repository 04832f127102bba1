"""One writer per store: an OS file lock next to the database, released even by kill -9."""

from __future__ import annotations

import fcntl
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

from .errors import LockedError

__all__ = ["WriteLock"]


class WriteLock:
    """``with WriteLock(db_path):`` — raises LockedError "locked by pid N since T"."""

    def __init__(self, db_path: Path) -> None:
        self.path = Path(str(db_path) + ".lock")
        self._fh: IO[str] | None = None

    def __enter__(self) -> WriteLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fh = open(self.path, "a+", encoding="utf-8")  # noqa: SIM115 - held for the lock's life
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.seek(0)
            holder = fh.read().strip() or "unknown pid"
            fh.close()
            pid, _, since = holder.partition(" ")
            raise LockedError(
                f"store {self.path.with_suffix('')} is locked by pid {pid} since {since or '?'}",
                path=str(self.path), expected="no other fsql run on this store",
                hint="wait for that run to finish (or stop it); the lock is released "
                     "automatically when that process exits") from None
        fh.seek(0)
        fh.truncate()
        fh.write(f"{os.getpid()} {datetime.now(UTC).isoformat(timespec='seconds')}\n")
        fh.flush()
        self._fh = fh
        return self

    def __exit__(self, *exc: object) -> None:
        if self._fh is not None:
            fcntl.flock(self._fh.fileno(), fcntl.LOCK_UN)
            self._fh.close()
            self._fh = None
