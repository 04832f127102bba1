"""What in a DuckDB SQL text does not carry over to Spark: :func:`lint` lists each construct at
its ``line:col`` (1-based, in the given text) with a rewrite hint.

Findings are constructs Spark cannot run, or runs with a different answer that
:func:`fsql.engines.spark_sql.to_spark` cannot fix in SQL text. The traps ``to_spark`` does fix
(division by zero, ``date_diff``, NULL order, ``date_trunc`` types, ordered ``list``, ...) are
not findings. Unknown functions are found two ways: the declared table :data:`DUCKDB_ONLY`
(with a hint each), and any call whose Spark spelling is not one of Spark's built-in functions
(:data:`fsql.engines.spark_functions.SPARK_FUNCTIONS`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError, TokenError

from fsql.engines.spark_functions import SPARK_FUNCTIONS

__all__ = ["DUCKDB_ONLY", "Portability", "lint"]


@dataclass(frozen=True)
class Portability:
    """One construct that does not carry over to Spark, at ``line:col`` of the linted text."""

    line: int
    col: int
    construct: str
    message: str
    hint: str


_LIST_HINT = "use Spark's array functions (aggregate, transform, filter, array_*, slice, size)"
#: DuckDB functions with no Spark equivalent under the same name, and what to write instead.
DUCKDB_ONLY: dict[str, str] = {
    "list_": _LIST_HINT,  # every list_* function (prefix)
    "array_slice": "use slice(arr, start, length)",
    "array_length": "use size(arr)",
    "len": "use length(s) for strings, size(arr) for arrays",
    "hash": "hash() differs between engines (DuckDB 64-bit, Spark 32-bit murmur3); for a "
    "tie-break or sample use md5() of the key, e.g. conv(substr(md5(cast(k as varchar)), 1, 15), "
    "16, 10), or avoid depending on hash values",
    "epoch_ms": "use epoch(ts) * 1000 (milliseconds) or make_timestamp(...) (to a timestamp)",
    "epoch_us": "use epoch(ts) * 1000000",
    "epoch_ns": "use epoch(ts) * 1000000000",
    "md5_number": "use md5() and take hex digits (portable_hash_sql)",
    "regexp_full_match": "use regexp_matches(s, '^(?:pattern)$')",
    "regexp_split_to_array": "use string_split(s, sep) with a literal separator",
    "string_split_regex": "use string_split(s, sep) with a literal separator",
    "struct_extract": "use s.field",
    "struct_insert": "build the struct again with struct_pack(...)",
    "strptime": "use cast(s as TIMESTAMP) for ISO text; DuckDB and Spark format codes differ",
    "strftime": "format on the client, or use date parts (year(), month(), ...)",
    "time_bucket": "use date_trunc(unit, ts) or floor arithmetic on epoch(ts)",
    "generate_series": "table functions differ; build the series in a seed or a sources table",
    "range": "table functions differ; build the series in a seed or a sources table",
    "read_csv": "declare the file as a source in sources.yml",
    "read_csv_auto": "declare the file as a source in sources.yml",
    "read_parquet": "declare the file as a source in sources.yml",
    "read_json": "declare the file as a source in sources.yml",
    "read_json_auto": "declare the file as a source in sources.yml",
    "entropy": "compute -sum(p * ln(p)) over the value frequencies",
    "fsum": "use sum()",
    "histogram": "use count(*) ... group by value",
    "arg_max_null": "use max_by()",
    "arg_min_null": "use min_by()",
    "columns": "list the columns explicitly",
    "to_timestamp": "use make_timestamp(...) or cast; DuckDB returns TIMESTAMP WITH TIME ZONE",
}

_BAD_TYPES = {
    "UTINYINT", "USMALLINT", "UINTEGER", "UINT", "UBIGINT", "UHUGEINT", "HUGEINT", "INT128",
    "UINT128", "VARINT", "BIGNUM", "TIME", "TIMETZ", "UUID", "ENUM", "BIT", "UNION",
}
_TYPE_HINT = "use a signed type wide enough (SMALLINT/INTEGER/BIGINT) or DECIMAL(38, 0)"
_TYPE_HINTS = {"TIME": "use a TIMESTAMP or seconds since midnight", "UUID": "use VARCHAR",
               "ENUM": "use VARCHAR", "BIT": "use BINARY or an integer", "TIMETZ": "use TIMESTAMP",
               "UNION": "use a STRUCT with one nullable field per member"}
_INFINITE = {"infinity", "-infinity", "+infinity"}
_NOT_FUNCTIONS = {"cast", "try_cast", "case", "if", "array", "struct", "map", "named_struct",
                  "interval", "extract", "exists", "in", "and", "or", "not", "filter"}


def lint(sql: str, *, names: bool = True) -> list[Portability]:
    """Constructs of the DuckDB SQL ``sql`` that do not carry over to Spark, in text order.

    ``names``: also report output columns whose name would differ between the engines (an
    expression without an alias in the outermost SELECT: DuckDB calls ``count(*)``
    ``count_star()``, Spark ``count(1)``) — on for models, whose column names are their schema.

    >>> [f.construct for f in lint("select count(distinct m) over (partition by u) as n from t")]
    ['count(distinct ..) over']
    """
    try:
        tokens = sqlglot.tokenize(sql, read="duckdb")
        trees = [t for t in sqlglot.parse(sql, read="duckdb") if t is not None]
    except (ParseError, TokenError) as e:
        info = (getattr(e, "errors", None) or [{}])[0]
        return [Portability(info.get("line") or 1, info.get("col") or 1, "syntax",
                            f"DuckDB SQL that does not parse: {e}", "fix the SQL first")]
    found: dict[tuple[int, int, str], Portability] = {}
    for offset, construct, message, hint in _findings(sql, tokens, trees, names):
        line, col = _line_col(sql, offset)
        found.setdefault((line, col, construct), Portability(line, col, construct, message, hint))
    return sorted(found.values(), key=lambda p: (p.line, p.col, p.construct))


_Finding = tuple[int, str, str, str]


def _findings(sql: str, tokens: list, trees: list[exp.Expr], names: bool) -> Iterator[_Finding]:
    yield from _token_findings(tokens)
    for tree in trees:
        if names:
            yield from _name_findings(tokens, tree)
        for node in tree.walk():
            yield from _node_findings(sql, tokens, node)


def _line_col(sql: str, offset: int) -> tuple[int, int]:
    line = sql.count("\n", 0, offset) + 1
    return line, offset - (sql.rfind("\n", 0, offset) + 1) + 1


def _token_findings(tokens: list) -> Iterator[_Finding]:
    for i, tok in enumerate(tokens):
        nxt = tokens[i + 1] if i + 1 < len(tokens) else None
        name = tok.text.lower()
        if nxt is not None and nxt.text == "(" and tok.token_type.name not in ("STRING",):
            hint = DUCKDB_ONLY.get(name if not name.startswith("list_") else "list_")
            if hint and (name != "range" or _is_table_position(tokens, i)):
                message = f"{name}() is a DuckDB function Spark does not have"
                yield tok.start, f"{name}()", message, hint
        if tok.token_type.name == "STRING" and _is_table_position(tokens, i):
            yield (tok.start, "FROM 'file'", "Spark cannot scan a file by its path in FROM",
                   "declare the file as a source in sources.yml and use source(..)")
        if tok.text.upper() in _BAD_TYPES and _is_type_position(tokens, i):
            t = tok.text.upper()
            yield (tok.start, t, f"type {t} does not exist in Spark",
                   _TYPE_HINTS.get(t, _TYPE_HINT))


def _is_type_position(tokens: list, i: int) -> bool:
    prev = tokens[i - 1].text.upper() if i else ""
    double_colon = i > 1 and tokens[i - 1].text == ":" and tokens[i - 2].text == ":"
    return prev in ("AS", "::") or double_colon


def _is_table_position(tokens: list, i: int) -> bool:
    before = tokens[i - 1].text.upper() if i > 0 else ""
    distinct_from = i > 1 and tokens[i - 2].text.upper() == "DISTINCT"  # IS [NOT] DISTINCT FROM
    return before == "JOIN" or before == "FROM" and not distinct_from


def _start(node: exp.Expr, tokens: list, word: str | None = None) -> int:
    """Offset of ``node`` in the text: its own position, else its first positioned part."""
    if node.meta.get("start") is not None:
        return int(node.meta["start"])
    starts = [int(n.meta["start"]) for n in node.walk() if n.meta.get("start") is not None]
    if word is not None:  # a keyword before the node's first part (ASOF, REPLACE, ...)
        first = min(starts) if starts else 10**12
        kw = [t.start for t in tokens if t.text.upper() == word and t.start < first]
        if kw:
            return kw[-1]
    return min(starts) if starts else 0


def _node_findings(sql: str, tokens: list, node: exp.Expr) -> Iterator[_Finding]:
    if isinstance(node, exp.Join) and node.args.get("method"):
        method = str(node.args["method"]).upper()
        if method in ("ASOF", "POSITIONAL"):
            yield (_start(node, tokens, method), f"{method} JOIN",
                   f"Spark has no {method} JOIN",
                   "for the latest row at or before a time, use a window: "
                   "max_by(..)/row_number() over (partition by key order by ts) on the union of "
                   "both sides, or a range join plus row_number() = 1"
                   if method == "ASOF" else "join on a row_number() key")
    elif isinstance(node, exp.Window):
        yield from _window_findings(tokens, node)
    elif isinstance(node, exp.Star) and node.args.get("replace"):
        yield (_start(node, tokens, "REPLACE"), "SELECT * REPLACE",
               "Spark has no * REPLACE (...)",
               "list the columns, writing the replaced ones as expressions")
    elif isinstance(node, exp.Cast):
        yield from _cast_findings(tokens, node)
    elif isinstance(node, exp.TableSample):
        yield (_start(node, tokens, "USING"), "USING SAMPLE", "samples differ between engines",
               "sample deterministically, e.g. where txn_id % 10 = 0")
    elif isinstance(node, exp.Func):
        yield from _function_findings(sql, tokens, node)


def _name_findings(tokens: list, tree: exp.Expr) -> Iterator[_Finding]:
    outer = tree
    while isinstance(outer, exp.SetOperation):  # a UNION's column names are its first branch's
        outer = outer.this
    if not isinstance(outer, exp.Select):
        return
    for e in outer.expressions:
        if not isinstance(e, exp.Alias | exp.Column | exp.Star):
            yield (_start(e, tokens), "column without alias",
                   "the engines name an expression column differently (DuckDB count_star(), "
                   "Spark count(1))", f"add an alias: {e.sql(dialect='duckdb')} AS name")


def _window_findings(tokens: list, node: exp.Window) -> Iterator[_Finding]:
    agg = node.this.this if isinstance(node.this, exp.Filter) else node.this
    if isinstance(agg, exp.AggFunc) and isinstance(agg.this, exp.Distinct):
        name = agg.sql_name().lower()
        yield (_start(agg, tokens), f"{name}(distinct ..) over",
               f"Spark cannot compute {name}(DISTINCT ..) over a window",
               "count each value +1 on the day it enters the window and -1 on the day it has "
               "left it, and sum those events over the window (the sample project's "
               "user_merchant_diversity does; see docs/spark.md)")
    elif isinstance(agg, exp.ArrayAgg):
        yield (_start(agg, tokens), "list(..) over",
               "Spark's collect_list over a window drops NULLs and ignores ORDER BY",
               "aggregate with list(..) in a GROUP BY, or filter NULLs first")


def _cast_findings(tokens: list, node: exp.Cast) -> Iterator[_Finding]:
    value = node.this
    if isinstance(value, exp.Literal) and value.is_string and value.name.lower() in _INFINITE:
        if node.to.is_type(*exp.DataType.TEMPORAL_TYPES):
            yield (_start(value, tokens) if value.meta else _start(node, tokens),
                   f"'{value.name}'", f"Spark dates and timestamps have no '{value.name}'",
                   "use a far date (e.g. DATE '9999-12-31') or NULL")


def _function_findings(sql: str, tokens: list, node: exp.Func) -> Iterator[_Finding]:
    if node.meta.get("start") is None:
        return
    start, end = int(node.meta["start"]), int(node.meta["end"])
    written = sql[start : end + 1].lower()
    if written in DUCKDB_ONLY or written.startswith("list_"):
        return  # reported with its hint by the token pass
    if isinstance(node, exp.DateDiff | exp.TimestampTrunc | exp.DateTrunc):
        yield from _unit_findings(node, written, start)
        return
    from fsql.engines.spark_sql import REWRITTEN  # late: spark_sql imports this module

    if type(node) in REWRITTEN and not isinstance(node, exp.Anonymous) or written == "isfinite":
        return  # to_spark writes these in Spark's terms
    m = re.match(r"\s*([A-Za-z_][A-Za-z0-9_]*)\s*\(", node.sql(dialect="spark"))
    if m and m.group(1).lower() not in SPARK_FUNCTIONS | _NOT_FUNCTIONS:
        yield (start, f"{written}()", f"{written}() has no Spark equivalent (sqlglot writes "
               f"{m.group(1)}(), which Spark does not know)", "rewrite with portable functions")


_UNITS = {"day", "days", "week", "weeks", "month", "months", "quarter", "quarters", "year",
          "years", "hour", "hours", "minute", "minutes", "second", "seconds", "millisecond",
          "milliseconds", "microsecond", "microseconds", "d", "h", "m", "s", "ms", "us", "w",
          "y", "min", "mon", "mons", "sec"}


def _unit_findings(node: exp.Expr, written: str, start: int) -> Iterator[_Finding]:
    unit = node.args.get("unit")
    name = unit.name.lower() if isinstance(unit, exp.Var | exp.Literal) else None
    if name not in _UNITS:
        yield (start, f"{written}({name or '<expr>'}, ..)",
               f"{written}() with unit {name or '(not a literal)'} is not portable",
               "use a literal unit: day, week, month, quarter, year, hour, minute, second, "
               "millisecond or microsecond")
