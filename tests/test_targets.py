"""``targets:`` in fsql_project.yml: ``--target NAME`` / FSQL_TARGET / ``Project(target=)``."""

from __future__ import annotations

import pytest
from conftest import invoke_cli

import fsql
from fsql.errors import ConfigError

PROJECT = """\
name: t
profile:
  database: dev.duckdb
  threads: 2
targets:
  prod:
    database: prod.duckdb
  spark:
    engine: spark
    spark:
      master: local[1]
      conf: {spark.sql.shuffle.partitions: 2, spark.sql.ansi.enabled: true}
"""
FILES = {"fsql_project.yml": PROJECT, "models/m.sql": "select 1 as x"}


def test_a_target_replaces_the_profile_keys_it_sets(make_project):
    root = make_project(FILES, base=False)
    dev, prod = fsql.Project(root), fsql.Project(root, target="prod")
    assert dev.database == root / "dev.duckdb" and prod.database == root / "prod.duckdb"
    assert prod.profile.threads == 2 and prod.profile.engine == "duckdb"
    spark = fsql.Project(root, target="spark").profile
    assert spark.engine == "spark" and spark.target == "spark"
    assert spark.database == "spark_state.duckdb"  # never the duckdb target's state
    assert spark.spark is not None and spark.spark.master == "local[1]"
    assert dict(spark.spark.conf) == {"spark.sql.shuffle.partitions": "2",
                                      "spark.sql.ansi.enabled": "true"}


def test_run_with_target_builds_into_that_database(make_project):
    root = make_project(FILES, base=False)
    res = invoke_cli("--project-dir", str(root), "--target", "prod", "run")
    assert res.returncode == 0, res.stdout + res.stderr
    assert (root / "prod.duckdb").exists() and not (root / "dev.duckdb").exists()
    assert query_db_at(root / "prod.duckdb", "select x from main.m") == [(1,)]
    res = invoke_cli("--project-dir", str(root), "run", env={"FSQL_TARGET": "prod"})
    assert res.returncode == 0 and "unchanged" in res.stdout.lower() + res.stderr.lower()


def query_db_at(path, sql):  # type: ignore[no-untyped-def]
    import duckdb

    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def test_unknown_target_is_a_clear_error(make_project):
    root = make_project(FILES, base=False)
    with pytest.raises(ConfigError) as e:
        fsql.Project(root, target="prd").run()
    text = e.value.format()
    assert "unknown target 'prd'" in text and "fsql_project.yml" in text
    assert "prod" in text and "did you mean" in text.lower()
    res = invoke_cli("--project-dir", str(root), "--target", "prd", "run")
    assert res.returncode == 2 and "unknown target 'prd'" in res.stderr + res.stdout


def test_a_bad_engine_name_is_a_load_error_with_its_line(make_project):
    root = make_project({"fsql_project.yml": "name: t\nprofile:\n  engine: sparkk\n",
                         "models/m.sql": "select 1 as x"}, base=False)
    with pytest.raises(ConfigError) as e:
        fsql.Project(root).compile()
    assert "fsql_project.yml:3" in e.value.format()


def test_target_after_the_subcommand_as_dbt_users_type_it(make_project):
    root = make_project(FILES, base=False)
    res = invoke_cli("--project-dir", str(root), "run", "--target", "prod")
    assert res.returncode == 0, res.stdout + res.stderr
    assert (root / "prod.duckdb").exists() and not (root / "dev.duckdb").exists()
