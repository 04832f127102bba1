"""Column statistics (fsql.stats.columns) on real in-memory DuckDB, checked against numpy/pandas."""

from __future__ import annotations

import json
import math
from collections import Counter
from datetime import UTC, datetime
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pytest
from conftest import load_df

from fsql.stats import columns as prof
from fsql.stats.columns import (
    ColumnStats,
    TableProfile,
    column_kind,
    load_profile,
    profile_relation,
    store_profile,
)

Q = {"p01": 1, "p05": 5, "p25": 25, "p50": 50, "p75": 75, "p95": 95, "p99": 99}


class Counting:
    """A connection proxy counting the statements issued through it."""

    def __init__(self, con: Any) -> None:
        self.con, self.sql = con, []

    def execute(self, sql: str, *args: Any) -> Any:
        self.sql.append(sql)
        return self.con.execute(sql, *args)


def test_numeric_matches_numpy(con: duckdb.DuckDBPyConnection) -> None:
    rng = np.random.default_rng(7)
    x = rng.normal(50, 10, 5000)
    k = rng.integers(0, 300, 5000)
    x_null = x.copy()
    x_null[::10] = np.nan  # pandas NaN -> SQL NULL on load
    load_df(con, "t", pd.DataFrame({"x": x, "k": k, "xn": x_null}))
    p = profile_relation(con, "t")
    assert p.row_count == 5000 and p.sample_rows is None
    s = p.column("x")
    assert s is not None and s.kind == "float" and s.count == 5000 and s.nulls == 0
    assert s.min == x.min() and s.max == x.max()
    assert s.mean == pytest.approx(x.mean(), rel=1e-12)
    assert s.stdev == pytest.approx(x.std(ddof=1), rel=1e-9)
    assert s.distinct == len(np.unique(x)) and not s.distinct_approx
    for name, pct in Q.items():
        assert s.quantiles[name] == pytest.approx(np.percentile(x, pct), rel=1e-12)
    counts, edges = np.histogram(x, bins=20, range=(x.min(), x.max()))
    assert [b["count"] for b in s.histogram] == counts.tolist()
    assert [b["lo"] for b in s.histogram] == pytest.approx(edges[:-1].tolist())
    assert s.histogram[-1]["hi"] == x.max()
    ks = p.column("k")
    assert ks is not None and ks.kind == "numeric" and ks.min == int(k.min())
    assert isinstance(ks.min, int) and ks.distinct == len(np.unique(k))
    assert ks.quantiles["p50"] == pytest.approx(np.percentile(k, 50))
    xn = p.column("xn")
    valid = x_null[~np.isnan(x_null)]
    assert xn is not None and xn.nulls == 500 and xn.count == 4500
    assert xn.mean == pytest.approx(valid.mean()) and sum(b["count"] for b in xn.histogram) == 4500


def test_nan_and_infinity_count_as_nulls(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("create table t as select * from (values (1.0::double), ('nan'::double), "
                "('inf'::double), ('-inf'::double), (3.0), (null)) v(x)")
    s = profile_relation(con, "t").column("x")
    assert s is not None
    assert (s.count, s.nulls, s.min, s.max, s.mean, s.distinct) == (2, 4, 1.0, 3.0, 2.0, 2)
    assert s.quantiles["p50"] == 2.0 and sum(b["count"] for b in s.histogram) == 2


def test_empty_table_and_all_null_column(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("create table e (a int, s varchar, ts timestamp, b boolean, l int[])")
    p = profile_relation(con, "e")
    assert p.row_count == 0 and len(p.columns) == 5
    for c in p.columns:
        assert (c.count, c.nulls, c.min, c.max, c.mean, c.quantiles) == (0, 0, None, None,
                                                                        None, {})
    assert p.column("a").histogram == [] and p.column("s").top_values == []
    assert p.column("l").histogram is None and p.column("l").top_values is None
    json.dumps(p.to_dict(), allow_nan=False)
    con.execute("create table n as select null::double as x, null::varchar as s, i "
                "from range(7) t(i)")
    p = profile_relation(con, "n")
    x = p.column("x")
    assert (x.count, x.nulls, x.distinct, x.mean, x.stdev, x.histogram) == (0, 7, 0, None,
                                                                            None, [])
    assert p.column("s").top_values == [] and p.column("s").nulls == 7


def test_constant_column_has_one_bin(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("create table c as select 5 as x from range(10)")
    s = profile_relation(con, "c").column("x")
    assert s.histogram == [{"lo": 5.0, "hi": 5.0, "count": 10}]
    assert s.stdev == 0.0 and s.quantiles["p99"] == 5.0


def test_timestamps_dates_and_tz(con: duckdb.DuckDBPyConnection) -> None:
    rng = np.random.default_rng(3)
    secs = rng.integers(0, 86400 * 365, 2000)
    ts = pd.to_datetime("2024-01-01") + pd.to_timedelta(secs, unit="s")
    load_df(con, "t", pd.DataFrame({"ts": ts}))
    con.execute("alter table t add column tz timestamptz")
    con.execute("update t set tz = (ts::varchar || '+02:00')::timestamptz")
    con.execute("alter table t add column d date")
    con.execute("update t set d = ts::date")
    p = profile_relation(con, "t")
    s = p.column("ts")
    assert s.kind == "temporal" and s.min == ts.min().isoformat()
    assert s.max == ts.max().isoformat()
    mean = datetime.fromisoformat(s.mean)
    assert abs((mean - ts.mean().to_pydatetime()).total_seconds()) < 1e-3
    assert s.stdev == pytest.approx(secs.std(ddof=1), rel=1e-9)  # seconds
    expected = ts.to_series().quantile(0.25)
    assert abs((datetime.fromisoformat(s.quantiles["p25"]) - expected).total_seconds()) < 1e-3
    assert sum(b["count"] for b in s.histogram) == 2000 and s.histogram[0]["lo"] == s.min
    tz = p.column("tz")
    want = (ts.min() - pd.Timedelta(hours=2)).tz_localize(UTC).isoformat()
    assert tz.min == want and tz.min.endswith("+00:00") and tz.quantiles["p50"].endswith("+00:00")
    d = p.column("d")
    assert d.min == ts.min().date().isoformat() and len(d.min) == 10
    assert d.distinct == len(set(ts.date))
    json.dumps(p.to_dict(), allow_nan=False)


def test_strings_and_booleans(con: duckdb.DuckDBPyConnection) -> None:
    rng = np.random.default_rng(11)
    words = rng.choice([f"w{i:02d}" for i in range(30)], 3000, p=np.arange(1, 31) / 465)
    flags = rng.random(3000) < 0.3
    df = pd.DataFrame({"s": words, "b": flags})
    df.loc[::7, "s"] = None
    load_df(con, "t", df)
    p = profile_relation(con, "t")
    s = p.column("s")
    vals = [w for w in df["s"] if isinstance(w, str)]
    cnt = Counter(vals)
    expected = sorted(cnt.items(), key=lambda kv: (-kv[1], kv[0]))[:20]
    assert s.kind == "string" and s.nulls == df["s"].isna().sum() and s.count == len(vals)
    assert s.top_values == [{"value": v, "count": n} for v, n in expected]
    assert s.distinct == len(cnt) and (s.min, s.max) == (min(vals), max(vals))
    assert s.categories is not None and dict(s.categories) == dict(cnt)
    b = p.column("b")
    assert b.kind == "boolean" and b.distinct == 2 and (b.min, b.max) == (False, True)
    assert b.mean == pytest.approx(flags.mean())
    assert {t["value"]: t["count"] for t in b.top_values} == {True: int(flags.sum()),
                                                             False: int((~flags).sum())}
    assert isinstance(b.top_values[0]["value"], bool)


def test_other_types_count_only_and_json(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("create table t as select [i] as l, {'a': i} as st, "
                "case when i % 2 = 0 then null else (i / 3)::decimal(10, 3) end as dec, "
                "uuid() as u, interval (i) day as iv from range(10) t(i)")
    p = profile_relation(con, "t")
    assert p.column("l").kind == "other" and p.column("l").count == 10
    assert p.column("l").distinct is None and p.column("iv").kind == "other"
    dec = p.column("dec")
    assert dec.kind == "numeric" and isinstance(dec.min, float) and dec.nulls == 5
    assert p.column("u").kind == "string" and p.column("u").distinct == 10
    text = json.dumps(p.to_dict(), allow_nan=False)
    assert "Decimal" not in text


def test_to_pandas_one_row_per_column(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("create table t as select i, i::varchar s from range(50) t(i)")
    df = profile_relation(con, "t").to_pandas()
    assert list(df["column"]) == ["i", "s"] and "p50" in df.columns
    assert df.loc[0, "p50"] == pytest.approx(24.5)


@pytest.mark.parametrize("ncols", [3, 40])
def test_query_count_is_fused(con: duckdb.DuckDBPyConnection, ncols: int) -> None:
    kinds = ["i", "i * 0.5", "'v' || (i % 5)", "i % 2 = 0", "timestamp '2024-01-01' + "
             "to_seconds(i)", "[i]"]
    cols = ", ".join(f"{kinds[j % len(kinds)]} as c{j}" for j in range(ncols))
    con.execute(f"create table t as select {cols} from range(1000) t(i)")
    proxy = Counting(con)
    p = profile_relation(proxy, "t")
    assert len(proxy.sql) <= 4 and p.queries == len(proxy.sql)
    assert len(p.columns) == ncols
    described = con.execute("describe t").fetchall()
    proxy = Counting(con)
    profile_relation(proxy, "t", [(r[0], r[1]) for r in described])
    assert len(proxy.sql) <= 4


def test_sampled_profile_is_deterministic_and_scaled(con: duckdb.DuckDBPyConnection) -> None:
    rng = np.random.default_rng(5)
    x = rng.exponential(3.0, 40_000)
    cats = rng.choice(["a", "b", "c"], 40_000, p=[0.5, 0.3, 0.2])
    load_df(con, "t", pd.DataFrame({"x": x, "c": cats, "id": np.arange(40_000).astype(str)}))
    p1 = profile_relation(con, "t", sample_rows=5_000)
    p2 = profile_relation(con, "t", sample_rows=5_000)
    assert same_profile(p1, p2) and p1.sample_rows == 5_000
    s = p1.column("x")
    assert s.quantiles_approx and s.min == x.min() and s.max == x.max() and s.count == 40_000
    assert sum(b["count"] for b in s.histogram) == 40_000
    assert s.quantiles["p50"] == pytest.approx(np.median(x), rel=0.05)
    assert s.mean == pytest.approx(x.mean(), rel=0.05)
    c = p1.column("c")  # low cardinality: exact counts on the full table
    assert dict(c.categories) == dict(Counter(cats))
    monkey_distinct = p1.column("id")
    assert monkey_distinct.categories is None and len(monkey_distinct.top_values) == 20


def test_distinct_is_approximate_above_threshold(con: duckdb.DuckDBPyConnection,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    con.execute("create table t as select i % 1000 as k from range(5000) t(i)")
    monkeypatch.setattr(prof, "EXACT_DISTINCT_MAX", 100)
    s = profile_relation(con, "t").column("k")
    assert s.distinct_approx and abs(s.distinct - 1000) < 100


def test_column_kind() -> None:
    assert column_kind("HUGEINT") == "numeric" and column_kind("DECIMAL(38,10)") == "numeric"
    assert column_kind("REAL") == "float" and column_kind("TIMESTAMP_NS") == "temporal"
    assert column_kind("TIMESTAMP WITH TIME ZONE") == "temporal"
    assert column_kind("ENUM('a', 'b')") == "string" and column_kind("BOOLEAN") == "boolean"
    assert column_kind("STRUCT(a INTEGER)") == "other" and column_kind("TIME") == "other"


def test_store_load_round_trip(tmp_path: Any) -> None:
    path = tmp_path / "w.duckdb"
    con = duckdb.connect(str(path))
    con.execute("create table t as select i, i * 0.25 as f, 'v' || (i % 3) as s, "
                "timestamp '2024-01-01' + to_seconds(i * 60) as ts, i % 2 = 0 as b "
                "from range(100) t(i)")
    p = profile_relation(con, "t")
    assert load_profile(con, "m", 1) is None
    store_profile(con, "m", 1, p)
    store_profile(con, "m", 1, p)  # idempotent
    con.close()
    con = duckdb.connect(str(path), read_only=True)
    back = load_profile(con, "m", 1)
    assert isinstance(back, TableProfile) and back.columns == p.columns
    assert back.row_count == 100 and back.relation == "t" and load_profile(con, "m", 2) is None
    n = con.execute("select count(*) from fsql_meta.column_stats").fetchone()[0]
    assert n == 5
    con.close()


def test_column_stats_dict_round_trip() -> None:
    s = ColumnStats("x", "DOUBLE", 3, 0, 3, False, 1.0, 3.0, 2.0, 1.0, {"p50": 2.0},
                    [{"lo": 1.0, "hi": 3.0, "count": 3}], None, kind="float",
                    histogram_fine=(1, 2), categories=None)
    assert ColumnStats.from_dict(json.loads(json.dumps(s.to_dict()))) == s
    assert not math.isnan(s.mean)


def test_high_cardinality_strings_are_counted_on_the_sample():
    from fsql.engines.duckdb import connect
    from fsql.stats.columns import profile_relation

    con = connect()
    con.execute("create table hc as select 's' || range as s, range % 7 as k "
                "from range(150000)")
    a = profile_relation(con, "hc", sample_rows=10_000)
    b = profile_relation(con, "hc", sample_rows=10_000)
    s = a.column("s")
    assert a.sample_rows == 10_000 and s.distinct > 100_000
    assert s.top_values and same_profile(a, b)  # sampled, and deterministic


def same_profile(a, b) -> bool:  # type: ignore[no-untyped-def]
    """Equal statistics: the sample is the same rows every time; float aggregates (mean,
    stdev) are compared to 12 significant digits because DuckDB's parallel sums may add in a
    different order from run to run."""
    def norm(v):  # type: ignore[no-untyped-def]
        if isinstance(v, float):
            return float(f"{v:.12g}")
        if isinstance(v, dict):
            return {k: norm(x) for k, x in v.items()}
        if isinstance(v, list | tuple):
            return [norm(x) for x in v]
        return v
    return [norm(c.to_dict()) for c in a.columns] == [norm(c.to_dict()) for c in b.columns]


AWKWARD = """
create table aw as select
  i::BIGINT as k,
  case when i % 97 = 0 then null when i % 89 = 0 then 'nan'::double
       when i % 83 = 0 then 'inf'::double else (i * 7919 % 10007) / 13.0 - 300 end as x,
  (i % 5)::DECIMAL(9, 2) * 1.25 as d,
  case when i % 71 = 0 then null else timestamp '2024-02-29 12:00:00' + to_seconds(i * 4111)
  end as ts,
  date '2023-12-31' + (i % 400)::INTEGER as dt,
  3.5::DOUBLE as const
from range({n}) t(i)
"""


@pytest.mark.parametrize("n, sample_rows", [(5_000, 100_000), (60_000, 7_000)])
def test_distribution_equals_duckdb_aggregates(con: duckdb.DuckDBPyConnection, n: int,
                                               sample_rows: int) -> None:
    """Quantiles (numpy, interpolated like quantile_cont), fine histograms (bucketed in SQL,
    counted in numpy), mean and stdev equal DuckDB's own aggregates over the same rows: the
    whole table, or exactly the rows of the deterministic sample."""
    con.execute(AWKWARD.format(n=n))
    p = profile_relation(con, "aw", sample_rows=sample_rows)
    sampled = n > sample_rows
    assert (p.sample_rows is not None) == sampled
    src = prof.sample_source("aw", prof.sample_clause(n, sample_rows, prof.sample_key(con, "aw"))
                             if sampled else "")
    qs = "[" + ", ".join(repr(q) for _, q in prof.QUANTILES) + "]"
    for name in ("k", "x", "d", "ts", "dt"):
        st = p.column(name)
        c = prof._Col(0, name, st.type, st.kind)
        lo, hi = st.lo, st.hi
        q, avg, sd, hist = con.execute(
            f"select quantile_cont({c.number}, {qs}), avg({c.number}), stddev_samp({c.number}), "
            f"histogram({prof.bucket_sql(c.number, lo, hi)}) from {src}").fetchone()
        conv = (lambda v: prof._iso(v, False)) if st.kind == "temporal" else float
        assert list(st.quantiles.values()) == [conv(v) for v in q], name
        fine = [int((hist or {}).get(b, 0)) for b in range(prof.FINE_BINS)]
        assert list(st.histogram_fine) == (list(prof.scale_counts(fine, st.count))
                                           if sampled else fine), name
        if not sampled:  # NULL / NaN / inf are in no bin (they once landed in bin 0)
            assert sum(fine) == st.count < n or name in ("k", "d", "dt"), name
        # parallel float sums may differ in the last bits from one DuckDB query to the next
        assert st.mean_num == pytest.approx(avg / 1e6 if st.kind == "temporal" else avg,
                                            rel=1e-12), name
        assert (st.stdev or 0) == pytest.approx((sd / 1e6 if st.kind == "temporal" else sd),
                                                rel=1e-9), name
    assert p.column("const").histogram == [{"lo": 3.5, "hi": 3.5, "count": n}]


def test_low_cardinality_strings_get_exact_distinct_from_their_value_counts(
        con: duckdb.DuckDBPyConnection, monkeypatch: pytest.MonkeyPatch) -> None:
    """Above the exact-distinct threshold, strings/booleans that DuckDB's stored statistics
    show to be low-cardinality are counted exactly by the values query (no HyperLogLog);
    high-cardinality strings stay approximate."""
    con.execute("create table t as select 'c' || (i % 37) as low, 'id' || i as high, "
                "i % 3 = 0 as flag from range(20000) t(i)")
    monkeypatch.setattr(prof, "EXACT_DISTINCT_MAX", 100)
    monkeypatch.setattr(prof, "HIGH_CARD", 10_000)
    p = profile_relation(con, "t")
    low, high, flag = p.column("low"), p.column("high"), p.column("flag")
    assert (low.distinct, low.distinct_approx) == (37, False)
    assert (flag.distinct, flag.distinct_approx) == (2, False)
    assert high.distinct_approx and abs(high.distinct - 20000) < 2000
    assert sum(k for _, k in low.categories) == 20000 and len(low.categories) == 37


def test_distinct_counted_in_numpy_equals_count_distinct(con: duckdb.DuckDBPyConnection) -> None:
    """Small tables count distinct numbers from the fetched values (numpy), strings from their
    value counts: equal to DuckDB's count(DISTINCT) — ints above 2**53 stay apart (fetched as
    ints, not DOUBLE), -0.0 = 0.0, NaN/inf are nulls; DECIMAL, HUGEINT and ns timestamps keep
    SQL's count."""
    con.execute(AWKWARD.format(n=5_000))
    con.execute("""create table aw2 as select *,
        (9007199254740992 + (k % 3))::BIGINT as big,
        (18446744073709551615 - (k % 4))::UBIGINT as ubig,
        ((k % 5) * 1e30)::HUGEINT as huge,
        case when k % 2 = 0 then -0.0 else 0.0 end::DOUBLE as zero,
        (timestamp '2024-01-01' + to_microseconds(k % 7))::TIMESTAMP_NS as ns,
        (k % 6)::FLOAT as fl, 's' || (k % 11) as s, k % 3 = 0 as b from aw""")
    p = profile_relation(con, "aw2")
    cols = [c.column for c in p.columns]
    want = con.execute("select " + ", ".join(
        f"count(distinct case when isfinite({c}) then {c} end)" if p.column(c).kind == "float"
        else f"count(distinct {c})" for c in cols) + " from aw2").fetchone()
    got = tuple(p.column(c).distinct for c in cols)
    assert got == want
    assert p.column("big").distinct == 3 and p.column("zero").distinct == 1
    assert not any(p.column(c).distinct_approx for c in cols)


def test_stored_table_answers_count_min_max_from_duckdb_statistics(
        tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Above the exact-distinct size, a stored (checkpointed) table's count/min/max go in a
    query of their own, which DuckDB answers from its column statistics; a just-written
    version (``fresh``) keeps one scan. Both give the same profile."""
    monkeypatch.setattr(prof, "EXACT_DISTINCT_MAX", 100)
    db = duckdb.connect(str(tmp_path / "s.duckdb"))
    db.execute(AWKWARD.format(n=5_000))
    db.execute("alter table aw add column flag boolean default false")
    db.execute("update aw set flag = (k % 3 = 0)")
    db.execute("checkpoint")
    split = profile_relation(db, "aw")
    fresh = profile_relation(db, "aw", fresh=True)
    assert split.queries == fresh.queries + 1
    assert split.to_dict()["columns"] == fresh.to_dict()["columns"]
    flag = split.column("flag")
    assert flag.top_values == [{"value": False, "count": 3333}, {"value": True, "count": 1667}]
    assert (flag.distinct, flag.mean) == (2, 1667 / 5000)
