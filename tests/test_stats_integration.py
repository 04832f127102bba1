"""Statistics and drift are computed per build, stored per version, and drift gates publish."""

from __future__ import annotations

import json

import fsql
from conftest import run_cli

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
    out = run_cli("--project-dir", str(root), "--log-format", "json", "stats", "m")
    assert json.loads(out.stdout)[1]["column"] == "x"
    out = run_cli("--project-dir", str(root), "drift", "m", "1", "3")
    assert out.returncode == 0 and "x" in out.stdout
