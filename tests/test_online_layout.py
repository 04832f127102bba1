# ruff: noqa: F811  (pytest fixtures imported from online_fixtures)
"""Stores written by an older fsql (one SQLite column per feature; JSON values in Redis) are
converted: SQLite when the file is opened, Redis by the next write (reads say what to do)."""

from __future__ import annotations

import json
import sqlite3
import time
from dataclasses import asdict
from pathlib import Path

import pytest
from online_fixtures import redis_url  # noqa: F401 - pytest fixture

from fsql.errors import ConfigError
from fsql.online import FeatureSetStatus, Layout, SQLiteStore
from fsql.online.codec import RowCodec

LAY = Layout("users", ("user_id",), ("int",), ("spend", "n", "name", "vip", "tags"),
             ("float", "int", "str", "bool", "json"), 86400.0, 3, "ts")
PAIRS = Layout("pairs", ("a", "b"), ("int", "str"), ("x",), ("float",))
STATUS = FeatureSetStatus("users", 3, "2024-05-01T00:00:00Z", "2024-05-01T00:00:00Z", 2, 2,
                          "full")
OLD_ROWS = [(1, 1_000, 11, 1.5, 1, "u1", 0, '["t1", 1]'),
            (2, 2_000, None, None, None, None, None, None)]


def _legacy_sqlite(path: Path) -> None:
    """The file layout of fsql before the compact encoding (``fsql_fs_<name>`` tables)."""
    con = sqlite3.connect(path, isolation_level=None)
    con.execute("CREATE TABLE fsql_online_meta "
                "(name TEXT PRIMARY KEY, layout TEXT NOT NULL, status TEXT)")
    con.execute('CREATE TABLE "fsql_fs_users" (k0 INTEGER NOT NULL, ts INTEGER, h INTEGER, '
                "f0 REAL, f1 INTEGER, f2 TEXT, f3 INTEGER, f4 TEXT, PRIMARY KEY (k0)) "
                "WITHOUT ROWID")
    con.executemany('INSERT INTO "fsql_fs_users" VALUES (?,?,?,?,?,?,?,?)', OLD_ROWS)
    con.execute('CREATE TABLE "fsql_fs_pairs" (k0 INTEGER NOT NULL, k1 TEXT NOT NULL, '
                "ts INTEGER, h INTEGER, f0 REAL, PRIMARY KEY (k0, k1)) WITHOUT ROWID")
    con.execute('INSERT INTO "fsql_fs_pairs" VALUES (1, \'x\', 5, 6, 2.5)')
    con.executemany("INSERT INTO fsql_online_meta VALUES (?, ?, ?)", [
        ("users", LAY.to_json(), json.dumps(asdict(STATUS))), ("pairs", PAIRS.to_json(), None)])
    con.close()


def test_old_sqlite_file_is_converted_on_open(tmp_path: Path) -> None:
    path = tmp_path / "online.sqlite"
    _legacy_sqlite(path)
    store = SQLiteStore(path)
    feats = ["tags", "spend", "vip", "name", "n"]
    assert store.read_batch("users", [(2,), (1,), (3,)], feats) == [
        (2_000, None, None, None, None, None), (1_000, ["t1", 1], 1.5, False, "u1", 1), None]
    assert store.read_batch("users", [(1,)], ["vip"]) == [(1_000, False)]
    assert store.read_batch("pairs", [(1, "x"), (1, "y")], ["x"]) == [(5, 2.5), None]
    assert store.status()["users"] == STATUS
    assert store.entity_hashes("users") == {(1,): 11, (2,): None}
    assert store.layout("users") == LAY
    store.close()
    con = sqlite3.connect(path)
    tables = [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    con.close()
    assert not [t for t in tables if t.startswith("fsql_fs_")]
    assert SQLiteStore(path).count("users") == 2  # a second open has nothing to convert


def _legacy_redis(url: str, prefix: str) -> None:
    """The Redis layout of fsql before the compact encoding (JSON values, no format)."""
    import redis

    r = redis.Redis.from_url(url)
    layout = {"gen": 1, "layout": json.loads(LAY.to_json())}
    r.hset(f"{prefix}:layout", "users", json.dumps(layout))
    r.hset(f"{prefix}:status", "users", json.dumps(asdict(STATUS)))
    for row in OLD_ROWS:
        r.set(f"{prefix}:e:users:{row[0]}", json.dumps([1, *row[1:]]))
        r.hset(f"{prefix}:h:users", str(row[0]), "" if row[2] is None else str(row[2]))
    r.close()


def test_old_redis_data_is_converted_by_the_next_write(redis_url: str) -> None:  # noqa: F811
    from fsql.online.redis_store import RedisStore

    prefix = f"legacy{time.monotonic_ns()}"
    _legacy_redis(redis_url, prefix)
    store = RedisStore(redis_url, prefix=prefix)
    with pytest.raises(ConfigError) as err:
        store.read_batch("users", [(1,)], ["spend"])
    assert "older fsql" in err.value.message and "fsql materialize" in (err.value.hint or "")
    # an incremental write (no reset) converts the stored rows and keeps them
    store.write_batch(LAY, [(3, 3_000, 33, 4.5, 3, "u3", 1, "{}")])
    feats = ["tags", "spend", "vip", "name", "n"]
    assert store.read_batch("users", [(1,), (2,), (3,)], feats) == [
        (1_000, ["t1", 1], 1.5, False, "u1", 1), (2_000, None, None, None, None, None),
        (3_000, {}, 4.5, True, "u3", 3)]
    assert store.entity_hashes("users") == {(1,): 11, (2,): None, (3,): 33}
    assert store.count("users") == 3
    store.delete("users")
    store.close()


def test_codec_heads_have_one_width_per_layout() -> None:
    codec = RowCodec(LAY)
    heads = [codec.head(1, (1.5, 2, "x", True, "[]")), codec.head(2, (None,) * 5),
             codec.missing]
    assert {len(h) for h in heads} == {codec.struct.size}
    ts, cols = codec.columns(heads, codec.read_plan(["n", "vip", "spend"]))
    assert ts == [1, 2, None]
    assert cols == [[2, None, None], [True, None, None], [1.5, None, None]]
