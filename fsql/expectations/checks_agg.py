"""Column-aggregate, table-level and fsql-specific expectations."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Generator, Iterable
from typing import Any

from fsql.engines.duckdb import quote_ident

from . import stats
from .checks_map import Check, Gen, in_list, run_map, value_set_members
from .frames import key_value
from .parse import parse_duration
from .sql import CheckError, Column, MapCheck, literal

__all__ = ["AGG_CHECKS", "column_stats"]


def _num(col: Column) -> str:
    return f"{col.q}::INTEGER" if col.is_bool else col.q


def column_stats(
    c: Check,
    col: Column,
    needs: Iterable[str],
    quantiles: list[float] | None = None,
    method: str = "nearest",
) -> Generator[None, None, dict[str, Any]]:
    """mean / std / sum / median / quantiles of the non-missing values, pandas-exact.

    Small columns (<= ``stats.EXACT_LIMIT`` values) are fetched once and computed in Python
    with numpy's summation order; larger ones use DuckDB aggregates and exact order
    statistics (``quantile_disc`` at the index numpy would pick).
    """
    ex, needs = c.ex, set(needs)
    if col.is_void:  # only missing values: pandas gives NaN (and 0 for the sum)
        yield
        return {
            "mean": None,
            "std": None,
            "sum": 0,
            "median": None,
            "quantiles": [None] * len(quantiles or []),
        }
    if not (col.is_numeric or col.is_bool):
        raise CheckError(
            f"cannot compute {'/'.join(sorted(needs))} of {col.type} column '{col.name}'"
        )
    x, p = _num(col), col.present
    k_nn = ex.agg(f"count(*) FILTER (WHERE {p})")
    sql = {"mean": f"avg({x})", "std": f"stddev_samp({x})", "sum": f"sum({x})"}
    keys = {n: ex.agg(f"{sql[n]} FILTER (WHERE {p})") for n in needs if n in sql}
    yield
    nn = int(ex.values[k_nn])
    integer = col.is_int or col.is_bool
    out: dict[str, Any] = {}
    if nn <= stats.EXACT_LIMIT:
        ex.want_values(col)
        yield
        vals = ex.column_values[col.name]
        out.update(mean=stats.np_mean(vals), std=stats.pd_std(vals), sum=stats.np_sum(vals))
        srt = sorted(v for v in vals if v is not None)
        out["median"] = stats.np_median(srt)
        out["quantiles"] = [
            stats.np_quantile(srt.__getitem__, nn, q, method, integer) for q in quantiles or []
        ]
        return out
    for n, k in keys.items():
        v = ex.values[k]
        out[n] = int(v) if n == "sum" and integer else (float(v) if v is not None else None)
    idx: set[int] = set()
    if "median" in needs:
        idx |= {(nn - 1) // 2, nn // 2}
    for q in quantiles or []:
        lo, hi, _ = stats.quantile_indexes(nn, q, method)
        idx |= {lo, hi}
    if idx:
        order = sorted(idx)
        k = ex.agg(f"quantile_disc({x}, {[(i + 0.5) / nn for i in order]!r}) FILTER (WHERE {p})")
        yield
        at = dict(zip(order, ex.values[k], strict=True))
        if "median" in needs:
            srt_mid = [at[(nn - 1) // 2], at[nn // 2]] if nn % 2 == 0 else [None, at[nn // 2]]
            out["median"] = (
                float(at[nn // 2])
                if nn % 2
                else (0.0 + float(srt_mid[0]) + float(srt_mid[1])) / 2.0
            )
        out["quantiles"] = [
            stats.np_quantile(at.__getitem__, nn, q, method, integer) for q in quantiles or []
        ]
    return out


def _between_result(c: Check, observed: Any) -> tuple[bool, dict[str, Any]]:
    """GX's _validate_metric_value_between."""
    if observed is None or (isinstance(observed, float) and math.isnan(observed)):
        return False, _rf(c, {"observed_value": None})
    lo, hi = c.kw.get("min_value"), c.kw.get("max_value")
    if isinstance(observed, dt.datetime):
        lo, hi = (_as_datetime(b, observed) for b in (lo, hi))
    try:
        above = lo is None or (observed > lo if c.kw.get("strict_min") else observed >= lo)
        below = hi is None or (observed < hi if c.kw.get("strict_max") else observed <= hi)
    except TypeError as e:
        raise CheckError(
            f"cannot compare observed value {observed!r} with the bounds: {e}"
        ) from None
    return bool(above and below), _rf(c, {"observed_value": observed})


def _as_datetime(b: Any, observed: dt.datetime) -> Any:
    """pandas compares a Timestamp only with a datetime of the same awareness."""
    if b is None:
        return b
    if not isinstance(b, dt.datetime):
        raise CheckError(f"Cannot compare Timestamp with {type(b).__name__} {b!r}")
    if (b.tzinfo is None) != (observed.tzinfo is None):
        raise CheckError("Cannot compare tz-naive and tz-aware datetime-like objects")
    return b


def _rf(c: Check, result: dict[str, Any]) -> dict[str, Any]:
    return {} if c.rf == "BOOLEAN_ONLY" else result


def _minmax(c: Check) -> Gen:
    col = c.col()
    if col.mixed:
        raise CheckError("'<' not supported between instances of 'str' and 'int'")
    fn = "min" if "_min_" in c.type else "max"
    k = c.ex.agg(f"{fn}({col.q}) FILTER (WHERE {col.present})")
    yield
    v = c.ex.values[k]
    if v is None and col.is_temporal:
        # pandas' min/max of no timestamps is NaT, which GX does not treat as missing:
        # every comparison with it is False, so only an unbounded check passes
        bounds = [b for b in (c.kw.get("min_value"), c.kw.get("max_value")) if b is not None]
        for b in bounds:
            _as_datetime(b, dt.datetime(2000, 1, 1))  # NaT vs a date raises in pandas
        return not bounds, _rf(c, {"observed_value": None})
    return _between_result(c, float(v) if type(v).__name__ == "Decimal" else v)


def _stat(c: Check) -> Gen:
    col = c.col()
    name = {"mean": "mean", "median": "median", "sum": "sum", "stdev": "std"}[c.type.split("_")[2]]
    if name == "sum" and not (col.is_numeric or col.is_bool or col.is_void):
        raise CheckError(f"cannot sum {col.type} column '{col.name}'")
    if col.is_temporal and name in ("mean", "median"):
        return (yield from _temporal_center(c, col, name))
    st = yield from column_stats(c, col, (name,))
    v = st[name]
    if name == "sum" and v is None:
        v = 0 if (col.is_int or col.is_bool) else 0.0
    return _between_result(c, v)


_EPOCH = dt.datetime(1970, 1, 1)


def _temporal_center(c: Check, col: Column, name: str) -> Gen:
    """pandas' mean / median of timestamps (a Timestamp; NaT when there are none),
    computed on microseconds since the epoch."""
    us = f"(epoch({col.q}) * 1000000)"  # portable (Spark has no epoch_us); rounded below
    kn = c.ex.agg(f"count(*) FILTER (WHERE {col.present})")
    km = c.ex.agg(f"avg({us}) FILTER (WHERE {col.present})")
    yield
    n = int(c.ex.values[kn])
    if n == 0:
        bounds = [b for b in (c.kw.get("min_value"), c.kw.get("max_value")) if b is not None]
        return not bounds, _rf(c, {"observed_value": None})
    if name == "mean":
        micros = float(c.ex.values[km])
    else:
        order = sorted({(n - 1) // 2, n // 2})
        k = c.ex.agg(
            f"quantile_disc({us}, {[(i + 0.5) / n for i in order]!r}) FILTER (WHERE {col.present})"
        )
        yield
        mid = [round(float(v)) for v in c.ex.values[k]]
        micros = mid[0] + (mid[-1] - mid[0]) / 2
    value = _EPOCH + dt.timedelta(microseconds=round(micros))
    return _between_result(c, value.replace(tzinfo=dt.UTC) if col.is_aware else value)


def _quantiles(c: Check) -> Gen:
    col = c.col()
    qr = c.kw["quantile_ranges"]
    method = c.kw.get("allow_relative_error") or "nearest"
    st = yield from column_stats(c, col, (), qr["quantiles"], method)
    values = st.get("quantiles") or [None] * len(qr["quantiles"])
    details = [_in_range(v, lo, hi) for v, (lo, hi) in zip(values, qr["value_ranges"], strict=True)]
    return all(details), _rf(
        c,
        {
            "observed_value": {"quantiles": qr["quantiles"], "values": values},
            "details": {"success_details": details},
        },
    )


def _isclose(a: float, b: float) -> bool:
    return abs(a - b) <= 1.0e-8 + 1.0e-4 * abs(b)


def _in_range(v: Any, lo: float | None, hi: float | None) -> bool:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return False
    lo_f = -math.inf if lo is None else lo
    hi_f = math.inf if hi is None else hi
    close = any(b is not None and math.isfinite(b) and _isclose(v, b) for b in (lo, hi))
    return close or lo_f <= v <= hi_f


def _distinct_counts(c: Check) -> Gen:
    col = c.col()
    kd = c.ex.agg(f"count(DISTINCT {col.norm}) FILTER (WHERE {col.present})")
    knn = c.ex.agg(f"count(*) FILTER (WHERE {col.present})")
    kn = c.ex.agg("count(*)")
    yield
    distinct, nn, n = int(c.ex.values[kd]), int(c.ex.values[knn]), int(c.ex.values[kn])
    if c.type == "expect_column_unique_value_count_to_be_between":
        return _between_result(c, distinct)
    if c.type == "expect_column_proportion_of_unique_values_to_be_between":
        return _between_result(c, distinct / nn if n > 0 and nn > 0 else 0)
    return _between_result(c, nn / n if n > 0 else 0)


def _distinct_sets(c: Check) -> Gen:
    col = c.col()
    members = value_set_members(col, c.kw["value_set"], coerce_temporal=True)
    inset = in_list(col.q, members)
    want_unexpected = not c.type.endswith("_contain_set")
    want_missing = not c.type.endswith("_be_in_set")
    ku = c.ex.agg(f"count(DISTINCT {col.norm}) FILTER (WHERE {col.present} AND NOT {inset})")
    kp = c.ex.agg(f"list(DISTINCT {col.norm}) FILTER (WHERE {col.present} AND {inset})")
    kn = c.ex.agg(f"count(DISTINCT {col.norm}) FILTER (WHERE {col.present})")
    yield
    result: dict[str, Any] = {"observed_value": None}
    success = True
    if want_unexpected:
        u = int(c.ex.values[ku])
        sample: list[Any] = []
        if u:
            shown = _key_objects(c, col)
            sample = [
                shown(r[0])
                for r in c.ex.execute(
                    f"SELECT DISTINCT {col.norm} FROM {c.ex.src} "
                    f"WHERE {col.present} AND NOT {inset} "
                    "ORDER BY 1 LIMIT 20"
                ).fetchall()
            ]
        result.update(unexpected_count=u, partial_unexpected_list=sample)
        success = u == 0
    if want_missing:
        present = set(c.ex.values[kp] or [])
        expected = set(_coerced_in_order(col, c.kw["value_set"]))
        missing = _set_difference(expected, present, int(c.ex.values[kn] or 0))
        if not col.is_temporal:  # show the value_set's own objects (1, not True; False, not 0)
            by_key: dict[Any, Any] = {}
            for v in c.kw["value_set"]:  # the first of equal members, as a Python set keeps
                for m in value_set_members(col, [v]):
                    by_key.setdefault(m, v)
            missing = [by_key.get(k, key_value(k) if col.mixed else k) for k in missing]
        if not all(v is None or isinstance(v, (int, float)) for v in missing):
            missing = sorted(missing, key=repr)
        result.update(missing_count=len(missing), partial_missing_list=missing[:20])
        success = success and not missing
    return success, _rf(c, result)


def _key_objects(c: Check, col: Column) -> Any:
    """key -> the first frame object with that key (mixed columns), else the identity."""
    if not col.mixed:
        return lambda v: v
    from .frames import _key

    first: dict[Any, Any] = {}
    for obj in (c.env.get("originals") or {}).get(col.q, []):
        first.setdefault(_key(obj), obj)
    return lambda v: first.get(v, key_value(v))


def _set_difference(expected: set[Any], present: set[Any], n_column: int) -> list[Any]:
    """``list(expected - column_set)`` in CPython's order, as GX's pandas metric returns it;
    ``column_set`` has ``n_column`` distinct values, ``present`` = those in ``expected``.
    CPython copies ``expected`` and discards when it is over 4x larger, else inserts the
    survivors into a new set — with colliding hashes (5 and -3) the orders differ.

    >>> e = set([5, 1, 2, -3])
    >>> _set_difference(e, set(), 1) == list(e - {0}), _set_difference(e, set(), 0) == list(e)
    (True, True)
    >>> list(e - {0}) == list(e)  # the two paths really differ here
    False
    """
    if (len(expected) >> 2) > n_column:
        out = expected.copy()  # keeps the table's layout
        out.difference_update(present)
        return list(out)
    return list({v for v in expected if v not in present})


def _coerced_in_order(col: Any, value_set: list[Any]) -> list[Any]:
    """``value_set`` in its order, each value as the column compares it; ``None`` stays
    (GX's set keeps it, and a column's distinct values never include it: it is missing)."""
    out = []
    for v in value_set:
        member = value_set_members(col, [v], coerce_temporal=True)
        out.append(member[0] if member else v)
    return out


def _most_common(c: Check) -> Gen:
    col = c.col()
    k = c.ex.agg(
        f"(SELECT list(v ORDER BY v) FROM (SELECT {col.norm} AS v, count(*) AS n, "
        f"max(count(*)) OVER () AS m FROM {c.ex.src} WHERE {col.present} GROUP BY 1) "
        "WHERE n = m)"
    )
    yield
    shown = _key_objects(c, col)
    modes = [shown(v) for v in c.ex.values[k] or []]
    hits = len(set(c.kw["value_set"] or []).intersection(modes))
    success = hits > 0 if c.kw.get("ties_okay") else (len(modes) == 1 and hits == 1)
    return success, _rf(c, {"observed_value": modes})


def _kl(c: Check) -> Gen:
    col = c.col()
    po = c.kw["partition_object"]
    thr = c.kw.get("threshold")
    knn = c.ex.agg(f"count(*) FILTER (WHERE {col.present})")
    tail = float(c.kw.get("tail_weight_holdout") or 0)
    internal = float(c.kw.get("internal_weight_holdout") or 0)
    if "values" in po:
        kc = c.ex.agg(
            f"(SELECT list(n ORDER BY n DESC, v) FROM (SELECT {col.norm} AS v, count(*) AS n "
            f"FROM {c.ex.src} WHERE {col.present} GROUP BY 1))"
        )
        kv = c.ex.agg(
            f"(SELECT list(v ORDER BY n DESC, v) FROM (SELECT {col.norm} AS v, count(*) AS n "
            f"FROM {c.ex.src} WHERE {col.present} GROUP BY 1))"
        )
        yield
        counts = [
            (v, int(n)) for v, n in zip(c.ex.values[kv] or [], c.ex.values[kc] or [], strict=True)
        ]
        kl, details = stats.kl_categorical(po, counts, int(c.ex.values[knn]), tail)
    else:
        bins = po["bins"]
        x = _num(col)
        hist = [
            c.ex.agg(
                f"count(*) FILTER (WHERE {x} >= {literal(lo)} AND {x} "
                f"{'<=' if i == len(bins) - 2 else '<'} {literal(hi)})"
            )
            for i, (lo, hi) in enumerate(zip(bins, bins[1:], strict=False))
        ]
        kb = c.ex.agg(f"count(*) FILTER (WHERE {x} < {literal(bins[0])})")
        ka = c.ex.agg(f"count(*) FILTER (WHERE {x} > {literal(bins[-1])})")
        yield
        nn = int(c.ex.values[knn])
        if nn == 0:
            return False, _rf(c, {"observed_value": None})
        kl, details = stats.kl_bins(
            po,
            [int(c.ex.values[h]) for h in hist],
            int(c.ex.values[kb]),
            int(c.ex.values[ka]),
            nn,
            tail,
            internal,
        )
    kl_value = math.nan if kl is None else kl
    observed = None if (math.isinf(kl_value) or math.isnan(kl_value)) else kl_value
    success = True if thr is None else bool(kl_value <= thr)
    return success, _rf(c, {"observed_value": observed, "details": details})


# --- table level ---------------------------------------------------------------------------


def _table(c: Check) -> Gen:
    names = c.ex.column_order
    if c.type.startswith("expect_table_row_count"):
        k = c.ex.agg("count(*)")
        yield
        n = int(c.ex.values[k])
        if c.type.endswith("_equal"):
            return n == c.kw["value"], _rf(c, {"observed_value": n})
        return _between_result(c, n)
    if c.type == "expect_table_column_count_to_equal":
        return len(names) == c.kw["value"], _rf(c, {"observed_value": len(names)})
    if c.type == "expect_table_column_count_to_be_between":
        return _between_result(c, len(names))
    if c.type == "expect_column_to_exist":
        idx = c.kw.get("column_index")
        if idx:
            return (idx < len(names) and names[idx] == c.kw["column"]), {}
        return c.kw["column"] in names, {}
    if c.type == "expect_table_columns_to_match_ordered_list":
        expected = c.kw.get("column_list")
        if expected is None or list(expected) == names:
            return True, _rf(c, {"observed_value": names})
        width = max(len(expected), len(names))
        mism = [
            {
                "Expected Column Position": i,
                "Expected": expected[i] if i < len(expected) else None,
                "Found": names[i] if i < len(names) else None,
            }
            for i in range(width)
            if (expected[i] if i < len(expected) else None)
            != (names[i] if i < len(names) else None)
        ]
        return False, _rf(c, {"observed_value": names, "details": {"mismatched": mism}})
    return _columns_set(c, names)


def _columns_set(c: Check, names: list[str]) -> tuple[bool, dict[str, Any]]:
    expected = set(c.kw.get("column_set") or [])
    exact = c.kw.get("exact_match", True)
    observed = sorted(names)
    unexpected = sorted(set(names) - expected)
    missing = sorted(expected - set(names))
    if not unexpected and not missing:
        return True, _rf(c, {"observed_value": observed})
    mism: dict[str, Any] = {}
    if unexpected:
        mism["unexpected"] = unexpected
    if missing:
        mism["missing"] = missing
    success = False if exact else not missing
    return success, _rf(c, {"observed_value": observed, "details": {"mismatched": mism}})


# --- fsql's own -----------------------------------------------------------------------------


def _fresh(c: Check) -> Gen:
    col = c.col()
    if not col.is_temporal:
        raise CheckError(f"freshness needs a timestamp column ('{col.name}' is {col.type})")
    k = c.ex.agg(f"max({col.q})")
    yield
    newest = c.ex.values[k]
    age = parse_duration(c.kw["max_age"])
    now = c.env.get("now") or dt.datetime.now(dt.UTC)
    if newest is None:
        return False, _rf(c, {"observed_value": None, "details": {"max_age": c.kw["max_age"]}})
    if not isinstance(newest, dt.datetime):
        newest = dt.datetime(newest.year, newest.month, newest.day)
    a = newest if newest.tzinfo else newest.replace(tzinfo=dt.UTC)
    b = now if now.tzinfo else now.replace(tzinfo=dt.UTC)
    lag = (b - a).total_seconds()
    return lag <= age.total_seconds(), _rf(
        c,
        {
            "observed_value": newest,
            "details": {"max_age": c.kw["max_age"], "age_seconds": lag, "now": b.isoformat()},
        },
    )


def _row_change(c: Check) -> Gen:
    prev = c.env.get("previous_relation")
    k = c.ex.agg("count(*)")
    kp = c.ex.agg(f"(SELECT count(*) FROM {prev})") if prev else None
    yield
    n = int(c.ex.values[k])
    if kp is None:
        return True, _rf(c, {"observed_value": None, "details": {"previous_row_count": None}})
    p = int(c.ex.values[kp])
    pct = 0.0 if n == p else (math.inf if p == 0 else abs(n - p) / p * 100)
    return pct <= float(c.kw["max_percent"]), _rf(
        c, {"observed_value": pct, "details": {"row_count": n, "previous_row_count": p}}
    )


def render_this(sql: str, relation: str) -> str:
    import re

    return re.sub(r"\{\{\s*this\s*\}\}|\{this\}", lambda _: relation, sql)


def _custom_sql(c: Check) -> Gen:
    sql = render_this(c.kw["sql"], c.ex.src)
    return (yield from rows_check(c, sql))


def rows_check(c: Check, sql: str) -> Gen:
    """A query returning failing rows: pass when it returns none; sample 20 otherwise."""
    k = c.ex.agg(f"(SELECT count(*) FROM ({sql}))")
    yield
    n = int(c.ex.values[k])
    rows: list[dict[str, Any]] = []
    if n and c.rf != "BOOLEAN_ONLY":
        cur = c.ex.execute(f"SELECT * FROM ({sql}) LIMIT 20")
        names = [d[0] for d in cur.description]
        rows = [dict(zip(names, r, strict=True)) for r in cur.fetchall()]
    return n == 0, _rf(
        c, {"observed_value": n, "unexpected_count": n, "partial_unexpected_list": rows}
    )


def relation_of(to: str) -> str:
    """``ref('m')`` / ``m`` -> a quoted relation name; anything else is used verbatim."""
    import re

    m = re.fullmatch(r"\s*ref\(\s*['\"]([^'\"]+)['\"]\s*\)\s*", to)
    name = m.group(1) if m else to.strip()
    if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):  # a model: its live view, by the
        return f"{quote_ident('main')}.{quote_ident(name)}"  # canonical name every engine maps
    return name


def _relationships(c: Check) -> Gen:
    col = c.col()
    other = relation_of(c.kw["to"])
    field = quote_ident(c.kw["field"])
    unexpected = f"NOT ({col.q} IN (SELECT {field} FROM {other} WHERE {field} IS NOT NULL))"
    count = (
        f"(SELECT count(*) FROM {c.ex.src} WHERE {col.present} AND {col.q} NOT IN "
        f"(SELECT {field} FROM {other} WHERE {field} IS NOT NULL))"
    )
    m = MapCheck(col.present, unexpected, [(col.q, col.null_kind)], count_sql=count)
    return (yield from run_map(c, m))


AGG_CHECKS = {
    "expect_column_min_to_be_between": _minmax,
    "expect_column_max_to_be_between": _minmax,
    "expect_column_mean_to_be_between": _stat,
    "expect_column_median_to_be_between": _stat,
    "expect_column_sum_to_be_between": _stat,
    "expect_column_stdev_to_be_between": _stat,
    "expect_column_quantile_values_to_be_between": _quantiles,
    "expect_column_unique_value_count_to_be_between": _distinct_counts,
    "expect_column_proportion_of_unique_values_to_be_between": _distinct_counts,
    "expect_column_proportion_of_non_null_values_to_be_between": _distinct_counts,
    "expect_column_distinct_values_to_be_in_set": _distinct_sets,
    "expect_column_distinct_values_to_contain_set": _distinct_sets,
    "expect_column_distinct_values_to_equal_set": _distinct_sets,
    "expect_column_most_common_value_to_be_in_set": _most_common,
    "expect_column_kl_divergence_to_be_less_than": _kl,
    "expect_column_to_exist": _table,
    "expect_table_row_count_to_be_between": _table,
    "expect_table_row_count_to_equal": _table,
    "expect_table_column_count_to_be_between": _table,
    "expect_table_column_count_to_equal": _table,
    "expect_table_columns_to_match_ordered_list": _table,
    "expect_table_columns_to_match_set": _table,
    "expect_column_max_to_be_fresh": _fresh,
    "expect_table_row_count_change_to_be_within": _row_change,
    "expect_sql_to_return_no_rows": _custom_sql,
    "relationships": _relationships,
}
