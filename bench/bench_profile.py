"""Benchmark: column statistics + drift overhead on a 1e7-row feature table.

Usage::

    .venv/bin/python bench/bench_profile.py                 # 1e7 rows, median of 3
    .venv/bin/python bench/bench_profile.py --rows 1e6 --reps 1

A source table of ``--rows`` card transactions is generated once (not timed) into
bench/out/bench_profile.duckdb. Version 1 of the feature table is built and profiled. Then,
``--reps`` times: version 2 (amounts scaled by 1.1, a different tier modulus -> new
categories) is built by CREATE TABLE AS with window functions (timed: *build*), profiled with
``profile_relation`` (timed: *profile*) and compared with version 1 by ``drift`` (timed:
*drift*). Overhead = (profile + drift) / build, median over the repetitions; target <= 20%.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from fsql.engines.duckdb import connect  # noqa: E402
from fsql.stats.columns import profile_relation, store_profile  # noqa: E402
from fsql.stats.drift import drift, store_drift  # noqa: E402

OUT = ROOT / "bench" / "out"
DB = OUT / "bench_profile.duckdb"
TARGET = 0.20

SOURCE = """
CREATE OR REPLACE TABLE src AS
SELECT (hash(i) % {users})::BIGINT AS user_id,
       TIMESTAMP '2024-01-01' + to_seconds((hash(i * 7) % 31536000)::BIGINT) AS ts,
       round(((hash(i * 3) % 100000) / 100.0)::DOUBLE, 2) AS amount,
       ['food', 'travel', 'games', 'rent', 'fuel', 'health', 'books', 'music']
         [1 + (hash(i * 5) % 8)::INTEGER] AS category,
       'C' || (hash(i * 11) % 40)::VARCHAR AS country,
       (hash(i * 13) % 2 = 0) AS is_online
FROM range({rows}) t(i)
"""

FEATURES = """
CREATE TABLE {rel} AS
SELECT user_id, ts AS feature_ts, amount * {scale} AS amount, category, country, is_online,
       sum(amount) OVER w AS spend_user, count(*) OVER w AS txn_count,
       avg(amount) OVER w AS avg_amount, max(ts) OVER w AS last_ts,
       'tier' || (user_id % {tiers})::VARCHAR AS tier
FROM src WINDOW w AS (PARTITION BY user_id)
"""


def rel(version: int) -> str:
    return f'"fsql_versions"."feat__v{version}"'


def build(con, version: int) -> float:
    con.execute(f"DROP TABLE IF EXISTS {rel(version)}")
    scale, tiers = (1.0, 20) if version == 1 else (1.1, 25)
    t0 = time.perf_counter()
    con.execute(FEATURES.format(rel=rel(version), scale=scale, tiers=tiers))
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rows", type=float, default=1e7)
    ap.add_argument("--reps", type=int, default=3)
    args = ap.parse_args()
    rows = int(args.rows)
    OUT.mkdir(parents=True, exist_ok=True)
    DB.unlink(missing_ok=True)
    con = connect(DB)
    con.execute("SET enable_progress_bar = false")
    con.execute("CREATE SCHEMA IF NOT EXISTS fsql_versions")
    t0 = time.perf_counter()
    con.execute(SOURCE.format(rows=rows, users=max(rows // 10, 1)))
    print(f"source: {rows:,} rows in {time.perf_counter() - t0:.1f}s (not timed)")
    b1 = build(con, 1)
    p1 = profile_relation(con, rel(1))
    store_profile(con, "feat", 1, p1)
    print(f"v1: build {b1:.2f}s, profile {p1.duration_s:.2f}s ({p1.queries} queries, "
          f"sample {p1.sample_rows})")
    builds, profiles, drifts, overheads = [], [], [], []
    for rep in range(args.reps):
        b = build(con, 2)
        t1 = time.perf_counter()
        p2 = profile_relation(con, rel(2), fresh=True)  # as the build does
        t2 = time.perf_counter()
        ranked = drift(con, p2, p1, rel(2), rel(1))
        t3 = time.perf_counter()
        store_profile(con, "feat", 2, p2)
        store_drift(con, "feat", 2, 1, ranked)
        builds.append(b)
        profiles.append(t2 - t1)
        drifts.append(t3 - t2)
        overheads.append((t3 - t1) / b)
        print(f"rep {rep + 1}: build {b:.2f}s  profile {t2 - t1:.2f}s ({p2.queries} queries)"
              f"  drift {t3 - t2:.2f}s  overhead {100 * (t3 - t1) / b:.1f}%")
    med = statistics.median
    print(f"\nmedian of {args.reps}: build {med(builds):.2f}s  profile {med(profiles):.2f}s  "
          f"drift {med(drifts):.2f}s  overhead {100 * med(overheads):.1f}% "
          f"(target <= {100 * TARGET:.0f}%)")
    print("top drift:", ", ".join(f"{d.column} psi={d.psi if d.psi is None else round(d.psi, 3)}"
                                  f" ks={d.ks if d.ks is None else round(d.ks, 3)}"
                                  for d in ranked[:4]))
    print("PASS" if med(overheads) <= TARGET else "FAIL")
    con.close()


if __name__ == "__main__":
    main()
