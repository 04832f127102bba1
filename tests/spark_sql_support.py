"""Helpers of the Spark SQL tests: fixture files, loading DuckDB tables into Spark, comparing
results of the two engines (rows and column type families)."""

from __future__ import annotations

import datetime as dt
import decimal
import math
import re
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).parent / "spark_sql"


def read_cases(name: str) -> list[tuple[str, str, list[str]]]:
    """``(kind, title, statements)`` per case of a fixture file: a ``# title:`` (or ``# raises:``)
    line, then statements each ending with ``;``. Other ``#`` lines are comments."""
    cases: list[tuple[str, str, list[str]]] = []
    for block in re.split(r"\n\s*\n", (FIXTURES / name).read_text(encoding="utf-8")):
        lines = block.strip().splitlines()
        head = next((ln for ln in lines if re.match(r"# (title|raises):", ln)), None)
        if head is None:
            continue
        kind, title = head[2:].split(":", 1)
        body = "\n".join(ln for ln in lines if not ln.startswith("#"))
        stmts = [s.strip() for s in body.split(";\n") if s.strip()]
        cases.append((kind, title.strip(), [s.rstrip(";").strip() for s in stmts]))
    return cases


def export_parquet(con: Any, tables: dict[str, str], folder: Path) -> dict[str, str]:
    """Write DuckDB relations (``{"db.name": duckdb relation}``) to Parquet files; returns
    ``{"`db`.`name`": "parquet.`path`"}`` for :func:`on_paths` (no Spark catalog involved:
    DuckDB TIMESTAMP arrives as Spark TIMESTAMP_NTZ)."""
    out = {}
    for name, relation in tables.items():
        path = folder / (name.replace(".", "__") + ".parquet")
        con.execute(f"COPY (SELECT * FROM {relation}) TO '{path}' (FORMAT parquet)")
        db, table = name.split(".")
        out[f"`{db}`.`{table}`"] = f"parquet.`{path}`"
    return out


def on_paths(spark_sql: str, paths: dict[str, str]) -> str:
    """``spark_sql`` reading the Parquet files of ``paths`` instead of the catalog names (as
    text: parsing it again with sqlglot would change it)."""
    for name, path in paths.items():
        spark_sql = spark_sql.replace(name, path)
    return spark_sql


DUCK_FAMILIES = [
    (r"\[\]$", "list"),
    (r"^(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT)$", "int"),
    (r"^(FLOAT|DOUBLE)$", "float"),
    (r"^DECIMAL", "decimal"),
    (r"^VARCHAR$", "string"),
    (r"^BOOLEAN$", "bool"),
    (r"^DATE$", "date"),
    (r"^TIMESTAMP$", "timestamp"),
    (r"^TIMESTAMP WITH TIME ZONE$", "timestamptz"),
    (r"^STRUCT", "struct"),
]
SPARK_FAMILIES = [
    (r"^(tinyint|smallint|int|bigint)$", "int"),
    (r"^(float|double)$", "float"),
    (r"^decimal", "decimal"),
    (r"^string$", "string"),
    (r"^boolean$", "bool"),
    (r"^date$", "date"),
    (r"^timestamp_ntz$", "timestamp"),
    (r"^timestamp$", "timestamptz"),
    (r"^array<", "list"),
    (r"^struct<", "struct"),
]


def family(type_name: str, table: list[tuple[str, str]]) -> str:
    for pattern, fam in table:
        if re.search(pattern, type_name):
            return fam
    return type_name


def duck_result(con: Any, sql: str) -> tuple[list[str], list[tuple]]:
    rows = con.execute(sql).fetchall()
    return [family(str(d[1]), DUCK_FAMILIES) for d in con.description], rows


def spark_result(spark: Any, sql: str) -> tuple[list[str], list[tuple]]:
    df = spark.sql(sql)
    fams = [family(f.dataType.simpleString(), SPARK_FAMILIES) for f in df.schema.fields]
    return fams, [tuple(_plain(v) for v in r) for r in df.collect()]


def _plain(v: Any) -> Any:
    if isinstance(v, list):
        return [_plain(x) for x in v]
    if hasattr(v, "asDict"):
        return tuple(_plain(x) for x in v)
    return v


def same(a: Any, b: Any, rel: float = 1e-12) -> bool:
    """Equal values across engines: floats within ``rel`` (NaN equals NaN), lists elementwise."""
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(same(x, y, rel) for x, y in zip(a, b, strict=True))
    if isinstance(a, float) or isinstance(b, float):
        if a is None or b is None:
            return a is b
        fa, fb = float(a), float(b)
        if math.isnan(fa) or math.isnan(fb):
            return math.isnan(fa) and math.isnan(fb)
        return fa == fb or abs(fa - fb) <= rel * max(abs(fa), abs(fb))
    if isinstance(a, decimal.Decimal) and isinstance(b, decimal.Decimal):
        return a == b
    if isinstance(a, dt.datetime) and isinstance(b, dt.datetime):
        return a.replace(tzinfo=None) == b.replace(tzinfo=None)
    return type(a) is type(b) and a == b or (a is None and b is None)


def diff_rows(duck: list[tuple], spark: list[tuple], limit: int = 5) -> list[str]:
    """Human-readable differences between two row lists (empty when the same)."""
    if len(duck) != len(spark):
        return [f"row counts differ: duckdb {len(duck)}, spark {len(spark)}"]
    out = [f"row {i}: duckdb {a!r}\n        spark  {b!r}"
           for i, (a, b) in enumerate(zip(duck, spark, strict=True)) if not same(a, b)]
    return out[:limit]


def parquet_differences(con: Any, relation: str, path: str, rel: float = 1e-12) -> list[tuple]:
    """Rows where the DuckDB ``relation`` and the Parquet file Spark wrote differ, both sorted
    by all columns and paired by position (floats within ``rel``, NaN equals NaN): compared
    inside DuckDB, fast for tables too big to compare in Python. Row counts must match too."""
    cols = [(r[0], str(r[1])) for r in con.execute(f"DESCRIBE SELECT * FROM {relation}").fetchall()]
    order = ", ".join(f'"{c}"' for c, _ in cols)
    conds = []
    for c, t in cols:
        a, b = f'a."{c}"', f'b."{c}"'
        same = f"{a} IS NOT DISTINCT FROM {b}"
        if t in ("DOUBLE", "FLOAT"):
            same = (f"({same} OR isnan({a}) AND isnan({b}) OR "
                    f"abs({a} - {b}) <= {rel} * greatest(abs({a}), abs({b})))")
        conds.append(same)
    sql = (f"WITH a AS (SELECT *, row_number() OVER (ORDER BY {order}) AS __rn FROM {relation}), "
           f"b AS (SELECT *, row_number() OVER (ORDER BY {order}) AS __rn "
           f"FROM read_parquet('{path}/*.parquet')) "
           f"SELECT a.*, b.* FROM a FULL JOIN b ON a.__rn = b.__rn "
           f"WHERE a.__rn IS NULL OR b.__rn IS NULL OR NOT ({' AND '.join(conds)}) LIMIT 5")
    return con.execute(sql).fetchall()
