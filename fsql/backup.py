"""``fsql backup`` / ``fsql restore``: the documented way back from a damaged database.

A backup is a consistent copy of the warehouse file taken while nothing writes: it holds the
store's write lock (so no ``fsql run``, ingest, rollback or gc runs meanwhile), checkpoints any
write-ahead log into the file, copies it to a temporary name beside the destination, checks
that the copy opens as an fsql store, then renames it into place. ``restore`` checks the
backup the same way, moves the current file aside (``<db>.replaced-<UTC time>``, never
deleted: it may still hold something) and puts a copy of the backup in its place, under the
same lock. Versions, live views, history and saved training sets all live in that one file.
"""

from __future__ import annotations

import os
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .errors import ConfigError, FsqlError
from .lock import WriteLock

__all__ = ["backup_database", "restore_database"]


def backup_database(database: Path, dest: str | Path) -> int:
    """Copy ``database`` to ``dest`` (a file, or a folder to put it in); returns its bytes."""
    if not database.is_file():
        raise ConfigError(f"no warehouse at {database}", path=str(database),
                          hint="run `fsql run` first: there is nothing to back up")
    target = Path(dest)
    if target.is_dir():
        target = target / database.name
    with WriteLock(database):
        if Path(f"{database}.wal").exists():
            _checkpoint(database)
        tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        shutil.copy2(database, tmp)
        try:
            _check_store(tmp, str(target))
            os.replace(tmp, target)
        finally:
            tmp.unlink(missing_ok=True)
    return target.stat().st_size


def restore_database(database: Path, source: str | Path) -> Path | None:
    """Replace ``database`` by a copy of the backup ``source``; returns where the replaced
    file was moved (None when there was none)."""
    src = Path(source)
    if not src.is_file():
        raise ConfigError(f"no backup at {src}", path=str(src),
                          expected="a file written by `fsql backup`")
    _check_store(src, str(src))
    with WriteLock(database):
        tmp = database.with_name(f".{database.name}.{os.getpid()}.tmp")
        shutil.copy2(src, tmp)
        aside = None
        if database.exists():
            stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
            aside = database.with_name(f"{database.name}.replaced-{stamp}")
            os.replace(database, aside)
        Path(f"{database}.wal").unlink(missing_ok=True)  # belongs to the replaced file
        os.replace(tmp, database)
    return aside


def _checkpoint(database: Path) -> None:
    from .engines.duckdb import connect

    con = connect(database)
    try:
        con.execute("checkpoint")
    finally:
        con.close()


def _check_store(path: Path, shown: str) -> None:
    """``path`` opens as a DuckDB database holding fsql's state tables."""
    from .engines.duckdb import DuckDBError, connect
    from .state import StateStore

    try:
        con: Any = connect(path, read_only=True)
    except DuckDBError as e:
        raise FsqlError(f"not a usable fsql store: {str(e).splitlines()[0]}", path=shown,
                        expected="a DuckDB file written by fsql",
                        hint="pick another backup") from None
    try:
        if not StateStore.exists(con):
            raise FsqlError("not an fsql store (no fsql_meta tables)", path=shown,
                            expected="a DuckDB file written by fsql",
                            hint="pick another backup")
        con.execute("select count(*) from fsql_meta.versions").fetchall()  # reads its blocks
    except DuckDBError as e:
        raise FsqlError(f"the backup is damaged: {str(e).splitlines()[0]}", path=shown,
                        hint="pick another backup") from None
    finally:
        con.close()
