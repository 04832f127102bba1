"""The sample project's SQL gives the same tables on DuckDB and on Spark.

The demo (``fsql init`` + ``fsql run``) is built on DuckDB; its raw sources and seeds are
copied to Spark as tables; every model's Spark SQL, as ``fsql --target spark compile`` writes
it (``to_spark`` of the compiled SQL), runs on a real local Spark session in DAG order, each
model written as Parquet; each model's rows (sorted by all columns, floats within 1e-12
relative; compared inside DuckDB, which reads the files Spark wrote), column names and type
families must equal DuckDB's. This is the SQL layer of the engine equivalence (the Spark
engine's own tests come on top).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
import pytest
from conftest import SPARK_TARGET, run_cli
from spark_sql_support import (
    SPARK_FAMILIES,
    duck_result,
    export_parquet,
    family,
    on_paths,
    parquet_differences,
)

import fsql
from fsql.engines.spark_sql import lint, to_spark


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Any]:
    """The sample project (with a Spark target) built on DuckDB, and its compiled manifest;
    ``fsql --target spark compile`` has written its Spark SQL to target/compiled_spark/."""
    root = tmp_path_factory.mktemp("demo") / "demo"
    fsql.init_project(root)
    with (root / "fsql_project.yml").open("a", encoding="utf-8") as f:
        f.write(SPARK_TARGET)
    project = fsql.Project(root)
    result = project.run()
    assert result.exit_code == 0, result.to_dict()
    done = run_cli("--project-dir", str(root), "--target", "spark", "compile")
    assert done.returncode == 0 and "target/compiled_spark/" in done.stdout, done.stderr
    return root, project.compile(write=False)


@pytest.fixture(scope="module")
def built_on_spark(demo: tuple[Path, Any], spark: Any,
                   tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Sources and seeds copied to Parquet, then every model built on Spark from the SQL
    ``fsql --target spark compile`` wrote, each as a Parquet table: {model: its path}."""
    root, manifest = demo
    folder = tmp_path_factory.mktemp("demo_on_spark")
    con = duckdb.connect(str(root / "warehouse.duckdb"), read_only=True)
    try:
        inputs = {f"{s.source}.{s.name}": f'"{s.source}"."{s.name}"'
                  for s in manifest.project.sources.values()}
        seeds = [n for n, m in manifest.models.items() if m.kind == "seed"]
        inputs |= {f"main.{n}": f'"main"."{n}"' for n in seeds}
        paths = export_parquet(con, inputs, folder)
    finally:
        con.close()
    built = {}
    for name in manifest.graph.order:
        m = manifest.models[name]
        if m.kind != "model" or m.is_ephemeral:
            continue
        text = (root / "target" / "compiled_spark" / m.path).read_text(encoding="utf-8")
        assert text == to_spark(m.sql, pretty=True) + "\n"
        built[name] = str(folder / f"{name}.parquet")
        spark.sql(on_paths(text, paths)).write.parquet(built[name])
        paths[f"`main`.`{name}`"] = f"parquet.`{built[name]}`"
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
        for name, path in built_on_spark.items():
            duck_types, _ = duck_result(con, f'SELECT * FROM "main"."{name}" LIMIT 0')
            duck_cols = [d[0] for d in con.description]
            frame = spark.read.parquet(path)
            spark_types = [family(f.dataType.simpleString(), SPARK_FAMILIES)
                           for f in frame.schema.fields]
            assert frame.columns == duck_cols, name
            assert spark_types == duck_types, name
            n = con.execute(f'SELECT count(*) FROM "main"."{name}"').fetchone()[0]
            assert n > 100, name  # a real table, not an accidental empty one
            diffs = parquet_differences(con, f'"main"."{name}"', path)
            assert not diffs, f"{name}: rows differ, e.g. {diffs}"
    finally:
        con.close()
