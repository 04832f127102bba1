"""Benchmark point-in-time retrieval: fsql vs hand-written DuckDB floors vs a naive ASOF join.

Usage:  .venv/bin/python bench/bench_retrieval.py [--sizes 1e6x1e4,1e6x1e5,...] [--runs 3]

Data (generated once into bench/out/bench_retrieval.duckdb, git-ignored): feature sets
``fs_1e6`` / ``fs_1e7`` with 1e5 / 1e6 user ids, 10 rows per key spread over 2024,
10 float features, a created timestamp; TTL 30 days. Entity frames: pandas with
``user_id`` uniform over the key space and ``event_timestamp`` (datetime64[ns]) uniform
over 2024-01-01 + 400 days.

Methods (each a fresh subprocess so peak RSS is per method; one warm-up run, then the
median of ``--runs`` wall-clock timings; process CPU time is reported too because the
bench machine may be shared):
  fsql          get_training_set(con, entity_df, [view]).to_arrow()
  floor_struct  hand-written: semi join on entity keys + time window (literals), ASOF on a
                (ts, created, hash) sort key, TTL check, ORDER BY row index (DuckDB's hash
                breaks exact ties, not fsql's portable value order: equal here because
                the data has no exact ties, which the digest check confirms)
  floor_qualify hand-written: semi join + window, QUALIFY row_number() dedupe by created,
                plain ASOF on ts, TTL check
  naive         ASOF LEFT JOIN of the entity frame against the whole table + TTL check
                (no created-ts tiebreak; shown for scale only)
floor = the faster of the two correct hand-written queries at each size. Every method's
result is digested (sha256 of the Arrow data) and checked equal to fsql's.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out"
DB = OUT / "bench_retrieval.duckdb"
TABLES = {"fs_1e6": 100_000, "fs_1e7": 1_000_000}  # table -> number of keys (10 rows/key)
TTL_S = 30 * 86400
FEATURES = [f"f{i}" for i in range(10)]
METHODS = ["fsql", "floor_struct", "floor_qualify", "naive"]
FEAST_REF = {("fs_1e6", 10_000): 0.38, ("fs_1e6", 100_000): 1.1, ("fs_1e7", 10_000): 1.5}


def generate() -> None:
    """Create the feature tables (ordered by event time, as appended daily)."""
    sys.path.insert(0, str(ROOT))
    from fsql.engines.duckdb import connect

    OUT.mkdir(parents=True, exist_ok=True)
    con = connect(DB)
    have = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
    feats = ", ".join(f"random() AS {f}" for f in FEATURES)
    day_us = 86400e6
    for table, nkeys in TABLES.items():
        if table in have:
            continue
        t0 = time.perf_counter()
        con.execute("SELECT setseed(0.42)")
        con.execute(
            f"""CREATE TABLE {table} AS
            SELECT k AS user_id,
              TIMESTAMP '2024-01-01' + to_microseconds(
                CAST(j * 36.5 * {day_us} + random() * 30 * {day_us} AS BIGINT)) AS ts,
              TIMESTAMP '2024-01-01' + to_microseconds(
                CAST((j * 36.5 + 30 + random()) * {day_us} AS BIGINT)) AS created,
              {feats}
            FROM range({nkeys}) r(k), range(10) s(j) ORDER BY ts"""
        )
        print(f"generated {table} in {time.perf_counter() - t0:.1f}s", file=sys.stderr)
    con.close()


def entity_frame(nkeys: int, n: int):  # noqa: ANN201 - pandas imported lazily
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(n)
    return pd.DataFrame(
        {
            "user_id": rng.integers(0, nkeys, n),
            "event_timestamp": pd.Timestamp("2024-01-01")
            + pd.to_timedelta(rng.integers(0, 400 * 86400, n), unit="s"),
        }
    )


def _ttl_select(alias: str = "f") -> str:
    return ", ".join(
        f"CASE WHEN {alias}.ts >= e.__ts - to_microseconds({TTL_S * 1_000_000}::BIGINT) "
        f"THEN {alias}.{c} END AS {c}"
        for c in FEATURES
    )


def floor_sql(method: str, table: str, lo: str, hi: str) -> str:
    """Hand-written queries over the registered entity ``ent`` (user_id, event_timestamp, __row,
    __ts); ``lo``/``hi`` are the time-window literals computed by the caller."""
    feats = ", ".join(FEATURES)
    window = f"ts BETWEEN TIMESTAMP '{lo}' AND TIMESTAMP '{hi}'"
    semi = "f.user_id IN (SELECT DISTINCT user_id FROM ent)"
    if method == "floor_struct":
        return f"""
        WITH ff AS (SELECT user_id, ts, {feats},
            struct_pack(t := ts, c := created, h := hash({feats})) AS sk
          FROM {table} f WHERE {semi} AND {window})
        SELECT e.user_id, e.event_timestamp, {_ttl_select()}
        FROM ent e ASOF LEFT JOIN ff f ON e.user_id = f.user_id AND
          struct_pack(t := e.__ts, c := TIMESTAMP 'infinity',
                      h := 18446744073709551615::UBIGINT) >= f.sk
        ORDER BY e.__row"""
    if method == "floor_qualify":
        desc = ", ".join(f"{c} DESC NULLS LAST" for c in FEATURES)
        return f"""
        WITH ff AS (SELECT user_id, ts, {feats} FROM {table} f WHERE {semi} AND {window}
          QUALIFY row_number() OVER (PARTITION BY user_id, ts
                                     ORDER BY created DESC, {desc}) = 1)
        SELECT e.user_id, e.event_timestamp, {_ttl_select()}
        FROM ent e ASOF LEFT JOIN ff f ON e.user_id = f.user_id AND e.__ts >= f.ts
        ORDER BY e.__row"""
    if method == "naive":
        return f"""
        SELECT e.user_id, e.event_timestamp, {_ttl_select()}
        FROM ent e ASOF LEFT JOIN {table} f ON e.user_id = f.user_id AND e.__ts >= f.ts
        ORDER BY e.__row"""
    raise ValueError(method)


def peak_rss_mb() -> float:
    """Peak RSS of this process (VmHWM; unlike ru_maxrss it is not inherited over exec)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_one(method: str, table: str, n: int, runs: int) -> dict:
    """Time one method in this process; returns median seconds, peak RSS and a digest."""
    sys.path.insert(0, str(ROOT))
    import numpy as np
    import pyarrow as pa

    from fsql.engines.duckdb import connect
    from fsql.featurestore.retrieval import FeatureView, entity_fingerprint, get_training_set

    con = connect(DB, read_only=True)
    ent = entity_frame(TABLES[table], n)
    view = FeatureView(
        table, table, ("user_id",), "ts", "created", float(TTL_S), tuple(FEATURES), 1
    )

    def fsql_once() -> pa.Table:
        return get_training_set(con, ent, [view]).to_arrow()

    def floor_once() -> pa.Table:
        # The floor also starts from the pandas frame and returns rows in input order.
        tab = pa.Table.from_pandas(ent, preserve_index=False)
        tab = tab.append_column("__row", pa.array(np.arange(len(ent), dtype=np.int64)))
        tab = tab.append_column("__ts", tab["event_timestamp"].cast(pa.timestamp("us")))
        con.register("ent", tab)
        lo_hi = con.execute(
            f"SELECT min(__ts) - to_microseconds({TTL_S * 1_000_000}::BIGINT), max(__ts) FROM ent"
        ).fetchall()[0]
        sql = floor_sql(method, table, str(lo_hi[0]), str(lo_hi[1]))
        out = con.sql(sql).to_arrow_table()
        con.unregister("ent")
        return out

    once = fsql_once if method == "fsql" else floor_once
    once()  # warm-up: loads the table into DuckDB's buffer pool, same for every method
    times, cpus, out = [], [], None
    for _ in range(runs):
        t0, c0 = time.perf_counter(), time.process_time()
        out = once()
        times.append(time.perf_counter() - t0)
        cpus.append(time.process_time() - c0)
    assert out is not None and out.num_rows == n
    return {
        "seconds": statistics.median(times),
        "cpu": statistics.median(cpus),
        "rss_mb": peak_rss_mb(),
        "digest": entity_fingerprint(out),
        "nonnull": n - out["f0"].null_count,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="1e6x1e4,1e6x1e5,1e6x1e6,1e7x1e4,1e7x1e5,1e7x1e6")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--methods", default=",".join(METHODS))
    ap.add_argument("--one", help=argparse.SUPPRESS)  # internal: method,table,n
    args = ap.parse_args()
    if args.one:
        method, table, n = args.one.split(",")
        print(json.dumps(run_one(method, table, int(n), args.runs)))
        return
    generate()
    rows = []
    for size in args.sizes.split(","):
        fs, ne = size.split("x")
        table, n = f"fs_{fs}", int(float(ne))
        res = {}
        for method in args.methods.split(","):
            one = f"{method},{table},{n}"
            cmd = [sys.executable, __file__, "--one", one, "--runs", str(args.runs)]
            proc = subprocess.run(cmd, capture_output=True, text=True, check=True)
            res[method] = json.loads(proc.stdout.strip().splitlines()[-1])
            secs = res[method]["seconds"]
            print(f"  {table} x {n:>9,} {method:14s} {secs:7.3f}s", file=sys.stderr)
        rows.append((table, n, res))
    print_table(rows)


def _cell(res: dict, method: str, key: str = "seconds") -> str:
    return f"{res[method][key]:7.3f}" if method in res else f"{'-':>7}"


def print_table(rows: list) -> None:
    """Print the results (wall seconds = median of runs; cpu = median process CPU seconds)."""
    head = (
        f"{'features':>8} {'entities':>8} | {'fsql':>7} {'floor':>7} {'ratio':>5} "
        f"{'cpu rat':>7} | {'struct':>7} {'qualify':>7} {'naive':>7} | "
        f"{'cpu fsql':>8} {'struct':>6} {'qualify':>7} | {'feast':>5} | "
        f"{'RSS fsql':>8} {'floor':>6} {'naive':>6} | same"
    )
    print(head)
    print("-" * len(head))
    for table, n, res in rows:
        floors = [m for m in ("floor_struct", "floor_qualify") if m in res]
        best = min(floors, key=lambda m: res[m]["seconds"]) if floors else None
        ratio = cpu_ratio = float("nan")
        if best and "fsql" in res:
            ratio = res["fsql"]["seconds"] / res[best]["seconds"]
            cpu_ratio = res["fsql"]["cpu"] / res[best]["cpu"]
        digests = {r["digest"] for m, r in res.items() if m != "naive"}
        feast = FEAST_REF.get((table, n))
        rss = {m: f"{res[m]['rss_mb']:.0f}M" if m in res else "-" for m in ("fsql", "naive")}
        rss_floor = f"{res[best]['rss_mb']:.0f}M" if best else "-"
        print(
            f"{table[3:]:>8} {n:>8.0e} | {_cell(res, 'fsql')} "
            f"{_cell(res, best) if best else '-':>7} {ratio:5.2f} {cpu_ratio:7.2f} | "
            f"{_cell(res, 'floor_struct')} {_cell(res, 'floor_qualify')} {_cell(res, 'naive')} | "
            f"{_cell(res, 'fsql', 'cpu'):>8} {_cell(res, 'floor_struct', 'cpu'):>6} "
            f"{_cell(res, 'floor_qualify', 'cpu'):>7} | "
            f"{feast if feast else '-':>5} | {rss['fsql']:>8} {rss_floor:>6} {rss['naive']:>6} | "
            f"{'yes' if len(digests) == 1 else 'NO'}"
        )


if __name__ == "__main__":
    main()
