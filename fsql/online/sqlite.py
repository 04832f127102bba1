"""The embedded SQLite online store (the default): one table per feature set.

Each feature set is one table keyed by its join keys (a rowid table for one integer key,
``WITHOUT ROWID`` otherwise) with the content hash ``h``, the row's binary head ``v``
(event timestamp, null bitmap and every numeric feature, see :mod:`fsql.online.codec`) and
one ``TEXT`` column per string / JSON feature. A read of ``n`` keys is one cached
``SELECT ... WHERE key IN (?, ...)`` and one ``struct`` call. The table name carries a hash
of the layout's shape, so a reader's cached plan can never decode a table of another shape
(the statement fails with "no such table" and the plan is rebuilt). The database runs in
WAL mode so a server keeps reading while ``materialize`` writes; each write is one
transaction. Files written by an older fsql (one column per feature) are converted the
first time they are opened.

>>> from fsql.online.base import Layout
>>> s = SQLiteStore(":memory:")
>>> lay = Layout("fs", ("id",), ("str",), ("a",), ("float",))
>>> s.write_batch(lay, [("u1", 5, 7, 1.5)])
1
>>> s.read_batch("fs", [("u1",), ("u2",)], ["a"])
[(5, 1.5), None]
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field, replace
from itertools import chain, islice
from pathlib import Path
from typing import Any

from fsql.online.base import (
    FeatureSetStatus,
    Key,
    Layout,
    OnlineStore,
    read_batch_via_columns,
)
from fsql.online.codec import ReadPlan, RowCodec

__all__ = ["SQLiteStore"]

_KEY_DECL = {"int": "INTEGER", "str": "TEXT"}
_META = "fsql_online_meta"
_LEGACY = "fsql_fs_"  # tables of the one-column-per-feature layout (converted on open)
_BATCH = 2048  # rows encoded at a time
_CHUNK = 500  # max keys per IN (...) statement (SQLite allows 32766 variables)
_MMAP = 1 << 30  # map the file (read pages without copying them; address space only)


def table_name(layout: Layout) -> str:
    """The quoted table of a layout: ``fsql_v2_<feature set>_<hash of its shape>``."""
    shape = json.dumps([layout.join_keys, layout.key_kinds, layout.features, layout.kinds])
    digest = hashlib.sha1(shape.encode()).hexdigest()[:10]
    return '"fsql_v2_' + layout.name.replace('"', '""') + "_" + digest + '"'


@dataclass
class _Plan:
    """How to read some features of one feature set (cached per feature list)."""

    table: str
    nk: int
    codec: RowCodec
    read: ReadPlan
    text_cols: tuple[int, ...]  # the text features selected (indexes into codec.text)
    cols: str
    point: str  # the head and texts of one key
    blank: tuple[Any, ...]
    by_n: dict[int, str] = field(default_factory=dict)

    def in_sql(self, n: int) -> str:
        sql = self.by_n.get(n)
        if sql is None:
            if self.nk == 1:
                where = f"k0 IN ({','.join('?' * n)})"
            else:
                tup = "(" + ",".join("?" * self.nk) + ")"
                keys = ", ".join(f"k{i}" for i in range(self.nk))
                where = f"({keys}) IN (VALUES {','.join([tup] * n)})"
            sql = self.by_n[n] = f"SELECT {self.cols} FROM {self.table} WHERE {where}"
        return sql


class SQLiteStore(OnlineStore):
    """An online store in one SQLite file (``":memory:"`` for a private, in-process one)."""

    kind = "sqlite"

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self._shared: sqlite3.Connection | None = None
        self._plans: dict[tuple[str, tuple[str, ...]], _Plan] = {}
        if self.path == ":memory:":
            self._shared = sqlite3.connect(":memory:", check_same_thread=False,
                                           isolation_level=None)
        con = self._con()
        with self._lock:
            con.execute(f"CREATE TABLE IF NOT EXISTS {_META} "
                        "(name TEXT PRIMARY KEY, layout TEXT NOT NULL, status TEXT)")
            _convert_legacy(con)

    # -- connections ------------------------------------------------------------------------
    def _con(self) -> sqlite3.Connection:
        if self._shared is not None:
            return self._shared
        con: sqlite3.Connection | None = getattr(self._local, "con", None)
        if con is None:
            con = sqlite3.connect(self.path, isolation_level=None, timeout=30,
                                  check_same_thread=False, cached_statements=512)
            con.execute("PRAGMA journal_mode=WAL")
            con.execute("PRAGMA synchronous=NORMAL")
            con.execute(f"PRAGMA mmap_size={_MMAP}")
            self._local.con = con
            with self._lock:
                self._all.append(con)
        return con

    def _cursor(self) -> sqlite3.Cursor:
        """A cursor of this thread's connection, reused by reads."""
        cur: sqlite3.Cursor | None = getattr(self._local, "cur", None)
        if cur is None:
            cur = self._local.cur = self._con().cursor()
        return cur

    def layout(self, name: str) -> Layout | None:
        row = self._con().execute(f"SELECT layout FROM {_META} WHERE name = ?",
                                  (name,)).fetchone()
        return None if row is None else Layout.from_json(row[0])

    # -- writes -----------------------------------------------------------------------------
    def write_batch(self, layout: Layout, rows: Iterable[Sequence[Any]], *,
                    reset: bool = False, delete_keys: Iterable[Key] = (),
                    status: FeatureSetStatus | None = None) -> int:
        con = self._con()
        t = table_name(layout)
        codec = RowCodec(layout)
        width = len(layout.join_keys) + 2 + len(codec.text)
        insert = f"INSERT OR REPLACE INTO {t} VALUES ({','.join('?' * width)})"
        with self._lock:
            con.execute("BEGIN IMMEDIATE")
            try:
                old = self.layout(layout.name)
                if not layout.same_shape(old):
                    if old is not None:
                        con.execute(f"DROP TABLE IF EXISTS {table_name(old)}")
                    con.execute(f"DROP TABLE IF EXISTS {t}")
                    con.execute(_create_sql(layout, codec))
                elif reset:
                    con.execute(f"DELETE FROM {t}")
                before = con.total_changes
                con.executemany(insert, encode_rows(codec, rows))
                written = con.total_changes - before
                con.executemany(f"DELETE FROM {t} WHERE {_where(layout)}",
                                (tuple(k) for k in delete_keys))
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
        n = con.execute(f"SELECT count(*) FROM {table_name(layout)}").fetchone()[0]
        return FeatureSetStatus(layout.name, layout.version, None, None, n, written, "push")

    def delete(self, name: str, keys: Iterable[Key] | None = None) -> int:
        con = self._con()
        lay = self.layout(name)
        if lay is None:
            return 0
        t = table_name(lay)
        with self._lock:
            if keys is None:
                n = self.count(name)
                con.execute("BEGIN IMMEDIATE")
                con.execute(f"DROP TABLE IF EXISTS {t}")
                con.execute(f"DELETE FROM {_META} WHERE name = ?", (name,))
                con.execute("COMMIT")
                return n
            before = con.total_changes
            con.execute("BEGIN IMMEDIATE")
            con.executemany(f"DELETE FROM {t} WHERE {_where(lay)}", (tuple(k) for k in keys))
            con.execute("COMMIT")
            return con.total_changes - before

    # -- reads ------------------------------------------------------------------------------
    read_batch = read_batch_via_columns

    def read_columns(self, name: str, keys: Sequence[Sequence[Any]],
                     features: Sequence[str]) -> tuple[list[Any], list[list[Any]]]:
        n = len(keys[0]) if keys else 0
        for attempt in (0, 1):
            plan = self._plans.get((name, tuple(features))) or self._plan(name, features)
            if plan is None or n == 0:
                break
            try:
                if n == 1:
                    row = self._cursor().execute(
                        plan.point, keys[0] if plan.nk == 1 else [k[0] for k in keys]).fetchone()
                    if row is None:
                        break
                    return plan.codec.one(row[0], plan.read, row[1:])
                got = self._fetch(plan, keys, n)
            except sqlite3.OperationalError:
                self._plans.pop((name, tuple(features)), None)  # the layout changed
                if attempt:
                    raise
                continue
            by_col = list(zip(*got, strict=True))
            return plan.codec.columns(by_col[plan.nk], plan.read, by_col[plan.nk + 1:])
        return [None] * n, [[None] * n for _ in features]

    def _fetch(self, plan: _Plan, keys: Sequence[Sequence[Any]], n: int) -> list[Any]:
        """The stored rows ``(*key, head, *texts)`` of ``n`` > 1 keys, in order
        (``plan.blank`` for a missing key)."""
        cur = self._cursor()
        nk, blank = plan.nk, plan.blank
        if nk == 1:
            ids: Sequence[Any] = keys[0]
            if n <= _CHUNK:
                found = {r[0]: r for r in cur.execute(plan.in_sql(n), ids)}
            else:
                found = {}
                for part in _chunks(list(dict.fromkeys(ids)), _CHUNK):
                    found.update((r[0], r) for r in cur.execute(plan.in_sql(len(part)), part))
            return [found.get(k, blank) for k in ids]
        tuples = list(zip(*keys, strict=True))
        found = {}
        for part in _chunks(list(dict.fromkeys(tuples)), _CHUNK):
            flat = [v for k in part for v in k]
            found.update((r[:nk], r) for r in cur.execute(plan.in_sql(len(part)), flat))
        return [found.get(k, blank) for k in tuples]

    def _plan(self, name: str, features: Sequence[str]) -> _Plan | None:
        pkey = (name, tuple(features))
        plan = self._plans.get(pkey)
        if plan is not None:
            return plan
        lay = self.layout(name)
        if lay is None:
            return None
        codec = RowCodec(lay)
        pos = {f: i for i, f in enumerate(lay.features)}
        text_cols = tuple(sorted({codec.text.index(pos[f]) for f in features
                                  if f in pos and pos[f] in codec.text}))
        read = codec.read_plan(features, text_cols)
        nk = len(lay.join_keys)
        cols = ", ".join([*(f"k{i}" for i in range(nk)), "v", *(f"t{j}" for j in text_cols)])
        values = ", ".join(["v", *(f"t{j}" for j in text_cols)])
        point = f"SELECT {values} FROM {table_name(lay)} WHERE {_where(lay)}"
        blank = (None,) * nk + (codec.missing,) + (None,) * len(text_cols)
        plan = _Plan(table_name(lay), nk, codec, read, text_cols, cols, point, blank)
        if len(self._plans) > 1024:
            self._plans.clear()
        self._plans[pkey] = plan
        return plan

    def entity_hashes(self, name: str) -> dict[Key, int | None]:
        lay = self.layout(name)
        if lay is None:
            return {}
        nk = len(lay.join_keys)
        keys = ", ".join(f"k{i}" for i in range(nk))
        cur = self._con().execute(f"SELECT {keys}, h FROM {table_name(lay)}")
        return {r[:nk]: r[nk] for r in cur}

    def count(self, name: str) -> int:
        lay = self.layout(name)
        if lay is None:
            return 0
        return int(self._con().execute(f"SELECT count(*) FROM {table_name(lay)}").fetchone()[0])

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
        self._plans = {}


def _where(layout: Layout) -> str:
    return " AND ".join(f"k{i} = ?" for i in range(len(layout.join_keys)))


def _create_sql(layout: Layout, codec: RowCodec) -> str:
    texts = [f"t{j} TEXT" for j in range(len(codec.text))]
    if layout.key_kinds == ("int",):
        cols = ", ".join(["k0 INTEGER PRIMARY KEY NOT NULL", "h INTEGER", "v BLOB NOT NULL",
                          *texts])
        return f"CREATE TABLE {table_name(layout)} ({cols})"
    keys = [f"k{i} {_KEY_DECL.get(k, 'TEXT')} NOT NULL" for i, k in enumerate(layout.key_kinds)]
    pk = ", ".join(f"k{i}" for i in range(len(layout.key_kinds)))
    cols = ", ".join([*keys, "h INTEGER", "v BLOB NOT NULL", *texts])
    return f"CREATE TABLE {table_name(layout)} ({cols}, PRIMARY KEY ({pk})) WITHOUT ROWID"


def encode_rows(codec: RowCodec, rows: Iterable[Sequence[Any]]) -> Iterator[tuple[Any, ...]]:
    """``(*key, ts, hash, *features)`` rows as table rows ``(*key, hash, head, *texts)``,
    encoded a batch at a time (no Python code runs per row)."""
    it = iter(rows)
    batches = iter(lambda: list(islice(it, _BATCH)), [])
    return chain.from_iterable(zip(*keys_h, heads, *texts, strict=True)
                               for keys_h, heads, texts in map(codec.encode_batch, batches))


def _convert_legacy(con: sqlite3.Connection) -> None:
    """Convert feature sets stored by an older fsql (``fsql_fs_<name>`` tables with one
    column per feature: ``k0.., ts, h, f0..``) to the current layout, in one transaction."""
    if not _legacy_tables(con):
        return
    con.execute("BEGIN IMMEDIATE")
    try:
        legacy = _legacy_tables(con)  # again, under the lock: another process may be done
        for name, text in con.execute(f"SELECT name, layout FROM {_META}").fetchall():
            if _LEGACY + name not in legacy:
                continue
            lay = Layout.from_json(text)
            codec = RowCodec(lay)
            old = '"' + (_LEGACY + name).replace('"', '""') + '"'
            con.execute(f"DROP TABLE IF EXISTS {table_name(lay)}")
            con.execute(_create_sql(lay, codec))
            width = len(lay.join_keys) + 2 + len(codec.text)
            con.executemany(f"INSERT INTO {table_name(lay)} VALUES ({','.join('?' * width)})",
                            encode_rows(codec, con.execute(f"SELECT * FROM {old}").fetchall()))
            con.execute(f"DROP TABLE {old}")
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise


def _legacy_tables(con: sqlite3.Connection) -> set[str]:
    return {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table' "
                                      "AND name GLOB ?", (_LEGACY + "*",))}


def _chunks(items: list[Any], n: int) -> Iterator[list[Any]]:
    for i in range(0, len(items), n):
        yield items[i:i + n]

