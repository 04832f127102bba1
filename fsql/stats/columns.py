"""Stage 9 — profile: column statistics of a version, in a fixed, small number of queries.

:func:`profile_relation` runs at most **four** queries whatever the column count:

1. *meta*: the row count (plus the column types when ``columns`` is not given);
2. *scan* (full data): per column count, nulls, min, max, distinct, mean and stdev;
3. *distribution* (full data, or a deterministic row-hash sample above ``sample_rows`` rows):
   quantiles (``quantile_cont``, exact on the rows it sees) and a 100-bin histogram per
   numeric/temporal column, bucketed with the exact min/max of query 2;
4. *values*: value counts of string/boolean columns (full data; high-cardinality columns use
   the sample), the top 20 kept as ``top_values`` and up to 1,000 as ``categories``.

Choices (see docs/statistics.md): ``count`` = non-null values (``count + nulls`` = rows);
NaN and ±inf are counted as **nulls** and excluded from every statistic; ``distinct`` is exact
up to 1e6 rows and ``approx_count_distinct`` (HyperLogLog) above; temporal min/max/mean/
quantiles/histogram edges are ISO-8601 strings (TIMESTAMP WITH TIME ZONE in UTC, ``+00:00``),
their stdev is in seconds; booleans get ``mean`` = share of ``true``.
Drift lives in :mod:`fsql.stats.drift` (which builds on this module).
"""

from __future__ import annotations

import json
import math
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from datetime import UTC, date, datetime
from typing import Any

from ..engines.duckdb import quote_ident
from ..state import META, STATS_DDL, insert_rows

__all__ = [
    "ColumnStats", "TableProfile", "profile_relation", "store_profile",
    "load_profile", "column_kind",
]

QUANTILES: tuple[tuple[str, float], ...] = (
    ("p01", 0.01), ("p05", 0.05), ("p25", 0.25), ("p50", 0.5), ("p75", 0.75), ("p95", 0.95),
    ("p99", 0.99))
HIST_BINS = 20          # public histogram
FINE_BINS = 100         # stored for drift (KS / PSI re-binning); 5 fine bins = 1 public bin
TOP_K = 20
CATEGORY_CAP = 1_000    # value counts kept per string/boolean column (complete when fewer)
EXACT_DISTINCT_MAX = 100_000
SAMPLE_ROWS = 100_000
HIGH_CARD = 100_000     # string columns with more distinct values count on the sample
SAMPLE_SEED = 42

_INTS = {"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT",
         "UINTEGER", "UBIGINT", "UHUGEINT", "INT1", "INT2", "INT4", "INT8", "INT", "LONG",
         "SHORT", "INT128", "UINT128", "VARINT", "BIGNUM"}
_FLOATS = {"FLOAT", "DOUBLE", "REAL", "FLOAT4", "FLOAT8"}
_TEMPORAL = {"DATE", "TIMESTAMP", "TIMESTAMP_S", "TIMESTAMP_MS", "TIMESTAMP_NS", "DATETIME",
             "TIMESTAMP WITH TIME ZONE", "TIMESTAMPTZ"}
_STRINGS = {"VARCHAR", "UUID", "TEXT", "STRING"}



def column_kind(type_: str) -> str:
    """'numeric' | 'float' | 'temporal' | 'string' | 'boolean' | 'other' for a DuckDB type.

    >>> [column_kind(t) for t in ("BIGINT", "DECIMAL(18,3)", "DOUBLE", "DATE", "VARCHAR[]")]
    ['numeric', 'numeric', 'float', 'temporal', 'other']
    """
    t = type_.strip().upper()
    if t in _FLOATS:
        return "float"
    if t in _INTS or t.startswith(("DECIMAL", "NUMERIC")):
        return "numeric"
    if t in _TEMPORAL:
        return "temporal"
    if t in _STRINGS or t.startswith("ENUM(") or re.fullmatch(r"VARCHAR\(\d+\)", t):
        return "string"
    if t in ("BOOLEAN", "BOOL", "LOGICAL"):
        return "boolean"
    return "other"


@dataclass(frozen=True)
class ColumnStats:
    """Statistics of one column of one version (every value JSON-serializable).

    ``histogram`` is None for types without one and ``[]`` when the column has no values;
    ``histogram_fine`` (100 bins on the same range) and ``categories`` (all value counts when
    the column has at most 1,000 distinct values, else None) feed drift.
    """

    column: str
    type: str
    count: int
    nulls: int
    distinct: int | None
    distinct_approx: bool
    min: Any
    max: Any
    mean: Any
    stdev: float | None
    quantiles: dict[str, Any]
    histogram: list[dict[str, Any]] | None
    top_values: list[dict[str, Any]] | None
    kind: str = "other"
    quantiles_approx: bool = False
    histogram_fine: tuple[int, ...] | None = None
    categories: tuple[tuple[Any, int], ...] | None = None
    lo: float | None = None   # numeric range of the histogram (epoch µs for temporal)
    hi: float | None = None
    mean_num: float | None = None  # mean as a number (epoch seconds for temporal)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (lists instead of tuples)."""
        d = {f.name: getattr(self, f.name) for f in fields(self)}
        d["histogram_fine"] = list(self.histogram_fine) if self.histogram_fine else None
        d["categories"] = [list(c) for c in self.categories] if self.categories else None
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ColumnStats:
        known = {f.name for f in fields(cls)}
        kw = {k: v for k, v in d.items() if k in known}
        if kw.get("histogram_fine") is not None:
            kw["histogram_fine"] = tuple(kw["histogram_fine"])
        if kw.get("categories") is not None:
            kw["categories"] = tuple((v, int(n)) for v, n in kw["categories"])
        return cls(**kw)


_FRAME_COLS = ("column", "type", "kind", "count", "nulls", "distinct", "distinct_approx",
               "min", "max", "mean", "stdev", "quantiles", "histogram", "top_values")


@dataclass(frozen=True)
class TableProfile:
    """Statistics of every column of a relation; ``sample_rows`` is set when the
    distribution statistics (quantiles, histograms) came from a sample."""

    relation: str
    row_count: int
    columns: tuple[ColumnStats, ...]
    duration_s: float
    sample_rows: int | None = None
    queries: int = 0

    def column(self, name: str) -> ColumnStats | None:
        return next((c for c in self.columns if c.column == name), None)

    def to_dict(self) -> dict[str, Any]:
        return {"relation": self.relation, "row_count": self.row_count,
                "duration_s": round(self.duration_s, 6), "sample_rows": self.sample_rows,
                "columns": [c.to_dict() for c in self.columns]}

    def to_pandas(self) -> Any:
        """One row per column: the public statistics, quantiles spread as p01..p99."""
        import pandas as pd

        rows = []
        for c in self.columns:
            d = {k: getattr(c, k) for k in _FRAME_COLS}
            q = d.pop("quantiles")
            d.update({name: q.get(name) for name, _ in QUANTILES})
            rows.append(d)
        cols = [k for k in _FRAME_COLS if k != "quantiles"]
        cols[cols.index("stdev") + 1:cols.index("stdev") + 1] = [n for n, _ in QUANTILES]
        return pd.DataFrame(rows, columns=cols)


# -- SQL pieces ------------------------------------------------------------------------------
@dataclass
class _Col:
    i: int
    name: str
    type: str
    kind: str
    finite: bool = False  # DuckDB's column statistics show no NaN/infinity: no CASE needed
    grouped: bool = False  # low-cardinality string/boolean: exact distinct from its value counts
    local: bool = False  # number read whole and exactly: distinct/mean/stdev counted in numpy
    q: str = field(init=False)

    def __post_init__(self) -> None:
        self.q = quote_ident(self.name)

    @property
    def value(self) -> str:
        """The column with non-finite values as NULL (floats, temporals)."""
        if self.kind in ("float", "temporal") and not self.finite:
            return f"CASE WHEN isfinite({self.q}) THEN {self.q} END"
        return self.q

    @property
    def number(self) -> str:
        """The value as DOUBLE (numbers) or epoch microseconds (temporals)."""
        if self.kind == "temporal":
            ts = self.value if self.type.upper() != "DATE" else f"({self.value})::TIMESTAMP"
            return f"epoch_us({ts})"
        if self.kind == "boolean":
            return f"{self.q}::INTEGER"
        return f"({self.value})::DOUBLE"


def _scan_exprs(c: _Col, exact: bool, moments: bool = False) -> list[str]:
    """count, min, max, distinct (+ the epoch-µs range of temporals) (+ avg and stddev of
    the column as a number when ``moments``: unsampled tables get them on the full data)."""
    out = _base_exprs(c, exact)
    if moments and not c.local and c.kind in ("numeric", "float", "temporal"):
        out += [f"avg({c.number})", f"stddev_samp({c.number})"]
    return out


def _base_exprs(c: _Col, exact: bool) -> list[str]:
    v = c.value
    distinct = f"count(DISTINCT {v})" if exact else f"approx_count_distinct({v})"
    if c.grouped or c.local:  # counted exactly by the values / distribution query instead
        distinct = "NULL"
    if c.kind == "other":
        return [f"count({c.q})"]
    if c.kind in ("numeric", "float"):
        cast = "::DOUBLE" if c.type.upper().startswith(("DECIMAL", "NUMERIC")) else ""
        lo, hi = f"min({v}){cast}", f"max({v}){cast}"
    elif c.kind == "temporal":
        lo, hi = ((f"min({v})::VARCHAR", f"max({v})::VARCHAR") if c.type.upper() == "DATE"
                  else (f"epoch_us(min({v}))", f"epoch_us(max({v}))"))
    elif c.kind == "string":
        lo, hi = f"min({v})::VARCHAR", f"max({v})::VARCHAR"
    else:
        lo, hi = f"min({v})", f"max({v})"
    out = [f"count({v})", lo, hi, distinct]
    if c.kind == "boolean":  # its value counts: no GROUP BY pass over the column
        out.append(f"count_if({c.q})")
    if c.kind == "temporal":  # the range as epoch µs for the histogram
        out += [f"epoch_us(min({v}){'::TIMESTAMP' if c.type.upper() == 'DATE' else ''})",
                f"epoch_us(max({v}){'::TIMESTAMP' if c.type.upper() == 'DATE' else ''})"]
    return out


def _lit(x: float) -> str:
    return repr(float(x))


def bucket_sql(expr: str, lo: float, hi: float, bins: int = FINE_BINS) -> str:
    """0-based bucket of ``expr`` on ``bins`` equal-width bins over [lo, hi]; values outside
    land in the end bins; NULL stays NULL (DuckDB's ``greatest`` skips NULLs, so without the
    guard a NULL would land in bucket 0). A degenerate range (lo == hi) gives 3 buckets:
    <, =, >."""
    if hi <= lo:
        return f"(sign({expr} - {_lit(lo)}) + 1)::INTEGER"
    width = (hi - lo) / bins
    return (f"CASE WHEN ({expr}) IS NOT NULL THEN least(greatest(floor(({expr} - {_lit(lo)}) "
            f"/ {_lit(width)}), 0), {bins - 1})::INTEGER END")


_SAMPLE_MOD = 1_000_003


BLOCK_ROWS = 2048  # DuckDB's vector size: a block sample reads whole vectors


def sample_clause(row_count: int, sample_rows: int, key: str = "__fsql_s") -> str:
    """A deterministic ~``sample_rows`` sample of a ``row_count``-row relation, as a FROM
    source built by :func:`sample_source` ("" when the whole relation is small enough).

    ``key="rowid"`` (tables): ``sample_rows / 2048`` blocks of 2048 consecutive rows at evenly
    spaced row positions, one ``rowid BETWEEN`` scan each — DuckDB prunes the other row groups,
    so a sample of a 1e7-row table reads ~1% of it (a row-hash filter reads all of it).
    Otherwise (views, or a user column named ``rowid``): rows whose whole-row hash falls in a
    fixed slice. Either way the same version always gives the same sample, whatever the thread
    count (DuckDB's seeded ``USING SAMPLE`` is repeatable only single-threaded)."""
    if row_count <= sample_rows:
        return ""
    if key == "rowid":
        blocks = max(1, math.ceil(sample_rows / BLOCK_ROWS))
        stride = row_count / blocks
        starts = sorted({int(i * stride) for i in range(blocks)})
        return "BLOCKS " + " ".join(str(a) for a in starts)
    keep = max(1, round(_SAMPLE_MOD * sample_rows / row_count))
    return f" __fsql_s WHERE hash({key}) % {_SAMPLE_MOD} < {keep}"


def sample_key(con: Any, relation: str) -> str:
    """``rowid`` when ``relation`` is a table (row positions: block sampling), else the whole
    row."""
    try:
        con.execute(f"SELECT rowid FROM {relation} LIMIT 0").fetchall()
        shadowed = "rowid" in (c.lower() for c in con.sql(f"SELECT * FROM {relation}").columns)
    except Exception:  # noqa: BLE001 - views have no rowid
        return "__fsql_s"
    return "__fsql_s" if shadowed else "rowid"  # a user column named rowid is not a position


def sample_source(relation: str, clause: str) -> str:
    """``relation`` restricted by ``sample_clause`` as a subquery usable anywhere in FROM."""
    if not clause:
        return relation
    if clause.startswith("BLOCKS "):
        starts = [int(a) for a in clause.split()[1:]]
        return "(" + " UNION ALL ".join(
            f"SELECT * FROM {relation} WHERE rowid BETWEEN {a} AND {a + BLOCK_ROWS - 1}"
            for a in starts) + ")"
    return f"(SELECT * FROM {relation}{clause})"


# -- profiling -------------------------------------------------------------------------------
def profile_relation(con: Any, relation: str,
                     columns: Sequence[tuple[str, str]] | None = None, *,
                     sample_rows: int = SAMPLE_ROWS, row_count: int | None = None,
                     fresh: bool = False) -> TableProfile:
    """Profile every column of ``relation`` (a table, view or quoted name) in <= 4 queries.

    ``columns`` ((name, DuckDB type) pairs, e.g. from ``engine.describe``) with ``row_count``
    saves a query. ``fresh``: the relation was just written (not yet checkpointed), so DuckDB
    cannot answer count/min/max from its column statistics: one scan computes everything.
    Above ``sample_rows`` rows, quantiles, histograms and high-cardinality value counts come
    from a deterministic row-hash sample of about ``sample_rows`` rows (counts scaled to the table).
    """
    t0 = time.perf_counter()
    queries = 1
    if columns is None:
        meta = con.execute(f"SELECT column_name, column_type, (SELECT count(*) FROM {relation}) "
                           f"FROM (DESCRIBE SELECT * FROM {relation})").fetchall()
        columns = [(r[0], r[1]) for r in meta]
        n = int(meta[0][2]) if meta else 0
    elif row_count is not None:  # known from the build: no query
        n, queries = row_count, 0
    else:
        n = int(con.execute(f"SELECT count(*) FROM {relation}").fetchone()[0])
    cols = [_Col(i, name, typ, column_kind(typ)) for i, (name, typ) in enumerate(columns)]
    exact = n <= EXACT_DISTINCT_MAX
    if not exact:  # large: skip the per-value isfinite() where storage stats prove it moot
        queries += _use_stored_stats(con, relation, cols)
    sample = sample_clause(n, sample_rows, sample_key(con, relation)) if n > sample_rows else ""
    if exact and not sample:  # every value is read below anyway: count distinct there
        for c in cols:
            c.grouped = c.kind in ("string", "boolean")
            c.local = _fetch_exact(c) is not None
    for c in cols:  # true/false are counted by the scan (count_if)
        c.grouped = c.grouped or c.kind == "boolean"
    split = not exact and not fresh
    scan = _run_scan(con, relation, cols, exact, moments=not sample, split=split) if cols \
        else {}
    queries += (2 if split else 1) if cols else 0
    dist, q = _run_distribution(con, relation, cols, scan, sample)
    values, q2 = _run_values(con, relation, cols, scan, sample)
    stats = tuple(_column_stats(c, n, scan[c.i], dist.get(c.i), values.get(c.i), exact,
                                bool(sample)) for c in cols)
    return TableProfile(relation, n, stats, time.perf_counter() - t0,
                        sample_rows if sample else None, queries + q + q2)


def _use_stored_stats(con: Any, relation: str, cols: list[_Col]) -> int:
    """Use DuckDB's stored column statistics (large relations): float/temporal columns whose
    stored min and max are finite skip the per-value ``isfinite()`` (NaN sorts above +inf, so
    a finite max rules both out); string/boolean columns with few distinct values
    (``approx_unique``) get their exact distinct count from the values query, which reads them
    whole anyway, instead of a HyperLogLog pass."""
    todo = [c for c in cols if c.kind in ("float", "temporal", "string", "boolean")]
    if not todo:
        return 0
    try:
        row = con.execute("SELECT " + ", ".join(f"stats({c.q})" for c in todo)
                          + f" FROM {relation} LIMIT 1").fetchone()
    except Exception:  # noqa: BLE001 - stats() is an optimisation; the CASE path is exact
        return 1
    for c, st in zip(todo, row or (), strict=False):
        st = st if isinstance(st, dict) else {}
        if c.kind in ("float", "temporal"):
            c.finite = _is_finite(st.get("min")) and _is_finite(st.get("max"))
        elif c.kind == "boolean" or (st.get("approx_unique") or HIGH_CARD) < HIGH_CARD // 10:
            c.grouped = True
    return 1


# fetched exactly as numpy int64/uint64/float64 (wider ints, DECIMAL and ns timestamps are not)
_EXACT_INTS = {"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "UTINYINT", "USMALLINT", "UINTEGER",
               "UBIGINT", "INT1", "INT2", "INT4", "INT8", "INT", "LONG", "SHORT"}


def _fetch_exact(c: _Col) -> str | None:
    """An expression that fetches every value of ``c`` exactly (equal numbers <=> equal
    values), or None. Ints come raw: as DOUBLE, values above 2**53 would collide."""
    t = c.type.strip().upper()
    if t in _EXACT_INTS:
        return c.q
    if c.kind == "float" or (c.kind == "temporal" and t != "TIMESTAMP_NS"):
        return c.number  # DOUBLE, or epoch microseconds
    return None


def _is_finite(x: Any) -> bool:
    if isinstance(x, float):
        return math.isfinite(x)
    if isinstance(x, datetime):  # ±infinity timestamps come back clamped to datetime.max/min
        return datetime.min < x.replace(tzinfo=None) < datetime.max
    if isinstance(x, date):
        return date.min < x < date.max
    return isinstance(x, int) and not isinstance(x, bool)


_NOT_FROM_STATS = ("approx_count_distinct(", "count(DISTINCT", "avg(", "stddev_samp(", "CASE ")


def _run_scan(con: Any, relation: str, cols: list[_Col], exact: bool,
              moments: bool = False, split: bool = False) -> dict[int, list[Any]]:
    """One aggregate row per column's expressions. ``split`` (large relations): the plain
    count/min/max go in a query of their own, which DuckDB answers from its column
    statistics when they are exact (instantly), instead of scanning for them next to the
    distinct counts (~2.5x the time of the distinct counts alone at 1e7 rows)."""
    parts = [(c.i, _scan_exprs(c, exact, moments)) for c in cols]
    flat = [e for _, es in parts for e in es]
    # DuckDB keeps no min/max statistics it can answer BOOLEAN aggregates from, and one
    # aggregate it cannot answer so makes the whole query scan
    kinds = [c.kind for c, (_, es) in zip(cols, parts, strict=True) for _ in es]
    slow = {i for i, e in enumerate(flat)
            if kinds[i] == "boolean" or any(s in e for s in _NOT_FROM_STATS)}
    groups = [list(range(len(flat)))]
    if split and slow and len(slow) < len(flat):
        groups = [[i for i in groups[0] if i not in slow], sorted(slow)]
    row: list[Any] = [None] * len(flat)
    for idx in groups:
        sql = "SELECT " + ",\n  ".join(flat[i] for i in idx) + f"\nFROM {relation}"
        for i, v in zip(idx, con.execute(sql).fetchone(), strict=True):
            row[i] = v
    out, pos = {}, 0
    for i, es in parts:
        out[i] = row[pos:pos + len(es)]
        pos += len(es)
    return out


def _range(c: _Col, scan: list[Any]) -> tuple[float, float] | None:
    if c.kind not in ("numeric", "float", "temporal") or not scan[0]:
        return None
    lo, hi = (scan[4], scan[5]) if c.kind == "temporal" else (scan[1], scan[2])
    return float(lo), float(hi)


def _run_distribution(con: Any, relation: str, cols: list[_Col], scan: dict[int, list[Any]],
                      sample: str) -> tuple[dict[int, tuple[Any, ...]], int]:
    """Quantiles, mean, stdev and the 100 fine histogram bins of every numeric/temporal
    column: one query fetches each column as a number plus its bucket (computed in SQL, so
    bins are DuckDB's arithmetic) and numpy does the rest — DuckDB's ``quantile_cont`` and
    ``histogram()`` cost ~5x more on the <= ``sample_rows`` rows read here. Quantiles
    interpolate exactly like ``quantile_cont``; an unsampled table's mean and stdev come from
    the full-data scan (``avg`` / ``stddev_samp``)."""
    import numpy as np

    todo = [(c, rng) for c in cols if (rng := _range(c, scan[c.i])) is not None]
    if not todo:
        return {}, 0
    exprs = []
    for c, (lo, hi) in todo:
        exprs.append(f"{(_fetch_exact(c) if c.local else None) or c.number} AS x{c.i}")
        if hi > lo:
            exprs.append(f"{bucket_sql(c.number, lo, hi)} AS b{c.i}")
    data = con.execute("SELECT " + ", ".join(exprs) + f" FROM {sample_source(relation, sample)}"
                       ).fetchnumpy()
    out = {}
    for c, (lo, hi) in todo:
        raw = np.sort(_present(data[f"x{c.i}"]))
        x = raw.astype(np.float64)  # sorting before the cast keeps wide ints in exact order
        distinct = int(np.count_nonzero(raw[1:] != raw[:-1])) + 1 if c.local and len(raw) else 0
        if sample or c.local:
            avg, std = (float(x.mean()) if len(x) else None,
                        float(x.std(ddof=1)) if len(x) > 1 else None)
        else:
            avg, std = scan[c.i][-2], scan[c.i][-1]
        hist = None
        if hi > lo:
            counts = np.bincount(_present(data[f"b{c.i}"]).astype(np.int64), minlength=FINE_BINS)
            hist = {b: int(k) for b, k in enumerate(counts) if k}
        out[c.i] = (quantile_cont(x, [p for _, p in QUANTILES]) if len(x) else None, avg, std,
                    hist, distinct)
    return out, 1


def _present(a: Any) -> Any:
    """The non-NULL values of a fetched column (DuckDB returns masked arrays when NULLs)."""
    import numpy as np

    if isinstance(a, np.ma.MaskedArray):
        return a.compressed()
    return np.asarray(a)


def quantile_cont(sorted_x: Any, qs: Sequence[float]) -> list[float]:
    """DuckDB's ``quantile_cont`` on already sorted values: position ``(n - 1) * q``, linear
    interpolation ``lo + (hi - lo) * d`` (numpy's own ``quantile`` rounds differently for
    ``d >= 0.5``).

    >>> import numpy as np
    >>> quantile_cont(np.array([1.0, 2.0, 4.0, 8.0]), [0.0, 0.5, 1.0])
    [1.0, 3.0, 8.0]
    """
    n = len(sorted_x)
    out = []
    for q in qs:
        rn = (n - 1) * q
        lo_i, hi_i = math.floor(rn), math.ceil(rn)
        lo, hi = float(sorted_x[lo_i]), float(sorted_x[hi_i])
        out.append(lo if lo_i == hi_i else lo + (hi - lo) * (rn - lo_i))
    return out


def _run_values(con: Any, relation: str, cols: list[_Col], scan: dict[int, list[Any]],
                sample: str) -> tuple[dict[int, _Values], int]:
    branches = []
    sampled: dict[int, bool] = {}
    out: dict[int, _Values] = {}
    for c in cols:
        if c.kind == "boolean" and scan[c.i][0]:  # counted by the scan
            count, true = int(scan[c.i][0]), int(scan[c.i][4])
            pairs = sorted(((v, k) for v, k in (("true", true), ("false", count - true)) if k),
                           key=lambda p: (-p[1], p[0]))
            out[c.i] = _Values(pairs, len(pairs), False, count)
        if c.kind != "string" or not scan[c.i][0]:
            continue
        use_sample = bool(sample) and not c.grouped and (scan[c.i][3] or 0) > HIGH_CARD
        sampled[c.i] = use_sample
        src = sample_source(relation, sample) if use_sample else relation
        branches.append(f"SELECT {c.i} AS i, {c.q}::VARCHAR AS v, count(*) AS n FROM {src} "
                        f"WHERE {c.q} IS NOT NULL GROUP BY ALL")
    if not branches:
        return out, 0
    sql = ("SELECT i, v, n, count(*) OVER (PARTITION BY i) AS groups, "
           "sum(n) OVER (PARTITION BY i) AS seen FROM (\n" + "\nUNION ALL\n".join(branches)
           + f"\n) QUALIFY row_number() OVER (PARTITION BY i ORDER BY n DESC, v) <= "
           f"{CATEGORY_CAP} ORDER BY i, n DESC, v")
    for i, v, n, groups, seen in con.execute(sql).fetchall():
        entry = out.setdefault(i, _Values([], int(groups), sampled[i], int(seen)))
        entry.pairs.append((v, int(n)))
    return out, 1


@dataclass
class _Values:
    """Value counts of one string/boolean column (query 4)."""

    pairs: list[tuple[Any, int]]
    groups: int
    sampled: bool
    seen: int


def _column_stats(c: _Col, n: int, scan: list[Any], dist: tuple[Any, ...] | None,
                  values: _Values | None, exact: bool,
                  sampled: bool) -> ColumnStats:
    count = int(scan[0] or 0)
    base: dict[str, Any] = {"column": c.name, "type": c.type, "kind": c.kind, "count": count,
                            "nulls": n - count, "distinct": None, "distinct_approx": False,
                            "min": None, "max": None, "mean": None, "stdev": None,
                            "quantiles": {}, "histogram": None, "top_values": None}
    if c.kind == "other":
        return ColumnStats(**base)
    base.update(distinct=int(scan[3] or 0), distinct_approx=not exact)
    if c.grouped:  # every value was counted: exact
        base.update(distinct=values.groups if values else 0, distinct_approx=False)
    if c.local:  # every value was fetched: exact
        base.update(distinct=dist[4] if dist is not None else 0)
    if c.kind in ("string", "boolean"):
        base.update(_value_stats(c, scan, values, count))
        return ColumnStats(**base)
    base.update(_numeric_stats(c, scan, dist, count, sampled))
    return ColumnStats(**base)


def _value_stats(c: _Col, scan: list[Any], values: _Values | None, count: int) -> dict[str, Any]:
    out: dict[str, Any] = {"min": scan[1], "max": scan[2], "top_values": []}
    if not values:
        return out
    pairs = values.pairs
    if values.sampled:
        pairs = [(v, round(k * count / max(values.seen, 1))) for v, k in pairs]
    conv = (lambda s: s == "true") if c.kind == "boolean" else (lambda s: s)
    pairs = [(conv(v), k) for v, k in pairs]
    out["top_values"] = [{"value": v, "count": k} for v, k in pairs[:TOP_K]]
    if c.kind == "boolean" and count:  # share of true
        share = sum(k for v, k in pairs if v is True) / max(sum(k for _, k in pairs), 1)
        out.update(mean=share, mean_num=share)
    if values.groups <= CATEGORY_CAP and not values.sampled:
        out["categories"] = tuple(pairs)
    return out


def _iso(us: float | None, tz: bool) -> str | None:
    if us is None:
        return None
    dt = datetime.fromtimestamp(us / 1e6, UTC)
    return dt.isoformat() if tz else dt.replace(tzinfo=None).isoformat()


def _numeric_stats(c: _Col, scan: list[Any], dist: Any, count: int,
                   sampled: bool) -> dict[str, Any]:
    out: dict[str, Any] = {"histogram": [], "quantiles_approx": sampled}
    if not count:
        return out
    temporal = c.kind == "temporal"
    tz = "TIME ZONE" in c.type.upper() or c.type.upper() == "TIMESTAMPTZ"
    conv = (lambda x: _iso(x, tz)) if temporal else (lambda x: _num(x))
    lo, hi = (float(scan[4]), float(scan[5])) if temporal else (float(scan[1]), float(scan[2]))
    qv, avg, std, hist, _ = dist if dist is not None else (None, None, None, None, None)
    mean = float(avg) if avg is not None else None
    sd = float(std) if std is not None else None
    out.update(lo=lo, hi=hi, mean_num=mean / 1e6 if temporal and mean is not None else mean)
    if temporal:
        is_date = c.type.upper() == "DATE"
        out.update(min=scan[1] if is_date else _iso(scan[1], tz),
                   max=scan[2] if is_date else _iso(scan[2], tz),
                   mean=_iso(mean, tz), stdev=sd / 1e6 if sd is not None else None)
    else:
        out.update(min=_num(scan[1]), max=_num(scan[2]), mean=mean, stdev=sd)
    if dist is None:
        return out
    if qv is not None:
        out["quantiles"] = {name: conv(v) for (name, _), v in zip(QUANTILES, qv, strict=True)}
    fine = _fine_counts(hist, count) if hist is not None else (count,)
    out["histogram_fine"] = fine
    out["histogram"] = coarse_histogram(fine, lo, hi, conv)
    return out


def _num(x: Any) -> Any:
    if x is None or isinstance(x, (int, float)):
        return x
    return float(x)


def _fine_counts(hist: dict[int, int], count: int) -> tuple[int, ...]:
    raw = [int(hist.get(b, 0)) for b in range(FINE_BINS)]
    seen = sum(raw)
    if seen == count or not seen:
        return tuple(raw)
    return scale_counts(raw, count)


def scale_counts(raw: Sequence[int], total: int) -> tuple[int, ...]:
    """Scale sample counts to sum exactly to ``total`` (largest remainder)."""
    seen = sum(raw)
    exact = [k * total / seen for k in raw]
    out = [math.floor(x) for x in exact]
    order = sorted(range(len(raw)), key=lambda b: (-(exact[b] - out[b]), b))
    for b in order[:total - sum(out)]:
        out[b] += 1
    return tuple(out)


def coarse_histogram(fine: Sequence[int], lo: float, hi: float,
                     conv: Any = float) -> list[dict[str, Any]]:
    """The public 20-bin histogram [{"lo", "hi", "count"}] from the 100 fine bins (one bin
    when the column is constant)."""
    if hi <= lo or len(fine) != FINE_BINS:
        return [{"lo": conv(lo), "hi": conv(hi), "count": int(sum(fine))}]
    step = FINE_BINS // HIST_BINS
    width = (hi - lo) / HIST_BINS
    return [{"lo": conv(lo + j * width), "hi": conv(hi if j == HIST_BINS - 1 else
                                                    lo + (j + 1) * width),
             "count": int(sum(fine[j * step:(j + 1) * step]))} for j in range(HIST_BINS)]


# -- storage ---------------------------------------------------------------------------------
def store_profile(con: Any, model: str, version: int, profile: TableProfile) -> None:
    """Write ``profile`` as the statistics of ``model`` version ``version`` (replacing any)."""
    con.execute(STATS_DDL)
    for sql, params in profile_writes(model, version, profile, replace=True):
        con.execute(sql, params)


def profile_writes(model: str, version: int, profile: TableProfile, *,
                   replace: bool = False) -> list[tuple[str, list[Any]]]:
    """The statements that store ``profile`` (one multi-row insert; run them in the
    transaction that publishes the version)."""
    out: list[tuple[str, list[Any]]] = []
    if replace:
        out.append((f"DELETE FROM {META}.column_stats WHERE model = ? AND version = ?",
                    [model, version]))
    rows = [[model, version, i, c.column, c.type, json.dumps(c.to_dict(), sort_keys=True),
             profile.relation, profile.row_count, profile.duration_s, profile.sample_rows]
            for i, c in enumerate(profile.columns)]
    if rows:
        out.append(insert_rows(f"{META}.column_stats", rows, tail=", now()"))
    return out


def load_profile(con: Any, model: str, version: int) -> TableProfile | None:
    """The stored statistics of ``model`` version ``version``; None if there are none."""
    if not _has_table(con, "column_stats"):
        return None
    rows = con.execute(
        f"SELECT stats, relation, row_count, duration_s, sample_rows FROM {META}.column_stats "
        f"WHERE model = ? AND version = ? ORDER BY ordinal", [model, version]).fetchall()
    if not rows:
        return None
    cols = tuple(ColumnStats.from_dict(json.loads(r[0])) for r in rows)
    r0 = rows[0]
    return TableProfile(r0[1], int(r0[2]), cols, float(r0[3] or 0.0),
                        int(r0[4]) if r0[4] is not None else None)


def _has_table(con: Any, name: str) -> bool:
    return bool(con.execute("SELECT 1 FROM information_schema.tables WHERE table_schema = ? "
                            "AND table_name = ?", [META, name]).fetchall())
