"""Benchmark point-in-time training sets on local Spark: fsql's generated Spark SQL vs
hand-written Spark forms for the same answer, and DuckDB on the same data.

Usage:  .venv/bin/python bench/bench_spark_retrieval.py [--features 1e6] [--entities 1e5]
        [--runs 3] [--methods fsql,range_window,range_maxby,df_union]

Data (generated once into bench/out/spark_retrieval/, git-ignored): the shape of
bench_retrieval.py's ``fs_1e6`` -- 10 rows per user over 2024, 10 float features, a created
timestamp, TTL 30 days -- as Parquet (Spark reads it by path, as the Spark engine reads
versions); entity frame: ``user_id`` uniform over the keys, ``event_timestamp`` over
2024-01-01 + 400 days, registered once as a temp view with a row index.

Methods (one Spark session, ``local[2]``, UTC; one warm-up each, then ``--runs`` rounds
taken in turn so a loaded machine slows all alike; the median is reported; every result
is fetched as Arrow and checked equal to fsql's):
  fsql          fsql.engines.spark_retrieval.training_set_sql_spark (union + running last)
  range_window  hand-written: range join (key, ts in [ets - TTL, ets]) + row_number()
                over the entity row by (ts, created, values) desc
  range_maxby   hand-written: the same range join + GROUP BY row, max_by(values, key)
  df_union      hand-written DataFrame API: semi join + time window on the features,
                union with the entities, F.last(struct, ignorenulls) over a running window
  duckdb        fsql's DuckDB query (get_training_set) on the same data, for scale
"""

from __future__ import annotations

import argparse
import hashlib
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
OUT = ROOT / "bench" / "out" / "spark_retrieval"
TTL_S = 30 * 86400
FEATURES = [f"f{i}" for i in range(10)]
METHODS = ["fsql", "range_window", "range_maxby", "df_union"]


def generate(n_features: int) -> Path:
    """The feature table as Parquet (made with DuckDB, ordered by event time)."""
    import duckdb

    path = OUT / f"features_{n_features}.parquet"
    if path.exists():
        return path
    OUT.mkdir(parents=True, exist_ok=True)
    nkeys, day_us = n_features // 10, 86400e6
    feats = ", ".join(f"random() AS {f}" for f in FEATURES)
    con = duckdb.connect()
    con.execute("SELECT setseed(0.42)")
    con.execute(
        f"""COPY (SELECT k AS user_id,
              TIMESTAMP '2024-01-01' + to_microseconds(
                CAST(j * 36.5 * {day_us} + random() * 30 * {day_us} AS BIGINT)) AS ts,
              TIMESTAMP '2024-01-01' + to_microseconds(
                CAST((j * 36.5 + 30 + random()) * {day_us} AS BIGINT)) AS created,
              {feats}
            FROM range({nkeys}) r(k), range(10) s(j) ORDER BY ts)
        TO '{path}' (FORMAT parquet)"""
    )
    return path


def entity_table(nkeys: int, n: int) -> Any:
    import numpy as np
    import pyarrow as pa

    rng = np.random.default_rng(n)
    seconds = rng.integers(0, 400 * 86400, n)
    ts = np.datetime64("2024-01-01T00:00:00", "us") + seconds.astype("timedelta64[s]")
    return pa.table({"user_id": pa.array(rng.integers(0, nkeys, n), pa.int64()),
                     "event_timestamp": pa.array(ts, pa.timestamp("us"))})


def _ttl_case(ts: str, ets: str, alias: str) -> str:
    return ", ".join(
        f"CASE WHEN unix_micros(CAST({ts} AS TIMESTAMP_LTZ)) >= "
        f"unix_micros(CAST({ets} AS TIMESTAMP_LTZ)) - {TTL_S * 1_000_000} "
        f"THEN {alias}.{f} END AS {f}" for f in FEATURES)


def range_window_sql(features: str) -> str:
    order = ", ".join(f"f.{c} DESC NULLS LAST" for c in FEATURES)
    return f"""
    SELECT user_id, event_timestamp, {", ".join(FEATURES)} FROM (
      SELECT e.__fsql_row, e.user_id, e.event_timestamp, {", ".join(f"f.{c}" for c in FEATURES)},
        row_number() OVER (PARTITION BY e.__fsql_row
          ORDER BY f.ts DESC NULLS LAST, f.created DESC NULLS LAST, {order}) AS rn
      FROM ent e LEFT JOIN {features} f ON e.user_id = f.user_id
        AND f.ts <= e.event_timestamp
        AND f.ts >= e.event_timestamp - INTERVAL {TTL_S // 86400} DAYS)
    WHERE rn = 1 ORDER BY __fsql_row"""


def range_maxby_sql(features: str) -> str:
    vals = ", ".join(f"'{c}', f.{c}" for c in FEATURES)
    key = ", ".join(["'t', f.ts", "'c', f.created"] + [f"'{c}', f.{c}" for c in FEATURES])
    return f"""
    SELECT user_id, event_timestamp, {", ".join(f"m.{c}" for c in FEATURES)} FROM (
      SELECT e.__fsql_row, first(e.user_id) AS user_id,
        first(e.event_timestamp) AS event_timestamp,
        max_by(named_struct({vals}), named_struct({key})) AS m
      FROM ent e LEFT JOIN {features} f ON e.user_id = f.user_id
        AND f.ts <= e.event_timestamp
        AND f.ts >= e.event_timestamp - INTERVAL {TTL_S // 86400} DAYS
      GROUP BY e.__fsql_row)
    ORDER BY __fsql_row"""


def df_union(spark: Any, features_path: str) -> Any:
    """The union + last form written with the DataFrame API, plus the filters a hand
    author would add (features of entity keys only, in the entities' time window)."""
    from datetime import timedelta

    from pyspark.sql import Window
    from pyspark.sql import functions as F

    ent = spark.table("ent")
    lo, hi = ent.select(F.min("event_timestamp"), F.max("event_timestamp")).first()
    feats = (spark.read.parquet(features_path)
             .where(F.col("ts").between(lo - timedelta(seconds=TTL_S), hi))
             .join(ent.select("user_id").distinct(), "user_id", "left_semi"))
    frow = F.struct(F.col("ts").alias("t"), *[F.col(c) for c in FEATURES])
    f_side = feats.select("user_id", F.col("ts").alias("t"), F.lit(0).alias("x"),
                          F.col("created").alias("c"), *FEATURES,
                          F.lit(None).cast("struct<__fsql_row:bigint,event_timestamp:timestamp_ntz>")
                          .alias("e"), frow.alias("f"))
    e_side = ent.select("user_id", F.col("event_timestamp").alias("t"), F.lit(1).alias("x"),
                        F.lit(None).cast("timestamp_ntz").alias("c"),
                        *[F.lit(None).cast("double").alias(c) for c in FEATURES],
                        F.struct("__fsql_row", "event_timestamp").alias("e"),
                        F.lit(None).cast(frow_type(feats)).alias("f"))
    w = (Window.partitionBy("user_id").orderBy("t", "x", "c", *FEATURES)
         .rowsBetween(Window.unboundedPreceding, Window.currentRow))
    both = f_side.unionByName(e_side).select(
        "user_id", "x", "e", F.last("f", ignorenulls=True).over(w).alias("m"))
    keep = F.col("m.t") >= F.col("e.event_timestamp") - F.expr(f"INTERVAL {TTL_S // 86400} DAYS")
    return (both.where("x = 1")
            .select("e.__fsql_row", "user_id", "e.event_timestamp",
                    *[F.when(keep, F.col(f"m.{c}")).alias(c) for c in FEATURES])
            .orderBy("__fsql_row").drop("__fsql_row"))


def frow_type(feats: Any) -> str:
    fields = ["t:timestamp_ntz"] + [f"{c}:double" for c in FEATURES]
    return f"struct<{','.join(fields)}>"


def digest(table: Any) -> str:
    """sha256 of the result's values (type labels aside: engines name timestamps apart)."""
    import pyarrow as pa

    h = hashlib.sha256()
    for col in table.columns:
        if pa.types.is_timestamp(col.type):
            col = col.cast(pa.int64())
        h.update(repr(col.to_pylist()).encode())
    return h.hexdigest()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--features", type=float, default=1e6)
    ap.add_argument("--entities", type=float, default=1e5)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--methods", default=",".join(METHODS))
    args = ap.parse_args()
    nf, ne = int(args.features), int(args.entities)
    path = str(generate(nf))
    ent = entity_table(nf // 10, ne)

    t0 = time.perf_counter()
    from fsql.engines.spark import session
    from fsql.spec import SparkSpec

    spark = session(SparkSpec(master="local[2]", conf=(("spark.sql.shuffle.partitions", "4"),)))
    print(f"spark session start {time.perf_counter() - t0:.1f}s", file=sys.stderr)
    runners = spark_runners(spark, path, ent)
    runners = {m: runners[m] for m in args.methods.split(",")}
    runners["duckdb"] = duckdb_runner(path, ent)
    times: dict[str, list[float]] = {m: [] for m in runners}
    digests = {}
    for m, run in runners.items():  # warm-up (JIT, file listing, DuckDB's buffer pool)
        digests[m] = digest(run())
    for _ in range(args.runs):
        for m, run in runners.items():
            t = time.perf_counter()
            out = run()
            times[m].append(time.perf_counter() - t)
            assert out.num_rows == ne
    report(times, digests, nf, ne)


def spark_runners(spark: Any, path: str, ent: Any) -> dict[str, Any]:
    import numpy as np
    import pyarrow as pa

    from fsql.engines.retrieval_sql import FeatureView
    from fsql.engines.spark_retrieval import training_set_sql_spark

    with_row = ent.append_column("__fsql_row", pa.array(np.arange(ent.num_rows)))
    spark.createDataFrame(with_row).createOrReplaceTempView("ent")
    spark.table("ent").cache().count()  # every method starts from the uploaded entities
    rel = f"parquet.`{path}`"
    view = FeatureView("fs", rel, ("user_id",), "ts", "created", float(TTL_S),
                       tuple(FEATURES), 1)
    sql = training_set_sql_spark("ent", ["user_id", "event_timestamp"], "event_timestamp",
                                 [view])
    return {
        "fsql": lambda: spark.sql(sql).toArrow(),
        "range_window": lambda: spark.sql(range_window_sql(rel)).toArrow(),
        "range_maxby": lambda: spark.sql(range_maxby_sql(rel)).toArrow(),
        "df_union": lambda: df_union(spark, path).toArrow(),
    }


def duckdb_runner(path: str, ent: Any) -> Any:
    from fsql.engines.duckdb import connect
    from fsql.featurestore.retrieval import FeatureView, get_training_set

    con = connect()
    con.execute(f"CREATE TABLE fs AS SELECT * FROM read_parquet('{path}')")
    view = FeatureView("fs", "fs", ("user_id",), "ts", "created", float(TTL_S),
                       tuple(FEATURES), 1)
    return lambda: get_training_set(con, ent, [view]).to_arrow()


def report(times: dict[str, list[float]], digests: dict[str, str], nf: int, ne: int) -> None:
    med = {m: statistics.median(t) for m, t in times.items()}
    hand = [m for m in med if m not in ("fsql", "duckdb")]
    best = min(hand, key=med.__getitem__) if hand else None
    print(f"training set {nf:.0e} feature rows x {ne:.0e} entity rows, local[2] "
          f"(median of {len(next(iter(times.values())))})")
    for m, s in med.items():
        runs = ", ".join(f"{t:.2f}" for t in times[m])
        same = "same rows" if digests[m] == digests.get("fsql", digests[m]) else "DIFFERENT"
        print(f"  {m:13s} {s:7.2f}s  [{runs}]  {same}")
    if best and "fsql" in med:
        print(f"fsql / best hand-written ({best}): {med['fsql'] / med[best]:.2f}x")
    if "fsql" in med:
        print(f"Spark fsql / DuckDB fsql: {med['fsql'] / med['duckdb']:.1f}x")


if __name__ == "__main__":
    main()
