# ruff: noqa: F811  (pytest fixtures imported from online_fixtures)
"""materialize (latest row per entity within TTL, incremental, versions) and online reads."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import duckdb
import pytest
from online_fixtures import redis_url, store  # noqa: F401 - pytest fixtures

from fsql.errors import ConfigError, ExecutionError
from fsql.online import OnlineFeatureSet, OnlineStore, get_online_features, materialize
from fsql.online.materializer import materialize_all

DAY = 86400.0


@pytest.fixture
def con() -> Iterator[duckdb.DuckDBPyConnection]:
    c = duckdb.connect()
    c.execute("""create table tx_v1 (user_id bigint, ts timestamp, spend double, n integer,
                 tier varchar, active boolean, hist double[])""")
    c.execute("""insert into tx_v1 values
        (1, '2024-01-01 00:00:00', 10, 1, 'a', true, [1.0]),
        (1, '2024-01-05 00:00:00', 50, 5, 'b', false, [1.0, 2.0]),
        (1, '2024-01-20 00:00:00', 99, 9, 'z', true, null),   -- after as_of
        (2, '2023-12-01 00:00:00', 20, 2, 'c', true, []),     -- outside TTL at as_of
        (3, '2024-01-03 00:00:00', 30, 3, null, null, null),
        (3, '2024-01-03 00:00:00', 31, 3, 'dup', true, null), -- tie on ts
        (4, '2023-12-10 00:00:00', 40, 4, 'edge', true, null),-- exactly at as_of - ttl
        (null, '2024-01-05 00:00:00', 0, 0, 'nullkey', true, null)""")
    yield c
    c.close()


def fset(version: int | None = 1, relation: str = "tx_v1", ttl: float | None = 30 * DAY,
         features: tuple[str, ...] = ("spend", "n", "tier", "active", "hist"),
         **kw: object) -> OnlineFeatureSet:
    return OnlineFeatureSet("user_stats", relation, version, ("user_id",), "ts", ttl, features,
                            {"user_id": "BIGINT", "spend": "DOUBLE"}, **kw)  # type: ignore[arg-type]


AS_OF = "2024-01-09T00:00:00"
NOW = "2024-01-10T00:00:00Z"


def read(store: OnlineStore, fs: OnlineFeatureSet, ids: list, feats: list[str] | None = None,
         now: str = NOW) -> dict:
    refs = [f"user_stats:{f}" for f in feats or ["spend", "tier"]]
    return get_online_features(store, {"user_stats": fs}, refs,
                               [{"user_id": i} for i in ids], now=now).to_dict()


def test_latest_row_within_ttl(con, store: OnlineStore) -> None:
    fs = fset()
    res = materialize(con, fs, store, as_of=AS_OF)
    assert (res.mode, res.rows_written, res.row_count, res.version) == ("full", 3, 3, 1)
    got = read(store, fs, [1, 2, 3, 4, 5], ["spend", "n", "tier", "active", "hist"], now=AS_OF)
    assert got == {"user_id": [1, 2, 3, 4, 5], "spend": [50.0, None, 31.0, 40.0, None],
                   "n": [5, None, 3, 4, None], "tier": ["b", None, "dup", "edge", None],
                   "active": [False, None, True, True, None],
                   "hist": [[1.0, 2.0], None, None, None, None]}


def test_ttl_checked_at_read_time(con, store: OnlineStore) -> None:
    fs = fset()
    materialize(con, fs, store, as_of=AS_OF)
    resp = get_online_features(store, {"user_stats": fs}, ["user_stats:spend"],
                               [{"user_id": 1}, {"user_id": 4}, {"user_id": 9}],
                               now="2024-01-10T00:00:01Z")
    assert resp.values["spend"] == [50.0, None, None]
    assert resp.statuses["spend"] == ["PRESENT", "OUTSIDE_MAX_AGE", "NOT_FOUND"]
    assert resp.event_timestamps["spend"][0] == int(
        datetime(2024, 1, 5, tzinfo=UTC).timestamp() * 1e6)
    assert resp.statuses["user_id"] == ["PRESENT"] * 3
    # exactly at the TTL boundary is still present (inclusive)
    assert read(store, fs, [4], now="2024-01-09T00:00:00Z")["spend"] == [40.0]
    assert read(store, fs, [4], now=datetime(2024, 1, 9))["spend"] == [40.0]


def test_no_ttl_means_unlimited(con, store: OnlineStore) -> None:
    fs = fset(ttl=None)
    materialize(con, fs, store, as_of=AS_OF)
    assert read(store, fs, [2], now="2030-01-01")["spend"] == [20.0]


def test_incremental_writes_only_changed_entities(con, store: OnlineStore) -> None:
    fs = fset()
    materialize(con, fs, store, as_of=AS_OF)
    again = materialize(con, fs, store, as_of=AS_OF)
    assert (again.mode, again.rows_written) == ("incremental", 0)
    later = materialize(con, fs, store, as_of="2024-01-25T00:00:00")
    assert (later.mode, later.rows_written, later.row_count) == ("incremental", 1, 3)
    assert read(store, fs, [1], now="2024-01-25")["spend"] == [99.0]
    st = store.status()["user_stats"]
    assert (st.version, st.as_of, st.mode, st.row_count) == (
        1, "2024-01-25T00:00:00Z", "incremental", 3)
    assert st.materialized_at is not None and st.materialized_at.endswith("Z")


def test_new_version_writes_only_changed_rows_and_deletes_gone(con, store: OnlineStore) -> None:
    materialize(con, fset(), store, as_of=AS_OF)
    con.execute("create table tx_v2 as select * from tx_v1 where user_id is distinct from 4")
    con.execute("update tx_v2 set spend = 55 where user_id = 1 and ts = '2024-01-05'")
    res = materialize(con, fset(version=2, relation="tx_v2"), store, as_of=AS_OF)
    assert (res.mode, res.rows_written, res.rows_deleted, res.row_count) == ("diff", 1, 1, 2)
    assert read(store, fset(version=2), [1, 3, 4], now=AS_OF) == {
        "user_id": [1, 3, 4], "spend": [55.0, 31.0, None], "tier": ["b", "dup", None]}
    assert store.status()["user_stats"].version == 2


def test_unversioned_relation_uses_content_hashes(con, store: OnlineStore) -> None:
    fs = fset(version=None)
    assert materialize(con, fs, store, as_of=AS_OF).rows_written == 3
    res = materialize(con, fs, store, as_of=AS_OF)
    assert (res.mode, res.rows_written, res.rows_deleted) == ("diff", 0, 0)


def test_full_rewrites_everything(con, store: OnlineStore) -> None:
    fs = fset()
    materialize(con, fs, store, as_of=AS_OF)
    res = materialize(con, fs, store, as_of=AS_OF, full=True)
    assert (res.mode, res.rows_written, res.row_count) == ("full", 3, 3)


def test_schema_change_forces_full(con, store: OnlineStore) -> None:
    materialize(con, fset(), store, as_of=AS_OF)
    fs2 = fset(version=2, features=("spend",))
    res = materialize(con, fs2, store, as_of=AS_OF)
    assert res.mode == "full"
    assert store.layout("user_stats").features == ("spend",)  # type: ignore[union-attr]


def test_created_timestamp_breaks_ties(con, store: OnlineStore) -> None:
    con.execute("create table t (user_id bigint, ts timestamp, created timestamp, spend double)")
    con.execute("""insert into t values (1, '2024-01-01', '2024-01-03', 1),
                   (1, '2024-01-01', '2024-01-02', 2)""")
    fs = OnlineFeatureSet("user_stats", "t", 1, ("user_id",), "ts", None, ("spend",),
                          created_timestamp="created")
    materialize(con, fs, store, as_of=AS_OF)
    assert read(store, fs, [1], ["spend"])["spend"] == [1.0]


def test_string_and_composite_keys(store: OnlineStore) -> None:
    con = duckdb.connect()
    con.execute("""create table m as select * from (values
        ('u1', 10, TIMESTAMPTZ '2024-01-01 00:00:00+00', 1.0),
        ('u1', 10, TIMESTAMPTZ '2024-01-02 00:00:00+00', 2.0),
        ('u1', 11, TIMESTAMPTZ '2024-01-01 00:00:00+00', 3.0),
        ('u2', 10, TIMESTAMPTZ '2024-01-01 00:00:00+00', 4.0)) v(user, merchant, ts, x)""")
    fs = OnlineFeatureSet("pair", "m", 1, ("user", "merchant"), "ts", None, ("x",),
                          {"user": "VARCHAR", "merchant": "INTEGER"})
    assert materialize(con, fs, store, as_of="2024-02-01").rows_written == 3
    rows = [{"user": "u1", "merchant": 10}, {"user": "u1", "merchant": 11},
            {"user": "u2", "merchant": 11}, {"merchant": 10, "user": "u2"}]
    got = get_online_features(store, {"pair": fs}, ["pair:x"], rows, now="2024-02-01")
    assert got.to_dict() == {"user": ["u1", "u1", "u2", "u2"], "merchant": [10, 11, 11, 10],
                             "x": [2.0, 3.0, None, 4.0]}
    with pytest.raises(ConfigError, match="must be a string"):
        get_online_features(store, {"pair": fs}, ["pair:x"], [{"user": 1, "merchant": 10}])
    with pytest.raises(ConfigError, match="missing join key 'merchant'"):
        get_online_features(store, {"pair": fs}, ["pair:x"], [{"user": "u1"}])


def test_int_keys_accept_numpy_and_reject_strings(con, store: OnlineStore) -> None:
    import numpy as np

    fs = fset()
    materialize(con, fs, store, as_of=AS_OF)
    assert read(store, fs, [np.int64(1)])["spend"] == [50.0]
    with pytest.raises(ConfigError, match="must be an integer"):
        read(store, fs, ["1"])


def test_unknown_references_have_hints(con, store: OnlineStore) -> None:
    fs = {"user_stats": fset()}
    with pytest.raises(ConfigError) as err:
        get_online_features(store, fs, ["user_stat:spend"], [{"user_id": 1}])
    assert err.value.hint == "did you mean 'user_stats'?"
    with pytest.raises(ConfigError) as err:
        get_online_features(store, fs, ["user_stats:spent"], [{"user_id": 1}])
    assert err.value.hint == "did you mean 'spend'?"
    with pytest.raises(ConfigError, match="bad feature reference"):
        get_online_features(store, fs, ["spend"], [{"user_id": 1}])


def test_full_feature_names_star_and_pandas(con, store: OnlineStore) -> None:
    fs = fset()
    other = OnlineFeatureSet("other", "tx_v1", 1, ("user_id",), "ts", None, ("spend",))
    materialize_all(con, {"user_stats": fs, "other": other}, store, as_of=AS_OF)
    sets = {"user_stats": fs, "other": other}
    with pytest.raises(ConfigError, match="full_feature_names"):
        get_online_features(store, sets, ["user_stats:spend", "other:spend"], [{"user_id": 1}])
    resp = get_online_features(store, sets, ["user_stats:*", "other:spend"], [{"user_id": 1}],
                               now=NOW, full_feature_names=True)
    assert resp.feature_names == ("user_id", "user_stats__spend", "user_stats__n",
                                  "user_stats__tier", "user_stats__active",
                                  "user_stats__hist", "other__spend")
    df = resp.to_pandas()
    assert list(df.columns) == list(resp.feature_names)
    assert df.loc[0, "other__spend"] == 50.0  # no TTL, but nothing after as_of
    assert df.loc[0, "user_stats__spend"] == 50.0


def test_materialize_errors(con, store: OnlineStore) -> None:
    with pytest.raises(ConfigError) as err:
        materialize(con, fset(features=("spnd",)), store)
    assert err.value.hint == "did you mean 'spend'?"
    with pytest.raises(ExecutionError):
        materialize(con, fset(relation="missing_table"), store)


@pytest.mark.parametrize("ts_type", ["DATE", "TIMESTAMP_NS", "TIMESTAMPTZ", "TIMESTAMP_S"])
def test_timestamp_column_types(store: OnlineStore, ts_type: str) -> None:
    con = duckdb.connect()
    con.execute("SET TimeZone = 'America/New_York'")  # must not shift UTC bounds
    z = " 00:00:00+00" if ts_type == "TIMESTAMPTZ" else ""  # instants in UTC
    con.execute(f"""create table d as select * from (values
        (1, CAST('2024-01-01{z}' AS {ts_type}), 1.0), (1, CAST('2024-01-03{z}' AS {ts_type}), 3.0),
        (2, CAST('2024-01-04{z}' AS {ts_type}), 4.0)) v(user_id, ts, x)""")
    fs = OnlineFeatureSet("d", "d", 1, ("user_id",), "ts", 2 * DAY, ("x",))
    res = materialize(con, fs, store, as_of="2024-01-03T00:00:00Z")
    assert res.rows_written == 1
    got = get_online_features(store, {"d": fs}, ["d:x"], [{"user_id": 1}, {"user_id": 2}],
                              now="2024-01-03")
    assert got.values["x"] == [3.0, None]
    assert got.event_timestamps["x"][0] == int(datetime(2024, 1, 3, tzinfo=UTC).timestamp() * 1e6)
