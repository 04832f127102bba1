"""DuckDB SQL -> Spark SQL that gives the same answer (sqlglot plus the fixes sqlglot leaves out).

fsql models are written in DuckDB SQL, and so is the SQL fsql generates (expectation checks,
statistics, history diffs). :func:`to_spark` transpiles it for a Spark engine; :func:`lint`
(from :mod:`fsql.engines.spark_lint`) lists what cannot be carried over, each finding with its
``line:col`` in the given text and a rewrite hint. Pure: sqlglot only, no pyspark import.

**What the Spark session must look like** (the Spark engine sets these; :data:`SESSION_CONF`):

* ``spark.sql.session.timeZone=UTC`` — DuckDB ``TIMESTAMP`` is naive and maps to Spark
  ``TIMESTAMP_NTZ``; the fixes below go through ``TIMESTAMP_LTZ`` (with time zone) for
  ``date_trunc`` and epoch arithmetic, which is exact only in UTC.
* ``spark.sql.timestampType=TIMESTAMP_NTZ`` — a bare ``TIMESTAMP`` is naive, as on DuckDB;
  the SQL written here always spells ``TIMESTAMP_NTZ`` / ``TIMESTAMP_LTZ`` (DuckDB
  ``TIMESTAMPTZ``), so it means the same under either setting.
* ANSI mode on (``spark.sql.ansi.enabled=true``, the Spark 4 default): casts and integer
  overflow fail as they do on DuckDB.

**Semantic traps handled** (each pinned by the equivalence test against a real Spark session,
``tests/test_spark_sql.py``):

* ``a / b`` is always DOUBLE on DuckDB with IEEE results for a zero divisor (``1/0 = inf``,
  ``0/0 = NaN``, ``1/-0.0 = -inf``); Spark's ANSI division raises. Emitted as
  ``CASE WHEN b = 0 THEN a * POWER(b, -1) ELSE try_divide(a, b) END`` (``POWER(±0, -1)`` is
  ``±inf``, so the zero case is IEEE too). ``//`` on doubles is plain division on DuckDB;
  ``%`` on doubles gives NaN for a zero divisor. Integer ``//`` and ``%`` by zero fail on both.
* ``date_diff(unit, a, b)`` counts unit *boundaries* crossed on DuckDB (``day`` between
  23:00 and 01:00 the next day is 1); Spark's ``datediff(unit, ..)`` counts whole elapsed
  units. Emitted per unit from calendar parts (day/week/month/quarter/year) or from
  floor-divided epoch microseconds (hour .. microsecond). DuckDB's ``week`` is whole 7-day
  spans of the day difference.
* NULL ordering: DuckDB sorts NULLs last ascending, Spark first; every ``ORDER BY`` key (also
  in windows and in ordered ``list``) gets an explicit ``NULLS LAST``/``NULLS FIRST``.
* ``date_trunc`` returns TIMESTAMP on DuckDB, also for a DATE; Spark returns a zoned
  TIMESTAMP (or, via sqlglot's ``TRUNC``, a DATE that is NULL for ``'day'``). Emitted as
  ``CAST(DATE_TRUNC(unit, x) AS TIMESTAMP_NTZ)``.
* ``date + INTERVAL ..`` is a TIMESTAMP on DuckDB, a DATE on Spark: the operand is cast to
  ``TIMESTAMP_NTZ`` first (a no-op for timestamps).
* ``CAST(double AS INT)`` rounds half to even on DuckDB, ``CAST(decimal AS INT)`` half away
  from zero; Spark truncates. ``BROUND``/``ROUND`` are inserted where the operand's type is
  known (literals, casts, typed expressions — pass ``schema=`` for columns).
* ``list``/``array_agg`` keep NULL elements, honour ``ORDER BY`` and give NULL for no rows on
  DuckDB; Spark's ``collect_list`` drops NULLs, ignores order and gives ``[]``. Emitted as
  ``CASE WHEN COUNT(1) = 0 THEN NULL ELSE TRANSFORM(ARRAY_SORT(COLLECT_LIST(STRUCT(..)),
  comparator), s -> s.v) END``.
* ``log(x)`` is base 10 on DuckDB, natural on Spark; ``dayofweek`` is 0-based on DuckDB;
  ``epoch(ts)`` keeps fractional seconds; ``isnan(NULL)`` is NULL on DuckDB, false on Spark;
  ``quantile_cont``/``quantile_disc`` map to Spark's exact ``percentile``/``percentile_disc``.
* ``hash()`` differs between the engines (64-bit vs 32-bit murmur): fsql's own tie-breaks use
  :func:`portable_hash_sql`; a model's ``hash()`` is reported by the lint.
* Identifiers: DuckDB ``"x"`` and ``"schema"."table"`` become Spark backticks; ``count(*)``
  is BIGINT on both. Integer sums are HUGEINT on DuckDB and BIGINT on Spark (same values).

Known differences left as they are (documented, not fixable in SQL text): ``CAST(double AS
VARCHAR)`` formats differ for large/small magnitudes (``1e+20`` vs ``1.0E20``); ``LIKE``
treats backslash as an escape on Spark only.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence

import sqlglot
from sqlglot import exp
from sqlglot.optimizer.annotate_types import annotate_types
from sqlglot.optimizer.qualify import qualify

from fsql.engines.spark_lint import Portability, lint

__all__ = ["SESSION_CONF", "Portability", "lint", "portable_hash_sql", "to_spark"]

SESSION_CONF: Mapping[str, str] = {
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.timestampType": "TIMESTAMP_NTZ",
    "spark.sql.ansi.enabled": "true",
}

Schema = Mapping[str, Mapping[str, str]]


def to_spark(sql: str, schema: Schema | None = None, *, pretty: bool = False) -> str:
    """Spark SQL computing the same result as the DuckDB SQL ``sql``.

    ``schema`` (optional, ``{table: {column: duckdb_type}}``) lets type-dependent fixes (casts
    of doubles to integers) see column types. Results are cached by text (generated SQL
    repeats). Several statements are joined with ``;\\n``; ``pretty`` writes one clause a line.

    >>> to_spark('select "x" from "main"."t" order by x')
    'SELECT `x` FROM `main`.`t` ORDER BY x NULLS LAST'
    """
    key = tuple(sorted((t, tuple(sorted(c.items()))) for t, c in schema.items())) if schema else ()
    return _to_spark_cached(sql, key, pretty)


@functools.lru_cache(maxsize=4096)
def _to_spark_cached(sql: str, schema_key: tuple, pretty: bool) -> str:
    schema = {t: dict(cols) for t, cols in schema_key} or None
    trees = [t for t in sqlglot.parse(sql, read="duckdb") if t is not None]
    return ";\n".join(_rewrite(t, schema).sql(dialect="spark", pretty=pretty) for t in trees)


def _rewrite(tree: exp.Expr, schema: dict | None) -> exp.Expr:
    _annotate(tree, schema)
    # children before parents: a node's rewrite sees its already rewritten operands
    for node in reversed(list(tree.dfs())):
        fix = _FIXES.get(type(node))
        new = fix(node) if fix else None
        if new is not None and new is not node:
            if node is tree:
                tree = new
            else:
                node.replace(new)
    return tree


def _annotate(tree: exp.Expr, schema: dict | None) -> None:
    """Types on ``tree``'s nodes where knowable; with ``schema``, also on its columns."""
    try:
        annotate_types(tree, dialect="duckdb")
        if not schema:
            return
        # qualify a copy (it renames outputs) and carry its column types back by text position
        typed = qualify(tree.copy(), schema=schema, dialect="duckdb", identify=False,
                        quote_identifiers=False, validate_qualify_columns=False)
        annotate_types(typed, schema=schema, dialect="duckdb")
    except Exception:  # noqa: BLE001 - types only refine the fixes; untyped ones still apply
        return
    types = {c.this.meta.get("start"): c.type for c in typed.find_all(exp.Column) if c.type}
    for col in tree.find_all(exp.Column):
        t = types.get(col.this.meta.get("start"))
        if t is not None and col.this.meta.get("start") is not None:
            col.type = t


# -- templates -------------------------------------------------------------------------


@functools.cache
def _template(sql: str) -> exp.Expr:
    return sqlglot.parse_one(sql, read="spark")


def _tpl(sql: str, **args: exp.Expr) -> exp.Expr:
    """Spark SQL ``sql`` with each column ``__name`` replaced by a copy of ``args[name]``."""
    tree = _template(sql).copy()
    for col in list(tree.find_all(exp.Column)):
        if col.name.startswith("__") and not col.table:
            col.replace(args[col.name[2:]].copy())
    return tree


def _kind(node: exp.Expr) -> str | None:
    """The type family of ``node`` as DuckDB sees it, when known."""
    if isinstance(node, exp.Literal) and not node.is_string:
        text = node.name.lower()
        return "float" if "e" in text else "decimal" if "." in text else "int"
    if isinstance(node, exp.Paren | exp.Neg):
        return _kind(node.this)
    t = node.type
    if t is None or t.this == exp.DataType.Type.UNKNOWN:
        return None
    for kind, types in _FAMILIES.items():
        if t.this in types:
            return kind
    return "other"


T = exp.DataType.Type
_FAMILIES = {
    "float": {T.DOUBLE, T.FLOAT},
    "decimal": {T.DECIMAL},
    "int": {T.TINYINT, T.SMALLINT, T.INT, T.BIGINT, T.INT128},
    "date": {T.DATE},
    "timestamp": {T.TIMESTAMP, T.TIMESTAMPNTZ, T.DATETIME},
    "timestamptz": {T.TIMESTAMPTZ, T.TIMESTAMPLTZ},
    "interval": {T.INTERVAL},
}


# -- arithmetic ------------------------------------------------------------------------


def _as_double(node: exp.Expr) -> exp.Expr:
    return node if _kind(node) == "float" else exp.cast(node, "DOUBLE")


def _ieee_divide(a: exp.Expr, b: exp.Expr) -> exp.Expr:
    if _kind(a) == "interval" or isinstance(a, exp.Interval):
        return exp.Div(this=a, expression=b)
    a = _as_double(a)
    if isinstance(b, exp.Literal) and not b.is_string and float(b.name) != 0:
        return exp.Div(this=a, expression=b)
    sql = "CASE WHEN __b = 0 THEN __a * POWER(__b, -1) ELSE TRY_DIVIDE(__a, __b) END"
    return _tpl(sql, a=a, b=b)


def _fix_div(node: exp.Div) -> exp.Expr:
    return _ieee_divide(node.this, node.expression)


def _fix_int_div(node: exp.IntDiv) -> exp.Expr | None:
    if "float" in (_kind(node.this), _kind(node.expression)):  # DuckDB: double // x is x / y
        return _ieee_divide(node.this, node.expression)
    return None


def _fix_mod(node: exp.Mod) -> exp.Expr | None:
    if "float" not in (_kind(node.this), _kind(node.expression)):
        return None  # integer % 0 fails on both engines
    sql = "CASE WHEN __b = 0 THEN __a * CAST('NaN' AS DOUBLE) ELSE TRY_MOD(__a, __b) END"
    return _tpl(sql, a=node.this, b=node.expression)


_INT_TYPES = {T.TINYINT, T.SMALLINT, T.INT, T.BIGINT}


def _fix_cast(node: exp.Cast) -> exp.Expr | None:
    if node.to.this not in _INT_TYPES:
        return None
    kind = _kind(node.this)
    if kind in ("float", "decimal"):  # DuckDB rounds (half even / half away); Spark truncates
        fn = "BROUND" if kind == "float" else "ROUND"
        node.set("this", exp.Anonymous(this=fn, expressions=[node.this, exp.Literal.number(0)]))
    return None


_NOT_FINITE = "ISNAN(__x) OR ABS(__x) = CAST('Infinity' AS DOUBLE)"


def _fix_round(node: exp.Round) -> exp.Expr | None:
    if _kind(node.this) != "float":
        return None  # Spark's ROUND(inf or NaN) overflows under ANSI; DuckDB keeps the value
    return _tpl(f"CASE WHEN {_NOT_FINITE} THEN __x ELSE __r END", x=node.this, r=node)


def _fix_floor_ceil(node: exp.Floor | exp.Ceil) -> exp.Expr | None:
    if _kind(node.this) != "float" or node.args.get("decimals") is not None:
        return None
    # DuckDB floor/ceil(DOUBLE) is a DOUBLE; Spark's is a BIGINT (overflow for inf, 1e300)
    fn = "FLOOR" if isinstance(node, exp.Floor) else "CEIL"
    # doubles from 2**52 on are integers already (and inf / NaN stay what they are)
    sql = (f"CASE WHEN ISNAN(__x) OR ABS(__x) >= 4503599627370496 THEN __x "
           f"ELSE CAST({fn}(__x) AS DOUBLE) END")
    return _tpl(sql, x=node.this)


def _fix_sign(node: exp.Sign) -> exp.Expr:
    # DuckDB: TINYINT and sign(NaN) = 0; Spark: a DOUBLE, NaN for NaN
    return _tpl("CAST(IF(ISNAN(CAST(__x AS DOUBLE)), 0, SIGN(__x)) AS TINYINT)", x=node.this)


def _fix_week(node: exp.Week) -> exp.Expr:
    return _tpl("CAST(WEEKOFYEAR(__x) AS BIGINT)", x=node.this)  # ISO week on both


def _fix_datatype(node: exp.DataType) -> exp.Expr | None:
    if node.this == T.TIMESTAMPTZ:  # sqlglot writes TIMESTAMP: naive under timestampType=NTZ
        return exp.DataType.build("TIMESTAMPLTZ")
    return None


def _fix_log(node: exp.Log) -> exp.Expr | None:
    if node.expression is None:  # DuckDB log(x) is log10
        return exp.Log(this=exp.Literal.number(10), expression=node.this)
    return None


# -- dates -----------------------------------------------------------------------------

_UNIT_ALIASES = {
    "D": "DAY", "DAYS": "DAY", "W": "WEEK", "WEEKS": "WEEK", "MON": "MONTH", "MONS": "MONTH",
    "MONTHS": "MONTH", "Y": "YEAR", "YEARS": "YEAR", "QUARTERS": "QUARTER", "H": "HOUR",
    "HOURS": "HOUR", "M": "MINUTE", "MIN": "MINUTE", "MINUTES": "MINUTE", "S": "SECOND",
    "SEC": "SECOND", "SECONDS": "SECOND", "MS": "MILLISECOND", "MILLISECONDS": "MILLISECOND",
    "US": "MICROSECOND", "MICROSECONDS": "MICROSECOND",
}
_MICROS = {"HOUR": 3_600_000_000, "MINUTE": 60_000_000, "SECOND": 1_000_000, "MILLISECOND": 1000}
_CALENDAR_DIFF = {
    "DAY": "DATEDIFF(CAST(__e AS DATE), CAST(__s AS DATE))",
    "WEEK": "DATEDIFF(CAST(__e AS DATE), CAST(__s AS DATE)) DIV 7",
    "MONTH": "(YEAR(__e) * 12 + MONTH(__e)) - (YEAR(__s) * 12 + MONTH(__s))",
    "QUARTER": "(YEAR(__e) * 4 + QUARTER(__e)) - (YEAR(__s) * 4 + QUARTER(__s))",
    "YEAR": "YEAR(__e) - YEAR(__s)",
    "MICROSECOND": "UNIX_MICROS(CAST(__e AS TIMESTAMP_LTZ))"
                   " - UNIX_MICROS(CAST(__s AS TIMESTAMP_LTZ))",
}


def _unit(node: exp.Expr) -> str | None:
    unit = node.args.get("unit")
    if not isinstance(unit, (exp.Var, exp.Literal)):
        return None
    name = unit.name.upper()
    return _UNIT_ALIASES.get(name, name)


def _floor_micros(x: str, n: int) -> str:
    us = f"UNIX_MICROS(CAST({x} AS TIMESTAMP_LTZ))"
    return f"(({us} - PMOD({us}, {n})) DIV {n})"  # floor, also before 1970


def _fix_date_diff(node: exp.DateDiff) -> exp.Expr | None:
    unit = _unit(node)
    if unit in _MICROS:
        sql = f"{_floor_micros('__e', _MICROS[unit])} - {_floor_micros('__s', _MICROS[unit])}"
    elif unit in _CALENDAR_DIFF:
        sql = _CALENDAR_DIFF[unit]
    else:
        return None
    return _tpl(f"CAST({sql} AS BIGINT)", e=node.this, s=node.expression)


_TRUNC_UNITS = {"YEAR", "QUARTER", "MONTH", "WEEK", "DAY", "HOUR", "MINUTE", "SECOND",
                "MILLISECOND", "MICROSECOND"}


def _fix_trunc(node: exp.Expr) -> exp.Expr | None:
    unit = _unit(node)
    if unit not in _TRUNC_UNITS:
        return None
    to = "TIMESTAMP_LTZ" if _kind(node.this) == "timestamptz" else "TIMESTAMP_NTZ"
    return _tpl(f"CAST(DATE_TRUNC('{unit}', __x) AS {to})", x=node.this)


def _fix_interval_arith(node: exp.Add | exp.Sub) -> exp.Expr | None:
    a, b = node.this, node.expression
    if isinstance(a, exp.Interval) and isinstance(node, exp.Add):
        a, b = b, a
    if not isinstance(b, exp.Interval) or isinstance(a, exp.Interval):
        return None
    if _kind(a) in ("timestamp", "timestamptz", "interval"):
        return None
    return node.__class__(this=exp.cast(a, "TIMESTAMP_NTZ"), expression=b)


def _fix_dayofweek(node: exp.DayOfWeek) -> exp.Expr:
    return _tpl("CAST(DAYOFWEEK(__x) - 1 AS BIGINT)", x=node.this)


def _fix_isodow(node: exp.DayOfWeekIso) -> exp.Expr:
    return _tpl("CAST(WEEKDAY(__x) + 1 AS BIGINT)", x=node.this)


def _fix_epoch(node: exp.TimeToUnix) -> exp.Expr:
    return _tpl("UNIX_MICROS(CAST(__x AS TIMESTAMP_LTZ)) / 1e6", x=node.this)


# -- aggregates ------------------------------------------------------------------------


def _in_within_group(node: exp.Expr) -> bool:
    return isinstance(node.parent, exp.WithinGroup)


def _same_decimal(x: exp.Expr, agg: exp.Expr) -> exp.Expr:
    """``agg`` cast to ``x``'s DECIMAL type: DuckDB interpolates decimals as decimals, Spark's
    exact percentiles are DOUBLE."""
    t = _column_type(x, "decimal")
    if t is None:
        return agg
    if isinstance(agg, exp.Anonymous) and isinstance(agg.expressions[1], exp.Array):
        return exp.cast(agg, exp.DataType.build("ARRAY", expressions=[t]))
    return exp.Cast(this=agg, to=t)


def _column_type(x: exp.Expr, *kinds: str) -> exp.DataType | None:
    """A copy of ``x``'s known type when its family is one of ``kinds``."""
    if _kind(x) not in kinds or x.type is None or isinstance(x, exp.Literal):
        return None
    return x.type.copy()


def _fix_percentile_cont(node: exp.PercentileCont) -> exp.Expr | None:
    if _in_within_group(node) or node.expression is None:
        return None
    pct = exp.Anonymous(this="PERCENTILE", expressions=[node.this, node.expression])
    return _same_decimal(node.this, pct)


def _fix_median(node: exp.Median) -> exp.Expr | None:
    if _kind(node.this) != "decimal":
        return None
    return _same_decimal(node.this, exp.Median(this=node.this.copy()))


def _disc(x: exp.Expr, q: exp.Expr) -> exp.Expr:
    # built by hand: sqlglot writes a parsed PERCENTILE_DISC .. WITHIN GROUP as PERCENTILE_APPROX
    agg = exp.Anonymous(this="PERCENTILE_DISC", expressions=[q.copy()])
    order = exp.Order(expressions=[exp.Ordered(this=x.copy(), nulls_first=False)])
    disc = exp.WithinGroup(this=agg, expression=order)
    t = _column_type(x, "int", "decimal")  # DuckDB returns a value of the column, Spark a DOUBLE
    return disc if t is None else exp.Cast(this=disc, to=t)


def _fix_percentile_disc(node: exp.Expr) -> exp.Expr | None:
    q = node.args.get("expression") or node.args.get("quantile")
    if _in_within_group(node) or q is None:
        return None
    if isinstance(q, exp.Array):  # DuckDB list of quantiles -> Spark array of aggregates
        return exp.Array(expressions=[_disc(node.this, e) for e in q.expressions])
    return _disc(node.this, q)


def _comparator(keys: Sequence[tuple[bool, bool]]) -> str:
    """``array_sort`` lambda ordering structs by ``_k0, _k1, ..`` (desc, nulls_first) each."""
    out = "0"
    for i in reversed(range(len(keys))):
        desc, nulls_first = keys[i]
        a, b = f"_l._k{i}", f"_r._k{i}"
        lt, gt = ("1", "-1") if desc else ("-1", "1")
        na, nb = ("-1", "1") if nulls_first else ("1", "-1")
        out = (f"CASE WHEN {a} IS NULL AND {b} IS NULL THEN {out} WHEN {a} IS NULL THEN {na} "
               f"WHEN {b} IS NULL THEN {nb} WHEN {a} < {b} THEN {lt} WHEN {a} > {b} THEN {gt} "
               f"ELSE {out} END")
    return out


def _null_first(o: exp.Ordered) -> bool:
    nf = o.args.get("nulls_first")
    return bool(o.args.get("desc")) if nf is None else bool(nf)


def _array_agg(node: exp.ArrayAgg, where: exp.Expr | None) -> exp.Expr:
    value, keys, distinct = node.this, [], False
    if isinstance(value, exp.Order):
        keys, value = list(value.expressions), value.this
    if isinstance(value, exp.Distinct):
        distinct, value = True, value.expressions[0]
    fields = {f"k{i}": o.this for i, o in enumerate(keys)} | {"v": value}
    struct = ", ".join(f"__{n} AS _{n}" for n in fields)
    agg = f"COLLECT_{'SET' if distinct else 'LIST'}(STRUCT({struct}))"
    count = "COUNT(1)"
    if where is not None:
        fields["w"] = where
        agg, count = f"{agg} FILTER (WHERE __w)", f"{count} FILTER (WHERE __w)"
    if keys:
        agg = f"ARRAY_SORT({agg}, (_l, _r) -> "
        agg += _comparator([(bool(o.args.get('desc')), _null_first(o)) for o in keys]) + ")"
    sql = f"CASE WHEN {count} = 0 THEN NULL ELSE TRANSFORM({agg}, _s -> _s._v) END"
    return _tpl(sql, **fields)


def _fix_array_agg(node: exp.ArrayAgg) -> exp.Expr | None:
    if isinstance(node.parent, (exp.Filter, exp.Window)):
        return None  # FILTER: rewritten with its filter; OVER: reported by the lint
    return _array_agg(node, None)


def _fix_filter(node: exp.Filter) -> exp.Expr | None:
    where = node.expression.this if isinstance(node.expression, exp.Where) else None
    if where is None:
        return None
    if isinstance(node.this, exp.ArrayAgg) and not isinstance(node.parent, exp.Window):
        return _array_agg(node.this, where)
    if isinstance(node.this, exp.Array):  # quantile_disc(x, [..]) FILTER: filter each element
        return exp.Array(expressions=[_filtered(e, node.expression) for e in node.this.expressions])
    return None


def _filtered(agg: exp.Expr, where: exp.Expr) -> exp.Expr:
    if isinstance(agg, exp.Cast):  # the FILTER belongs to the aggregate inside the cast
        return exp.Cast(this=_filtered(agg.this, where), to=agg.to.copy())
    return exp.Filter(this=agg, expression=where.copy())


def _fix_avg(node: exp.Avg) -> exp.Expr | None:
    if _kind(node.this) == "decimal":  # DuckDB avg(decimal) is DOUBLE, Spark's a DECIMAL
        node.set("this", exp.cast(node.this, "DOUBLE"))
    return None


# -- functions -------------------------------------------------------------------------


def _fix_isnan(node: exp.Expr) -> exp.Expr:
    return _tpl("IF(__x IS NULL, CAST(NULL AS BOOLEAN), ISNAN(__x))", x=node.this)


def _fix_isinf(node: exp.Expr) -> exp.Expr:
    return _tpl("(ABS(__x) = CAST('Infinity' AS DOUBLE))", x=node.this)


def _fix_anonymous(node: exp.Anonymous) -> exp.Expr | None:
    if node.name.lower() == "isfinite" and len(node.expressions) == 1:
        # DuckDB's isfinite takes dates and timestamps too: a form that holds for every type
        sql = ("(CASE WHEN __x IS NULL THEN NULL ELSE NOT CAST(__x AS STRING) IN "
               "('NaN', 'Infinity', '-Infinity') END)")
        return _tpl(sql, x=node.expressions[0])
    return None


_FIXES: dict[type, Callable] = {
    exp.Div: _fix_div,
    exp.IntDiv: _fix_int_div,
    exp.Mod: _fix_mod,
    exp.Cast: _fix_cast,
    exp.TryCast: _fix_cast,
    exp.Log: _fix_log,
    exp.DataType: _fix_datatype,
    exp.Round: _fix_round,
    exp.Floor: _fix_floor_ceil,
    exp.Ceil: _fix_floor_ceil,
    exp.DayOfWeekIso: _fix_isodow,
    exp.Week: _fix_week,
    exp.Sign: _fix_sign,
    exp.Median: _fix_median,
    exp.DateDiff: _fix_date_diff,
    exp.TimestampTrunc: _fix_trunc,
    exp.DateTrunc: _fix_trunc,
    exp.Add: _fix_interval_arith,
    exp.Sub: _fix_interval_arith,
    exp.DayOfWeek: _fix_dayofweek,
    exp.TimeToUnix: _fix_epoch,
    exp.PercentileCont: _fix_percentile_cont,
    exp.PercentileDisc: _fix_percentile_disc,
    exp.Quantile: _fix_percentile_disc,
    exp.ArrayAgg: _fix_array_agg,
    exp.Filter: _fix_filter,
    exp.Avg: _fix_avg,
    exp.IsNan: _fix_isnan,
    exp.IsInf: _fix_isinf,
    exp.Anonymous: _fix_anonymous,
}

#: sqlglot expression types ``to_spark`` rewrites (the lint does not report their Spark names)
REWRITTEN = frozenset(_FIXES)


# -- a hash both engines compute --------------------------------------------------------


def portable_hash_sql(exprs: Sequence[str], dialect: str) -> str:
    """SQL (in ``dialect``: ``duckdb`` or ``spark``) for a BIGINT hash in ``[0, 2**60)`` of
    ``exprs`` that both engines compute identically — unlike ``hash()`` (DuckDB: 64-bit
    unsigned, Spark: 32-bit murmur3). For tie-breaks and deterministic sampling.

    Built from ``md5`` of the values' text joined by U+001F, NULL as ``\\N``; the first 15 hex
    digits are the hash. Portable for integers, decimals, strings, booleans, dates and
    timestamps (same text on both engines); not for doubles (``1e+20`` vs ``1.0E20``) — cast
    them to DECIMAL first. ``exprs`` are SQL expressions already written in ``dialect``.

    >>> portable_hash_sql(["user_id"], "spark")  # doctest: +NORMALIZE_WHITESPACE
    "CAST(CONV(SUBSTR(MD5(CONCAT_WS(CHR(31), COALESCE(CAST(user_id AS STRING), '\\\\\\\\N'))),
     1, 15), 16, 10) AS BIGINT)"
    """
    if dialect not in ("duckdb", "spark"):
        raise ValueError(f"portable_hash_sql: dialect must be 'duckdb' or 'spark', not {dialect!r}")
    text_type = "VARCHAR" if dialect == "duckdb" else "STRING"
    null = "'\\N'" if dialect == "duckdb" else "'\\\\N'"  # Spark literals unescape backslashes
    parts = ", ".join(f"COALESCE(CAST({e} AS {text_type}), {null})" for e in exprs)
    digest = f"SUBSTR(MD5(CONCAT_WS(CHR(31), {parts})), 1, 15)"
    if dialect == "duckdb":
        return f"CAST('0x' || {digest} AS BIGINT)"
    return f"CAST(CONV({digest}, 16, 10) AS BIGINT)"
