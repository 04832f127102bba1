"""rollback, gc, diff, time travel."""

from __future__ import annotations

import pytest
from conftest import query_db as q

import fsql
from fsql.errors import ConfigError

FILES = {
    "entities.yml": "entities:\n  - name: user\n    join_keys: [{name: user_id, type: BIGINT}]\n",
    "models/base.sql": "{{ config(materialized='table') }}\nselect * from (values (1, 10), "
                       "(2, 20), (3, 30)) t(user_id, v)",
    "models/fs.sql": "{{ config(materialized='feature_set', entities=['user'], "
                     "timestamp='ts') }}\nselect user_id, timestamp '2026-01-01' as ts, v * 2 as "
                     "v2 from {{ ref('base') }}",
    "models/hist.sql": "{{ config(materialized='table') }}\n"
                       "select count(*) as n from {{ ref('base', version=1) }}",
}


def _edit_base(root, values):
    (root / "models" / "base.sql").write_text(
        "{{ config(materialized='table') }}\nselect * from (values " + values + ") t(user_id, v)")


def test_rollback_pins_and_rebuilds_dependants(make_project):
    root = make_project(FILES)
    p = fsql.Project(root)
    p.run()
    _edit_base(root, "(1, 10), (2, 25), (4, 40)")
    fsql.Project(root).run()
    assert q(root, "select sum(v2) from main.fs") == [(150,)]
    assert fsql.Project(root).rollback("base", 1) == 2
    assert q(root, "select sum(v) from main.base") == [(60,)]
    plan = fsql.Project(root).plan()
    assert plan.step("base").action == "skip" and "pinned to v1" in plan.step("base").reason
    assert plan.step("fs").action == "build" and "upstream version changed" in \
        plan.step("fs").reason
    fsql.Project(root).run()
    assert q(root, "select sum(v2) from main.fs") == [(120,)]
    statuses = [r.status for r in fsql.Project(root).versions("base")]
    assert statuses == ["live", "rolled_back"]
    with pytest.raises(ConfigError, match="cannot roll back 'base' to v9"):
        fsql.Project(root).rollback("base", 9)


def test_ref_version_and_as_of_and_read(make_project):
    root = make_project(FILES)
    fsql.Project(root).run()
    _edit_base(root, "(1, 10)")
    fsql.Project(root).run()
    assert q(root, "select n from main.hist") == [(3,)]  # pinned to base v1
    p = fsql.Project(root)
    assert len(p.read("base")) == 1
    assert len(p.read("base", version=1)) == 3
    first = p.versions("base")[0]
    as_of = str(first.published_at)
    assert len(p.read("base", as_of=as_of)) == 3
    cols, rows = p.show("base", version=1, limit=2)
    assert cols == ["user_id", "v"] and len(rows) == 2
    with pytest.raises(ConfigError, match="no version 7"):
        p.read("base", version=7)


def test_diff_by_feature_set_key(make_project):
    root = make_project(FILES)
    fsql.Project(root).run()
    _edit_base(root, "(1, 10), (2, 25), (4, 40)")
    (root / "models" / "fs.sql").write_text(
        FILES["models/fs.sql"].replace("v * 2 as v2", "v * 2 as v2, 'x' as extra"))
    fsql.Project(root).run()
    d = fsql.Project(root).diff("fs", 1, 2)
    assert d.added_columns == (("extra", "VARCHAR"),)
    assert (d.rows_a, d.rows_b) == (3, 3)
    assert d.key == ("user_id", "ts")
    assert (d.added_rows, d.removed_rows, d.changed_rows) == (1, 1, 1)
    assert d.samples["added"][0]["user_id"] == 4
    assert d.samples["removed"][0]["user_id"] == 3
    assert d.samples["changed"][0]["user_id"] == 2


def test_gc_keeps_live_and_recent(make_project):
    root = make_project(FILES)
    for i in range(5):
        (root / "models" / "base.sql").write_text(
            "{{ config(materialized='table') }}\nselect range as user_id, range * " + str(i)
            + " as v from range(300000)")
        fsql.Project(root).run(select=["base"])
    dry = fsql.Project(root).gc(keep=1, dry_run=True)
    assert dry.removed == ("base v2", "base v3")
    assert dry.kept_pinned == ("base v1",)  # ref('base', version=1) in hist
    assert q(root, "select count(*) from duckdb_tables() where table_name = 'base__v2'") == [(1,)]
    res = fsql.Project(root).gc(keep=1)
    assert res.removed == ("base v2", "base v3") and res.bytes_reclaimed > 0
    assert q(root, "select count(*) from duckdb_tables() where table_name like 'base__v%'") \
        == [(3,)]
    assert [r.status for r in fsql.Project(root).versions("base")][:3] == ["superseded", "gc",
                                                                           "gc"]
    assert q(root, "select max(v) from main.base") == [(4 * 299999,)]
