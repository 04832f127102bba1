"""The same project on DuckDB and on Spark gives the same answers (issue 13's acceptance test).

The sample project (``fsql init``) gets a ``spark`` target and is built once per engine from
the same files; every test compares what a user reads through the public API. One local
Spark session serves the whole test run (the ``spark`` fixture).
"""

from __future__ import annotations

import math
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from conftest import SPARK_TARGET

import fsql

# one shared build of the sample per engine: its tests may take longer than the default
pytestmark = [pytest.mark.spark, pytest.mark.timeout(1200)]


@pytest.fixture(scope="module")
def both(spark, tmp_path_factory) -> tuple[Path, Any, Any]:  # type: ignore[no-untyped-def]
    """The sample project built on DuckDB and on Spark: (root, duck result, spark result)."""
    root = tmp_path_factory.mktemp("sample") / "demo"
    fsql.init_project(root)
    with open(root / "fsql_project.yml", "a", encoding="utf-8") as f:
        f.write(SPARK_TARGET)
    duck = fsql.Project(root).run()
    sprk = fsql.Project(root, target="spark").run()
    return root, duck, sprk


def test_both_engines_build_every_model(both):
    _, duck, sprk = both
    _ok(duck)
    _ok(sprk)
    assert [r.model for r in duck.results] == [r.model for r in sprk.results]
    for a, b in zip(duck.results, sprk.results, strict=True):  # (DuckDB views count none)
        assert a.rows is None or a.rows == b.rows, a.model


def test_every_relation_is_equal(both):
    root, duck, _ = both
    d, s = fsql.Project(root), fsql.Project(root, target="spark")
    for r in duck.results:
        a, b = d.read(r.model), s.read(r.model)
        assert list(a.columns) == list(b.columns), r.model
        # the types as each engine recorded them (DuckDB's spelling on both)
        ta, tb = (p.versions(r.model)[-1].columns for p in (d, s))
        assert [_sql_family(t) for _, t in ta] == [_sql_family(t) for _, t in tb], (ta, tb)
        assert _rows(a) == _rows(b) or _close(_rows(a), _rows(b)), r.model


def test_expectation_results_are_equal(both):
    _, duck, sprk = both
    for a, b in zip(duck.results, sprk.results, strict=True):
        ca = {c["id"]: c for c in a.checks}
        cb = {c["id"]: c for c in b.checks}
        assert sorted(ca) == sorted(cb), a.model
        for k in ca:
            assert ca[k]["success"] == cb[k]["success"], (a.model, k)
            assert _close(_result(ca[k]), _result(cb[k])), (a.model, k, ca[k], cb[k])


def test_statistics_are_equal(both):
    root, duck, _ = both
    d, s = fsql.Project(root), fsql.Project(root, target="spark")
    for r in duck.results:
        if r.model not in _feature_sets(root):
            continue
        a, b = d.stats(r.model).to_dict(), s.stats(r.model).to_dict()
        assert a["row_count"] == b["row_count"], r.model
        for ca, cb in zip(a["columns"], b["columns"], strict=True):
            ca.pop("duration_s", None), cb.pop("duration_s", None)
            assert _close(ca, cb), (r.model, ca["column"], ca, cb)


def test_training_sets_are_equal_row_for_row(both):
    root, _, _ = both
    features = ["user_spend_7d:*", "user_spend_30d:*", "user_recency:*", "merchant_risk:*"]
    with fsql.FeatureStore(root) as fs:
        a = fs.get_training_set("training_entities", features).to_pandas()
    with fsql.FeatureStore(root, target="spark") as fs:
        b = fs.get_training_set("training_entities", features).to_pandas()
    assert list(a.columns) == list(b.columns)
    assert len(a) == len(b) > 1000
    # each engine keeps its input's row order; the model's rows come in storage order
    key = ["txn_id", "event_timestamp"]
    a, b = (f.sort_values(key, ignore_index=True) for f in (a, b))
    ra, rb = _rows(a, sort=False), _rows(b, sort=False)
    bad = [(i, c, x[j], y[j]) for i, (x, y) in enumerate(zip(ra, rb, strict=True))
           for j, c in enumerate(a.columns) if not _close(x[j], y[j])]
    assert not bad, (len(bad), bad[:5])


def test_online_values_are_equal(both):
    root, _, _ = both
    as_of = "2026-10-31T00:00:00"
    rows = [{"user_id": u} for u in range(1, 60)]
    feats = ["user_spend_7d:*", "user_spend_30d:*"]
    got = []
    for target in (None, "spark"):
        with fsql.FeatureStore(root, target=target) as fs:
            fs.materialize(as_of=as_of, full=True)
            got.append(fs.get_online_features(feats, rows, now=as_of).to_dict())
    assert got[0] == got[1] or _close(got[0], got[1])
    assert any(v is not None for v in got[1]["spend_7d"])


def test_the_docs_site_shows_the_spark_versions(both, tmp_path):
    root, _, sprk = both
    fsql.Project(root, target="spark").docs_generate(tmp_path / "site")
    pages = {p.name for p in (tmp_path / "site").rglob("*.html")}
    assert "index.html" in pages and any("user_spend_7d" in p for p in pages)
    page = (tmp_path / "site" / "m" / "user_spend_7d.html").read_text(encoding="utf-8")
    assert 'id="statistics"' in page and "distinct <b>" in page  # statistics of a Spark build


def test_a_noop_run_on_spark_starts_no_spark(both):
    root, _, _ = both
    p = fsql.Project(root, target="spark")
    res = p.run()
    assert res.exit_code == 0 and {r.status for r in res.results} == {"unchanged"}
    assert p._engine is None or not p._engine.started


# -- helpers ----------------------------------------------------------------------------------
def _ok(res: Any) -> None:
    assert res.exit_code == 0, [(r.model, r.status, r.message) for r in res.results
                                if r.status not in ("success", "unchanged")]


def _feature_sets(root: Path) -> set[str]:
    return {n for n, m in fsql.Project(root).compile(write=False).models.items()
            if m.materialized == "feature_set"}


def _sql_family(t: str) -> str:
    t = t.upper()
    for fam, names in (("int", ("INT", "BIGINT", "SMALLINT", "TINYINT", "HUGEINT")),
                       ("float", ("DOUBLE", "FLOAT", "REAL", "DECIMAL")),
                       ("time", ("TIMESTAMP", "DATE")), ("text", ("VARCHAR",)),
                       ("bool", ("BOOLEAN",))):
        if t.startswith(names):
            return fam
    return t


def _family(dtype: Any) -> str:
    kind = getattr(dtype, "kind", "O")
    return {"i": "int", "u": "int", "f": "float", "b": "bool", "M": "time", "m": "delta"}.get(
        kind, "object")


def _rows(frame: Any, sort: bool = True) -> list[tuple[Any, ...]]:
    rows = [tuple(_plain(v) for v in r) for r in frame.itertuples(index=False)]
    return sorted(rows, key=lambda r: tuple((v is None, str(type(v)), v) for v in r)) \
        if sort else rows


def _plain(v: Any) -> Any:
    import pandas as pd

    if v is None or v is pd.NaT or v is pd.NA or (isinstance(v, float) and math.isnan(v)):
        return None
    if hasattr(v, "to_pydatetime"):
        return v.to_pydatetime().replace(tzinfo=None)
    if isinstance(v, Decimal):
        return float(v)
    if isinstance(v, datetime):
        return v.replace(tzinfo=None)
    if isinstance(v, date):
        return v
    if type(v).__module__ == "numpy":
        return v.item()
    return v


def _result(check: dict[str, Any]) -> dict[str, Any]:
    keep = ("observed_value", "element_count", "missing_count", "unexpected_count",
            "unexpected_percent", "partial_unexpected_list")
    res = check.get("result") or {}
    return {k: res.get(k) for k in keep if k in res}


def _close(a: Any, b: Any) -> bool:
    """Equal, floats within 1e-12 relative (sums add up in another order on Spark)."""
    if isinstance(a, float) and isinstance(b, float):
        return a == b or math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-12) or (
            math.isnan(a) and math.isnan(b))
    if isinstance(a, int | float) and isinstance(b, int | float) and not isinstance(a, bool):
        return math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-12)
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_close(a[k], b[k]) for k in a)
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return len(a) == len(b) and all(_close(x, y) for x, y in zip(a, b, strict=True))
    return bool(_plain(a) == _plain(b))


SMALL = {
    "fsql_project.yml": "name: small\nprofile:\n  threads: 2\n" + SPARK_TARGET,
    "models/a.sql": "{{ config(materialized='table') }}\nselect id, cast(x as double) as x from "
                    "(values {% for i in range(var('n', 5)) %}({{ i }}, {{ i * 2.5 }})"
                    "{{ ',' if not loop.last }}{% endfor %}) as t(id, x)",
    "models/a.yml": "models:\n  - name: a\n    columns:\n      - name: x\n"
                    "        expectations: [{expect_column_values_to_be_between: "
                    "{min_value: 0, max_value: 15}}]\n",
}


def test_versions_rollback_diff_gc_on_spark(spark, make_project):
    root = make_project(SMALL, base=False)
    p = fsql.Project(root, target="spark")
    _ok(p.run())
    p2 = fsql.Project(root, target="spark", vars={"n": 7})
    _ok(p2.run())
    assert [v.version for v in p2.versions("a")] == [1, 2]
    assert len(p2.read("a")) == 7
    d = p2.diff("a", 1, 2)
    assert (d.rows_a, d.rows_b) == (5, 7)
    assert p2.rollback("a", 1) == 2
    assert len(fsql.Project(root, target="spark").read("a")) == 5
    cols, rows = fsql.Project(root, target="spark").show("a", limit=3)
    assert cols == ["id", "x"] and len(rows) == 3
    _ok(fsql.Project(root, target="spark", vars={"n": 6}).run())  # v3, a third version
    gone = fsql.Project(root, target="spark").gc(keep=1)
    assert gone.removed  # the oldest version's table directory is removed
    versions = root / "spark-warehouse" / "small" / "versions"
    for v in gone.removed:
        assert not (versions / v.replace(" v", "__v")).exists()
    assert len(fsql.Project(root, target="spark").read("a")) == 6


def test_a_failed_check_keeps_the_live_version_on_spark(spark, make_project):
    root = make_project(SMALL, base=False)
    _ok(fsql.Project(root, target="spark").run())
    bad = fsql.Project(root, target="spark", vars={"n": 100}).run()
    assert bad.exit_code == 1 and bad.results[0].status == "failed"
    assert len(fsql.Project(root, target="spark").read("a")) == 5  # v1 stays live


def test_a_spark_sql_error_names_the_model_and_the_compile_command(spark, make_project):
    root = make_project({**SMALL, "models/b.sql": "select no_such_col from {{ ref('a') }}"},
                        base=False)
    res = fsql.Project(root, target="spark").run()
    b = [r for r in res.results if r.model == "b"][0]
    assert b.status == "error"
    text = b.error.format()
    assert "models/b.sql" in text and "no_such_col" in text
    assert "fsql --target spark compile" in text


CHAIN = {
    **SMALL,
    "models/b.sql": "{{ config(materialized='table') }}\nselect id, x * 2 as y from {{ ref('a') }}",
    "models/c.sql": "{{ config(materialized='table') }}\nselect count(*) as n, sum(y) as s "
                    "from {{ ref('b') }}",
}


def test_kill_9_during_a_spark_build_leaves_every_live_version_whole(spark, make_project):
    """A real ``kill -9`` of a ``fsql run --target spark`` process (and its JVM) while it
    writes a new version: every model still reads its last published version, and the next
    run cleans up and converges."""
    import os
    import signal
    import subprocess
    import sys
    import time

    root = make_project(CHAIN, base=False)
    _ok(fsql.Project(root, target="spark").run())
    before = {m: _rows(fsql.Project(root, target="spark").read(m)) for m in "abc"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "fsql", "--project-dir", str(root), "--target", "spark", "run",
         "--vars", "{n: 6}"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True)
    versions = root / "spark-warehouse" / "small" / "versions"
    deadline = time.monotonic() + 240
    while not any(p.name.startswith("b__v2") for p in versions.iterdir()):
        assert proc.poll() is None, "the run ended before it could be killed"
        assert time.monotonic() < deadline, "no second version appeared"
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)  # python and its JVM, mid-build of b
    proc.wait()
    after = fsql.Project(root, target="spark")
    new = {"a": [(i, i * 2.5) for i in range(6)], "b": [(i, i * 5.0) for i in range(6)],
           "c": [(6, 75.0)]}
    for m in "abc":  # each model reads a whole version: the old one or the finished new one
        assert _rows(after.read(m)) in (before[m], new[m]), m
    assert [r.status for r in after.versions("b")][-1] in ("building", "live")
    res = fsql.Project(root, target="spark", vars={"n": 6}).run()
    _ok(res)
    assert "b v2" in res.cleaned or any(v.status == "abandoned"
                                        for v in after.versions("b"))
    assert not (versions / "b__v2").exists()  # the unfinished table is gone
    assert _rows(fsql.Project(root, target="spark").read("c"))[0][0] == 6


def test_fsql_test_runs_the_expectations_on_spark(spark, make_project):
    root = make_project(SMALL, base=False)
    _ok(fsql.Project(root, target="spark").run())
    run = fsql.Project(root, target="spark").test()
    duck = (fsql.Project(root).run(), fsql.Project(root).test())[1]
    assert [c["success"] for m in run.models for c in m.checks] == [True]
    assert _close([_result(c) for m in run.models for c in m.checks],
                  [_result(c) for m in duck.models for c in m.checks])


def test_a_model_written_in_spark_sql_runs_on_both_engines(spark, make_project):
    root = make_project({
        **SMALL,
        "models/s.sql": "{{ config(materialized='table', dialect='spark') }}\n"
                        "select id, nvl2(x, 'has x', 'none') as label, "
                        "date_add(date'2024-01-01', id) as d from {{ ref('a') }}",
    }, base=False)
    _ok(fsql.Project(root).run())
    _ok(fsql.Project(root, target="spark").run())
    a, b = fsql.Project(root).read("s"), fsql.Project(root, target="spark").read("s")
    assert _rows(a) == _rows(b) and len(a) == 5


def test_a_table_format_without_its_jars_is_a_clear_error(spark, make_project):
    files = dict(SMALL)
    files["fsql_project.yml"] = files["fsql_project.yml"].replace(
        "master: local[2]", "master: local[2]\n      table_format: delta")
    root = make_project(files, base=False)
    with pytest.raises(fsql.ConfigError) as e:
        fsql.Project(root, target="spark").run()
    text = e.value.format()
    assert "table_format delta needs its jars" in text and "spark.jars.packages" in text


def test_no_java_is_a_clear_error_exit_2(make_project, tmp_path):
    """A Spark target on a machine without Java: an fsql error with the fix, exit code 2."""
    from conftest import run_cli

    root = make_project(SMALL, base=False)
    # spark-submit runs $JAVA_HOME/bin/java when JAVA_HOME is set: here, a missing one
    env = {"JAVA_HOME": str(tmp_path / "no-java")}
    res = run_cli("--project-dir", str(root), "--target", "spark", "run", env=env, timeout=120)
    assert res.returncode == 2, res.stdout + res.stderr
    assert "cannot start Spark" in res.stderr and "Java" in res.stderr


def test_a_second_version_of_a_feature_set_computes_drift_on_spark(spark, make_project):
    """Statistics of the previous version live in the state store, not in Spark."""
    root = make_project({
        **SMALL,
        "entities.yml": "entities:\n  - name: thing\n    join_keys: [{name: id, type: BIGINT}]\n",
        "models/f.sql": "{{ config(materialized='feature_set', entities=['thing'], "
                        "timestamp='ts', ttl='30d') }}\nselect cast(id as bigint) as id, "
                        "timestamp '2026-01-01 00:00:00' as ts, x from {{ ref('a') }}",
    }, base=False)
    _ok(fsql.Project(root, target="spark").run())
    _ok(fsql.Project(root, target="spark", vars={"n": 6}).run())
    s, d = fsql.Project(root, target="spark"), fsql.Project(root, target="spark")
    assert [v.version for v in s.versions("f")] == [1, 2]
    assert d.drift("f")  # drift of v2 vs v1, from the stored statistics
