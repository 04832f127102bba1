"""Incremental models: interval tracking, and versions that share storage.

A model with ``materialized='incremental'`` is cut into intervals of ``batch_size`` on
``time_column`` from ``start``. Its rows live in one physical *generation* table
``fsql_parts."<model>__g<G>"`` with a hidden ``__fsql_part`` column; every batch of intervals
built by a run is a new, immutable *part*. A version is a view over the generation table that
selects its parts (minus the interval ranges a later part rebuilt). So a daily run appends one
part and publishes a new version **without copying** the table; older versions keep reading
exactly their parts. A change of the model's SQL starts a new generation (a full rebuild).
``merge`` (by ``unique_key``) keeps the latest part's row per key.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from .compiler import parse_ttl
from .errors import ConfigError
from .state import META

__all__ = ["IncrementalPlan", "build_incremental", "intervals_todo", "parse_batch"]

PARTS_SCHEMA = "fsql_parts"
DDL = f"""
create schema if not exists {PARTS_SCHEMA};
create table if not exists {META}.version_parts (
  model varchar, version integer, generation integer, segments varchar, intervals varchar);
"""
_FMT = "%Y-%m-%d %H:%M:%S"


def parse_batch(value: Any) -> timedelta:
    """``'1 day'`` / ``'6h'`` / ``'1 week'`` -> timedelta."""
    text = str(value or "1 day").strip().lower().replace(" ", "")
    text = text.replace("hours", "h").replace("hour", "h").replace("minutes", "m")
    try:
        seconds = parse_ttl(text)
    except ValueError:
        seconds = None
    if not seconds or seconds <= 0:
        raise ConfigError(f"invalid batch_size {value!r}", expected="e.g. '1 day', '6h', '1 week'",
                          hint="a number followed by a unit: s, m, h, d, w")
    return timedelta(seconds=seconds)


def _fmt(t: datetime) -> str:
    """``t`` as ``_FMT`` (isoformat is ~3x faster than strftime; 366 a day add up).

    >>> _fmt(datetime(2026, 1, 2, 3, 4, 5, 6))
    '2026-01-02 03:04:05'
    """
    return t.isoformat(sep=" ", timespec="seconds")


def _ts(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value.replace(tzinfo=None)
    try:
        return datetime.fromisoformat(str(value)).replace(tzinfo=None)
    except ValueError:
        raise ConfigError(f"invalid timestamp {value!r}", expected="an ISO date or timestamp, "
                          "e.g. 2026-01-01", hint="quote it in YAML") from None


@dataclass(frozen=True)
class IncrementalPlan:
    """What one run builds for an incremental model."""

    full: bool  # new generation (first build, SQL change, --full-refresh)
    ranges: tuple[tuple[datetime, datetime], ...]  # contiguous interval ranges to (re)build
    intervals: tuple[datetime, ...]  # every interval start the new version covers

    def describe(self) -> str:
        n = sum(_n_intervals(a, b, self._step) for a, b in self.ranges) if self.ranges else 0
        what = "full rebuild (new generation)" if self.full else "incremental"
        span = ", ".join(f"{a:%Y-%m-%d %H:%M}..{b:%Y-%m-%d %H:%M}" for a, b in self.ranges[:3])
        return f"{what}: {n} interval(s) {span}".rstrip()

    @property
    def _step(self) -> timedelta:
        if len(self.intervals) >= 2:
            return self.intervals[1] - self.intervals[0]
        return timedelta(days=1)


def _n_intervals(a: datetime, b: datetime, step: timedelta) -> int:
    return max(1, int((b - a) / step))


def config_window(config: dict[str, Any], now: datetime | None = None
                  ) -> tuple[datetime, datetime, timedelta]:
    if not config.get("start"):
        raise ConfigError("incremental model needs 'start'", expected="start='2026-01-01'",
                          hint="add start=... to config(...)")
    step = parse_batch(config.get("batch_size"))
    start = _ts(config["start"])
    end = _ts(config["end"]) if config.get("end") else (now or datetime.now(UTC)).replace(
        tzinfo=None)
    n = int((end - start) / step)
    return start, start + n * step, step


def intervals_todo(config: dict[str, Any], built: Sequence[datetime] | None, *, full: bool,
                   backfill: tuple[datetime, datetime] | None = None,
                   now: datetime | None = None) -> IncrementalPlan:
    """Missing intervals (+ ``lookback`` most recent built ones, + a backfill range)."""
    start, end, step = config_window(config, now)
    every = [start + i * step for i in range(int((end - start) / step))]
    if full or built is None:
        return IncrementalPlan(True, _ranges(every, step), tuple(every))
    have = set(built)
    todo = {t for t in every if t not in have}
    lookback = int(config.get("lookback") or 0)
    if lookback:
        todo |= set(sorted(t for t in have if t < end)[-lookback:])
    if backfill is not None:
        todo |= {t for t in every if backfill[0] <= t < backfill[1]}
    covered = sorted(have | set(every))
    return IncrementalPlan(False, _ranges(sorted(todo), step), tuple(covered))


def _ranges(starts: Sequence[datetime], step: timedelta) -> tuple[tuple[datetime, datetime], ...]:
    out: list[list[datetime]] = []
    for t in starts:
        if out and out[-1][1] == t:
            out[-1][1] = t + step
        else:
            out.append([t, t + step])
    return tuple((a, b) for a, b in out)


def live_layout(con: Any, model: str, version: int | None) -> tuple[int, list[Any],
                                                                     list[datetime]] | None:
    """(generation, segments, intervals) of a version, or None."""
    if version is None:
        return None
    row = con.execute(f"select generation, segments, intervals from {META}.version_parts "
                      f"where model = ? and version = ?", [model, version]).fetchone()
    if row is None:
        return None
    return int(row[0]), json.loads(row[1]), [_ts(t) for t in json.loads(row[2])]


def build_incremental(cur: Any, model: str, version: int, rel: str, plan: IncrementalPlan,
                      prev: tuple[int, list[Any], list[datetime]] | None,
                      render: Callable[[datetime, datetime, bool], str], config: dict[str, Any],
                      lock: Any, prev_rows: int | None = None, base: int | None = None
                      ) -> tuple[int | None, list[tuple[str, list[Any]]]]:
    """Insert the new parts and create the version view ``rel``. Returns the version's row
    count when it follows from the inserts (None: count it) and the statement recording the
    parts (run it in the transaction that records the version). Part ids are ``base`` + 1,
    2, ... (see :func:`part_base`), or without ``base`` one more than the table's highest."""
    gen = _generation(cur, model, plan, prev)
    table = f'"{PARTS_SCHEMA}"."{model}__g{gen}"'
    segments: list[Any] = [] if plan.full or prev is None else [list(s) for s in prev[1]]
    time_col = '"' + str(config["time_column"]).replace('"', '""') + '"'
    # appending to the live generation: its table exists (it holds the previous parts)
    exists = bool(segments) or _exists(cur, f"{model}__g{gen}")
    rows: int | None = 0 if not segments else prev_rows
    for a, b in plan.ranges:
        if base is not None:
            base += 1
            part = base
        else:
            with lock:  # part ids are unique per model
                part = _next_part(cur, table, exists)
        sql = render(a, b, bool(segments) or exists)
        rng = [_fmt(a), _fmt(b)]
        older = [seg for seg in segments if _may_hold(seg, rng)]
        if rows is not None and older:  # rows of older parts this range replaces
            rows -= _rows_in(cur, table, older, time_col, rng)
        # a part holds exactly its interval: rows outside it are not the part's to keep
        body = (f"select *, {part}::bigint as __fsql_part from ({sql}) __fsql_batch where "
                f"{_in_range(time_col, rng)}")
        verb = f"create table {table} as" if not exists else f"insert into {table} by name"
        added = cur.execute(f"{verb} {body}").fetchone()
        exists = True
        rows = rows + int(added[0]) if rows is not None and added else None
        for seg in older:
            seg[1].append(rng)  # older parts no longer own this range
        segments.append([part, [], [rng]])
    cur.execute(f"create view {rel} as {_view_sql(table, segments, time_col, config)}")
    if config.get("incremental_strategy") == "merge":
        rows = None  # a merged key may live in any part: count the view
    return rows, [(f"insert into {META}.version_parts values (?, ?, ?, ?, ?)",
                   [model, version, gen, json.dumps(segments),
                    json.dumps([_fmt(t) for t in plan.intervals])])]


def part_base(version: int) -> int:
    """Part ids of ``version`` are ``part_base(version) + 1, + 2, ...``: increasing with the
    version (a merge keeps the newest part's row) and above every id that older layouts gave
    out by counting (1, 2, ...). Only safe when the parts are written in the transaction that
    records the version: a version number a killed run used is used again, but its rows were
    never committed.

    >>> part_base(3)
    3145728
    """
    return version << 20


def _may_hold(seg: list[Any], rng: list[str]) -> bool:
    """Can part ``seg`` have rows in ``rng``? Parts record the range they cover (older
    layouts without it: assume yes)."""
    if len(seg) < 3:
        return True
    return any(a < rng[1] and rng[0] < b for a, b in seg[2])


def _in_range(time_col: str, rng: list[str]) -> str:
    return f"{time_col} >= timestamp '{rng[0]}' and {time_col} < timestamp '{rng[1]}'"


def _rows_in(cur: Any, table: str, segments: list[Any], time_col: str, rng: list[str]) -> int:
    """Rows the given parts hold in ``rng`` (zone maps on the time column keep it cheap)."""
    view = _view_sql(table, segments, time_col, {})
    row = cur.execute(f"select count(*) from ({view}) where {_in_range(time_col, rng)}"
                      ).fetchone()
    return int(row[0])


def _generation(cur: Any, model: str, plan: IncrementalPlan,
                prev: tuple[int, list[Any], list[datetime]] | None) -> int:
    if not plan.full and prev is not None:
        return prev[0]
    row = cur.execute(f"select max(generation) from {META}.version_parts where model = ?",
                      [model]).fetchone()
    return int(row[0] or 0) + 1


def _exists(cur: Any, name: str) -> bool:
    return bool(cur.execute("select 1 from duckdb_tables() where schema_name = ? and "
                            "table_name = ?", [PARTS_SCHEMA, name]).fetchall())


def _next_part(cur: Any, table: str, exists: bool) -> int:
    if not exists:
        return 1
    row = cur.execute(f"select max(__fsql_part) from {table}").fetchone()
    return int(row[0] or 0) + 1


def _view_sql(table: str, segments: list[Any], time_col: str, config: dict[str, Any]) -> str:
    whole = [str(int(part)) for part, excluded, *_ in segments if not excluded]
    conds = [f"__fsql_part in ({', '.join(whole)})"] if whole else []
    for part, excluded, *_ in segments:
        if excluded:
            outside = " and ".join(f"not ({_in_range(time_col, [a, b])})" for a, b in excluded)
            conds.append(f"(__fsql_part = {int(part)} and {outside})")
    where = " or ".join(conds) or "false"
    sql = f"select * exclude (__fsql_part) from {table} where {where}"
    if config.get("incremental_strategy") == "merge":
        keys = config.get("unique_key")
        keys = [keys] if isinstance(keys, str) else list(keys or [])
        if not keys:
            raise ConfigError("incremental_strategy='merge' needs unique_key",
                              expected="unique_key='id' or ['a', 'b']",
                              hint="add unique_key to config(...)")
        part_by = ", ".join('"' + k + '"' for k in keys)
        sql = (f"select * exclude (__fsql_part) from {table} where {where} qualify "
               f"row_number() over (partition by {part_by} order by __fsql_part desc, "
               f"{time_col} desc) = 1")
    return sql
