"""Expectations gate builds (write-audit-publish), `fsql test`, reports, export."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest
from conftest import query_db as q

import fsql
from fsql.errors import ConfigError, ErrorGroup

FILES = {
    "sources.yml": """
        sources:
          - name: raw
            tables:
              - name: events
                path: data/events.csv
                columns:
                  - name: amount
                    expectations: [not_null]
                freshness: {max_age: 100000d, column: ts}
    """,
    "data/events.csv": "id,ts,amount\n1,2026-01-01 10:00:00,5\n2,2026-01-02 10:00:00,7\n"
                       "3,2026-01-03 10:00:00,9\n",
    "models/ev.sql": "{{ config(materialized='table') }}\nselect * from {{ source('raw', 'events') }}",
    "models/ev.yml": """
        models:
          - name: ev
            columns:
              - name: id
                expectations: [not_null, unique]
              - name: amount
                expectations:
                  - expect_column_values_to_be_between: {min_value: 0, max_value: 100}
                  - expect_column_mean_to_be_between: {min_value: 100, severity: warn}
            expectations:
              - expect_table_row_count_to_be_between: {min_value: 1}
    """,
    "models/down.sql": "{{ config(materialized='table') }}\nselect count(*) as n from {{ ref('ev') }}",
}


def test_warn_reports_and_publishes(make_project):
    root = make_project(FILES)
    res = fsql.Project(root).run()
    assert res.exit_code == 0
    ev = next(r for r in res.results if r.model == "ev")
    warned = [c for c in ev.checks if not c["success"]]
    assert [c["type"] for c in warned] == ["expect_column_mean_to_be_between"]
    assert warned[0]["result"]["observed_value"] == 7.0


def test_error_expectation_blocks_publish_and_skips_dependants(make_project):
    root = make_project(FILES)
    fsql.Project(root).run()
    with open(root / "data" / "events.csv", "a") as fh:
        fh.write("3,2026-01-04 10:00:00,500\n")
    res = fsql.Project(root).run()
    status = {r.model: r for r in res.results}
    assert status["ev"].status == "failed" and res.exit_code == 1
    assert "expect_column_values_to_be_unique" in status["ev"].message
    assert status["down"].status == "skipped"
    assert q(root, "select count(*) from main.ev") == [(3,)]  # v1 stays live
    rows = q(root, "select status, checks from fsql_meta.versions where model='ev' order by 1")
    failed = json.loads(dict(rows)["failed"])
    between = next(c for c in failed if c["type"] == "expect_column_values_to_be_between")
    assert between["result"]["unexpected_count"] == 1
    assert between["result"]["partial_unexpected_list"] == [500]


def test_fsql_test_reports_junit_and_store_failures(make_project, tmp_path):
    root = make_project(FILES)
    fsql.Project(root).run()
    junit = tmp_path / "junit.xml"
    res = fsql.Project(root).test(junit_xml=junit, store_failures=True)
    assert res.exit_code == 0
    assert [m.model for m in res.models] == ["raw.events", "ev"]
    counts = res.counts()
    assert counts == {"passed": 6, "failed": 0, "warned": 1}
    cases = ET.parse(junit).getroot().iter("testcase")
    assert len(list(cases)) == 7  # one testcase per expectation, sources included
    data = json.loads((root / "target" / "run_results.json").read_text())
    assert data["command"] == "test" and data["counts"] == counts
    assert q(root, "select count(*) from fsql_meta.test_results") == [(2,)]


def test_store_failures_writes_failing_rows(make_project):
    files = dict(FILES)
    files["models/ev.yml"] = files["models/ev.yml"].replace("max_value: 100", "max_value: 6")
    root = make_project(files)
    fsql.Project(root).run()  # fails the gate: nothing live
    res = fsql.Project(root).test(version=1, store_failures=True)
    assert res.exit_code == 1
    tables = [t for (t,) in q(root, "select table_name from information_schema.tables where "
                                    "table_schema = 'fsql_failures'")]
    assert len(tables) == 1
    assert q(root, f'select id from fsql_failures."{tables[0]}" order by id') == [(2,), (3,)]


def test_invalid_kwargs_are_load_errors(make_project):
    files = dict(FILES)
    files["models/ev.yml"] = files["models/ev.yml"].replace(
        "{min_value: 0, max_value: 100}", "{min_value: 5, max_value: 1, mostly: 1.5}")
    root = make_project(files)
    with pytest.raises((ConfigError, ErrorGroup)) as info:
        fsql.Project(root).compile()
    e = info.value if isinstance(info.value, ConfigError) else info.value.errors[0]
    assert e.path == "models/ev.yml" and e.line is not None


def test_python_validate_api():
    import pandas as pd

    df = pd.DataFrame({"x": [1, 2, None, 50]})
    res = fsql.validate(df, [{"expect_column_values_to_be_between":
                              {"column": "x", "min_value": 0, "max_value": 10}}])
    assert res.success is False
    d = res.results[0].to_dict()
    assert d["result"]["unexpected_count"] == 1 and d["result"]["missing_count"] == 1
    with pytest.raises(ConfigError):
        fsql.validate(df, [{"expect_column_values_to_be_between": {"column": "x",
                                                                     "mostly": 1.5}}])


def test_project_validate_and_export_cli(make_project):
    from conftest import invoke_cli

    root = make_project(FILES)
    fsql.Project(root).run()
    res = fsql.Project(root).validate("ev", [{"expect_column_max_to_be_between":
                                              {"column": "amount", "max_value": 8}}])
    assert res.success is False
    out = invoke_cli("--project-dir", str(root), "expectations", "export")
    assert out.returncode == 0
    suite = json.loads((root / "target" / "gx" / "ev.json").read_text())
    assert suite["name"] == "ev" and len(suite["expectations"]) == 5


@pytest.mark.slow
def test_engine_gx_agrees_with_fsql(make_project):
    import great_expectations  # noqa: F401 - the gx extra; .ci/run installs it
    files = dict(FILES)
    files["models/ev.yml"] = files["models/ev.yml"].replace("max_value: 100", "max_value: 6")
    root = make_project(files)
    fsql.Project(root).run()
    ours = fsql.Project(root).test(version=1, result_format="COMPLETE")
    theirs = fsql.Project(root).test(version=1, engine="gx", result_format="COMPLETE")
    assert theirs.engine == "gx"
    mine = {c["id"]: c for m in ours.models for c in m.checks}
    gx = {c["id"]: c for m in theirs.models for c in m.checks}
    assert mine.keys() == gx.keys()
    for key, c in mine.items():
        assert c["success"] == gx[key]["success"], key
        for field in ("unexpected_count", "element_count", "observed_value"):
            if field in c["result"]:
                assert c["result"][field] == gx[key]["result"].get(field), (key, field)


def test_check_query_error_keeps_the_other_checks_answers(make_project):
    """A check whose query fails (unknown column in `where`) reports its exception; every other
    check still gets its own answer and the version publishes (the broken one only warns)."""
    files = dict(FILES)
    files["models/ev.yml"] = """
        models:
          - name: ev
            columns:
              - name: id
                expectations:
                  - not_null
                  - expect_column_values_to_not_be_null: {where: "nope > 1", severity: warn}
    """
    root = make_project(files)
    res = fsql.Project(root).run()
    ev = next(r for r in res.results if r.model == "ev")
    assert res.exit_code == 0 and ev.status == "success" and ev.version == 1
    by_type = {(c["type"], bool(c["exception"])): c for c in ev.checks}
    broken = by_type[("expect_column_values_to_not_be_null", True)]
    assert "nope" in broken["exception"] and not broken["success"]
    assert by_type[("expect_column_values_to_not_be_null", False)]["success"]
    assert q(root, "select version, status from fsql_meta.versions where model = 'ev'") == [
        (1, "live")]
    assert q(root, "select count(*) from main.ev") == [(3,)]
