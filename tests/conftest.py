"""Shared fixtures: ``make_project`` builds a project folder from a dict of files."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[1]
ORACLES = REPO.parent / "shared" / "oracles"

BASE_FILES = {
    "fsql_project.yml": "name: test_project\nprofile:\n  threads: 2\n",
}


@pytest.hookimpl(tryfirst=True)  # before `-m "not slow"` deselects
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests on the local Spark session (a JVM) are slow: the inner loop skips them too."""
    for item in items:
        if item.get_closest_marker("spark") or "spark" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.slow)


def load_pit_compare() -> Any:
    """The PIT oracle corpus's ``pit_compare`` module, or None where the corpus is absent."""
    import importlib.util

    path = ORACLES / "pit_compare.py"
    if not path.is_file():
        return None
    spec = importlib.util.spec_from_file_location("pit_compare", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def write_files(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(textwrap.dedent(text).lstrip("\n") if text else "", encoding="utf-8")


@pytest.fixture
def make_project(tmp_path: Path) -> Callable[..., Path]:
    """``make_project({"models/a.sql": "select 1 as x"})`` -> project root (a tmp folder).

    ``fsql_project.yml`` gets a default unless given; pass ``base=False`` to write only the
    given files.
    """
    counter = iter(range(1000))

    def make(files: dict[str, str], *, base: bool = True, name: str | None = None) -> Path:
        root = tmp_path / (name or f"proj{next(counter)}")
        root.mkdir(parents=True, exist_ok=True)
        write_files(root, {**(BASE_FILES if base else {}), **files})
        return root

    return make


def query_db(root: Path, sql: str) -> list[tuple]:
    """Rows of ``sql`` on a project's warehouse, opened read-only and closed again."""
    import duckdb

    con = duckdb.connect(str(root / "warehouse.duckdb"), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


@pytest.fixture
def con():  # type: ignore[no-untyped-def]
    """An in-memory DuckDB connection per test."""
    import duckdb

    c = duckdb.connect()
    yield c
    c.close()


def load_df(con, name: str, df) -> None:  # type: ignore[no-untyped-def]
    """Store a pandas frame as table ``name``."""
    con.register("_df", df)
    con.execute(f"create table {name} as select * from _df")
    con.unregister("_df")


def run_cli(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None,
            timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run the real ``fsql`` CLI in a subprocess (as a user would)."""
    full_env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "200", **(env or {})}
    return subprocess.run([sys.executable, "-m", "fsql", *args], cwd=cwd, env=full_env,
                          capture_output=True, text=True, timeout=timeout)


def invoke_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run the CLI in this process: ``fsql.cli.main`` (what ``python -m fsql`` runs) inside
    click's ``CliRunner`` isolation (stdin/stdout/stderr and the environment swapped). Same
    arguments, exit code and output as :func:`run_cli` without starting an interpreter; use
    run_cli where a real process matters (kill -9, servers, a fresh interpreter's imports)."""
    from click.testing import CliRunner

    from fsql.cli import main

    with CliRunner().isolation(env={"NO_COLOR": "1", "COLUMNS": "200", **(env or {})}) as io:
        code = 0
        try:
            main(list(args))
        except SystemExit as e:
            if isinstance(e.code, str):
                print(e.code, file=sys.stderr)
            code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
        sys.stdout.flush()
        sys.stderr.flush()
        out, err = io[0].getvalue(), io[1].getvalue()
    return subprocess.CompletedProcess(list(args), code, out.decode(), err.decode())


@pytest.fixture
def cli() -> Callable[..., subprocess.CompletedProcess[str]]:
    return run_cli


SPARK_TARGET = """
targets:
  spark:
    engine: spark
    spark:
      master: local[2]
      conf: {spark.sql.shuffle.partitions: 4, spark.default.parallelism: 4}
"""


@pytest.fixture(scope="session")
def spark():  # type: ignore[no-untyped-def]
    """One local Spark session for the whole test run (it takes seconds to start); fsql's
    Spark engine reuses it (``fsql.engines.spark.session``). Never skipped: .ci/run installs a
    Java runtime and pyspark."""
    from fsql.engines.spark import session
    from fsql.engines.spark_sql import SESSION_CONF
    from fsql.spec import SparkSpec

    conf = {"spark.sql.shuffle.partitions": "4", "spark.default.parallelism": "4",
            **SESSION_CONF}
    return session(SparkSpec(conf=tuple(sorted(conf.items()))))
