"""Drift between two versions' statistics, drift expectations and drift storage.

Per column present in both versions (see docs/statistics.md for the formulas):

* **PSI** on the reference version's 20 histogram bins (end bins open-ended). The current
  version is re-binned on the reference edges in SQL — one query for all columns, skipped
  when both versions have the same range. ``PSI = sum((a - e) * ln(a / e))`` with ``a`` / ``e``
  the current / reference share of a bin, each floored at ``EPSILON = 1e-4`` (empty bins).
  Strings/booleans: PSI over the union of categories, when both versions have <= 1,000.
* **KS**: exact (one DuckDB query, ECDFs of both versions) when both have <= 1e6 values,
  else approximate: the largest ECDF gap at the reference's 101 fine-bin edges.
* **mean shift** in reference standard deviations; **null-rate change** (current − reference);
  **new / vanished categories** (complete category sets only).
* **score** = max(psi, ks, |null-rate change|, share of rows in new/vanished categories,
  min(|mean shift|, 10) / 10); the result is ranked by score, ties by column name.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any

from ..expectations.drift import DRIFT_EXPECTATIONS
from ..state import META, STATS_DDL, insert_rows
from .columns import (
    FINE_BINS,
    HIST_BINS,
    ColumnStats,
    TableProfile,
    _Col,
    _has_table,
    bucket_sql,
    sample_clause,
    sample_key,
    sample_source,
)

__all__ = ["ColumnDrift", "drift", "store_drift", "load_drift", "evaluate_drift_expectation",
           "DRIFT_EXPECTATIONS", "psi", "drift_to_pandas"]

EPSILON = 1e-4
KS_EXACT_MAX = 100_000
_NUMERIC = ("numeric", "float")


@dataclass(frozen=True)
class ColumnDrift:
    """How one column moved between a reference version and the current one."""

    column: str
    psi: float | None
    ks: float | None
    mean_shift_sd: float | None
    null_rate_change: float
    new_categories: tuple[Any, ...]
    vanished_categories: tuple[Any, ...]
    score: float
    kind: str = ""
    ks_exact: bool = False
    notes: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        d = {f.name: getattr(self, f.name) for f in fields(self)}
        for k in ("new_categories", "vanished_categories", "notes"):
            d[k] = list(d[k])
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> ColumnDrift:
        known = {f.name for f in fields(cls)}
        kw = {k: v for k, v in d.items() if k in known}
        for k in ("new_categories", "vanished_categories", "notes"):
            kw[k] = tuple(kw.get(k) or ())
        return cls(**kw)


def psi(actual: Sequence[float], expected: Sequence[float], eps: float = EPSILON) -> float:
    """Population stability index of two count vectors on the same bins.

    >>> psi([10, 20, 30], [10, 20, 30])
    0.0
    """
    ta, te = float(sum(actual)), float(sum(expected))
    if ta <= 0 or te <= 0:
        return 0.0
    total = 0.0
    for a_n, e_n in zip(actual, expected, strict=True):
        a, e = max(a_n / ta, eps), max(e_n / te, eps)
        total += (a - e) * math.log(a / e)
    return max(total, 0.0)


def _ks_from_counts(cur: Sequence[int], ref: Sequence[int]) -> float | None:
    tc, tr = sum(cur), sum(ref)
    if not tc or not tr:
        return None
    best, cc, cr = 0.0, 0, 0
    for a, b in zip(cur, ref, strict=True):
        cc, cr = cc + a, cr + b
        best = max(best, abs(cc / tc - cr / tr))
    return best


def _coarse(counts: Sequence[int]) -> list[int]:
    if len(counts) != FINE_BINS:
        return list(counts)
    step = FINE_BINS // HIST_BINS
    return [sum(counts[j * step:(j + 1) * step]) for j in range(HIST_BINS)]


def _family(kind: str) -> str:
    return "number" if kind in _NUMERIC else kind


@dataclass
class _Pair:
    cur: ColumnStats
    ref: ColumnStats
    col: _Col        # the current column (SQL expressions)
    ref_col: _Col    # the reference column


def drift(con: Any, current: TableProfile, reference: TableProfile, current_relation: str,
          reference_relation: str, *, ks: str = "auto") -> list[ColumnDrift]:
    """Drift of every column in both profiles, most drifted first (ties by column name).

    ``ks``: ``"auto"`` (exact up to 1e6 values per side, else from the fine histograms),
    ``"exact"`` or ``"approx"``. Issues at most two queries (re-binning, exact KS).
    """
    pairs = _pairs(current, reference)
    dist = [p for p in pairs if p.cur.kind in (*_NUMERIC, "temporal") and p.cur.count
            and p.ref.count and p.ref.histogram_fine and p.ref.lo is not None
            and p.ref.hi is not None]
    rebinned = _rebin(con, current, current_relation, dist)
    exact = [p for p in dist if ks == "exact" or (ks == "auto" and p.cur.count <= KS_EXACT_MAX
                                                  and p.ref.count <= KS_EXACT_MAX)]
    ks_exact = _exact_ks(con, current_relation, reference_relation, exact)
    out = [_column_drift(p, current, reference, rebinned.get(p.col.name),
                         ks_exact.get(p.col.name)) for p in pairs]
    return sorted(out, key=lambda d: (-d.score, d.column))


def _pairs(current: TableProfile, reference: TableProfile) -> list[_Pair]:
    out = []
    for i, c in enumerate(current.columns):
        r = reference.column(c.column)
        if r is None or _family(c.kind) != _family(r.kind):
            continue
        out.append(_Pair(c, r, _Col(i, c.column, c.type, c.kind),
                         _Col(i, r.column, r.type, r.kind)))
    return out


def _ref_counts(p: _Pair) -> list[int]:
    fine = list(p.ref.histogram_fine or ())
    if p.ref.hi is not None and p.ref.lo is not None and p.ref.hi <= p.ref.lo:
        return [0, sum(fine), 0]  # constant reference: <, =, > buckets
    return fine


def _rebin(con: Any, current: TableProfile, relation: str,
           pairs: list[_Pair]) -> dict[str, list[int]]:
    """Current counts on the reference bins: reused when the ranges agree, else one query."""
    out: dict[str, list[int]] = {}
    todo = []
    for p in pairs:
        same = (p.cur.lo == p.ref.lo and p.cur.hi == p.ref.hi and p.cur.histogram_fine
                and p.ref.hi is not None and p.ref.lo is not None and p.ref.hi > p.ref.lo)
        if same and p.cur.histogram_fine:
            out[p.col.name] = list(p.cur.histogram_fine)
        else:
            todo.append(p)
    if not todo:
        return out
    exprs = [f"histogram({bucket_sql(p.col.number, float(p.ref.lo or 0), float(p.ref.hi or 0))})"
             for p in todo]
    sample = sample_clause(current.row_count, current.sample_rows, sample_key(con, relation)) \
        if current.sample_rows else ""
    row = con.execute("SELECT " + ", ".join(exprs) + f" FROM {sample_source(relation, sample)}"
                      ).fetchone()
    for p, hist in zip(todo, row, strict=True):
        size = 3 if (p.ref.hi or 0) <= (p.ref.lo or 0) else FINE_BINS
        hist = hist or {}
        out[p.col.name] = [int(hist.get(b, 0)) for b in range(size)]
    return out


def _exact_ks(con: Any, cur_rel: str, ref_rel: str, pairs: list[_Pair]) -> dict[str, float]:
    """Exact two-sample KS statistics of ``pairs`` in one query."""
    if not pairs:
        return {}
    branches = []
    for k, p in enumerate(pairs):
        branches.append(f"SELECT {k} AS i, {p.col.number} AS v, 0 AS s FROM {cur_rel}")
        branches.append(f"SELECT {k} AS i, {p.ref_col.number} AS v, 1 AS s FROM {ref_rel}")
    sql = (
        "SELECT i, max(abs(c0 / t0 - c1 / t1)) FROM (\n"
        "  SELECT i, sum(n0) OVER w AS c0, sum(n1) OVER w AS c1,\n"
        "         sum(n0) OVER (PARTITION BY i) AS t0, sum(n1) OVER (PARTITION BY i) AS t1\n"
        "  FROM (SELECT i, v, count(*) FILTER (WHERE s = 0) AS n0,\n"
        "               count(*) FILTER (WHERE s = 1) AS n1\n"
        "        FROM (\n" + "\n  UNION ALL\n".join(branches) + "\n) WHERE v IS NOT NULL\n"
        "        GROUP BY i, v)\n"
        "  WINDOW w AS (PARTITION BY i ORDER BY v ROWS UNBOUNDED PRECEDING)\n"
        ") GROUP BY i")
    rows = con.execute(sql).fetchall()
    return {pairs[int(i)].col.name: float(v) for i, v in rows if v is not None}


def _null_rate(s: ColumnStats, rows: int) -> float:
    return s.nulls / rows if rows else 0.0


def _column_drift(p: _Pair, current: TableProfile, reference: TableProfile,
                  rebinned: list[int] | None, ks_exact: float | None) -> ColumnDrift:
    c, r = p.cur, p.ref
    notes: list[str] = []
    d_null = _null_rate(c, current.row_count) - _null_rate(r, reference.row_count)
    psi_v: float | None = None
    ks_v: float | None = None
    new: tuple[Any, ...] = ()
    gone: tuple[Any, ...] = ()
    share = 0.0
    if rebinned is not None:
        ref_counts = _ref_counts(p)
        psi_v = psi(_coarse(rebinned), _coarse(ref_counts))
        ks_v = ks_exact if ks_exact is not None else _ks_from_counts(rebinned, ref_counts)
        if ks_exact is None:
            notes.append("ks approximated at the reference's fine histogram edges")
        if current.sample_rows:
            notes.append(f"current binned on a sample of ~{current.sample_rows} rows")
    elif c.kind in ("string", "boolean"):
        psi_v, new, gone, share = _categorical(c, r, notes)
    elif c.kind != "other":
        notes.append("no values on one side")
    shift = _mean_shift(c, r)
    parts = [psi_v or 0.0, ks_v or 0.0, abs(d_null), share,
             min(abs(shift), 10.0) / 10.0 if shift is not None else 0.0]
    return ColumnDrift(c.column, psi_v, ks_v, shift, d_null, new, gone, max(parts), c.kind,
                       ks_exact is not None, tuple(notes))


def _categorical(c: ColumnStats, r: ColumnStats,
                 notes: list[str]) -> tuple[float | None, tuple[Any, ...], tuple[Any, ...], float]:
    if c.categories is None or r.categories is None:
        if c.count and r.count:
            notes.append("more than 1,000 categories: categorical PSI and new/vanished "
                         "categories not computed")
        return None, (), (), 0.0
    cur, ref = dict(c.categories), dict(r.categories)
    keys = sorted(set(cur) | set(ref), key=lambda v: (str(type(v)), str(v)))
    new = tuple(k for k in keys if k not in ref)
    gone = tuple(k for k in keys if k not in cur)
    if not cur or not ref:
        return None, new, gone, 0.0
    value = psi([cur.get(k, 0) for k in keys], [ref.get(k, 0) for k in keys])
    share = (sum(cur[k] for k in new) / sum(cur.values())
             + sum(ref[k] for k in gone) / sum(ref.values()))
    return value, new, gone, min(share, 1.0)


def _mean_shift(c: ColumnStats, r: ColumnStats) -> float | None:
    if c.mean_num is None or r.mean_num is None:
        return None
    sd = r.stdev
    if r.kind == "boolean":
        sd = math.sqrt(r.mean_num * (1 - r.mean_num))
    diff = c.mean_num - r.mean_num
    if abs(diff) <= 1e-12 * max(abs(c.mean_num), abs(r.mean_num), sd or 0.0):
        diff = 0.0  # parallel float summation noise: identical data, same mean
    if not sd:
        return 0.0 if diff == 0 else None
    return diff / sd


# -- storage ---------------------------------------------------------------------------------
def store_drift(con: Any, model: str, version: int, reference_version: int,
                drifts: Sequence[ColumnDrift]) -> None:
    """Write the ranked drift of ``model`` ``version`` vs ``reference_version`` (replacing)."""
    con.execute(STATS_DDL)
    for sql, params in drift_writes(model, version, reference_version, drifts, replace=True):
        con.execute(sql, params)


def drift_writes(model: str, version: int, reference_version: int,
                 drifts: Sequence[ColumnDrift], *,
                 replace: bool = False) -> list[tuple[str, list[Any]]]:
    """The statements that store ``drifts`` (run them in the publishing transaction)."""
    out: list[tuple[str, list[Any]]] = []
    if replace:
        out.append((f"DELETE FROM {META}.drift WHERE model = ? AND version = ?",
                    [model, version]))
    rows = [[model, version, reference_version, rank, d.column, d.psi, d.ks, d.mean_shift_sd,
             d.null_rate_change, d.score, json.dumps(d.to_dict(), sort_keys=True, default=str)]
            for rank, d in enumerate(drifts, start=1)]
    if rows:
        out.append(insert_rows(f"{META}.drift", rows, tail=", now()"))
    return out


def load_drift(con: Any, model: str, version: int) -> list[ColumnDrift]:
    """The stored, ranked drift of ``model`` ``version`` ([] when none was stored)."""
    if not _has_table(con, "drift"):
        return []
    rows = con.execute(f"SELECT drift FROM {META}.drift WHERE model = ? AND version = ? "
                       f"ORDER BY rank", [model, version]).fetchall()
    return [ColumnDrift.from_dict(json.loads(r[0])) for r in rows]


def load_drift_reference(con: Any, model: str, version: int) -> int | None:
    """The reference version the stored drift of ``model`` ``version`` was computed against."""
    if not _has_table(con, "drift"):
        return None
    row = con.execute(f"SELECT max(reference_version) FROM {META}.drift WHERE model = ? AND "
                      f"version = ?", [model, version]).fetchone()
    return int(row[0]) if row and row[0] is not None else None


def drift_to_pandas(drifts: Sequence[ColumnDrift]) -> Any:
    """The ranked drift table as a pandas DataFrame (one row per column)."""
    import pandas as pd

    cols = [f.name for f in fields(ColumnDrift)]
    return pd.DataFrame([d.to_dict() for d in drifts], columns=cols)


# -- expectations ----------------------------------------------------------------------------
def evaluate_drift_expectation(kind: str, kwargs: Mapping[str, Any],
                               drift: ColumnDrift | None) -> tuple[bool, dict[str, Any]]:
    """(success, GX-style result) of a drift expectation on one column's drift.

    ``kwargs``: ``column`` and ``threshold`` (strict upper bound). ``drift`` None means
    there is no reference version (or the column is new): the expectation passes.
    """
    if kind not in DRIFT_EXPECTATIONS:
        raise KeyError(f"unknown drift expectation {kind!r}; known: "
                       f"{', '.join(sorted(DRIFT_EXPECTATIONS))}")
    metric = DRIFT_EXPECTATIONS[kind]["metric"]
    threshold = float(kwargs["threshold"])
    if drift is None:
        return True, {"observed_value": None, "details": {
            "reason": "no reference version (or the column is new): nothing to compare",
            "metric": metric, "threshold": threshold}}
    value = getattr(drift, metric)
    details: dict[str, Any] = {"metric": metric, "threshold": threshold,
                               "column": drift.column, "score": drift.score}
    if metric == "ks":
        details["ks_exact"] = drift.ks_exact
    if value is None:
        details["reason"] = f"{metric} is not defined for this column ({drift.kind})"
        return True, {"observed_value": None, "details": details}
    observed = abs(value) if metric == "null_rate_change" else value
    if metric == "null_rate_change":
        details["signed_change"] = value
    return observed < threshold, {"observed_value": observed, "details": details}
