"""Incremental models: intervals, shared storage between versions, backfill, merge."""

from __future__ import annotations

from conftest import query_db as q

import fsql

EVENTS = "\n".join(["day,user_id,v"] + [f"2026-01-{d:02d},{u},{d * 10 + u}"
                                        for d in range(1, 11) for u in (1, 2)]) + "\n"
FILES = {
    "sources.yml": "sources:\n  - name: raw\n    tables:\n      - name: ev\n"
                   "        path: data/ev.csv\n",
    "data/ev.csv": EVENTS,
    "models/daily.sql": """
        {{ config(materialized='incremental', time_column='day', batch_size='1 day',
                  start='2026-01-01', end=var('end', '2026-01-06')) }}
        select day::timestamp as day, user_id, v from {{ source('raw', 'ev') }}
        where day >= '{{ start }}' and day < '{{ end }}'
    """,
}


def test_incremental_builds_only_missing_intervals_and_shares_storage(make_project):
    root = make_project(FILES)
    res = fsql.Project(root).run()
    assert res.exit_code == 0, res.results
    assert "full rebuild" in res.plan.step("daily").reason
    assert q(root, "select count(*) from main.daily") == [(10,)]
    assert fsql.Project(root).plan().step("daily").reason == "up to date (every interval built)"
    p = fsql.Project(root, vars={"end": "2026-01-08"})
    plan = p.plan()
    assert plan.step("daily").action == "build"
    assert "incremental: 2 interval(s)" in plan.step("daily").reason
    p.run()
    assert q(root, "select count(*) from main.daily") == [(14,)]
    # v1 still reads exactly its rows; both versions share one physical table
    assert q(root, 'select count(*) from fsql_versions."daily__v1"') == [(10,)]
    assert q(root, "select count(*) from information_schema.tables where table_schema = "
                   "'fsql_parts'") == [(1,)]
    assert q(root, 'select count(*) from fsql_parts."daily__g1"') == [(14,)]


def test_backfill_and_lookback_replace_intervals(make_project):
    root = make_project(FILES)
    fsql.Project(root).run()
    (root / "data" / "ev.csv").write_text(EVENTS.replace("2026-01-03,1,31", "2026-01-03,1,999"))
    res = fsql.Project(root).backfill("daily", "2026-01-03", "2026-01-04")
    assert res.exit_code == 0
    assert q(root, "select v from main.daily where day = '2026-01-03' order by user_id") == \
        [(999,), (32,)]
    assert q(root, "select count(*) from main.daily") == [(10,)]
    assert q(root, "select v from fsql_versions.daily__v1 where day = '2026-01-03' "
                   "order by user_id") == [(31,), (32,)]


def test_sql_change_starts_new_generation(make_project):
    root = make_project(FILES)
    fsql.Project(root).run()
    (root / "models" / "daily.sql").write_text(FILES["models/daily.sql"].replace(
        "user_id, v", "user_id, v * 2 as v"))
    res = fsql.Project(root).run()
    assert "full rebuild" in res.plan.step("daily").reason
    assert q(root, "select sum(v) from main.daily") == [(2 * sum(
        d * 10 + u for d in range(1, 6) for u in (1, 2)),)]
    assert q(root, "select count(*) from information_schema.tables where table_schema = "
                   "'fsql_parts'") == [(2,)]


def test_merge_keeps_latest_row_per_key(make_project):
    files = dict(FILES)
    files["models/daily.sql"] = FILES["models/daily.sql"].replace(
        "batch_size='1 day',", "batch_size='1 day', incremental_strategy='merge', "
        "unique_key='user_id',")
    root = make_project(files)
    fsql.Project(root).run()
    assert q(root, "select user_id, v from main.daily order by 1") == [(1, 51), (2, 52)]
    fsql.Project(root, vars={"end": "2026-01-08"}).run()
    assert q(root, "select user_id, v from main.daily order by 1") == [(1, 71), (2, 72)]


def test_backfill_cli_and_non_incremental_error(make_project):
    from conftest import run_cli

    root = make_project({**FILES, "models/t.sql": "{{ config(materialized='table') }}\n"
                                                  "select 1 as x"})
    fsql.Project(root).run()
    res = run_cli("--project-dir", str(root), "backfill", "daily", "--start", "2026-01-02",
                  "--end", "2026-01-04")
    assert res.returncode == 0, res.stderr
    assert [v.status for v in fsql.Project(root).versions("daily")] == ["superseded", "live"]
    res = run_cli("--project-dir", str(root), "backfill", "t", "--start", "2026-01-02",
                  "--end", "2026-01-04")
    assert res.returncode == 2 and "not an incremental model" in res.stderr


def test_gc_drops_unreferenced_parts_and_generations(make_project):
    root = make_project(FILES)
    fsql.Project(root).run()
    fsql.Project(root, vars={"end": "2026-01-08"}).run()
    (root / "models" / "daily.sql").write_text(FILES["models/daily.sql"].replace(
        "user_id, v", "user_id, v + 1 as v"))
    fsql.Project(root, vars={"end": "2026-01-08"}).run()  # generation 2
    res = fsql.Project(root, vars={"end": "2026-01-08"}).gc(keep=1)
    assert res.removed == ("daily v1", "daily v2")
    assert q(root, "select table_name from information_schema.tables where table_schema = "
                   "'fsql_parts'") == [("daily__g2",)]
    assert q(root, "select count(*) from main.daily") == [(14,)]
