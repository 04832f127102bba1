"""The only module that imports duckdb: connections and DuckDB error mapping.

>>> con = connect()
>>> con.execute("select 41 + 1").fetchone()
(42,)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb

__all__ = ["Connection", "DuckDBError", "connect", "quote_ident", "register_frame"]

Connection = duckdb.DuckDBPyConnection
DuckDBError = duckdb.Error


def connect(
    path: str | Path | None = None,
    *,
    read_only: bool = False,
    threads: int | None = None,
    memory_limit: str | None = None,
) -> duckdb.DuckDBPyConnection:
    """Open a DuckDB connection: a file when ``path`` is given, else in memory."""
    config: dict[str, Any] = {}
    if threads:
        config["threads"] = int(threads)
    if memory_limit:
        config["memory_limit"] = str(memory_limit)
    database = str(path) if path is not None else ":memory:"
    return duckdb.connect(database, read_only=read_only, config=config)


def quote_ident(name: str) -> str:
    """Quote an identifier for DuckDB SQL.

    >>> quote_ident('a"b')
    '"a""b"'
    """
    return '"' + name.replace('"', '""') + '"'


def register_frame(con: duckdb.DuckDBPyConnection, name: str, data: Any) -> None:
    """Expose a pandas DataFrame or Arrow table to SQL under ``name``."""
    con.register(name, data)
