"""Map (row-wise) expectations: compile to SQL predicates, count fused, sample failures."""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

from fsql.engines.duckdb import quote_ident

from .frames import number_key
from .results import format_map_result, gx_key
from .sql import RN, CheckError, Column, Executor, MapCheck, literal

__all__ = [
    "Check",
    "run_map",
    "MAP_CHECKS",
    "value_set_members",
    "dtype_name",
    "pair_domain",
    "multi_domain",
]

Outcome = tuple[bool, dict[str, Any]]
Gen = Generator[None, None, Outcome]


class Check:
    """Per-expectation compile context (executor, kwargs with GX defaults, result format)."""

    def __init__(
        self, ex: Executor, type_: str, kwargs: dict[str, Any], rf: str, env: dict[str, Any]
    ):
        self.ex = ex
        self.type = type_
        self.kw = kwargs
        self.rf = rf
        self.env = env

    def col(self, key: str = "column") -> Column:
        return self.ex.col(self.kw[key])


def _success_ratio(considered: int, unexpected: int, mostly: float) -> bool:
    ratio = (float(considered) - float(unexpected)) / float(considered)
    return ratio >= mostly


def run_map(c: Check, m: MapCheck) -> Gen:
    """Count (fused), decide with ``mostly`` like GX, and fetch samples only on failure."""
    ex = c.ex
    k_n = ex.agg("count(*)")
    k_nn = ex.agg(f"count(*) FILTER (WHERE {m.domain})")
    k_u = ex.agg(
        m.count_sql if m.count_sql else f"count(*) FILTER (WHERE ({m.domain}) AND ({m.unexpected}))"
    )
    yield
    n, nn, u = int(ex.values[k_n]), int(ex.values[k_nn]), int(ex.values[k_u] or 0)
    mostly = float(c.kw.get("mostly", 1))
    if not m.report_missing:
        success = True if n == 0 else _success_ratio(n, u, mostly)
    else:
        success = True if (n == 0 or nn == 0) else _success_ratio(nn, u, mostly)
    values: list[Any] = []
    keys: list[Any] = []
    index: list[int] = []
    if u and c.rf != "BOOLEAN_ONLY":
        limit = None if c.rf == "COMPLETE" else 20
        for row in _originals(c, m, ex.fetch_map_samples(m, limit)):
            values.append(_shape(m, row))
            keys.append(_key(m, row))
            index.append(int(row[-1]))
    return success, format_map_result(
        c.rf,
        success=success,
        element_count=n,
        nonnull_count=nn if m.report_missing else None,
        unexpected_count=u,
        unexpected_list=values,
        unexpected_keys=keys,
        unexpected_index_list=index if c.rf in ("SUMMARY", "COMPLETE") else None,
    )


def _originals(c: Check, m: MapCheck, rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """Rows with the values of mixed frame columns replaced by the frame's Python objects."""
    originals = c.env.get("originals") or {}
    slots = [(i, originals[sql]) for i, (sql, _) in enumerate(m.values) if sql in originals]
    if not slots:
        return rows
    out = []
    for row in rows:
        vals = list(row)
        for i, objs in slots:
            vals[i] = objs[int(row[-1])]
        out.append(tuple(vals))
    return out


def _py(v: Any) -> Any:
    from decimal import Decimal

    return float(v) if isinstance(v, Decimal) else v


def _shape(m: MapCheck, row: tuple[Any, ...]) -> Any:
    vals = [_py(v) for v in row[: len(m.values)]]
    if m.shape == "scalar":
        return vals[0]
    if m.shape == "pair":
        return vals
    return dict(zip(m.names, vals, strict=True))


def _key(m: MapCheck, row: tuple[Any, ...]) -> Any:
    ks = [gx_key(_py(v), kind) for v, (_, kind) in zip(row, m.values, strict=False)]
    return ks[0] if m.shape == "scalar" else tuple(ks)


# --- value sets with pandas' isin / Python set semantics ------------------------------------


def value_set_members(
    col: Column, value_set: list[Any], coerce_temporal: bool = False
) -> list[Any]:
    """Members of ``value_set`` that can equal a value of ``col`` (as pandas isin would)."""
    import datetime as dt

    out: list[Any] = []
    for v in value_set:
        if v is None or (isinstance(v, float) and v != v):
            continue
        if col.mixed and isinstance(v, (int, float)):
            out.append(number_key(v))  # 1, 1.0 and True share a key, as in Python
        elif col.is_numeric and isinstance(v, (int, float)):
            out.append(int(v) if isinstance(v, bool) else v)
        elif col.is_bool and (isinstance(v, bool) or (isinstance(v, (int, float)) and v in (0, 1))):
            out.append(bool(v))
        elif col.is_str and isinstance(v, str):
            out.append(v)
        elif col.is_temporal and isinstance(v, (dt.date, dt.datetime)):
            out.extend(_same_awareness(col, v))
        elif col.is_temporal and coerce_temporal and isinstance(v, str):
            try:
                out.extend(_same_awareness(col, dt.datetime.fromisoformat(v)))
            except ValueError:
                continue
    return out


def _same_awareness(col: Column, v: Any) -> list[Any]:
    """pandas never matches a naive value with a tz-aware column (or the reverse)."""
    aware = getattr(v, "tzinfo", None) is not None
    return [v] if aware == col.is_aware or not hasattr(v, "tzinfo") else []


def in_list(expr: str, members: list[Any]) -> str:
    if not members:
        return "FALSE"
    return f"({expr} IN ({', '.join(literal(v) for v in members)}))"


def _col_check(c: Check, unexpected: str, col: Column | None = None, **kw: Any) -> MapCheck:
    col = col or c.col()
    return MapCheck(col.present, unexpected, [(col.q, col.null_kind)], **kw)


def _not_null(c: Check) -> Gen:
    col = c.col()
    m = MapCheck("TRUE", col.missing, [(col.q, col.null_kind)], report_missing=False)
    return (yield from run_map(c, m))


def _null(c: Check) -> Gen:
    col = c.col()
    m = MapCheck("TRUE", col.present, [(col.q, col.null_kind)], report_missing=False)
    return (yield from run_map(c, m))


def _unique(c: Check) -> Gen:
    col = c.col()
    count = (
        f"(SELECT coalesce(sum(__c), 0) FROM (SELECT count(*) AS __c FROM {c.ex.src} "
        f"WHERE {col.present} GROUP BY {col.q} HAVING count(*) > 1))"
    )
    m = _col_check(
        c, "__c > 1", col, windows={"__c": f"count(*) OVER (PARTITION BY {col.q})"}, count_sql=count
    )
    return (yield from run_map(c, m))


def _bound_sql(col: Column, v: Any) -> str:
    import datetime as dt

    if isinstance(v, (dt.date, dt.datetime)):
        if not col.is_temporal:
            raise CheckError(
                f"cannot compare {col.type} column '{col.name}' with a date/time bound"
            )
        if not isinstance(v, dt.datetime) or (v.tzinfo is not None) != col.is_aware:
            # pandas refuses: datetime64 vs date, and tz-naive vs tz-aware
            raise CheckError(
                f"Invalid comparison between {col.type} column '{col.name}' and {v!r}"
            )
        return literal(v)
    if not (col.is_numeric or col.is_bool or col.is_void):
        raise CheckError(
            "Column values, min_value, and max_value must either be None or of the "
            f"same type ({col.type} column '{col.name}' vs numeric bound)"
        )
    return literal(float(v))


def _between(c: Check) -> Gen:
    col = c.col()
    x = f"{col.q}::INTEGER" if col.is_bool else col.q
    conds = []
    lo, hi = c.kw.get("min_value"), c.kw.get("max_value")
    try:
        if lo is not None:
            conds.append(f"{x} {'>' if c.kw.get('strict_min') else '>='} {_bound_sql(col, lo)}")
        if hi is not None:
            conds.append(f"{x} {'<' if c.kw.get('strict_max') else '<='} {_bound_sql(col, hi)}")
    except CheckError as e:
        return (yield from raise_if_values(c, col, e))
    m = _col_check(c, f"NOT coalesce({' AND '.join(conds)}, FALSE)", col)
    return (yield from run_map(c, m))


def raise_if_values(c: Check, col: Column, error: CheckError) -> Gen:
    """pandas raises on comparing mismatched types only when there is a value to compare:
    a column with no values passes vacuously."""
    k = c.ex.agg(f"count(*) FILTER (WHERE {col.present})")
    yield
    if int(c.ex.values[k]):
        raise error
    return (yield from run_map(c, _col_check(c, "FALSE", col)))


def _in_set(c: Check) -> Gen:
    col = c.col()
    positive = c.type.endswith("_to_be_in_set")
    if not positive and col.is_temporal:
        _dateutil_parse_all(c.kw["value_set"])
    # GX's not_in_set parses strings as dates for datetime columns (pandas isin)
    member = in_list(col.q, value_set_members(col, c.kw["value_set"], not positive))
    unexpected = f"NOT {member}" if positive else member
    return (yield from run_map(c, _col_check(c, unexpected, col)))


def _dateutil_parse_all(value_set: list[Any]) -> None:
    """GX's ``parse_value_set``: every string must parse with dateutil, or it raises."""
    from dateutil.parser import parse

    for v in value_set:
        if isinstance(v, str):
            try:
                parse(v)
            except (ValueError, OverflowError) as e:
                raise CheckError(str(e)) from None


def as_text(col: Column) -> str:
    """The value as pandas ``astype(str)`` spells it."""
    if col.text:
        return quote_ident((col.ident or col.name) + "__fsql_text")
    if col.is_str:
        return col.q
    if col.is_bool:
        return f"(CASE WHEN {col.q} THEN 'True' ELSE 'False' END)"
    return f"CAST({col.q} AS VARCHAR)"


def _regex(c: Check) -> Gen:
    col = c.col()
    text = as_text(col)
    if c.type.endswith("_regex_list"):
        matches = [c.ex.regex(text, rx) for rx in c.kw["regex_list"]]
        if "not_match" in c.type:
            unexpected = "(" + " OR ".join(matches) + ")"
        else:
            joiner = " AND " if c.kw.get("match_on", "any") == "all" else " OR "
            unexpected = f"NOT ({joiner.join(matches)})"
    else:
        match = c.ex.regex(text, c.kw.get("regex", "(?s).*"))
        unexpected = match if "not_match" in c.type else f"NOT {match}"
    return (yield from run_map(c, _col_check(c, unexpected, col)))


def _monotone(c: Check) -> Gen:
    col = c.col()
    if not (col.is_numeric or col.is_temporal or col.is_bool or col.is_void):
        # pandas diff of text: the string dtypes always fail; object fails once there
        # are two values to subtract
        k = c.ex.agg(f"count(*) FILTER (WHERE {col.present})")
        yield
        if int(c.ex.values[k]) > 1 or (c.env.get("dtypes") or {}).get(col.name) != "object":
            raise CheckError(f"cannot order-check a {col.type} column (pandas diff is undefined)")
        return (yield from run_map(c, _col_check(c, "FALSE", col)))
    inc = "increasing" in c.type
    op = (">" if inc else "<") if c.kw.get("strictly") else (">=" if inc else "<=")
    obj = (c.env.get("dtypes") or {}).get(col.name) == "object"
    if col.is_bool and obj:  # Python bools in an object column subtract as ints (-1, 0, 1)
        ok = f"(CAST({col.q} AS INTEGER) {op} CAST(__p AS INTEGER))"
    elif col.is_bool or col.is_void:
        ok = _bool_order(col, inc, bool(c.kw.get("strictly")))
    elif col.is_float:
        d = f"({col.q} - __p)"
        ok = f"({d} {op} 0 OR isnan({d}))"
    else:
        ok = f"({col.q} {op} __p)"
    unexpected = f"(__p IS NOT NULL AND NOT {ok})"
    count = (
        f"(SELECT count(*) FROM (SELECT {col.q}, lag({col.q}) OVER (ORDER BY {RN}) AS __p "
        f"FROM {c.ex.rn_src} WHERE {col.present}) WHERE {unexpected})"
    )
    m = _col_check(
        c, unexpected, col, windows={"__p": f"lag({col.q}) OVER ({{order}})"}, count_sql=count
    )
    return (yield from run_map(c, m))


def _bool_order(col: Column, increasing: bool, strictly: bool) -> str:
    """pandas diffs booleans as "changed" (True / False): ``>= 0`` always holds, ``> 0``
    where the value changed, ``<= 0`` where it did not, ``< 0`` never."""
    changed = f"({col.q} IS DISTINCT FROM __p)"
    if increasing:
        return changed if strictly else "TRUE"
    return "FALSE" if strictly else f"(NOT {changed})"


def _lengths(c: Check) -> Gen:
    col = c.col()
    ln = f"length({as_text(col)})"  # GX: column.astype(str).str.len() for any dtype
    if c.type.endswith("_to_equal"):
        ok = f"{ln} = {literal(float(c.kw['value']))}"
    else:
        conds = []
        lo, hi = c.kw.get("min_value"), c.kw.get("max_value")
        if lo is not None:
            conds.append(f"{ln} {'>' if c.kw.get('strict_min') else '>='} {int(lo)}")
        if hi is not None:
            conds.append(f"{ln} {'<' if c.kw.get('strict_max') else '<='} {int(hi)}")
        ok = " AND ".join(conds)
    return (yield from run_map(c, _col_check(c, f"NOT coalesce({ok}, FALSE)", col)))


_DTYPES = {
    "BIGINT": "int64",
    "INTEGER": "int32",
    "SMALLINT": "int16",
    "TINYINT": "int8",
    "UBIGINT": "uint64",
    "UINTEGER": "uint32",
    "USMALLINT": "uint16",
    "UTINYINT": "uint8",
    "HUGEINT": "float64",
    "DOUBLE": "float64",
    "FLOAT": "float32",
    "REAL": "float32",
    "DECIMAL": "float64",
    "BOOLEAN": "bool",
    "VARCHAR": "object_",
    "DATE": "object_",
    "TIMESTAMP": "datetime64",
    "TIMESTAMP WITH TIME ZONE": "datetime64",
}
_ALIASES = {
    "int64": {"int64", "int", "BIGINT", "INT8", "LONG", "Int64"},
    "int32": {"int32", "INTEGER", "INT", "INT4", "Int32"},
    "int16": {"int16", "SMALLINT", "INT2"},
    "int8": {"int8", "TINYINT", "INT1"},
    "float64": {"float64", "float", "double", "DOUBLE", "FLOAT8", "Float64", "float_"},
    "float32": {"float32", "FLOAT", "REAL", "FLOAT4", "single"},
    "bool": {"bool", "bool_", "BOOLEAN", "BOOL", "boolean"},
    "object_": {"object", "object_", "O", "VARCHAR", "TEXT", "STRING", "DATE"},
    "datetime64": {
        "datetime64",
        "datetime64[ns]",
        "datetime64[us]",
        "TIMESTAMP",
        "DATETIME",
        "Timestamp",
        "datetime",
    },
}
_OBJECT_NAMES = {"object", "object_", "O"}
_STR_NAMES = {"str", "string", "str_", "VARCHAR", "TEXT", "STRING", "StringDtype"}


def dtype_name(col: Column) -> str:
    """The pandas dtype (``.type.__name__``) GX would report for this DuckDB column."""
    return _DTYPES.get(col.base, _DTYPES.get(col.type.upper(), "object_"))


def _type_ok(col: Column, names: list[str]) -> bool:
    observed = dtype_name(col)
    accepted = _ALIASES.get(observed, {observed})
    return any(n in accepted or n.upper() == col.base for n in names)


def _of_type(c: Check) -> Gen:
    col = c.col()
    names = [c.kw["type_"]] if c.type.endswith("_of_type") else c.kw.get("type_list")
    observed = dtype_name(col)
    if col.is_str:
        # pandas holds strings as object (GX reports "object_") or, pandas >= 3, as the
        # "str" dtype: a VARCHAR column matches both and reports the name that was asked for.
        asked = set(names or [])
        observed = "object_" if asked & _OBJECT_NAMES else "str"
        if names is not None and not asked & _OBJECT_NAMES:
            # GX checks the values of an object column one by one (a map expectation);
            # fsql reports that result together with the dtype.
            ok = bool(asked & _STR_NAMES)
            success, result = yield from run_map(c, _col_check(c, "FALSE" if ok else "TRUE", col))
            if c.rf != "BOOLEAN_ONLY":
                result = {"observed_value": observed, **result}
            return success, result
        success = names is None or bool(asked & (_OBJECT_NAMES | _STR_NAMES))
    else:
        success = names is None or _type_ok(col, names)
    yield
    return success, ({} if c.rf == "BOOLEAN_ONLY" else {"observed_value": observed})


def _z_scores(c: Check) -> Gen:
    from .checks_agg import column_stats

    col = c.col()
    if not (col.is_numeric or col.is_bool or col.is_void):
        raise CheckError("Cannot complete Z-score calculations on a non-numerical column.")
    stats = yield from column_stats(c, col, ("mean", "std"))
    mean, std = stats["mean"], stats["std"]
    t = float(c.kw["threshold"])
    if std is None or std == 0 or mean is None:
        unexpected = "FALSE"
    else:
        x = f"{col.q}::INTEGER" if col.is_bool else col.q
        z = f"(({x} - {literal(float(mean))}) / {literal(float(std))})"
        ok = f"abs({z}) < {literal(abs(t))}" if c.kw["double_sided"] else f"{z} < {literal(t)}"
        unexpected = f"NOT coalesce({ok} OR isnan({z}), FALSE)"
    return (yield from run_map(c, _col_check(c, unexpected, col)))


def pair_domain(c: Check, a: Column, b: Column) -> str:
    mode = c.kw.get("ignore_row_if", "both_values_are_missing")
    if mode == "both_values_are_missing":
        return f"NOT ({a.missing} AND {b.missing})"
    if mode == "either_value_is_missing":
        return f"({a.present} AND {b.present})"
    return "TRUE"


def _pair(c: Check) -> Gen:
    a, b = c.col("column_A"), c.col("column_B")
    if c.type.endswith("_to_be_equal"):
        op = "="
    else:
        op = ">=" if c.kw.get("or_equal") else ">"
    cmp = f"{a.norm} {op} {b.norm}" if a.family == b.family or op != "=" else "FALSE"
    m = MapCheck(
        pair_domain(c, a, b),
        f"NOT coalesce({cmp}, FALSE)",
        [(a.q, a.null_kind), (b.q, b.null_kind)],
        shape="pair",
    )
    return (yield from run_map(c, m))


def multi_domain(c: Check, cols: list[Column]) -> str:
    mode = c.kw.get("ignore_row_if", "all_values_are_missing")
    if mode == "all_values_are_missing":
        return "NOT (" + " AND ".join(x.missing for x in cols) + ")"
    if mode == "any_value_is_missing":
        return "(" + " AND ".join(x.present for x in cols) + ")"
    return "TRUE"


def _multi(c: Check) -> Gen:
    cols = [c.ex.col(n) for n in c.kw["column_list"]]
    domain = multi_domain(c, cols)
    values = [(x.q, x.null_kind) for x in cols]
    names = [x.name for x in cols]
    windows: dict[str, str] = {}
    count = None
    if c.type in ("expect_compound_columns_to_be_unique", "expect_multicolumn_values_to_be_unique"):
        keys = ", ".join(x.norm for x in cols)
        windows = {"__c": f"count(*) OVER (PARTITION BY {keys})"}
        unexpected = "__c > 1"
        count = (
            f"(SELECT coalesce(sum(__c), 0) FROM (SELECT count(*) AS __c FROM {c.ex.src} "
            f"WHERE {domain} GROUP BY {keys} HAVING count(*) > 1))"
        )
    elif c.type == "expect_multicolumn_sum_to_equal":
        cast = "HUGEINT" if all(x.is_int or x.is_bool for x in cols) else "DOUBLE"
        total = " + ".join(f"{x.norm}::{cast}" for x in cols)
        unexpected = f"NOT coalesce(({total}) = {literal(float(c.kw['sum_total']))}, FALSE)"
    else:
        pairs = [_same_in_row(x, y) for i, x in enumerate(cols) for y in cols[i + 1 :]]
        unexpected = "(" + " OR ".join(pairs) + ")"
    m = MapCheck(
        domain, unexpected, values, shape="dict", names=names, windows=windows, count_sql=count
    )
    return (yield from run_map(c, m))


def _same_in_row(x: Column, y: Column) -> str:
    """pandas ``nunique(dropna=False)`` equality of two cells of one row (object dtype)."""
    values = f"coalesce({x.norm} = {y.norm}, FALSE)" if x.family == y.family else "FALSE"
    same_null = x.null_kind == y.null_kind or {x.null_kind, y.null_kind} <= {"na", "nan"}
    nulls = f"({x.missing} AND {y.missing})" if same_null else "FALSE"
    return f"({values} OR {nulls})"


MAP_CHECKS = {
    "expect_column_values_to_not_be_null": _not_null,
    "expect_column_values_to_be_null": _null,
    "expect_column_values_to_be_unique": _unique,
    "expect_column_values_to_be_between": _between,
    "expect_column_values_to_be_in_set": _in_set,
    "expect_column_values_to_not_be_in_set": _in_set,
    "expect_column_values_to_match_regex": _regex,
    "expect_column_values_to_not_match_regex": _regex,
    "expect_column_values_to_match_regex_list": _regex,
    "expect_column_values_to_not_match_regex_list": _regex,
    "expect_column_values_to_be_increasing": _monotone,
    "expect_column_values_to_be_decreasing": _monotone,
    "expect_column_values_to_be_of_type": _of_type,
    "expect_column_values_to_be_in_type_list": _of_type,
    "expect_column_value_lengths_to_be_between": _lengths,
    "expect_column_value_lengths_to_equal": _lengths,
    "expect_column_value_z_scores_to_be_less_than": _z_scores,
    "expect_column_pair_values_to_be_equal": _pair,
    "expect_column_pair_values_a_to_be_greater_than_b": _pair,
    "expect_compound_columns_to_be_unique": _multi,
    "expect_multicolumn_values_to_be_unique": _multi,
    "expect_multicolumn_sum_to_equal": _multi,
    "expect_select_column_values_to_be_unique_within_record": _multi,
}
