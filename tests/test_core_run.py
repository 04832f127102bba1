"""End-to-end behaviour of versioned builds (real DuckDB files)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest
from conftest import query_db

import fsql
from fsql.errors import LockedError

SIMPLE = {
    "entities.yml": """
        entities:
          - name: user
            join_keys: [{name: user_id, type: BIGINT}]
    """,
    "sources.yml": """
        sources:
          - name: raw
            tables:
              - name: txns
                path: data/txns.csv
    """,
    "data/txns.csv": "user_id,ts,amount\n1,2026-01-01 10:00:00,10.5\n1,2026-01-02 10:00:00,3\n"
                     "2,2026-01-01 11:00:00,7\n",
    "models/stg_txns.sql": "select user_id, ts, amount from {{ source('raw', 'txns') }}\n",
    "models/user_spend.sql": """
        {{ config(materialized='feature_set', entities=['user'], timestamp='feature_ts') }}
        select user_id, date_trunc('day', ts) as feature_ts, sum(amount) as spend
        from {{ ref('stg_txns') }}
        group by all
    """,
    "models/user_spend.yml": """
        models:
          - name: user_spend
            description: spend per user-day
            columns:
              - {name: user_id, type: BIGINT}
              - {name: spend, type: DOUBLE}
    """,
    "models/other.sql": "{{ config(materialized='table') }}\nselect 42 as answer\n",
}


def live(root: Path) -> dict[str, int]:
    con = duckdb.connect(str(root / "warehouse.duckdb"), read_only=True)
    try:
        rows = con.execute("select model, version from fsql_meta.versions "
                           "where status = 'live'").fetchall()
    finally:
        con.close()
    return dict(rows)


def query(root: Path, sql: str) -> list[tuple]:
    return query_db(root, sql)


def test_first_run_builds_versions_and_views(make_project):
    root = make_project(SIMPLE)
    result = fsql.Project(root).run()
    assert result.exit_code == 0
    assert {r.model: r.status for r in result.results} == {
        "stg_txns": "success", "user_spend": "success", "other": "success"}
    assert live(root) == {"stg_txns": 1, "user_spend": 1, "other": 1}
    assert query(root, "select sum(spend) from main.user_spend") == [(20.5,)]
    assert query(root, 'select count(*) from fsql_versions."user_spend__v1"') == [(2 + 1,)]
    results = json.loads((root / "target" / "run_results.json").read_text())
    assert results["exit_code"] == 0 and len(results["results"]) == 3


def test_noop_run_does_no_data_work(make_project):
    root = make_project(SIMPLE)
    fsql.Project(root).run()
    second = fsql.Project(root).run()
    assert {r.status for r in second.results} == {"unchanged"}
    assert second.plan.is_noop
    assert live(root) == {"stg_txns": 1, "user_spend": 1, "other": 1}
    assert query(root, "select count(*) from fsql_meta.versions") == [(3,)]


def test_whitespace_and_comment_edit_does_not_rebuild(make_project):
    root = make_project(SIMPLE)
    fsql.Project(root).run()
    p = root / "models" / "stg_txns.sql"
    p.write_text("-- a comment\nselect   user_id,\n  ts, amount\nfrom {{ source('raw', 'txns') }}"
                 "  /* trailing */\n")
    assert fsql.Project(root).plan().is_noop


def test_edit_rebuilds_exactly_the_dependants(make_project):
    root = make_project(SIMPLE)
    fsql.Project(root).run()
    p = root / "models" / "stg_txns.sql"
    p.write_text("select user_id, ts, amount * 2 as amount from {{ source('raw', 'txns') }}\n")
    plan = fsql.Project(root).plan()
    assert plan.to_build == ["stg_txns", "user_spend"]
    assert "SQL or config changed" in plan.step("stg_txns").reason
    assert "upstream rebuilt: stg_txns" in plan.step("user_spend").reason
    fsql.Project(root).run()
    assert live(root) == {"stg_txns": 2, "user_spend": 2, "other": 1}
    assert query(root, "select sum(spend) from main.user_spend") == [(41.0,)]
    # the old version is still there, immutable
    assert query(root, 'select sum(spend) from fsql_versions."user_spend__v1"') == [(20.5,)]


def test_source_file_change_rebuilds_dependants(make_project):
    root = make_project(SIMPLE)
    fsql.Project(root).run()
    with open(root / "data" / "txns.csv", "a") as fh:
        fh.write("3,2026-01-03 09:00:00,1\n")
    assert fsql.Project(root).plan().to_build == ["stg_txns", "user_spend"]


def test_full_refresh_forces_new_versions(make_project):
    root = make_project(SIMPLE)
    fsql.Project(root).run()
    result = fsql.Project(root).run(full_refresh=True, select=["other"])
    assert [r.model for r in result.results] == ["other"]
    assert live(root)["other"] == 2


def test_type_contract_failure_keeps_previous_version(make_project):
    root = make_project(SIMPLE)
    fsql.Project(root).run()
    (root / "models" / "stg_txns.sql").write_text(
        "select user_id, ts, cast(amount as integer) as amount from {{ source('raw', 'txns') }}\n")
    (root / "models" / "other.sql").write_text("{{ config(materialized='table') }}\nselect 7 as a")
    (root / "models" / "user_spend.sql").write_text(
        (root / "models" / "user_spend.sql").read_text().replace("sum(amount)",
                                                                  "sum(amount)::bigint"))
    result = fsql.Project(root).run()
    status = {r.model: r for r in result.results}
    assert status["user_spend"].status == "failed"
    assert "spend" in status["user_spend"].message and "declared DOUBLE" in \
        status["user_spend"].message and "actual BIGINT" in status["user_spend"].message
    assert status["other"].status == "success"  # independent models still build
    assert result.exit_code == 1
    assert live(root)["user_spend"] == 1  # the previous version stays live
    assert query(root, "select sum(spend) from main.user_spend") == [(20.5,)]
    assert query(root, "select status from fsql_meta.versions where model = 'user_spend' "
                       "and version = 2") == [("failed",)]


def test_failed_model_skips_dependants(make_project):
    root = make_project({**SIMPLE, "models/stg_txns.sql":
                         "select user_id, ts, amount, nosuchcol from {{ source('raw', 'txns') }}"})
    result = fsql.Project(root).run()
    status = {r.model: r for r in result.results}
    assert status["stg_txns"].status == "error"
    err = status["stg_txns"].error
    assert err is not None and err.path == "models/stg_txns.sql" and err.line == 1
    assert "nosuchcol" in err.message
    assert status["user_spend"].status == "skipped"
    assert "upstream 'stg_txns' error" in status["user_spend"].message
    assert status["other"].status == "success"
    assert result.exit_code == 1


@pytest.mark.parametrize("threads", [1, 4])
def test_a_publish_that_fails_fails_only_its_model(make_project, threads):
    """Models finishing together are published in one transaction; when it fails (here: a
    user table squats the name the live view needs), each is published alone, so only the
    model whose publish fails is an error — with its name and a hint — and its dependant is
    skipped, while the others go live."""
    files = {f"models/m{i}.sql": "{{ config(materialized='table') }}\nselect " + str(i) +
             " as n" for i in range(6)}
    files["models/down.sql"] = "select n from {{ ref('m3') }}"
    root = make_project(files)
    con = duckdb.connect(str(root / "warehouse.duckdb"))
    con.execute("create table main.m3 as select 'mine' as squatter")
    con.close()
    result = fsql.Project(root).run(threads=threads)
    status = {r.model: r for r in result.results}
    assert status["m3"].status == "error" and result.exit_code == 1
    assert status["m3"].error is not None and status["m3"].error.model == "m3"
    assert "m3" in status["m3"].message
    assert status["down"].status == "skipped"
    assert {n for n, r in status.items() if r.status == "success"} == {
        "m0", "m1", "m2", "m4", "m5"}
    assert query(root, "select squatter from main.m3") == [("mine",)]  # not replaced
    assert query(root, "select status from fsql_meta.versions where model = 'm3'") == [
        ("failed",)]  # recorded, not left for the next run to clean up as a leftover
    assert query(root, "select n from main.m5") == [(5,)]
    assert query(root, "select count(*) from fsql_meta.versions where status = 'live'") == [(5,)]


def test_ephemeral_is_inlined(make_project):
    root = make_project({
        "models/base.sql": "{{ config(materialized='ephemeral') }}\nselect 1 as x union all "
                           "select 2",
        "models/mid.sql": "{{ config(materialized='ephemeral') }}\nselect x * 10 as y from "
                          "{{ ref('base') }}",
        "models/top.sql": "{{ config(materialized='table') }}\nwith z as (select 5 as w)\n"
                          "select sum(y) + max(w) as total from {{ ref('mid') }}, z",
    })
    result = fsql.Project(root).run()
    assert [r.model for r in result.results] == ["top"]
    assert query(root, "select total from main.top") == [(35,)]


def test_vars_override_and_env_var(make_project, monkeypatch):
    monkeypatch.setenv("FSQL_TEST_MULT", "3")
    root = make_project({
        "fsql_project.yml": "name: t\nvars:\n  base: 2\n",
        "models/v.sql": "{{ config(materialized='table') }}\nselect {{ var('base') }} * "
                        "{{ env_var('FSQL_TEST_MULT') }} as n",
    })
    fsql.Project(root).run()
    assert query(root, "select n from main.v") == [(6,)]
    fsql.Project(root, vars={"base": 5}).run()
    assert query(root, "select n from main.v") == [(15,)]


def test_threads_build_independent_models_concurrently(make_project):
    files = {f"models/m{i}.sql": "{{ config(materialized='table') }}\n"
             f"select count(*) as n from range(3000000) t(x) where x % 7 = {i}" for i in range(6)}
    root = make_project(files)
    result = fsql.Project(root).run(threads=3)
    assert result.exit_code == 0
    assert len({r.thread for r in result.results}) >= 2


def test_second_concurrent_run_is_locked(make_project):
    root = make_project(SIMPLE)
    project = fsql.Project(root)
    from fsql.lock import WriteLock

    with WriteLock(project.database):
        with pytest.raises(LockedError) as info:
            fsql.Project(root).run()
    assert f"locked by pid {os.getpid()} since" in info.value.message
    since = info.value.message.split(" since ")[1]
    assert since[:2] == "20" and since.endswith("+00:00")  # the holder's start, unpadded
    with WriteLock(project.database):  # released on exit: the next writer gets it
        pass


SLOW_MODEL = ("{{ config(materialized='table') }}\n"
              "select x, md5(x::varchar) as h from range(60000000) t(x)\n")


@pytest.mark.slow
def test_kill_9_mid_build_keeps_live_version(make_project):
    root = make_project({**SIMPLE, "models/slow.sql": "{{ config(materialized='table') }}\n"
                         "select 1 as x\n"})
    fsql.Project(root).run()
    (root / "models" / "slow.sql").write_text(SLOW_MODEL)
    proc = subprocess.Popen([sys.executable, "-m", "fsql", "--project-dir", str(root), "run"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.time() + 60
    lock = Path(str(root / "warehouse.duckdb") + ".lock")
    while time.time() < deadline and not _building(root, lock):
        time.sleep(0.05)
    time.sleep(0.3)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert live(root)["slow"] == 1
    assert query(root, "select x from main.slow") == [(1,)]
    (root / "models" / "slow.sql").write_text("{{ config(materialized='table') }}\n"
                                              "select 2 as x\n")
    result = fsql.Project(root).run()
    assert result.exit_code == 0
    assert query(root, "select x from main.slow") == [(2,)]
    # the killed build recorded nothing (its state row is written at publish): v2 is the retry
    assert query(root, "select version, status from fsql_meta.versions where model='slow' "
                       "order by version") == [(1, "superseded"), (2, "live")]
    assert query(root, "select status from fsql_meta.runs order by started_at") == [
        ("success",), ("interrupted",), ("success",)]
    assert query(root, "select table_name from information_schema.tables where table_schema ="
                       " 'fsql_versions' and table_name like 'slow%' order by 1") == [
        ("slow__v1",), ("slow__v2",)]


def test_unrecorded_relations_of_a_killed_run_are_dropped(make_project):
    """A kill between writing a version's table and publishing it leaves a relation with no
    state row; the next run drops it (and its part list) before numbering new versions."""
    root = make_project(SIMPLE)
    fsql.Project(root).run()
    con = duckdb.connect(str(root / "warehouse.duckdb"))
    con.execute("create table fsql_versions.user_spend__v2 as select 1 as junk")
    con.execute("create view fsql_versions.other__v9 as select 1 as junk")
    con.execute("insert into fsql_meta.version_parts values ('other', 9, 1, '[]', '[]')")
    con.close()
    result = fsql.Project(root).run(full_refresh=True)
    assert result.exit_code == 0
    assert sorted(result.cleaned) == ["other v9", "user_spend v2"]
    assert query(root, "select version from fsql_meta.versions where model = 'user_spend' "
                       "order by version") == [(1,), (2,)]
    assert query(root, "select count(*) from fsql_meta.version_parts") == [(0,)]
    cols = query(root, "select column_name from information_schema.columns where "
                       "table_schema = 'fsql_versions' and table_name = 'user_spend__v2'")
    assert ("junk",) not in cols and cols


def _building(root: Path, lock: Path) -> bool:
    # the run writes its pid into the lock file once it holds the store
    return lock.exists() and lock.read_text().strip() != "" and _wal_active(root)


def _wal_active(root: Path) -> bool:
    wal = Path(str(root / "warehouse.duckdb") + ".wal")
    return wal.exists() and wal.stat().st_size > 0


def test_profile_records_operator_tree(make_project):
    root = make_project(SIMPLE)
    fsql.Project(root).run(profile=True)
    rows = query(root, "select model, profile from fsql_meta.model_profiles order by model")
    assert [r[0] for r in rows] == ["other", "stg_txns", "user_spend"]
    tree = json.loads(rows[2][1])
    assert tree["operator"] or tree.get("children")


def test_run_pauses_for_a_checkpoint_when_the_wal_grows(make_project, monkeypatch):
    """Build threads keep a transaction open almost all the time, so DuckDB never checkpoints
    on its own; past a WAL size the scheduler lets the running models finish, checkpoints,
    and goes on (every model still builds, in dependency order)."""
    from fsql import executor

    calls = []
    real = executor._Scheduler._checkpoint
    monkeypatch.setattr(executor._Scheduler, "WAL_CHECKPOINT_BYTES", 1)
    monkeypatch.setattr(executor._Scheduler, "_checkpoint",
                        lambda self: calls.append(len(self.run.results)) or real(self))
    files = {**SIMPLE, **{f"models/x{i}.sql": f"select {i} as v from {{{{ ref('other') }}}}"
                          for i in range(6)}}
    root = make_project(files)
    result = fsql.Project(root).run(threads=3)
    assert result.exit_code == 0
    assert calls  # paused at least once, and every model still built
    assert sorted(live(root)) == sorted(["stg_txns", "user_spend", "other"] +
                                        [f"x{i}" for i in range(6)])


DIE_BEFORE_RUN_END = """
import os, sys
import fsql
import fsql.executor

def die(*args, **kwargs):
    os._exit(9)  # after the publish, before the run marks the old version superseded

fsql.executor.supersede_sql = die
fsql.Project(sys.argv[1]).run()
"""


@pytest.mark.slow
def test_death_before_the_run_ends_leaves_one_live_version(make_project):
    """A run marks the versions it replaced 'superseded' when it ends; a process that dies
    after publishing but before that leaves two 'live' rows on disk. Readers (versions, the
    live map, the docs site) still see one live version — the one published last, which the
    live view shows — and the next run rewrites the old row."""
    from fsql.site.data import _versions

    root = make_project(SIMPLE)
    assert fsql.Project(root).run().exit_code == 0
    (root / "models" / "other.sql").write_text(
        "{{ config(materialized='table') }}\nselect 43 as answer\n")
    proc = subprocess.run([sys.executable, "-c", DIE_BEFORE_RUN_END, str(root)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 9, proc.stderr
    assert query(root, "select version from fsql_meta.versions where model = 'other' and "
                       "status = 'live' order by 1") == [(1,), (2,)]  # both, on disk
    assert query(root, "select answer from main.other") == [(43,)]
    p = fsql.Project(root)
    assert [(v.version, v.status) for v in p.versions("other")] == [(1, "superseded"),
                                                                     (2, "live")]
    con = duckdb.connect(str(root / "warehouse.duckdb"), read_only=True)
    try:
        from fsql.state import StateStore

        assert StateStore(con).live()["other"].version == 2
        assert [(v.version, v.status) for v in _versions(con)["other"]] == [
            (1, "superseded"), (2, "live")]
    finally:
        con.close()
    assert p.run().exit_code == 0  # nothing to build; rewrites the rows
    assert query(root, "select version, status from fsql_meta.versions where model = "
                       "'other' order by 1") == [(1, "superseded"), (2, "live")]
