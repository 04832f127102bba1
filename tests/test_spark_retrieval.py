"""Point-in-time answers on Spark equal Feast's and DuckDB's.

The Spark SQL of :mod:`fsql.engines.spark_retrieval` runs on the shared local session
(``spark`` fixture): every public PIT oracle case against Feast 0.67's answer, then random
feature data of many types (nulls, duplicates, exact ties, tz-aware and naive timestamps,
dates) against DuckDB's :func:`fsql.featurestore.retrieval.get_training_set` row for row, and the
latest row per entity against the DuckDB online materializer.
"""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pytest
from conftest import ORACLES, load_pit_compare

from fsql.engines.duckdb import connect, quote_ident
from fsql.engines.spark_retrieval import (
    latest_per_entity_sql_spark,
    spark_ident,
    training_set_sql_spark,
)
from fsql.featurestore.retrieval import ROW_INDEX, FeatureView, get_training_set, parse_feature_refs
from fsql.online.base import OnlineFeatureSet, to_epoch_us
from fsql.online.materializer import materialize
from fsql.online.memory import InMemoryStore

# the oracle tests skip (with this reason) where the corpus is absent; the differential
# tests below run everywhere
pit_compare = load_pit_compare()
HAVE_ORACLES = pit_compare is not None
CASES: list[str] = pit_compare.list_cases(str(ORACLES / "pit")) if HAVE_ORACLES else []
needs_oracles = pytest.mark.skipif(not HAVE_ORACLES,
                                   reason=f"PIT oracle corpus not found at {ORACLES}")


def to_arrow(data: Any) -> pa.Table:
    """An Arrow table with microsecond timestamps (Spark has no nanoseconds)."""
    table = data if isinstance(data, pa.Table) else pa.Table.from_pandas(
        data, preserve_index=False)
    cols = [
        c.cast(pa.timestamp("us", f.type.tz)) if pa.types.is_timestamp(f.type) else c
        for f, c in zip(table.schema, table.columns, strict=True)
    ]
    return pa.table(cols, names=table.column_names)


def spark_view(spark: Any, name: str, data: Any) -> dict[tuple[str, str], str]:
    """Register ``data`` as a Spark temp view; its column types keyed like column_types."""
    df = spark.createDataFrame(to_arrow(data))
    df.createOrReplaceTempView(name)
    return {(spark_ident(name), f.name): f.dataType.simpleString() for f in df.schema.fields}


def spark_training_set(spark: Any, entity: Any, views: list[FeatureView], ts: str,
                       full: bool, types: dict[tuple[str, str], str]) -> pa.Table:
    table = to_arrow(entity)
    columns = list(table.column_names)
    spark_view(spark, "__ent", table.append_column(
        ROW_INDEX, pa.array(np.arange(table.num_rows, dtype=np.int64))))
    sql = training_set_sql_spark(spark_ident("__ent"), columns, ts, views,
                                 full_feature_names=full, column_types=types)
    return spark.sql(sql).toArrow()


# -- Feast's answers ---------------------------------------------------------------------


@needs_oracles
@pytest.mark.parametrize("case_dir", CASES, ids=[Path(c).name for c in CASES])
def test_oracle_case_on_spark_matches_feast(spark: Any, case_dir: str) -> None:
    case = pit_compare.load_case(case_dir)
    spec = case["spec"]
    meta = {fv["name"]: fv for fv in spec["feature_views"]}
    types: dict[tuple[str, str], str] = {}
    for name, frame in case["feature_views"].items():
        types |= spark_view(spark, name, frame)
    available = {n: [f["name"] for f in fv["features"]] for n, fv in meta.items()}
    views = [
        FeatureView(n, spark_ident(n), tuple(meta[n]["join_keys"]), meta[n]["timestamp_field"],
                    meta[n]["created_timestamp_column"], meta[n]["ttl_seconds"], cols)
        for n, cols in parse_feature_refs(spec["request"]["features"], available)
    ]
    actual = spark_training_set(spark, case["entity_df"], views,
                                spec["entity_df"]["event_timestamp_column"],
                                spec["request"]["full_feature_names"], types).to_pandas()
    report = pit_compare.compare_frames(
        case["expected"], actual, allowed_alternatives=spec.get("allowed_alternatives"))
    assert report["equal"], report
    assert list(actual.columns) == list(case["expected"].columns)
    assert actual["row_id"].tolist() == case["entity_df"]["row_id"].tolist()


@needs_oracles
def test_corpus_has_every_case() -> None:
    assert len(CASES) >= 9


# -- DuckDB's answers on random data -----------------------------------------------------

T0 = datetime(2024, 1, 1)


def _times(rng: np.random.Generator, n: int, spread_h: int, null_p: float = 0.0) -> list:
    """Naive datetimes on a coarse grid (many exact ties), some None."""
    hours = rng.integers(0, spread_h, n)
    return [None if rng.random() < null_p else T0 + timedelta(hours=int(h)) for h in hours]


def _maybe(rng: np.random.Generator, values: list, null_p: float = 0.15) -> list:
    return [None if rng.random() < null_p else v for v in values]


def random_case(seed: int) -> tuple[dict[str, pa.Table], pa.Table]:
    """Three feature sets (naive ts + created, tz-aware ts with a composite key, date ts)
    and an entity table (naive ts with nulls, duplicate rows, null keys)."""
    rng = np.random.default_rng(seed)
    n = 400
    users = rng.integers(0, 12, n).tolist()
    base = {
        "user_id": pa.array(users, pa.int64()),
        "ts": pa.array(_times(rng, n, 48, 0.03), pa.timestamp("us")),
        "created": pa.array(_maybe(rng, _times(rng, n, 3), 0.2), pa.timestamp("us")),
        "i": pa.array(_maybe(rng, rng.integers(-3, 3, n).tolist()), pa.int64()),
        "d": pa.array(_maybe(rng, rng.choice([0.5, -1.25, 2.0, math.nan], n).tolist()),
                      pa.float64()),
        "s": pa.array(_maybe(rng, rng.choice(["a", "b", "é", ""], n).tolist()), pa.string()),
        "b": pa.array(_maybe(rng, rng.random(n).round().astype(bool).tolist()), pa.bool_()),
        "dt": pa.array(_maybe(rng, [date(2024, 1, int(x)) for x in rng.integers(1, 4, n)]),
                       pa.date32()),
        "tsf": pa.array(_maybe(rng, [datetime(2024, 2, 1, int(h), tzinfo=UTC)
                                     for h in rng.integers(0, 3, n)]), pa.timestamp("us", "UTC")),
    }
    fa = pa.table(base)
    fa = pa.concat_tables([fa, fa.slice(0, 40)])  # exact duplicate rows too
    m = 200
    fb = pa.table({
        "user_id": pa.array(rng.integers(0, 12, m).tolist(), pa.int64()),
        "city": pa.array(_maybe(rng, rng.choice(["x", "y"], m).tolist(), 0.05), pa.string()),
        "ets": pa.array([datetime(2024, 1, 1, tzinfo=UTC) + timedelta(hours=int(h))
                         for h in rng.integers(0, 48, m)], pa.timestamp("us", "America/New_York")),
        "x": pa.array(_maybe(rng, rng.integers(0, 5, m).tolist()), pa.int32()),
        "y": pa.array(rng.normal(size=m).round(1).tolist(), pa.float64()),
    })
    fc = pa.table({
        "user_id": pa.array(rng.integers(0, 12, 60).tolist(), pa.int64()),
        "day": pa.array([date(2024, 1, 1) + timedelta(days=int(x))
                         for x in rng.integers(0, 3, 60)], pa.date32()),
        "z": pa.array(_maybe(rng, rng.choice(["p", "q", "r"], 60).tolist()), pa.string()),
    })
    k = 300
    entity = pa.table({
        "user_id": pa.array(_maybe(rng, rng.integers(0, 14, k).tolist(), 0.03), pa.int64()),
        "city": pa.array(rng.choice(["x", "y", "w"], k).tolist(), pa.string()),
        "event_timestamp": pa.array(
            [None if rng.random() < 0.03 else T0 + timedelta(minutes=int(x))
             for x in rng.integers(-60, 60 * 60, k)], pa.timestamp("us")),
        "label": pa.array(rng.integers(0, 2, k).tolist(), pa.int8()),
    })
    entity = pa.concat_tables([entity, entity.slice(0, 20)])
    return {"fa": fa, "fb": fb, "fc": fc}, entity


VIEWS = [
    ("fa", ("user_id",), "ts", "created", 6 * 3600.0, ("i", "d", "s", "b", "dt", "tsf")),
    ("fb", ("user_id", "city"), "ets", None, None, ("y", "x")),
    ("fc", ("user_id",), "day", None, 2 * 86400.0, ("z",)),
]


def _views(quote: Any, only: tuple[str, ...] | None = None) -> list[FeatureView]:
    return [FeatureView(n, quote(n), keys, ts, created, ttl, feats, 1)
            for n, keys, ts, created, ttl, feats in VIEWS if only is None or n in only]


def _family(t: pa.DataType) -> str:
    if pa.types.is_timestamp(t):
        return f"timestamp[{t.unit}, {'tz' if t.tz else 'naive'}]"
    if pa.types.is_large_string(t) or pa.types.is_string_view(t):
        return "string"
    return str(t)


def _cell(v: Any) -> Any:
    if isinstance(v, float) and math.isnan(v):
        return "NaN"
    if isinstance(v, datetime) and v.tzinfo is not None:
        return v.astimezone(UTC)
    return v


def assert_same_table(duck: pa.Table, spark: pa.Table) -> None:
    """Same columns, type families, and rows in the same order (NaN equals NaN,
    tz-aware timestamps as instants)."""
    assert duck.column_names == spark.column_names
    assert [_family(t) for t in duck.schema.types] == [_family(t) for t in spark.schema.types]
    rows_d = [tuple(_cell(v) for v in r.values()) for r in duck.to_pylist()]
    rows_s = [tuple(_cell(v) for v in r.values()) for r in spark.to_pylist()]
    assert len(rows_d) == len(rows_s)
    diff = [(i, a, b) for i, (a, b) in enumerate(zip(rows_d, rows_s, strict=True)) if a != b]
    assert not diff, diff[:5]


def _duck_training_set(tables: dict[str, pa.Table], entity: pa.Table,
                       views: list[FeatureView], full: bool) -> pa.Table:
    con = connect()
    for name, table in tables.items():
        con.register("__load", table)
        con.execute(f"CREATE TABLE {quote_ident(name)} AS SELECT * FROM __load")
        con.unregister("__load")
    return get_training_set(con, entity, views, entity_timestamp="event_timestamp",
                            full_feature_names=full).to_arrow()


@pytest.mark.parametrize("seed", [1, 2])
def test_random_training_sets_equal_duckdb(spark: Any, seed: int) -> None:
    tables, entity = random_case(seed)
    types: dict[tuple[str, str], str] = {}
    for name, table in tables.items():
        types |= spark_view(spark, name, table)
    duck = _duck_training_set(tables, entity, _views(quote_ident), full=True)
    got = spark_training_set(spark, entity, _views(spark_ident), "event_timestamp", True, types)
    assert_same_table(duck, got)
    # the data exercises what it claims: matches, TTL misses and exact ties with values
    assert 0 < duck["fa__s"].null_count < duck.num_rows
    assert duck["fb__x"].null_count < duck.num_rows
    fa = tables["fa"].to_pandas()
    tied = fa.dropna(subset=["ts"]).groupby(["user_id", "ts", "created"], dropna=False)
    assert (tied["i"].nunique(dropna=False) > 1).any()


def test_tz_aware_entity_timestamps_equal_duckdb(spark: Any) -> None:
    tables, entity = random_case(3)
    entity = entity.set_column(
        2, "event_timestamp", entity["event_timestamp"].cast(pa.timestamp("us", "Asia/Tokyo")))
    types: dict[tuple[str, str], str] = {}
    for name, table in tables.items():
        types |= spark_view(spark, name, table)
    only = ("fa", "fc")
    duck = _duck_training_set(tables, entity, _views(quote_ident, only), full=False)
    got = spark_training_set(spark, entity, _views(spark_ident, only), "event_timestamp",
                             False, types)
    assert_same_table(duck, got)


def test_exact_ties_pick_the_greatest_values_on_both_engines(spark: Any) -> None:
    """Rows tied on key, event ts and created ts: the greatest values win (NULL smallest,
    compared left to right), whatever the physical order."""
    ts = datetime(2024, 1, 1)
    rows = [  # user 1: b wins over a; user 2: a non-null beats NULL; user 3: NaN is greatest
        (1, "a", 5.0), (1, "b", 1.0), (1, "a", 9.0),
        (2, None, 7.0), (2, "a", None),
        (3, "z", 1.0), (3, "z", math.nan), (3, "z", 2.0),
    ]
    for order in (rows, rows[::-1]):
        fv = pa.table({"user_id": [r[0] for r in order], "ts": [ts] * len(order),
                       "s": [r[1] for r in order], "d": [r[2] for r in order]})
        entity = pa.table({"user_id": [1, 2, 3], "event_timestamp": [ts] * 3})
        types = spark_view(spark, "ties", fv)
        view = FeatureView("ties", spark_ident("ties"), ("user_id",), "ts", None, None,
                           ("s", "d"))
        got = spark_training_set(spark, entity, [view], "event_timestamp", False, types)
        duck = _duck_training_set({"ties": fv}, entity,
                                  [FeatureView("ties", quote_ident("ties"), ("user_id",),
                                               "ts", None, None, ("s", "d"))], False)
        assert_same_table(duck, got)
        assert [(_cell(s), _cell(d)) for s, d in zip(got["s"].to_pylist(),
                                                      got["d"].to_pylist(), strict=True)] == [
            ("b", 1.0), ("a", None), ("z", "NaN")]


def test_ttl_bounds_are_inclusive_on_both_engines(spark: Any) -> None:
    ts = datetime(2024, 1, 1)
    fv = pa.table({"user_id": [1, 1], "ts": [ts, ts + timedelta(hours=2)], "v": [1, 2]})
    probes = [ts - timedelta(microseconds=1), ts, ts + timedelta(hours=1),
              ts + timedelta(hours=1, microseconds=1), ts + timedelta(hours=2),
              ts + timedelta(hours=3), ts + timedelta(hours=3, microseconds=1)]
    entity = pa.table({"user_id": [1] * len(probes), "event_timestamp": probes})
    types = spark_view(spark, "ttl", fv)
    got = spark_training_set(spark, entity, [FeatureView(
        "ttl", spark_ident("ttl"), ("user_id",), "ts", None, 3600.0, ("v",))],
        "event_timestamp", False, types)
    duck = _duck_training_set({"ttl": fv}, entity, [FeatureView(
        "ttl", quote_ident("ttl"), ("user_id",), "ts", None, 3600.0, ("v",))], False)
    assert_same_table(duck, got)
    assert got["v"].to_pylist() == [None, 1, 1, None, 2, 2, None]


# -- the online materializer's answers ---------------------------------------------------


def _tied_rows(schema: pa.Schema) -> pa.Table:
    """Rows tied on key, ts and created whose values differ (the value tie-break decides)."""
    ts, created = datetime(2024, 1, 2, 6), datetime(2024, 1, 1)
    rows = [(100, 1, 0.5, "a"), (100, 1, 0.5, "b"), (101, None, 2.0, "a"), (101, 0, 1.0, "a"),
            (102, 3, math.nan, None), (102, 3, 1.0, "z")]
    return pa.table({
        "user_id": [r[0] for r in rows], "ts": [ts] * len(rows), "created": [created] * len(rows),
        "i": [r[1] for r in rows], "d": [r[2] for r in rows], "s": [r[3] for r in rows],
        "b": [True] * len(rows), "dt": [date(2024, 1, 1)] * len(rows),
    }).cast(schema)


@pytest.mark.parametrize("seed", [4, 5])
def test_latest_per_entity_equals_the_duckdb_materializer(spark: Any, seed: int) -> None:
    tables, _ = random_case(seed)
    fa = tables["fa"].drop_columns(["tsf"])  # online stores keep timestamps as text
    fa = pa.concat_tables([fa, _tied_rows(fa.schema)], promote_options="default")
    features = ("i", "d", "s", "b", "dt")
    as_of = datetime(2024, 1, 2, 12)
    con = connect()
    con.register("__load", fa)
    con.execute("CREATE TABLE fa AS SELECT * FROM __load")
    for ttl in (None, 8 * 3600.0):
        fs = OnlineFeatureSet("fa", "fa", 1, ("user_id",), "ts", ttl, features,
                              created_timestamp="created")
        store = InMemoryStore()
        materialize(con, fs, store, as_of=as_of, full=True)
        types = spark_view(spark, "fa_online", fa)
        sql = latest_per_entity_sql_spark(
            spark_ident("fa_online"), ["user_id"], "ts", "created", ttl, to_epoch_us(as_of),
            features, column_types={c: t for (_, c), t in types.items()})
        got = {r[0]: (r[1], *r[2:]) for r in spark.sql(sql).collect()}
        keys = sorted(got)
        online = store.read_batch("fa", [(k,) for k in keys], list(features))
        expected = {k: row for k, row in zip(keys, online, strict=True)}
        assert [got[k][1:4] for k in (100, 101, 102)] == [(1, 0.5, "b"), (0, 1.0, "a"),
                                                          (3, got[102][2], None)]
        assert math.isnan(got[102][2])
        assert store.count("fa") == len(got)  # the same entities are visible
        for k in keys:
            ts_us, i, d, s, b, dt = got[k]
            want = expected[k]
            assert want is not None
            assert want[0] == ts_us
            assert _cell(want[1]) == i and _cell(want[2]) == _cell(d) and want[3] == s
            assert want[4] == b and want[5] == (None if dt is None else dt.isoformat())
