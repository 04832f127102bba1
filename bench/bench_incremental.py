"""Incremental models: a daily run that appends one day to a 365-day, N-row table.

Compares fsql (new version = one appended part, no copy) with the floor (raw DuckDB
``INSERT INTO t SELECT ... WHERE day = D`` into an existing table), and measures storage growth,
``versions`` and ``diff`` latency.

    .venv/bin/python bench/bench_incremental.py --rows 1e7 --reps 15
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import fsql  # noqa: E402
from fsql.engines import duckdb as engine  # noqa: E402

MODEL = """{{ config(materialized='incremental', time_column='day', batch_size='1 day',
          start='2025-01-01', end=var('end')) }}
select day, user_id, amount, amount * 2 as amount2, category
from read_parquet('{{ var('events') }}')
where day >= '{{ start }}' and day < '{{ end }}'
"""


EXTRA_DAYS = 64  # days after the 365 that daily runs append, one each


def make_data(out: Path, rows: int) -> Path:
    """``rows`` events over 365 days from 2025-01-01, then EXTRA_DAYS more days."""
    events = out / f"events_{EXTRA_DAYS}.parquet"
    if events.exists():
        return events
    con = engine.connect()
    per_day = rows // 365
    con.execute(f"""copy (select timestamp '2025-01-01' + to_days((i // {per_day})::int) as day,
        (i * 7919) % 100000 as user_id, ((i * 31) % 1000) / 10.0 as amount,
        'c' || (i % 8) as category from range({per_day * (365 + EXTRA_DAYS)}) t(i))
        to '{events}' (format parquet)""")
    return events


def _day(i: int) -> str:
    return (datetime(2026, 1, 1) + timedelta(days=i)).strftime("%Y-%m-%d")


def db_bytes(root: Path) -> int:
    con = engine.connect(root / "warehouse.duckdb", read_only=True)
    try:
        used, size = con.execute("select used_blocks, block_size from pragma_database_size()"
                                 ).fetchone()
    finally:
        con.close()
    return int(used) * int(size)


def fsql_run(root: Path, events: Path, end: str) -> tuple[float, float]:
    """(wall time of ``Project(...).run()``, the model's own write + audit + publish)."""
    t0 = time.perf_counter()
    res = fsql.Project(root, vars={"end": end, "events": str(events)}).run()
    assert res.exit_code == 0, res.results
    return time.perf_counter() - t0, res.results[0].duration_s


def floor_table(work: Path, events: Path) -> Path:
    """The floor's table of the same 365 days."""
    db = work / "floor.duckdb"
    con = engine.connect(db)
    con.execute("create or replace table t as select day, user_id, amount, amount * 2 as "
                f"amount2, category from read_parquet('{events}') where day < '2026-01-01'")
    con.close()
    return db


def floor_insert(db: Path, events: Path, i: int) -> tuple[float, float]:
    """Append day ``i`` after the 365: (raw INSERT on an open connection, connect + INSERT
    + close)."""
    t_open = time.perf_counter()
    con = engine.connect(db)
    t0 = time.perf_counter()
    con.execute(f"insert into t select day, user_id, amount, amount * 2 as amount2, category "
                f"from read_parquet('{events}') where day >= '{_day(i)}' and "
                f"day < '{_day(i + 1)}'")
    dur = time.perf_counter() - t0
    con.close()
    return dur, time.perf_counter() - t_open


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=float, default=1e7)
    ap.add_argument("--reps", type=int, default=15, help="daily runs (each vs the floor)")
    ap.add_argument("--builds", type=int, default=1, help="full builds of the 365 days")
    args = ap.parse_args()
    work = ROOT / "bench" / "out" / f"incr_{int(args.rows)}"
    work.mkdir(parents=True, exist_ok=True)
    events = make_data(work, int(args.rows))
    fs_times, model_times, floor_times, floor_session, growth, full_build = [], [], [], [], [], []
    root = work / "proj"
    shutil.rmtree(root, ignore_errors=True)
    (root / "models").mkdir(parents=True)
    (root / "fsql_project.yml").write_text("name: incr\nvars:\n  end: '2026-01-01'\n")
    (root / "models" / "daily.sql").write_text(MODEL)
    for _ in range(args.builds):
        for f in root.glob("warehouse.duckdb*"):
            f.unlink()
        full_build.append(fsql_run(root, events, "2026-01-01")[0])
    floor_db = floor_table(work, events)
    os.sync()
    for i in range(min(args.reps, EXTRA_DAYS)):  # alternated: each appends the next day
        before = db_bytes(root)
        wall, model = fsql_run(root, events, _day(i + 1))
        fs_times.append(wall)
        model_times.append(model)
        growth.append(db_bytes(root) - before)
        raw, session = floor_insert(floor_db, events, i)
        floor_times.append(raw)
        floor_session.append(session)
    p = fsql.Project(root, vars={"end": _day(len(fs_times)), "events": str(events)})
    t0 = time.perf_counter()
    p.versions("daily")
    t_versions = time.perf_counter() - t0
    t0 = time.perf_counter()
    d = p.diff("daily", 1, 2)
    t_diff = time.perf_counter() - t0
    med = statistics.median
    table_bytes = db_bytes(root)
    print(f"rows={int(args.rows):,} over 365 days; {len(fs_times)} daily runs, each appending "
          f"the next day, alternated with the floor appending the same day; medians")
    print("| measurement | fsql | floor | ratio | target |")
    print("|---|---|---|---|---|")
    print(f"| full build of 365 days | {med(full_build):.2f} s | | | |")
    print(f"| daily run: the model's write + audit + publish | {med(model_times):.3f} s | "
          f"{med(floor_times):.3f} s (raw INSERT) | {med(model_times) / med(floor_times):.2f}x "
          f"| <= 1.5x |")
    print(f"| daily run: whole `Project.run()` (open, lock, plan, build, close) | "
          f"{med(fs_times):.3f} s | {med(floor_session):.3f} s (connect + INSERT + close) | "
          f"{med(fs_times) / med(floor_session):.2f}x | |")
    print(f"| storage growth of the daily run | {med(growth) / 1e6:.1f} MB | one day = "
          f"{table_bytes / 366 / 1e6:.1f} MB, full copy = {table_bytes / 1e6:.0f} MB | | ~1 day |")
    print(f"| `versions` | {t_versions:.3f} s | | | < 2 s |")
    print(f"| `diff 1 2` ({d.rows_a:,} -> {d.rows_b:,} rows) | {t_diff:.3f} s | | | < 2 s |")


if __name__ == "__main__":
    main()
