"""Half of a CPU-bound map in a forked child: cold loads and compiles of many models use both
cores without a process pool's start-up cost (fork copies nothing until written).

>>> results, child = split_map(len, ["a", "bb", "ccc"], min_items=1)
>>> results, child is None or child.wait()
({'a': 1, 'bb': 2, 'ccc': 3}, True)
"""

from __future__ import annotations

import os
import pickle
import sys
from collections.abc import Callable, Hashable, Sequence
from typing import Any, NoReturn

__all__ = ["Child", "can_fork", "split_map"]


def can_fork() -> bool:
    """fork() is safe (one thread, native ones such as DuckDB's included: no lock can be held
    by another) and worth it (2+ cores)."""
    if sys.platform != "linux" or len(os.sched_getaffinity(0)) < 2:
        return False
    try:
        return len(os.listdir("/proc/self/task")) == 1
    except OSError:
        return False


class Child:
    """A forked child that delivered its results and may go on with ``then``."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.ok: bool | None = None

    def wait(self) -> bool:
        """True when the child exited cleanly (its ``then`` completed)."""
        if self.ok is None:
            self.ok = os.waitpid(self.pid, 0)[1] == 0
        return self.ok


def split_map(fn: Callable[[Any], Any], items: Sequence[Hashable], *, min_items: int = 64,
              then: Callable[[], None] | None = None) -> tuple[dict[Any, Any], Child | None]:
    """``{item: fn(item)}``, computed half here and half in a forked child when there are at
    least ``min_items`` and :func:`can_fork`; results the child fails to deliver are computed
    here. After delivering, the child runs ``then`` (work that may overlap the caller's; with
    no child, nothing runs it).

    ``fn`` must not start threads or import modules the caller has not imported (the child
    must not depend on locks held at fork time).
    """
    if len(items) < min_items or not can_fork():
        return {x: fn(x) for x in items}, None  # (no ``then``: the caller does that work)
    read_fd, write_fd = os.pipe()
    try:  # room for the child's whole answer: it goes on to ``then`` without waiting for us
        import fcntl

        fcntl.fcntl(write_fd, fcntl.F_SETPIPE_SZ, 1 << 20)
    except (ImportError, AttributeError, OSError):
        pass
    pid = os.fork()
    if pid == 0:
        _child(fn, items[1::2], read_fd, write_fd, then)
    os.close(write_fd)
    out = {x: fn(x) for x in items[0::2]}
    with os.fdopen(read_fd, "rb") as fh:
        data = fh.read()
    try:
        out.update(pickle.loads(data))
    except Exception:  # noqa: BLE001 - the child died: its half is computed here
        pass
    child = Child(pid)
    if then is None:
        child.wait()  # it is exiting: reap it now
    return {x: out[x] if x in out else fn(x) for x in items}, child


def _child(fn: Callable[[Any], Any], items: Sequence[Hashable], read_fd: int, write_fd: int,
           then: Callable[[], None] | None) -> NoReturn:
    status = 1
    try:
        os.close(read_fd)
        data = pickle.dumps({x: fn(x) for x in items}, protocol=pickle.HIGHEST_PROTOCOL)
        with os.fdopen(write_fd, "wb") as fh:
            fh.write(data)
        if then is not None:
            then()
        status = 0
    finally:
        os._exit(status)  # never back into the caller (no atexit, no flushing of buffers)
