"""SQL selecting the failing rows of a row-level expectation (``fsql test --store-failures``).

Aggregate expectations (mean, row count, ...) have no failing rows: ``None``.

>>> from fsql.expectations import parse_expectation
>>> failing_rows_sql(parse_expectation("not_null", column="x"), "t")
'select * from t where "x" is null'
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["failing_rows_sql"]


def _q(name: str) -> str:
    return '"' + str(name).replace('"', '""') + '"'


def _lit(v: Any) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int | float):
        return repr(v)
    return "'" + str(v).replace("'", "''") + "'"


def _between(k: dict[str, Any], expr: str) -> str:
    parts = []
    lo, hi = k.get("min_value"), k.get("max_value")
    if lo is not None:
        parts.append(f"{expr} {'<=' if k.get('strict_min') else '<'} {_lit(lo)}")
    if hi is not None:
        parts.append(f"{expr} {'>=' if k.get('strict_max') else '>'} {_lit(hi)}")
    return " or ".join(parts) or "false"


def _in(k: dict[str, Any], c: str, negate: bool) -> str:
    values = ", ".join(_lit(v) for v in k.get("value_set") or []) or "null"
    return f"{c} {'not in' if negate else 'in'} ({values})"


def _dups(rel: str, cols: list[str]) -> str:
    keys = ", ".join(_q(c) for c in cols)
    return f"({keys}) in (select ({keys}) from {rel} group by all having count(*) > 1)"


_PREDICATES: dict[str, Callable[[dict[str, Any], str, str], str]] = {
    "expect_column_values_to_not_be_null": lambda k, c, r: f"{c} is null",
    "expect_column_values_to_be_null": lambda k, c, r: f"{c} is not null",
    "expect_column_values_to_be_unique": lambda k, c, r: _dups(r, [k["column"]]),
    "expect_column_values_to_be_between": lambda k, c, r: _between(k, c),
    "expect_column_value_lengths_to_be_between": lambda k, c, r: _between(k, f"length({c})"),
    "expect_column_value_lengths_to_equal":
        lambda k, c, r: f"length({c}) <> {_lit(k.get('value'))}",
    "expect_column_values_to_be_in_set": lambda k, c, r: _in(k, c, True),
    "expect_column_values_to_not_be_in_set": lambda k, c, r: _in(k, c, False),
    "expect_column_values_to_match_regex":
        lambda k, c, r: f"not regexp_matches({c}::varchar, {_lit(k.get('regex'))})",
    "expect_column_values_to_not_match_regex":
        lambda k, c, r: f"regexp_matches({c}::varchar, {_lit(k.get('regex'))})",
    "expect_compound_columns_to_be_unique": lambda k, c, r: _dups(r, list(k["column_list"])),
    "expect_column_pair_values_to_be_equal":
        lambda k, c, r: f"{_q(k['column_A'])} is distinct from {_q(k['column_B'])}",
    "expect_column_pair_values_a_to_be_greater_than_b":
        lambda k, c, r: f"not ({_q(k['column_A'])} {'>=' if k.get('or_equal') else '>'} "
                        f"{_q(k['column_B'])})",
}


def failing_rows_sql(spec: Any, relation: str) -> str | None:
    """``select * from relation where <row fails>``, or None for aggregate expectations."""
    k = dict(spec.kwargs)
    if spec.type == "expect_sql_to_return_no_rows":
        return str(k["sql"]).replace("{{ this }}", relation).replace("{this}", relation)
    pred = _PREDICATES.get(spec.type)
    if pred is None:
        return None
    col = _q(k["column"]) if "column" in k else ""
    conds = [f"({spec.where})"] if spec.where else []
    if col and "null" not in spec.type:
        conds.append(f"{col} is not null")  # GX map expectations ignore nulls
    conds.append(f"({pred(k, col, relation)})" if conds else pred(k, col, relation))
    return f"select * from {relation} where " + " and ".join(conds)
