"""fsql.engines.spark_sql: golden transpilations and lint findings (tests/spark_sql/*.sql), and the
equivalence of DuckDB and Spark answers on a corpus of traps over every type (a real local
SparkSession: the session-scoped ``spark`` fixture of conftest.py)."""

from __future__ import annotations

from typing import Any

import duckdb
import pytest
from spark_sql_support import (
    FIXTURES,
    diff_rows,
    duck_result,
    export_parquet,
    on_paths,
    read_cases,
    spark_result,
)

from fsql.engines.spark_sql import Portability, lint, portable_hash_sql, to_spark

TO_SPARK = read_cases("to_spark.sql")
LINT = read_cases("lint.sql")
EQUIVALENCE = read_cases("equivalence.sql")

# k: row id; i INTEGER, b BIGINT, d DOUBLE (NaN, +-inf, -0.0, tiny), m DECIMAL, s VARCHAR,
# f BOOLEAN, dt/dt2 DATE, ts/ts2 TIMESTAMP (month/year ends, leap day, before 1970), g group
V_ROWS = (FIXTURES / "table_v.sql").read_text(encoding="utf-8")
V_TYPES = [("k", "INTEGER"), ("i", "INTEGER"), ("b", "BIGINT"), ("d", "DOUBLE"),
           ("m", "DECIMAL(10, 2)"), ("s", "VARCHAR"), ("f", "BOOLEAN"), ("dt", "DATE"),
           ("dt2", "DATE"), ("ts", "TIMESTAMP"), ("ts2", "TIMESTAMP"), ("g", "VARCHAR")]
V_SCHEMA = {"v": dict(V_TYPES)}


@pytest.fixture(scope="module")
def engines(spark: Any, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """(DuckDB connection, Spark session, paths): both hold table ``v`` (Spark: a Parquet file,
    ``main.v`` by :func:`on_paths`, and a temporary view ``v``)."""
    con = duckdb.connect()
    cols = ", ".join(f"cast(c{n} AS {t}) AS {name}" for n, (name, t) in enumerate(V_TYPES))
    names = ", ".join(f"c{n}" for n in range(len(V_TYPES)))
    con.execute(f"CREATE TABLE v AS SELECT {cols} FROM (VALUES {V_ROWS}) AS t({names})")
    paths = export_parquet(con, {"main.v": "v"}, tmp_path_factory.mktemp("spark_sql"))
    spark.sql(f"CREATE OR REPLACE TEMPORARY VIEW v AS SELECT * FROM {paths['`main`.`v`']}")
    yield con, spark, paths
    con.close()


# -- golden cases ------------------------------------------------------------------------


@pytest.mark.parametrize("case", TO_SPARK, ids=[c[1] for c in TO_SPARK])
def test_to_spark_golden(case: tuple[str, str, list[str]]) -> None:
    _, _, (duck_sql, spark_sql) = case
    assert to_spark(duck_sql) == spark_sql


@pytest.mark.parametrize("case", LINT, ids=[c[1] for c in LINT])
def test_lint_golden(case: tuple[str, str, list[str]]) -> None:
    _, _, (duck_sql, *expected) = case
    got = [f"{p.line}:{p.col} {p.construct}" for p in lint(duck_sql)]
    want = [e.removeprefix("-- ").strip() for e in "\n".join(expected).splitlines()]
    assert got == [w for w in want if w]


def test_lint_findings_carry_message_and_hint() -> None:
    sql = ("select\n  u,\n  count(distinct m) over (partition by u) as n\n"
           "from t asof join s on t.u = s.u")
    found = lint(sql)
    assert [(p.line, p.col, p.construct) for p in found] == [
        (3, 3, "count(distinct ..) over"), (4, 8, "ASOF JOIN")]
    assert all(isinstance(p, Portability) and p.message and p.hint for p in found)
    lines = sql.splitlines()
    assert lines[2][2:].startswith("count") and lines[3][7:].startswith("asof")


def test_lint_accepts_what_to_spark_fixes() -> None:
    for _, _, stmts in EQUIVALENCE:
        for s in stmts:
            assert lint(s, names=False) == [], s


def test_to_spark_caches_by_text() -> None:
    sql = "select date_diff('day', a, b) / 7 from t"
    assert to_spark(sql) is to_spark(sql)  # the same string object: served from the cache


# -- equivalence on a real Spark session ------------------------------------------------


@pytest.mark.parametrize("case", EQUIVALENCE, ids=[c[1] for c in EQUIVALENCE])
def test_same_answer_on_duckdb_and_spark(engines: Any, case: tuple[str, str, list[str]]) -> None:
    con, spark, paths = engines
    kind, _, (sql,) = case
    translated = on_paths(to_spark(sql, schema=V_SCHEMA), paths)
    if kind == "raises":
        with pytest.raises(duckdb.Error):
            con.execute(sql).fetchall()
        with pytest.raises(Exception, match="BY_ZERO"):
            spark.sql(translated).collect()
        return
    duck_types, duck_rows = duck_result(con, sql)
    spark_types, spark_rows = spark_result(spark, translated)
    assert spark_types == duck_types, translated
    diffs = diff_rows(duck_rows, spark_rows)
    assert not diffs, "\n".join([translated, *diffs])


def test_portable_hash_is_the_same_on_both_engines(engines: Any) -> None:
    con, spark, _ = engines
    keys = ["k", "i", "b", "m", "s", "f", "dt", "ts"]
    for cols in (keys[:1], ["s"], ["dt", "ts"], keys):
        duck_sql, spark_sql = (portable_hash_sql(cols, d) for d in ("duckdb", "spark"))
        duck = con.execute(f"SELECT k, {duck_sql} FROM v ORDER BY k").fetchall()
        sp = spark.sql(f"SELECT k, {spark_sql} FROM v ORDER BY k").collect()
        assert [tuple(r) for r in sp] == duck
        assert len({h for _, h in duck}) == len(duck) and all(0 <= h < 2**60 for _, h in duck)


def test_portable_hash_rejects_other_dialects() -> None:
    with pytest.raises(ValueError, match="dialect"):
        portable_hash_sql(["x"], "postgres")


def test_untranslated_traps_really_differ(engines: Any) -> None:
    """The fixes are needed: plain sqlglot output gives other answers (or fails) on Spark."""
    import sqlglot

    con, spark, _ = engines
    for sql in ("SELECT date_diff('day', ts, ts2) FROM v WHERE k = 1",
                "SELECT log(100)", "SELECT cast(3.5::DOUBLE AS INTEGER)",
                "SELECT list(k ORDER BY k DESC) FROM v"):
        plain = sqlglot.transpile(sql, read="duckdb", write="spark")[0]
        assert spark_result(spark, plain)[1] != duck_result(con, sql)[1], sql
        assert spark_result(spark, to_spark(sql))[1] == duck_result(con, sql)[1], sql


def test_the_spark_engine_keeps_what_to_spark_writes() -> None:
    """The engine parses to_spark's SQL again to map names onto its storage: that must not
    change it (sqlglot writes a parsed PERCENTILE_DISC .. WITHIN GROUP as PERCENTILE_APPROX)."""
    from fsql.engines.spark_names import transpile

    for _, _, (sql, *_) in TO_SPARK + EQUIVALENCE:
        assert transpile(sql, lambda db, table: None) == to_spark(sql), sql
