"""The sample project's SQL gives the same tables on DuckDB and on Spark.

The demo (``fsql init`` + ``fsql run``) is built on DuckDB; its raw sources and seeds are
copied to Spark as tables; every model's compiled SQL, transpiled with ``to_spark``, is run on
a real local Spark session in DAG order as a plain table; each model's rows (sorted by all
columns, floats within 1e-12 relative), column names and type families must equal DuckDB's.
This is the SQL layer of the engine equivalence (the Spark engine's own tests come on top).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
import pytest
from spark_sql_support import diff_rows, duck_result, load_into_spark, sort_key, spark_result

import fsql
from fsql.engines.spark_sql import lint, to_spark


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Any]:
    """The sample project built on DuckDB, and its compiled manifest."""
    root = tmp_path_factory.mktemp("demo") / "demo"
    fsql.init_project(root)
    project = fsql.Project(root)
    result = project.run()
    assert result.exit_code == 0, result.to_dict()
    return root, project.compile(write=False)


@pytest.fixture(scope="module")
def built_on_spark(demo: tuple[Path, Any], spark: Any,
                   tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Sources and seeds copied to Spark, then every model built there: {model: its Spark SQL}."""
    root, manifest = demo
    con = duckdb.connect(str(root / "warehouse.duckdb"), read_only=True)
    try:
        inputs = {f"{s.source}.{s.name}": f'"{s.source}"."{s.name}"'
                  for s in manifest.project.sources.values()}
        seeds = [n for n, m in manifest.models.items() if m.kind == "seed"]
        inputs |= {f"main.{n}": f'"main"."{n}"' for n in seeds}
        load_into_spark(con, spark, inputs, tmp_path_factory.mktemp("demo_inputs"))
    finally:
        con.close()
    built = {}
    for name in manifest.graph.order:
        m = manifest.models[name]
        if m.kind != "model" or m.is_ephemeral:
            continue
        built[name] = to_spark(m.sql)
        spark.sql(f"DROP TABLE IF EXISTS main.{name}")
        spark.sql(f"CREATE TABLE main.{name} AS {built[name]}")
    return built


def test_every_model_is_portable(demo: tuple[Path, Any]) -> None:
    _, manifest = demo
    findings = {n: lint(m.sql) for n, m in manifest.models.items() if m.kind == "model"}
    assert findings and not any(findings.values()), findings


def test_every_model_gives_the_same_table_on_spark(demo: tuple[Path, Any], spark: Any,
                                                   built_on_spark: dict[str, str]) -> None:
    root, manifest = demo
    assert set(built_on_spark) == {n for n, m in manifest.models.items()
                                   if m.kind == "model" and not m.is_ephemeral}
    con = duckdb.connect(str(root / "warehouse.duckdb"), read_only=True)
    try:
        for name in built_on_spark:
            sql = f'SELECT * FROM "main"."{name}"'
            duck_types, duck_rows = duck_result(con, sql)
            duck_cols = [d[0] for d in con.description]
            spark_types, spark_rows = spark_result(spark, f"SELECT * FROM main.{name}")
            assert spark.table(f"main.{name}").columns == duck_cols, name
            assert spark_types == duck_types, name
            assert len(duck_rows) > 100, name  # a real table, not an accidental empty one
            diffs = diff_rows(sorted(duck_rows, key=sort_key), sorted(spark_rows, key=sort_key))
            assert not diffs, f"{name}:\n" + "\n".join(diffs)
    finally:
        con.close()
