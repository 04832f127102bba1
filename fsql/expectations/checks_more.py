"""The rest of GX 1.x's core vocabulary: JSON / date parsing, LIKE patterns, outliers,
column types, value pairs, multicolumn equality and cross-table comparisons."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from functools import cmp_to_key
from typing import Any

from .checks_agg import column_stats, relation_of
from .checks_map import Check, Gen, as_text, run_map, value_set_members
from .sql import CheckError, Column, MapCheck, literal

__all__ = ["MORE_CHECKS"]


def _text_only(c: Check, col: Column, why: str) -> Gen:
    """GX maps a Python function over the values and raises on a non-string one: a
    non-text column with values is an error, an empty one passes vacuously."""
    k = c.ex.agg(f"count(*) FILTER (WHERE {col.present})")
    yield
    if int(c.ex.values[k]):
        raise CheckError(f"Values passed to {c.type} must be of type string ({why}).")
    return (yield from run_map(c, MapCheck(col.present, "FALSE", [(col.q, col.null_kind)])))


def _udf_check(c: Check, fn: str, *args: str) -> Gen:
    """A map check decided by a Python UDF (``fn(args..., value)``) on text columns."""
    col = c.col()
    if not col.is_str:
        if c.type.endswith("json_parseable"):  # json.loads(non-str) fails: unexpected
            m = MapCheck(col.present, "TRUE", [(col.q, col.null_kind)])
            return (yield from run_map(c, m))
        return (yield from _text_only(c, col, f"{col.name} is {col.type}"))
    c.ex.udf(fn)
    call = f"{fn}({', '.join([*args, col.q])})"
    return (yield from run_map(c, MapCheck(col.present, f"NOT {call}", [(col.q, "none")])))


def _json(c: Check) -> Gen:
    return (yield from _udf_check(c, "fsql_json_parseable"))


def _json_schema(c: Check) -> Gen:
    schema = json.dumps(c.kw["json_schema"], sort_keys=True)
    return (yield from _udf_check(c, "fsql_json_schema", literal(schema)))


def _dateutil(c: Check) -> Gen:
    return (yield from _udf_check(c, "fsql_dateutil_parseable"))


def _strftime(c: Check) -> Gen:
    return (yield from _udf_check(c, "fsql_strptime", literal(c.kw["strftime_format"])))


def _like_sql(text: str, pattern: str, escape: str | None) -> str:
    esc = f" ESCAPE {literal(escape)}" if escape else ""
    return f"({text} LIKE {literal(pattern)}{esc})"


def _like(c: Check) -> Gen:
    """GX implements LIKE only for SQL backends: standard (case-sensitive) SQL LIKE."""
    col = c.col()
    text, esc = as_text(col), c.kw.get("escape")
    patterns = c.kw.get("like_pattern_list") or [c.kw["like_pattern"]]
    matches = [_like_sql(text, p, esc) for p in patterns]
    if "not_match" in c.type:
        unexpected = "(" + " OR ".join(matches) + ")"
    else:
        joiner = " AND " if c.kw.get("match_on", "any") == "all" else " OR "
        unexpected = f"NOT ({joiner.join(matches)})"
    m = MapCheck(col.present, f"coalesce({unexpected}, FALSE)", [(col.q, col.null_kind)])
    return (yield from run_map(c, m))


def _finite(v: Any) -> float | None:
    """GX's _to_float: a statistic that is missing or not finite gives no window."""
    if v is None:
        return None
    f = float(v)
    return f if f - f == 0 else None


def _outliers(c: Check) -> Gen:
    col = c.col()
    mult = float(c.kw.get("multiplier", 1.5))
    if c.kw.get("method", "iqr") == "iqr":
        st = yield from column_stats(c, col, (), [0.25, 0.75], "linear")
        q1, q3 = (_finite(v) for v in st.get("quantiles") or [None, None])
        unexpected = "FALSE"
        if q1 is not None and q3 is not None:
            lo, hi = q1 - mult * (q3 - q1), q3 + mult * (q3 - q1)
            unexpected = f"NOT ({col.q} >= {literal(lo)} AND {col.q} <= {literal(hi)})"
    else:
        st = yield from column_stats(c, col, ("mean", "std"))
        mean, std = _finite(st.get("mean")), _finite(st.get("std"))
        unexpected = "FALSE"
        if mean is not None and std is not None:
            t = mult * std
            ok = (
                f"{col.q} = {literal(mean)}"
                if t <= 0
                else f"abs({col.q} - {literal(mean)}) < {literal(t)}"
            )
            unexpected = f"NOT coalesce({ok}, FALSE)"
    return (yield from run_map(c, MapCheck(col.present, unexpected, [(col.q, col.null_kind)])))


def _pair_member(col: Column, v: Any) -> str:
    if v is None or (isinstance(v, float) and v != v):
        return col.missing
    members = value_set_members(col, [v])
    return f"{col.q} = {literal(members[0])}" if members else "FALSE"


def _pair_in_set(c: Check) -> Gen:
    from .checks_map import pair_domain

    a, b = c.col("column_A"), c.col("column_B")
    pairs = [f"({_pair_member(a, x)} AND {_pair_member(b, y)})" for x, y in c.kw["value_pairs_set"]]
    unexpected = f"NOT coalesce({' OR '.join(pairs) or 'FALSE'}, FALSE)"
    values = [(a.q, a.null_kind), (b.q, b.null_kind)]
    return (yield from run_map(c, MapCheck(pair_domain(c, a, b), unexpected, values, shape="pair")))


def _multi_equal(c: Check) -> Gen:
    from .checks_map import multi_domain

    cols = [c.ex.col(n) for n in c.kw["column_list"]]
    ref = cols[0]
    same = [_equal_or_both_missing(x, ref) for x in cols[1:]]
    m = MapCheck(
        multi_domain(c, cols),
        "NOT (" + " AND ".join(same) + ")",
        [(x.q, x.null_kind) for x in cols],
        shape="dict",
        names=[x.name for x in cols],
    )
    return (yield from run_map(c, m))


def _equal_or_both_missing(x: Column, ref: Column) -> str:
    equal = f"coalesce({x.norm} = {ref.norm}, FALSE)" if x.family == ref.family else "FALSE"
    return f"({equal} OR ({x.missing} AND {ref.missing}))"


# --- column type -------------------------------------------------------------------------------

_FRAME_DTYPES = {
    "BIGINT": "int64", "INTEGER": "int32", "SMALLINT": "int16", "TINYINT": "int8",
    "UBIGINT": "uint64", "UINTEGER": "uint32", "USMALLINT": "uint16", "UTINYINT": "uint8",
    "DOUBLE": "float64", "FLOAT": "float32", "DECIMAL": "float64", "HUGEINT": "float64",
    "BOOLEAN": "bool", "VARCHAR": "str", "TIMESTAMP": "datetime64[us]", "DATE": "datetime64[us]",
    "TIMESTAMP WITH TIME ZONE": "datetime64[us, UTC]", "INTERVAL": "timedelta64[us]",
}  # fmt: skip


def frame_dtype(col: Column, dtypes: dict[str, str] | None) -> str:
    """The pandas dtype of the column as GX sees it: the validated frame's own dtype when
    fsql was handed a frame, else the dtype DuckDB gives the column in a DataFrame."""
    if dtypes and col.name in dtypes:
        return dtypes[col.name]
    return _FRAME_DTYPES.get(col.base, _FRAME_DTYPES.get(col.type.upper(), "object"))


def _pandas_type_ok(observed: str, expected: str) -> bool:
    """GX's ``_validate_pandas`` on the dtype named ``observed``."""
    import numpy as np
    import pandas as pd
    from pandas.api.types import pandas_dtype

    try:
        parsed = pandas_dtype(expected)
    except Exception as e:  # GX: any parser failure is an unrecognized type
        raise CheckError(f"Unrecognized pandas type: {expected} ({e})") from None
    actual = pandas_dtype(observed)
    if isinstance(parsed, np.dtype) and parsed.kind in "mM":
        if np.datetime_data(parsed)[0] == "generic":
            return isinstance(actual, np.dtype) and actual.kind == parsed.kind
    if isinstance(actual, pd.StringDtype) and isinstance(parsed, pd.StringDtype):
        return str(actual) == str(parsed)
    return bool(actual == parsed or actual == expected)


def _type_to_be(c: Check) -> Gen:
    col = c.col()
    expected = c.kw["type_"]
    observed = frame_dtype(col, c.env.get("dtypes"))
    yield
    ok = expected.casefold() == col.type.casefold() or _pandas_type_ok(observed, expected)
    return ok, ({} if c.rf == "BOOLEAN_ONLY" else {"observed_value": observed})


# --- other tables and queries --------------------------------------------------------------------


def _other_table(c: Check) -> Gen:
    """The other table is read whole: GX drops the row condition for it."""
    other = relation_of(c.kw["other_table_name"])
    k, ko = c.ex.agg("count(*)"), c.ex.agg(f"(SELECT count(*) FROM {other})")
    yield
    n, m = int(c.ex.values[k]), int(c.ex.values[ko])
    return n == m, ({} if c.rf == "BOOLEAN_ONLY" else {"observed_value": {"self": n, "other": m}})


MAX_RESULT_RECORDS = 200  # GX fetches at most this many rows of each query


def _rows(c: Check, sql: str) -> list[dict[str, Any]]:
    cur = c.ex.execute(f"SELECT * FROM ({sql}) LIMIT {MAX_RESULT_RECORDS}")
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]


def _query_comparison(c: Check) -> Gen:
    yield
    base = _rows(c, c.kw["base_query"].replace("{batch}", c.ex.src).strip().rstrip(";"))
    comp = _rows(c, c.kw["comparison_query"].replace("{batch}", c.ex.src).strip().rstrip(";"))
    fb, fc = Counter(tuple(r.values()) for r in base), Counter(tuple(r.values()) for r in comp)
    total = max(len(base), len(comp))
    matched = sum(min(fb.get(k, 0), n) for k, n in fc.items())
    unexpected, pct = (0, 0.0) if total == 0 else (total - matched, (1 - matched / total) * 100)
    success = (100 - pct) >= float(c.kw.get("mostly", 1)) * 100
    result: dict[str, Any] = {"unexpected_count": unexpected, "unexpected_percent": pct}
    if c.rf == "COMPLETE":
        result["details"] = {
            "missing_rows": _row_dicts(comp, fc - fb),
            "unexpected_rows": _row_dicts(base, fb - fc),
        }
    return success, ({} if c.rf == "BOOLEAN_ONLY" else result)


def _row_dicts(rows: list[dict[str, Any]], counts: Counter[tuple[Any, ...]]) -> list[dict]:
    names = list(rows[0]) if rows else []
    ordered = sorted(counts.elements(), key=cmp_to_key(_null_safe_compare))
    return [dict(zip(names, r, strict=False)) for r in ordered]


def _null_safe_compare(a: tuple[Any, ...], b: tuple[Any, ...]) -> int:
    """GX's ordering of row tuples: None sorts before anything else."""
    for x, y in zip(a, b, strict=False):
        if x == y:
            continue
        if x is None or y is None:
            return -1 if x is None else 1
        return -1 if x < y else 1
    return 0


MORE_CHECKS: dict[str, Callable[[Check], Any]] = {
    "expect_column_values_to_be_json_parseable": _json,
    "expect_column_values_to_match_json_schema": _json_schema,
    "expect_column_values_to_be_dateutil_parseable": _dateutil,
    "expect_column_values_to_match_strftime_format": _strftime,
    "expect_column_values_to_match_like_pattern": _like,
    "expect_column_values_to_not_match_like_pattern": _like,
    "expect_column_values_to_match_like_pattern_list": _like,
    "expect_column_values_to_not_match_like_pattern_list": _like,
    "expect_column_values_to_not_be_outliers": _outliers,
    "expect_column_type_to_be": _type_to_be,
    "expect_column_pair_values_to_be_in_set": _pair_in_set,
    "expect_multicolumn_values_to_be_equal": _multi_equal,
    "expect_table_row_count_to_equal_other_table": _other_table,
    "expect_query_results_to_match_comparison": _query_comparison,
}
