"""Incremental models: intervals, shared storage between versions, backfill, merge."""

from __future__ import annotations

import json

import pytest
from conftest import query_db as q

import fsql
from fsql.incremental import part_base

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
    from conftest import invoke_cli

    root = make_project({**FILES, "models/t.sql": "{{ config(materialized='table') }}\n"
                                                  "select 1 as x"})
    fsql.Project(root).run()
    res = invoke_cli("--project-dir", str(root), "backfill", "daily", "--start", "2026-01-02",
                  "--end", "2026-01-04")
    assert res.returncode == 0, res.stderr
    assert [v.status for v in fsql.Project(root).versions("daily")] == ["superseded", "live"]
    res = invoke_cli("--project-dir", str(root), "backfill", "t", "--start", "2026-01-02",
                  "--end", "2026-01-04")
    assert res.returncode == 2 and "not an incremental model" in res.stderr


def test_gc_drops_unreferenced_parts_and_generations(make_project):
    root = make_project(FILES)
    fsql.Project(root).run()
    fsql.Project(root, vars={"end": "2026-01-08"}).run()
    (root / "models" / "daily.sql").write_text(FILES["models/daily.sql"].replace(
        "user_id, v", "user_id, v + 1 as v"))
    fsql.Project(root, vars={"end": "2026-01-08"}).run()  # generation 2
    fsql.Project(root, vars={"end": "2026-01-09"}).run()  # v4, generation 2
    res = fsql.Project(root, vars={"end": "2026-01-09"}).gc(keep=1)  # keeps v3 besides v4
    assert res.removed == ("daily v1", "daily v2")
    assert q(root, "select table_name from information_schema.tables where table_schema = "
                   "'fsql_parts'") == [("daily__g2",)]
    assert q(root, "select count(*) from main.daily") == [(16,)]


def _version_rows(root, version):  # type: ignore[no-untyped-def]
    return q(root, f"select row_count from fsql_meta.versions where model = 'daily' and "
                   f"version = {version}")[0][0]


def test_daily_appends_keep_the_view_flat_and_count_rows_without_scanning(make_project):
    """Appending new days records no exclusions on older parts (each part holds exactly its
    interval), so a version's view stays one IN list however many days were appended; the
    recorded row counts equal the real ones (lookback replaces rows and is counted too)."""
    root = make_project(FILES)
    fsql.Project(root).run()
    for end in ("2026-01-07", "2026-01-08", "2026-01-09"):
        assert fsql.Project(root, vars={"end": end}).run().exit_code == 0
    segments = json.loads(q(root, "select segments from fsql_meta.version_parts where "
                                  "model = 'daily' and version = 4")[0][0])
    assert [s[1] for s in segments] == [[], [], [], []]
    view = q(root, "select sql from duckdb_views() where view_name = 'daily__v4'")[0][0]
    # one part per version, versions 1-4 consecutive: one range, however long the history
    assert f"(__fsql_part BETWEEN {part_base(1)} AND {part_base(5) - 1})" in view
    assert _version_rows(root, 4) == q(root, "select count(*) from main.daily")[0][0] == 16
    files = {**FILES, "models/daily.sql": FILES["models/daily.sql"].replace(
        "end=var('end', '2026-01-06')", "end=var('end', '2026-01-06'), lookback=2")}
    (root / "models" / "daily.sql").write_text(files["models/daily.sql"])
    fsql.Project(root, vars={"end": "2026-01-09"}).run(full_refresh=True)
    (root / "data" / "ev.csv").write_text(EVENTS.replace("2026-01-08,2,82\n", ""))
    fsql.Project(root, vars={"end": "2026-01-10"}).run()
    assert _version_rows(root, 6) == q(root, "select count(*) from main.daily")[0][0] == 17


def test_rows_outside_the_interval_being_built_are_not_kept(make_project):
    """A model that forgets to filter on start/end would otherwise duplicate rows: each part
    keeps only its own interval."""
    files = {**FILES, "models/daily.sql": FILES["models/daily.sql"].replace(
        "where day >= '{{ start }}' and day < '{{ end }}'", "")}
    root = make_project(files)
    fsql.Project(root).run()
    fsql.Project(root, vars={"end": "2026-01-08"}).run()
    assert q(root, "select count(*), count(distinct (day, user_id)) from main.daily") == \
        [(14, 14)]


def _with_check(severity: str) -> dict[str, str]:
    return {**FILES, "models/daily.yml": f"""
        models:
          - name: daily
            columns:
              - name: v
                expectations:
                  - expect_column_values_to_not_be_null:
                      where: "'abc'::int > 0"
                      severity: {severity}
    """}


def test_a_check_whose_query_fails_falls_back_to_the_two_step_build(make_project, monkeypatch):
    """An incremental version is written, audited and published in one transaction; a check
    whose SQL fails (here a where: that cannot cast) aborts that transaction — fsql then
    builds the version the two-step way, so the failure is just that check's result: a
    warning publishes, an error keeps the previous version live. No rows are lost or
    doubled either way."""
    from fsql.executor import _Run

    attempts: list[tuple[bool, bool]] = []  # (atomic, got a result)
    attempt = _Run._attempt

    def spy(self, m, step, new, atomic):  # type: ignore[no-untyped-def]
        out = attempt(self, m, step, new, atomic)
        attempts.append((atomic, out is not None))
        return out

    monkeypatch.setattr(_Run, "_attempt", spy)
    root = make_project(_with_check("warn"))
    assert fsql.Project(root).run().exit_code == 0
    assert attempts == [(True, False), (False, True)]
    res = fsql.Project(root, vars={"end": "2026-01-08"}).run()
    assert res.exit_code == 0 and res.results[0].version == 2
    check = res.results[0].checks[0]
    assert not check["success"] and "Conversion Error" in check["exception"]
    assert q(root, "select count(*) from main.daily") == [(14,)]
    (root / "models" / "daily.yml").write_text(_with_check("error")["models/daily.yml"])
    res = fsql.Project(root, vars={"end": "2026-01-09"}).run()
    assert res.exit_code == 1 and res.results[0].status == "failed"
    assert q(root, "select version, status from fsql_meta.versions order by 1") == [
        (1, "superseded"), (2, "live"), (3, "failed")]
    assert q(root, "select count(*) from main.daily") == [(14,)]
    assert q(root, "select count(*) from fsql_versions.daily__v3") == [(16,)]  # kept to inspect
    (root / "models" / "daily.yml").unlink()
    assert fsql.Project(root, vars={"end": "2026-01-09"}).run().exit_code == 0
    assert q(root, "select count(*), count(distinct (day, user_id)) from main.daily") == [
        (16, 16)]


HEAVY = """
{{ config(materialized='incremental', time_column='day', batch_size='1 day',
          start='2026-01-01', end=var('end')) }}
select timestamp '2026-01-01' + to_days((x % 4)::int) as day, x, md5(x::varchar) as h
from range({{ var('n') }}) t(x)
where timestamp '2026-01-01' + to_days((x % 4)::int) >= '{{ start }}'
  and timestamp '2026-01-01' + to_days((x % 4)::int) < '{{ end }}'
"""


@pytest.mark.slow
def test_kill_9_mid_append_leaves_no_rows_behind(make_project):
    """kill -9 while an incremental append runs: its rows were never committed (the append
    and its publish are one transaction), so the next run's part ids — numbered from the
    version, which is used again — meet no leftover rows: no duplicates, exact counts."""
    import signal
    import subprocess
    import sys
    import time
    from pathlib import Path

    root = make_project({"models/inc.sql": HEAVY})
    assert fsql.Project(root, vars={"end": "2026-01-02", "n": 40}).run().exit_code == 0
    proc = subprocess.Popen([sys.executable, "-m", "fsql", "--project-dir", str(root), "run",
                             "--vars", '{"end": "2026-01-03", "n": 80000000}'],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    wal = Path(str(root / "warehouse.duckdb") + ".wal")
    deadline = time.time() + 60
    while time.time() < deadline and not (wal.exists() and wal.stat().st_size > 0):
        time.sleep(0.02)
    time.sleep(1.0)  # inside the append
    assert proc.poll() is None, proc.communicate()
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert q(root, "select count(*) from main.inc") == [(10,)]
    res = fsql.Project(root, vars={"end": "2026-01-03", "n": 40}).run()
    assert res.exit_code == 0 and res.results[0].version == 2  # the killed run's number
    assert q(root, "select count(*), count(distinct x) from main.inc") == [(20, 20)]
    assert q(root, "select count(*) from fsql_parts.inc__g1") == [(20,)]  # nothing left over


CRASH_AT_PUBLISH = """
import os, sys
import fsql
from fsql.state import StateStore

def die(*args, **kwargs):
    os._exit(9)  # the process dies between the append and its publish

StateStore.publish_many = die
fsql.Project(sys.argv[1], vars={"end": "2026-01-03", "n": 40}).run()
"""


@pytest.mark.slow
def test_death_between_append_and_publish_leaves_no_rows_behind(make_project):
    """The process dies after the append ran but before its publish: the append was not
    committed on its own, so the parts table holds exactly the live version's rows, and
    the retry (same version number, same part id) doubles nothing."""
    import subprocess
    import sys

    root = make_project({"models/inc.sql": HEAVY})
    assert fsql.Project(root, vars={"end": "2026-01-02", "n": 40}).run().exit_code == 0
    proc = subprocess.run([sys.executable, "-c", CRASH_AT_PUBLISH, str(root)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 9, proc.stderr
    assert q(root, "select count(*) from fsql_parts.inc__g1") == [(10,)]
    res = fsql.Project(root, vars={"end": "2026-01-03", "n": 40}).run()
    assert res.exit_code == 0 and res.results[0].version == 2
    assert q(root, "select count(*), count(distinct x) from main.inc") == [(20, 20)]


def test_a_failed_version_s_parts_stay_out_of_later_views(make_project):
    """Part ids carry their version number, so a version's view is ranges of versions; a
    failed version's parts (kept in the shared table for inspection) break the range."""
    root = make_project(FILES)
    assert fsql.Project(root).run().exit_code == 0  # v1: 5 days
    assert fsql.Project(root, vars={"end": "2026-01-07"}).run().exit_code == 0  # v2
    (root / "models" / "daily.yml").write_text(
        "models:\n  - name: daily\n    columns:\n      - name: v\n        expectations:\n"
        "          - expect_column_values_to_be_null: {mostly: 1.0}\n")
    res = fsql.Project(root, vars={"end": "2026-01-08"}).run()  # v3: v is never null
    assert res.results[0].status == "failed"
    (root / "models" / "daily.yml").unlink()
    for end in ("2026-01-08", "2026-01-09"):  # v4, v5
        assert fsql.Project(root, vars={"end": end}).run().exit_code == 0
    assert q(root, "select count(*), count(distinct (day, user_id)) from main.daily") == [
        (16, 16)]
    assert q(root, "select count(*) from fsql_parts.daily__g1 where __fsql_part between "
                   f"{part_base(3)} and {part_base(4) - 1}") == [(2,)]  # v3's part, kept
    view = q(root, "select sql from duckdb_views() where view_name = 'daily__v5'")[0][0]
    assert f"BETWEEN {part_base(1)} AND {part_base(3) - 1}" in view
    assert f"BETWEEN {part_base(4)} AND {part_base(6) - 1}" in view


DIE_IN_TWO_STEP_PUBLISH = """
import os, sys
import fsql
from fsql.state import StateStore

one_transaction = StateStore.publish_many

def publish_many(self, items, open_transaction=False, supersede=True):
    if not open_transaction:  # the two-step build's publish: its rows are committed already
        os._exit(9)
    return one_transaction(self, items, open_transaction, supersede)

StateStore.publish_many = publish_many
fsql.Project(sys.argv[1], vars={"end": sys.argv[2]}).run()
"""


@pytest.mark.slow
def test_two_step_retry_deletes_what_a_killed_attempt_left(make_project):
    """The two-step build (after a check's SQL aborted the one transaction) commits its rows
    before the publish; if the process dies in between, the retry — same version number,
    same part ids — first deletes them, so nothing is doubled."""
    import subprocess
    import sys

    root = make_project(_with_check("warn"))
    assert fsql.Project(root).run().exit_code == 0  # v1, two-step (the check's SQL fails)
    proc = subprocess.run([sys.executable, "-c", DIE_IN_TWO_STEP_PUBLISH, str(root),
                           "2026-01-07"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 9, proc.stderr
    assert q(root, "select count(*) from fsql_parts.daily__g1") == [(12,)]  # 2 left behind
    res = fsql.Project(root, vars={"end": "2026-01-07"}).run()
    assert res.exit_code == 0 and res.results[0].version == 2
    assert q(root, "select count(*), count(distinct (day, user_id)) from main.daily") == [
        (12, 12)]
    assert q(root, "select count(*) from fsql_parts.daily__g1") == [(12,)]
