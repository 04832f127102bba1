"""fsql's DuckDB SQL as Spark SQL with its canonical relation names mapped onto a Spark
engine's storage (versions and sources read by path). Pure: sqlglot only.

>>> transpile('select count(*) from "fsql_versions"."m__v3" where x = ?',
...           lambda db, t: ("parquet", f"/w/{t}") if db == "fsql_versions" else None)
'SELECT COUNT(*) FROM parquet.`/w/m__v3` WHERE x = ?'
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import Any

import sqlglot
from sqlglot import exp

__all__ = ["spark_sql", "transpile"]

# (db, table) -> the (db, table) Spark reads instead, or None to leave it
Resolver = Callable[[str, str], "tuple[str, str] | None"]


@lru_cache(maxsize=4096)
def spark_sql(sql: str) -> str:
    """DuckDB SQL -> Spark SQL, names as written (cached: generated SQL repeats)."""
    from .spark_sql import to_spark  # the semantic-trap fixes

    if "isfinite" in sql.lower():  # type-blind here: a form that holds for every type
        tree = sqlglot.parse_one(sql, read="duckdb")
        for fn in reversed(list(tree.find_all(exp.Anonymous, bfs=False))):
            if str(fn.this).upper() == "ISFINITE" and len(fn.expressions) == 1:
                fn.replace(sqlglot.parse_one(_ISFINITE.format(fn.expressions[0].sql("duckdb")),
                                             read="duckdb"))
        sql = tree.sql("duckdb")
    return to_spark(sql)


# Spark has no infinite temporals; a float's text names its non-finite values
_ISFINITE = ("(CASE WHEN {0} IS NULL THEN NULL ELSE CAST({0} AS VARCHAR) NOT IN "
             "('NaN', 'Infinity', '-Infinity') END)")


# DuckDB functions sqlglot passes through unchanged -> Spark SQL of the same answer
_FUNCTIONS = {
    "EPOCH_US": "UNIX_MICROS(CAST({0} AS TIMESTAMP_LTZ))",  # sessions run in UTC
    # DuckDB's histogram(x): a map value -> count of the non-NULL values (bucket numbers here)
    "HISTOGRAM": "map_from_entries(transform(array_distinct(collect_list({0})), __v -> "
                 "struct(__v, size(filter(collect_list({0}), __y -> __y = __v)))))",
    "EPOCH_MS": "UNIX_MILLIS(CAST({0} AS TIMESTAMP_LTZ))",
}


def transpile(sql: str, resolve: Resolver) -> str:
    """``sql`` for Spark, every ``db.table`` that ``resolve`` knows replaced by its answer."""
    tree = sqlglot.parse_one(spark_sql(sql), read="spark")
    for win in tree.find_all(exp.Window):
        # DuckDB numbers rows in scan order; Spark wants an order: the scan order's id
        if isinstance(win.this, exp.RowNumber) and not win.args.get("order"):
            win.set("order", exp.Order(expressions=[exp.Ordered(
                this=exp.Anonymous(this="monotonically_increasing_id"))]))
    for trunc in list(tree.find_all(exp.TimestampTrunc)):
        # DuckDB's date_trunc gives a (naive) TIMESTAMP; Spark's a TIMESTAMP_LTZ
        if not isinstance(trunc.parent, exp.Cast):
            trunc.replace(exp.Cast(this=trunc.copy(),
                                   to=exp.DataType.build("TIMESTAMP_NTZ", dialect="spark")))
    for fn in reversed(list(tree.find_all(exp.Anonymous, bfs=False))):  # innermost first
        fix = _FUNCTIONS.get(str(fn.this).upper())
        if fix is not None:
            fn.replace(sqlglot.parse_one(fix.format(*[a.sql("spark") for a in fn.expressions]),
                                         read="spark"))
    for pct in list(tree.find_all(exp.PercentileDisc, exp.PercentileCont)):
        _within_group(pct)
    for iv in list(tree.find_all(exp.Interval)):
        _computed_interval(iv)
    ctes = {c.alias_or_name for c in tree.find_all(exp.CTE)}
    for table in list(tree.find_all(exp.Table)):
        if not table.db or (not table.db and table.name in ctes):
            continue
        target = resolve(table.db, table.name)
        if target is None:
            continue
        new = exp.Table(this=exp.Identifier(this=target[1], quoted=True),
                        db=exp.Identifier(this=target[0], quoted=False))
        alias = table.args.get("alias")
        if alias is not None:
            new.set("alias", alias)
        table.replace(new)
    return tree.sql(dialect="spark")


def _within_group(pct: Any) -> None:
    """DuckDB's ``quantile_disc(x, q)`` / ``(x, [q1, q2])`` is Spark's ``percentile_disc(q)
    WITHIN GROUP (ORDER BY x)``, one per fraction (an array of them for a list); a FILTER
    clause is kept on each."""
    name = "percentile_disc" if isinstance(pct, exp.PercentileDisc) else "percentile_cont"
    if isinstance(pct.parent, exp.WithinGroup):  # to_spark's form, parsed again: keep it exact
        pct.replace(exp.Anonymous(this=name, expressions=[pct.this.copy()]))
        return
    if pct.args.get("expression") is None:
        return
    col, frac = pct.this, pct.args["expression"]
    node = pct.parent if isinstance(pct.parent, exp.Filter) else pct
    where = node.args.get("expression") if node is not pct else None
    fracs = frac.expressions if isinstance(frac, exp.Array) else [frac]
    # (an anonymous call: sqlglot's Spark writer turns the typed one into percentile_approx)

    def one(q: exp.Expression) -> exp.Expression:
        agg: exp.Expression = exp.WithinGroup(
            this=exp.Anonymous(this=name, expressions=[q.copy()]),
            expression=exp.Order(expressions=[exp.Ordered(this=col.copy())]))
        return exp.Filter(this=agg, expression=where.copy()) if where is not None else agg

    parts = [one(q) for q in fracs]
    node.replace(exp.Array(expressions=parts) if isinstance(frac, exp.Array) else parts[0])


_DT = {"DAY": 0, "HOUR": 1, "MINUTE": 2, "SECOND": 3}


def _computed_interval(iv: Any) -> None:
    """``INTERVAL (expr) DAY`` (an interval of a computed length) has no Spark syntax:
    ``make_dt_interval`` / ``make_ym_interval`` say the same."""
    unit = str(iv.args.get("unit") and iv.args["unit"].name or "").upper().rstrip("S")
    if isinstance(iv.this, exp.Literal) or not unit:
        return
    n = iv.this.unnest() if isinstance(iv.this, exp.Paren) else iv.this
    if unit in _DT:
        args = ["0"] * 4
        args[_DT[unit]] = n.sql("spark")
        iv.replace(sqlglot.parse_one(f"make_dt_interval({', '.join(args)})", read="spark"))
    elif unit in ("MONTH", "YEAR"):
        args = [n.sql("spark"), "0"] if unit == "YEAR" else ["0", n.sql("spark")]
        iv.replace(sqlglot.parse_one(f"make_ym_interval({', '.join(args)})", read="spark"))
