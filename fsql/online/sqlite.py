"""The embedded SQLite online store (the default): one table per feature set.

Each feature set is a ``WITHOUT ROWID`` table keyed by its join keys, with one natively
typed column per feature (no per-read decoding for numbers and strings), the event
timestamp in epoch microseconds and a content hash. The database runs in WAL mode so a
server keeps reading while ``materialize`` writes; each write is one transaction.

>>> from fsql.online.base import Layout
>>> s = SQLiteStore(":memory:")
>>> lay = Layout("fs", ("id",), ("str",), ("a",), ("float",))
>>> s.write_batch(lay, [("u1", 5, 7, 1.5)])
1
>>> s.read_batch("fs", [("u1",), ("u2",)], ["a"])
[(5, 1.5), None]
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

from fsql.online.base import FeatureSetStatus, Key, Layout, OnlineStore, Row

__all__ = ["SQLiteStore"]

_DECL = {"int": "INTEGER", "float": "REAL", "bool": "INTEGER", "str": "TEXT", "json": "TEXT"}
_META = "fsql_online_meta"
_CHUNK = 500  # max keys per IN (...) statement (SQLite allows 32766 variables)


def _table(name: str) -> str:
    return '"fsql_fs_' + name.replace('"', '""') + '"'


class SQLiteStore(OnlineStore):
    """An online store in one SQLite file (``":memory:"`` for a private, in-process one)."""

    kind = "sqlite"

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self._shared: sqlite3.Connection | None = None
        if self.path == ":memory:":
            self._shared = sqlite3.connect(":memory:", check_same_thread=False,
                                           isolation_level=None)
        con = self._con()
        with self._lock:
            con.execute(f"CREATE TABLE IF NOT EXISTS {_META} "
                        "(name TEXT PRIMARY KEY, layout TEXT NOT NULL, status TEXT)")

    # -- connections and cached read plans -------------------------------------------
    def _con(self) -> sqlite3.Connection:
        if self._shared is not None:
            return self._shared
        con: sqlite3.Connection | None = getattr(self._local, "con", None)
        if con is None:
            con = sqlite3.connect(self.path, isolation_level=None, timeout=30,
                                  check_same_thread=False, cached_statements=512)
            con.execute("PRAGMA journal_mode=WAL")
            con.execute("PRAGMA synchronous=NORMAL")
            self._local.con = con
            self._local.plans = {}
            self._local.schema = -1
            with self._lock:
                self._all.append(con)
        return con

    def _plans(self, con: sqlite3.Connection) -> dict[Any, Any]:
        """Per-thread cache of read plans, dropped whenever the schema changed."""
        loc = self._local
        ver = con.execute("PRAGMA schema_version").fetchone()[0]
        if getattr(loc, "schema", None) != ver:
            loc.plans = {}
            loc.schema = ver
        plans: dict[Any, Any] = loc.plans
        return plans

    def layout(self, name: str) -> Layout | None:
        row = self._con().execute(f"SELECT layout FROM {_META} WHERE name = ?",
                                  (name,)).fetchone()
        return None if row is None else Layout.from_json(row[0])

    # -- writes ---------------------------------------------------------------------------
    def write_batch(self, layout: Layout, rows: Iterable[Sequence[Any]], *,
                    reset: bool = False, delete_keys: Iterable[Key] = (),
                    status: FeatureSetStatus | None = None) -> int:
        con = self._con()
        t = _table(layout.name)
        width = len(layout.join_keys) + 2 + len(layout.features)
        insert = f"INSERT OR REPLACE INTO {t} VALUES ({','.join('?' * width)})"
        with self._lock:
            con.execute("BEGIN IMMEDIATE")
            try:
                old = self.layout(layout.name)
                if not layout.same_shape(old):
                    con.execute(f"DROP TABLE IF EXISTS {t}")
                    con.execute(_create_sql(layout))
                elif reset:
                    con.execute(f"DELETE FROM {t}")
                before = con.total_changes
                con.executemany(insert, rows)
                written = con.total_changes - before
                where = " AND ".join(f"k{i} = ?" for i in range(len(layout.join_keys)))
                con.executemany(f"DELETE FROM {t} WHERE {where}", (tuple(k) for k in delete_keys))
                if status is None:
                    status = self._push_status(con, layout, written)
                n = con.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
                status = replace(status, row_count=n, rows_written=written)
                con.execute(f"INSERT OR REPLACE INTO {_META} VALUES (?, ?, ?)",
                            (layout.name, layout.to_json(), json.dumps(asdict(status))))
                con.execute("COMMIT")
            except BaseException:
                con.execute("ROLLBACK")
                raise
        return written

    def _push_status(self, con: sqlite3.Connection, layout: Layout,
                     written: int) -> FeatureSetStatus:
        row = con.execute(f"SELECT status FROM {_META} WHERE name = ?",
                          (layout.name,)).fetchone()
        if row is not None and row[0]:
            return FeatureSetStatus(**json.loads(row[0]))
        n = con.execute(f"SELECT count(*) FROM {_table(layout.name)}").fetchone()[0]
        return FeatureSetStatus(layout.name, layout.version, None, None, n, written, "push")

    def delete(self, name: str, keys: Iterable[Key] | None = None) -> int:
        con = self._con()
        t = _table(name)
        lay = self.layout(name)
        if lay is None:
            return 0
        with self._lock:
            if keys is None:
                n = self.count(name)
                con.execute("BEGIN IMMEDIATE")
                con.execute(f"DROP TABLE IF EXISTS {t}")
                con.execute(f"DELETE FROM {_META} WHERE name = ?", (name,))
                con.execute("COMMIT")
                return n
            where = " AND ".join(f"k{i} = ?" for i in range(len(lay.join_keys)))
            before = con.total_changes
            con.execute("BEGIN IMMEDIATE")
            con.executemany(f"DELETE FROM {t} WHERE {where}", (tuple(k) for k in keys))
            con.execute("COMMIT")
            return con.total_changes - before

    # -- reads ----------------------------------------------------------------------------
    def read_batch(self, name: str, keys: Sequence[Key],
                   features: Sequence[str]) -> list[Row | None]:
        con = self._con()
        plans = self._plans(con)
        pkey = (name, tuple(features))
        plan = plans.get(pkey)
        if plan is None:
            plan = plans[pkey] = self._plan(name, features)
        if plan is False:
            return [None] * len(keys)
        nk, conv, point, by_n = plan
        if len(keys) == 1:
            row = con.execute(point, keys[0]).fetchone()
            return [None if row is None else _convert(row[nk:], conv)]
        found: dict[Key, Row] = {}
        for part in _chunks(list(dict.fromkeys(keys)), _CHUNK):
            sql = by_n.get(len(part))
            if sql is None:
                sql = by_n[len(part)] = _in_sql(name, plan_cols(nk, point), nk, len(part))
            for row in con.execute(sql, [v for k in part for v in k]):
                found[row[:nk]] = _convert(row[nk:], conv)
        return [found.get(k) for k in keys]

    def _plan(self, name: str, features: Sequence[str]) -> Any:
        lay = self.layout(name)
        if lay is None:
            return False
        pos = {f: i for i, f in enumerate(lay.features)}
        nk = len(lay.join_keys)
        cols = [f"k{i}" for i in range(nk)] + ["ts"]
        cols += [f"f{pos[f]}" if f in pos else "NULL" for f in features]
        conv = tuple((j + 1, lay.kinds[pos[f]]) for j, f in enumerate(features)
                     if f in pos and lay.kinds[pos[f]] in ("bool", "json"))
        where = " AND ".join(f"k{i} = ?" for i in range(nk))
        point = f"SELECT {', '.join(cols)} FROM {_table(name)} WHERE {where}"
        return nk, conv, point, {}

    def entity_hashes(self, name: str) -> dict[Key, int | None]:
        lay = self.layout(name)
        if lay is None:
            return {}
        nk = len(lay.join_keys)
        keys = ", ".join(f"k{i}" for i in range(nk))
        cur = self._con().execute(f"SELECT {keys}, h FROM {_table(name)}")
        return {r[:nk]: r[nk] for r in cur}

    def count(self, name: str) -> int:
        if self.layout(name) is None:
            return 0
        return int(self._con().execute(f"SELECT count(*) FROM {_table(name)}").fetchone()[0])

    def status(self) -> dict[str, FeatureSetStatus]:
        rows = self._con().execute(f"SELECT name, status FROM {_META} ORDER BY name").fetchall()
        return {n: FeatureSetStatus(**json.loads(s)) for n, s in rows if s}

    def close(self) -> None:
        with self._lock:
            for con in self._all:
                con.close()
            self._all.clear()
            if self._shared is not None:
                self._shared.close()
        self._local = threading.local()


def _create_sql(layout: Layout) -> str:
    keys = [f"k{i} {_DECL[k]} NOT NULL" for i, k in enumerate(layout.key_kinds)]
    feats = [f"f{i} {_DECL[k]}" for i, k in enumerate(layout.kinds)]
    pk = ", ".join(f"k{i}" for i in range(len(layout.key_kinds)))
    cols = ", ".join([*keys, "ts INTEGER", "h INTEGER", *feats])
    return f"CREATE TABLE {_table(layout.name)} ({cols}, PRIMARY KEY ({pk})) WITHOUT ROWID"


def plan_cols(nk: int, point_sql: str) -> str:
    """The column list of a cached point-lookup statement."""
    return point_sql[len("SELECT "):point_sql.index(" FROM ")]


def _in_sql(name: str, cols: str, nk: int, n: int) -> str:
    if nk == 1:
        return f"SELECT {cols} FROM {_table(name)} WHERE k0 IN ({','.join('?' * n)})"
    tup = "(" + ",".join("?" * nk) + ")"
    keys = ", ".join(f"k{i}" for i in range(nk))
    return (f"SELECT {cols} FROM {_table(name)} WHERE ({keys}) IN "
            f"(VALUES {','.join([tup] * n)})")


def _convert(row: tuple[Any, ...], conv: tuple[tuple[int, str], ...]) -> Row:
    if not conv:
        return row
    out = list(row)
    for j, kind in conv:
        v = out[j]
        if v is not None:
            out[j] = bool(v) if kind == "bool" else json.loads(v)
    return tuple(out)


def _chunks(items: list[Key], n: int) -> Iterator[list[Key]]:
    for i in range(0, len(items), n):
        yield items[i:i + n]
