"""The fused SQL executor: one aggregate scan for all counts and statistics of a suite.

Checks (see ``checks.py``) register SQL aggregates on an :class:`Executor`; the executor runs

1. one ``SELECT <all aggregates>, (<group/window scalar subqueries>) FROM relation``,
2. at most one dependent aggregate (z-scores, exact order statistics for large tables) and at
   most one fetch of small columns for pandas-exact statistics,
3. sample queries (unexpected values / row positions) only for map expectations that failed.

If the fused statement fails (e.g. a bad ``where``/type combination in one expectation), the
aggregates are re-run per expectation so a single broken expectation reports an error
instead of taking down the whole suite.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from fsql.engines.duckdb import DuckDBError, quote_ident

__all__ = ["Column", "Executor", "MapCheck", "CheckError", "literal", "RN", "run_stages"]

RN = "__fsql_rn"
INT_TYPES = {
    "TINYINT",
    "SMALLINT",
    "INTEGER",
    "BIGINT",
    "HUGEINT",
    "UTINYINT",
    "USMALLINT",
    "UINTEGER",
    "UBIGINT",
    "UHUGEINT",
    "INT",
    "INT8",
    "INT4",
    "INT2",
    "LONG",
}
FLOAT_TYPES = {"FLOAT", "DOUBLE", "REAL", "FLOAT4", "FLOAT8"}
STR_TYPES = {"VARCHAR", "TEXT", "STRING", "CHAR", "BPCHAR"}


class CheckError(Exception):
    """An expectation cannot be evaluated on this data (GX would raise at run time)."""


@dataclass(frozen=True)
class Column:
    """A column of the checked relation and the type family that drives GX semantics."""

    name: str
    type: str
    ident: str | None = None  # the SQL name when it differs (columns differing only in case)
    mixed: bool = False  # a key column of mixed Python values (see frames.py)
    text: bool = False  # has a "<ident>__fsql_text" column: str() of the frame's values

    @property
    def q(self) -> str:
        return quote_ident(self.ident or self.name)

    @property
    def base(self) -> str:
        return self.type.upper().split("(")[0].strip()

    @property
    def is_int(self) -> bool:
        return self.base in INT_TYPES

    @property
    def is_float(self) -> bool:
        return self.base in FLOAT_TYPES or self.base == "DECIMAL" or self.base == "NUMERIC"

    @property
    def is_numeric(self) -> bool:
        return self.is_int or self.is_float

    @property
    def is_str(self) -> bool:
        return self.base in STR_TYPES

    @property
    def is_bool(self) -> bool:
        return self.base in ("BOOLEAN", "BOOL")

    @property
    def is_void(self) -> bool:
        """No type at all: pandas object columns holding only None register as NULL."""
        return self.base == "NULL" or self.type.strip('"').upper() == "NULL"

    @property
    def is_temporal(self) -> bool:
        return self.base.startswith("TIMESTAMP") or self.base in ("DATE", "DATETIME", "TIME")

    @property
    def missing(self) -> str:
        """SQL: the value is missing (NULL, or NaN in a float column, as pandas' isnull)."""
        if self.base in FLOAT_TYPES:
            return f"({self.q} IS NULL OR isnan({self.q}))"
        return f"({self.q} IS NULL)"

    @property
    def present(self) -> str:
        return f"(NOT {self.missing})"

    @property
    def norm(self) -> str:
        """The value with NaN folded into NULL (pandas sees both as NaN)."""
        if self.base in FLOAT_TYPES:
            return f"(CASE WHEN isnan({self.q}) THEN NULL ELSE {self.q} END)"
        return self.q

    @property
    def family(self) -> str:
        """Values of two columns can only be equal (pandas object equality) in one family."""
        if self.is_numeric or self.is_bool:
            return "number"
        if self.is_str:
            return "string"
        if self.is_temporal:
            return "time"
        return self.base

    @property
    def null_kind(self) -> str:
        if self.is_float:
            return "nan"
        if self.is_int:
            return "na"
        return "nat" if self.is_temporal else "none"

    @property
    def is_aware(self) -> bool:
        """A tz-aware timestamp column (pandas ``datetime64[ns, tz]``)."""
        return "TIME ZONE" in self.type.upper() or self.base == "TIMESTAMPTZ"


def literal(v: Any) -> str:
    """Render a Python scalar as a DuckDB literal (floats as DOUBLE, like pandas float64)."""
    import datetime as dt

    if v is None:
        return "NULL"
    if isinstance(v, bool):
        return "TRUE" if v else "FALSE"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return f"'{v!r}'::DOUBLE"
    if isinstance(v, dt.datetime) and v.tzinfo is not None:  # an instant: keep its offset
        return f"TIMESTAMPTZ '{v.isoformat(sep=' ')}'"
    if isinstance(v, dt.datetime):
        return f"TIMESTAMP '{v.isoformat(sep=' ')}'"
    if isinstance(v, dt.date):
        return f"DATE '{v.isoformat()}'"
    return "'" + str(v).replace("'", "''") + "'"


@dataclass
class MapCheck:
    """A row-wise (map) expectation compiled to SQL predicates.

    ``domain``: rows considered (non-missing); ``unexpected``: predicate on those rows;
    ``values``: SQL expressions shown in unexpected lists (with the pandas null kind);
    ``windows``: alias -> window expression computed over domain rows (``{order}`` is
    replaced by the row-order clause); ``count_sql``: a scalar subquery counting unexpected
    rows when the predicate needs windows.
    """

    domain: str
    unexpected: str
    values: list[tuple[str, str]]
    shape: str = "scalar"  # scalar | pair | dict
    names: list[str] = field(default_factory=list)
    windows: dict[str, str] = field(default_factory=dict)
    count_sql: str | None = None
    report_missing: bool = True


class Executor:
    """Collects aggregates for one relation (+ where filter) and runs them fused."""

    def __init__(
        self,
        con: Any,
        relation: str,
        columns: Sequence[Column],
        where: str | None,
        counter: Callable[[], None] | None = None,
    ) -> None:
        self.con = con
        self.relation = relation
        self.columns = {c.name: c for c in columns}
        self.column_order = [c.name for c in columns]
        self.where = where
        self.src = f"(SELECT * FROM {relation} WHERE {where})" if where else relation
        rn = f"(SELECT *, row_number() OVER () - 1 AS {RN} FROM {relation})"
        self.rn_src = f"(SELECT * FROM {rn} WHERE {where})" if where else rn
        self._aggs: dict[str, str] = {}
        self._owner: dict[str, set[int]] = {}
        self.values: dict[str, Any] = {}
        self.failed: dict[int, str] = {}
        self.owner = -1
        self.queries = 0
        self._udfs: set[str] = set()
        self._wanted: dict[str, Column] = {}
        self.column_values: dict[str, list[Any]] = {}

    # --- registration ------------------------------------------------------------------
    def agg(self, sql: str) -> str:
        """Register an aggregate (or scalar subquery) for the current stage; returns its key."""
        key = self._aggs.get(sql)
        if key is None:
            key = f"a{len(self.values) + len(self._aggs)}"
            self._aggs[sql] = key
        self._owner.setdefault(key, set()).add(self.owner)
        return key

    def col(self, name: str) -> Column:
        """The column GX would read: the first whose name matches ignoring case (GX's
        ``get_dbms_compatible_column_names``), so ``B`` reads ``b`` when ``b`` comes first."""
        folded = name.casefold()
        c = next((c for c in self.columns.values() if c.name.casefold() == folded), None)
        if c is None:
            from fsql.errors import did_you_mean

            hint = did_you_mean(name, self.columns)
            raise CheckError(f"column '{name}' does not exist" + (f" ({hint})" if hint else ""))
        return c

    # --- execution -----------------------------------------------------------------------
    def execute(self, sql: str, params: Sequence[Any] | None = None) -> Any:
        self.queries += 1
        return self.con.execute(sql, list(params) if params else [])

    def want_values(self, col: Column) -> None:
        """Ask for the column's values in row order, None = missing (fetched next stage)."""
        if col.name not in self.column_values:
            self._wanted[col.name] = col

    def _fetch_values(self) -> None:
        cols = list(self._wanted.values())
        self._wanted = {}
        rows = self.execute(f"SELECT {', '.join(c.q for c in cols)} FROM {self.src}").fetchall()
        for i, c in enumerate(cols):
            vals = [r[i] for r in rows]
            if c.is_bool:
                vals = [None if v is None else int(v) for v in vals]
            elif c.base in ("DECIMAL", "NUMERIC"):
                vals = [None if v is None else float(v) for v in vals]
            self.column_values[c.name] = [v if v is not None and v == v else None for v in vals]

    def run_stage(self) -> None:
        """Run every registered aggregate in one statement (per-owner fallback on error)."""
        if self._wanted:
            self._fetch_values()
        if not self._aggs:
            return
        items = list(self._aggs.items())
        self._aggs = {}
        try:
            self._run(items)
            return
        except DuckDBError:
            pass
        by_owner: dict[int, list[tuple[str, str]]] = {}
        for sql, key in items:
            for o in self._owner.get(key, {-1}):
                by_owner.setdefault(o, []).append((sql, key))
        for o, its in by_owner.items():
            if o in self.failed:
                continue
            try:
                self._run(its)
            except DuckDBError as e:
                self.failed[o] = _short(e)

    def fusable(self) -> list[tuple[str, str]] | None:
        """This stage's aggregates with the executor's filter folded into their FILTER
        clauses (so they can share one scan of the relation); None if one cannot be."""
        out = []
        for sql, key in self._aggs.items():
            folded = sql if not self.where else with_filter(sql, self.where)
            if folded is None:
                return None
            out.append((folded, key))
        return out

    def take(self, values: dict[str, Any]) -> None:
        """Store the fused statement's answers for this executor's aggregates."""
        for key in self._aggs.values():
            self.values[key] = values[key]
        self._aggs = {}

    def _run(self, items: list[tuple[str, str]]) -> None:
        # count(*) keeps the statement an aggregate (one row) even with only subqueries
        select = ", ".join(["count(*) AS __fsql_n"] + [f"{sql} AS {key}" for sql, key in items])
        row = self.execute(f"SELECT {select} FROM {self.src}").fetchone()
        for (_, key), v in zip(items, row[1:], strict=True):
            self.values[key] = v

    def fetch_map_samples(self, m: MapCheck, limit: int | None) -> list[tuple[Any, ...]]:
        """Unexpected rows (value columns..., row position) in row order."""
        windows = "".join(
            f", {w.format(order=f'ORDER BY {RN}')} AS {a}" for a, w in m.windows.items()
        )
        vals = ", ".join(v for v, _ in m.values)
        sql = (
            f"SELECT {vals}, {RN} FROM (SELECT *{windows} FROM {self.rn_src} WHERE {m.domain}) "
            f"WHERE {m.unexpected} ORDER BY {RN}"
        )
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        return self.execute(sql).fetchall()

    def regex(self, text_sql: str, pattern: str) -> str:
        """SQL predicate: Python ``re.search(pattern, text)`` is truthy."""
        translated = to_re2(pattern)
        if translated is not None:
            return f"regexp_matches({text_sql}, {literal(translated)})"
        self._ensure_udf()
        return f"fsql_re_search({literal(pattern)}, {text_sql})"

    def _ensure_udf(self) -> None:
        self.udf("fsql_re_search")

    def udf(self, name: str) -> None:
        """Register the Python function ``name`` (see ``udfs.py``) on the connection."""
        if name in self._udfs:
            return
        from .udfs import UDFS

        fn, params = UDFS[name]
        try:
            self.con.create_function(name, fn, params, "BOOLEAN", side_effects=False)
        except Exception as e:  # already registered on this database, or no UDF support
            if "already" not in str(e).lower() and "exists" not in str(e).lower():
                raise CheckError(f"{name} needs Python but UDFs are unavailable: {e}") from e
        self._udfs.add(name)


def with_filter(sql: str, cond: str) -> str | None:
    """``agg(...) [FILTER (WHERE p)]`` -> ``agg(...) FILTER (WHERE (cond) AND (p))``.

    Scalar subqueries read the executor's filtered ``src`` already and stay as they are;
    any other shape returns None (that executor then runs its own scan).
    """
    if sql.startswith("("):
        return sql
    m = re.match(r"[A-Za-z_]\w*\(", sql)
    end = _close(sql, m.end() - 1) if m else -1
    if end < 0:
        return None
    head, rest = sql[: end + 1], sql[end + 1 :].strip()
    if not rest:
        return f"{head} FILTER (WHERE {cond})"
    fm = re.fullmatch(r"FILTER\s*\(\s*WHERE\s+(.*)\)", rest, re.S)
    if fm is None or _close(rest, rest.index("(")) != len(rest) - 1:
        return None
    return f"{head} FILTER (WHERE ({cond}) AND ({fm.group(1)}))"


def _close(text: str, start: int) -> int:
    """Index of the parenthesis closing ``text[start]`` (quotes respected), or -1."""
    depth, i, quote = 0, start, ""
    while i < len(text):
        ch = text[i]
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    return -1


def run_stages(executors: Sequence[Executor]) -> None:
    """Run the pending aggregates of every executor (one per filter) of a relation in ONE
    statement; on failure, or for aggregates that cannot be folded, each runs its own."""
    for ex in executors:
        if ex._wanted:
            ex._fetch_values()
    fused: list[tuple[Executor, list[tuple[str, str]]]] = []
    alone: list[Executor] = []
    for ex in executors:
        items = ex.fusable() if ex._aggs else []
        if items is None:
            alone.append(ex)
        elif items:
            fused.append((ex, items))
    if len(fused) == 1:
        alone.append(fused.pop()[0])
    elif fused:
        try:
            _run_fused(fused)
        except DuckDBError:
            alone.extend(ex for ex, _ in fused)
    for ex in alone:
        ex.run_stage()


def _run_fused(fused: list[tuple[Executor, list[tuple[str, str]]]]) -> None:
    first = fused[0][0]
    cols, names = ["count(*) AS __fsql_n"], []
    for n, (_, items) in enumerate(fused):
        for sql, key in items:
            cols.append(f"{sql} AS f{n}_{key}")
            names.append((n, key))
    row = first.execute(f"SELECT {', '.join(cols)} FROM {first.relation}").fetchone()
    got: dict[int, dict[str, Any]] = {}
    for (n, key), v in zip(names, row[1:], strict=True):
        got.setdefault(n, {})[key] = v
    for n, (ex, _) in enumerate(fused):
        ex.take(got[n])


def _short(e: Exception) -> str:
    return str(e).strip().splitlines()[0][:500]


_CLASS_ESC = {"d": r"\p{Nd}", "w": r"\p{L}\p{N}_", "s": r"\s\x0b\x1c-\x1f\x85\p{Z}"}
_OUT_ESC = {
    "d": r"\p{Nd}",
    "D": r"\P{Nd}",
    "w": r"[\p{L}\p{N}_]",
    "W": r"[^\p{L}\p{N}_]",
    "s": r"[\s\x0b\x1c-\x1f\x85\p{Z}]",
    "S": r"[^\s\x0b\x1c-\x1f\x85\p{Z}]",
    "Z": r"\z",
}


def to_re2(pattern: str) -> str | None:
    """Translate a Python regex to RE2 with the same ``re.search`` truth value.

    Handles Unicode ``\\d \\w \\s`` (Python) vs ASCII (RE2), ``$`` matching before a final
    newline, and ``\\Z``. Returns None for constructs RE2 lacks (lookarounds, backreferences,
    verbose mode); the caller then evaluates the regex with Python's ``re``.
    """
    if re.search(r"\(\?[<]?[=!]|\(\?P=|\\[1-9]|\(\?[a-zA-Z]*x", pattern):
        return None
    multiline = re.match(r"^\(\?[a-zA-Z]*m", pattern) is not None
    out: list[str] = []
    i, in_class = 0, False
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\" and i + 1 < len(pattern):
            nxt = pattern[i + 1]
            table = _CLASS_ESC if in_class else _OUT_ESC
            out.append(table.get(nxt, ch + nxt))
            i += 2
            continue
        if in_class:
            if ch == "]" and not (out and out[-1] in ("[", "[^")):
                in_class = False
            out.append("\\[" if ch == "[" else ch)  # RE2 would read [: :] as a POSIX class
        elif ch == "[":
            in_class = True
            if pattern[i + 1 : i + 2] == "^":
                out.append("[^")
                i += 2
                continue
            out.append(ch)
        elif ch == "$" and not multiline:
            out.append(r"(?:\n?\z)")
        else:
            out.append(ch)
        i += 1
    return "".join(out)
