"""Statistics and drift are computed per build, stored per version, and drift gates publish."""

from __future__ import annotations

import json

from conftest import invoke_cli, query_db

import fsql

FILES = {
    "models/m.sql": "{{ config(materialized='table') }}\n"
                    "select range as id, (range % 100)::double as x, "
                    "case when range % 3 = 0 then 'a' else 'b' end as cat from range(5000)",
    "models/m.yml": """
        models:
          - name: m
            columns:
              - name: x
                expectations:
                  - expect_column_psi_to_be_less_than: {threshold: 0.5}
    """,
}


def test_stats_drift_and_gate(make_project):
    root = make_project(FILES)
    assert fsql.Project(root).run().exit_code == 0
    prof = fsql.Project(root).stats("m")
    x = prof.column("x")
    assert (x.count, x.nulls, x.min, x.max) == (5000, 0, 0.0, 99.0)
    assert abs(x.mean - 49.5) < 1e-9
    df = prof.to_pandas()
    assert list(df["column"]) == ["id", "x", "cat"]
    # small drift: passes and is recorded
    (root / "models" / "m.sql").write_text(FILES["models/m.sql"].replace("% 100", "% 101"))
    assert fsql.Project(root).run().exit_code == 0
    drifts = fsql.Project(root).drift("m")
    assert {d.column for d in drifts} == {"id", "x", "cat"}
    # large shift: PSI over the threshold blocks publishing
    (root / "models" / "m.sql").write_text(FILES["models/m.sql"].replace("(range % 100)",
                                                                        "(range % 100) * 10"))
    res = fsql.Project(root).run()
    assert res.exit_code == 1
    failed = next(c for c in res.results[0].checks if not c["success"])
    assert failed["type"] == "expect_column_psi_to_be_less_than"
    assert failed["result"]["observed_value"] > 0.5
    assert [v.status for v in fsql.Project(root).versions("m")] == ["superseded", "live",
                                                                      "failed"]
    out = invoke_cli("--project-dir", str(root), "--log-format", "json", "stats", "m")
    assert json.loads(out.stdout)[1]["column"] == "x"
    out = invoke_cli("--project-dir", str(root), "drift", "m", "1", "3")
    assert out.returncode == 0 and "x" in out.stdout


def _stored(root, model):
    return query_db(root, "select version, count(*) from fsql_meta.column_stats where model = "
                          f"'{model}' group by all order by 1")


def test_builds_profile_feature_sets_and_tables_on_request(make_project):
    """Default: feature sets are profiled at build; tables are not (that would double the build
    of a project of many small intermediate tables) — `stats`/`drift` compute theirs on
    request from the immutable version, equal to what a build would have stored;
    `statistics: true` profiles a table at build, `false` turns a feature set's off."""
    sql = ("select range as user_id, timestamp '2026-01-01' + to_hours(range) as ts, "
           "(range % 7)::double as x from range(300)")
    root = make_project({
        "entities.yml": "entities:\n  - name: user\n    join_keys: [{name: user_id, type: BIGINT}]\n",
        "models/t.sql": "{{ config(materialized='table') }}\n" + sql,
        "models/t_on.sql": "{{ config(materialized='table', statistics=true) }}\n" + sql,
        "models/fs.sql": "{{ config(materialized='feature_set', entities=['user'], "
                         "timestamp='ts') }}\n" + sql,
        "models/fs_off.sql": "{{ config(materialized='feature_set', entities=['user'], "
                             "timestamp='ts', statistics=false) }}\n" + sql,
    })
    assert fsql.Project(root).run().exit_code == 0
    assert _stored(root, "t") == [] and _stored(root, "fs_off") == []
    assert _stored(root, "fs") == [(1, 3)] and _stored(root, "t_on") == [(1, 3)]
    p = fsql.Project(root)
    on_request = p.stats("t").to_dict()["columns"]
    assert on_request == p.stats("t_on").to_dict()["columns"] == p.stats("fs").to_dict()["columns"]
    assert _stored(root, "t") == []  # computed, not written by a reader
    (root / "models" / "t.sql").write_text("{{ config(materialized='table') }}\n"
                                          + sql.replace("% 7", "% 5"))
    assert fsql.Project(root).run().exit_code == 0
    drifts = {d.column: d for d in fsql.Project(root).drift("t")}
    assert drifts["x"].psi > 0 and drifts["user_id"].psi == 0


def test_drift_expectation_profiles_the_model_and_its_unprofiled_predecessor(make_project):
    files = {"models/m.sql": "{{ config(materialized='table') }}\n"
                             "select (range % 10)::double as x from range(1000)"}
    root = make_project(files)
    assert fsql.Project(root).run().exit_code == 0
    assert _stored(root, "m") == []
    (root / "models" / "m.yml").write_text(FILES["models/m.yml"])
    (root / "models" / "m.sql").write_text(files["models/m.sql"].replace("% 10", "% 10 * 10"))
    res = fsql.Project(root).run()
    assert res.exit_code == 1  # v1 was profiled now, and the shift is over the threshold
    failed = next(c for c in res.results[0].checks if not c["success"])
    assert failed["type"] == "expect_column_psi_to_be_less_than"
