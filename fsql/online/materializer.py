"""Materialize feature sets into an online store: the latest row per entity within TTL.

The latest-row selection runs in DuckDB (``QUALIFY row_number() ...``); rows stream out
with ``fetchmany`` straight into the store's bulk writer (one SQLite transaction with a
prepared statement). Three modes:

* ``full``         — first run, ``full=True`` or a changed schema: replace everything.
* ``incremental``  — same live version as last time and a later ``as_of``: versions are
  immutable, so only rows with ``last as_of < event ts <= as_of`` can be new.
* ``diff``         — the live version changed (or is unversioned): compare a per-entity
  content hash computed in DuckDB with the stored one; write only changed entities and
  delete entities that are no longer visible.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import date, datetime
from itertools import chain
from typing import Any

from fsql.engines.duckdb import Connection, DuckDBError, quote_ident
from fsql.engines.retrieval_sql import orderable
from fsql.errors import ConfigError, ExecutionError, did_you_mean
from fsql.online.base import (
    FeatureSetStatus,
    Key,
    Layout,
    OnlineFeatureSet,
    OnlineStore,
    kind_of,
    to_epoch_us,
    us_to_iso,
)

__all__ = ["MaterializeResult", "materialize", "materialize_all", "to_epoch_us", "us_to_iso"]

_FETCH = 20_000
_MISSING = object()


@dataclass(frozen=True)
class MaterializeResult:
    """What one materialization did."""

    feature_set: str
    version: int | None
    mode: str
    as_of: str
    rows_written: int
    rows_deleted: int
    row_count: int
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def materialize(con: Connection, fs: OnlineFeatureSet, store: OnlineStore, *,
                as_of: datetime | date | str | None = None,
                full: bool = False) -> MaterializeResult:
    """Write the latest row per entity of ``fs`` (event ts in [as_of - ttl, as_of]) online.

    Incremental by default (see the module docstring); ``full=True`` rewrites everything.
    Records version, materialized_at, as_of and row count in the store's status.
    """
    t0 = time.perf_counter()
    as_of_us = to_epoch_us(as_of) if as_of is not None else _now_us()
    types = _describe(con, fs)
    layout = _layout(fs, types)
    prior = store.status().get(fs.name)
    mode = _mode(fs, layout, store.layout(fs.name), prior, as_of_us, full)
    since = to_epoch_us(prior.as_of) if mode == "incremental" and prior and prior.as_of else None
    native = getattr(con, "execute_native", None)  # another engine's cursor (Spark)
    sql, params = (_select_sql(fs, layout, types, as_of_us, since) if native is None
                   else (_native_sql(getattr(con, "engine", None), fs, layout, types, as_of_us,
                                     since), []))
    try:
        cur = con.cursor().execute(sql, params) if native is None else native(sql)
    except (DuckDBError, getattr(getattr(con, "engine", None), "Error", DuckDBError)) as e:
        raise ExecutionError(f"materialize of '{fs.name}' failed: {e}", model=fs.name) from e
    status = FeatureSetStatus(fs.name, fs.version, us_to_iso(_now_us()), us_to_iso(as_of_us),
                              0, 0, mode)
    rows: Iterable[Sequence[Any]] = _fetch(cur)
    deleted: list[Key] = []
    if mode == "diff":
        rows, deleted = _changed(rows, store.entity_hashes(fs.name), len(layout.join_keys))
    written = store.write_batch(layout, rows, reset=mode == "full", delete_keys=deleted,
                                status=status)
    final = store.status()[fs.name]
    return MaterializeResult(fs.name, fs.version, mode, status.as_of or "", written,
                             len(deleted), final.row_count, time.perf_counter() - t0)


def materialize_all(con: Connection, feature_sets: Mapping[str, OnlineFeatureSet],
                    store: OnlineStore, *, as_of: datetime | date | str | None = None,
                    full: bool = False) -> list[MaterializeResult]:
    """Materialize every given feature set (sorted by name) with one shared ``as_of``."""
    as_of = as_of if as_of is not None else us_to_iso(_now_us())
    return [materialize(con, feature_sets[n], store, as_of=as_of, full=full)
            for n in sorted(feature_sets)]


def _now_us() -> int:
    return time.time_ns() // 1000


def _describe(con: Connection, fs: OnlineFeatureSet) -> dict[str, str]:
    try:
        rows = con.execute(f"DESCRIBE SELECT * FROM {fs.relation}").fetchall()
    except DuckDBError as e:
        raise ExecutionError(f"cannot read the live version of '{fs.name}': {e}",
                             model=fs.name) from e
    types = {r[0]: str(r[1]) for r in rows}
    needed = [*fs.join_keys, fs.timestamp, *fs.features]
    if fs.created_timestamp:
        needed.append(fs.created_timestamp)
    for col in needed:
        if col not in types:
            raise ConfigError(f"column '{col}' not found in feature set '{fs.name}'",
                              model=fs.name, expected="one of: " + ", ".join(sorted(types)),
                              hint=did_you_mean(col, types))
    if not fs.join_keys:
        raise ConfigError(f"feature set '{fs.name}' has no join keys", model=fs.name)
    return types


def _layout(fs: OnlineFeatureSet, types: Mapping[str, str]) -> Layout:
    key_kinds = tuple("int" if kind_of(types[k]) == "int" else "str" for k in fs.join_keys)
    kinds = tuple(kind_of(types[f]) for f in fs.features)
    return Layout(fs.name, tuple(fs.join_keys), key_kinds, tuple(fs.features), kinds,
                  fs.ttl_seconds or None, fs.version, fs.timestamp)


def _mode(fs: OnlineFeatureSet, layout: Layout, stored: Layout | None,
          prior: FeatureSetStatus | None, as_of_us: int, full: bool) -> str:
    if full or prior is None or prior.mode == "push" or not layout.same_shape(stored):
        return "full"
    if (fs.version is not None and prior.version == fs.version and prior.as_of
            and to_epoch_us(prior.as_of) <= as_of_us):
        return "incremental"
    return "diff"


def _value_sql(col: str, kind: str) -> str:
    q = quote_ident(col)
    if kind == "float":
        return f"CAST({q} AS DOUBLE)"
    if kind == "str":
        return f"CAST({q} AS VARCHAR)"
    if kind == "json":
        return f"CAST(to_json({q}) AS VARCHAR)"
    return q


def _bound(col: str, duck_type: str, us: int) -> tuple[str, str]:
    """(column expression, literal) comparing ``col`` with the instant ``us`` natively, so
    DuckDB filters on the raw column (zone maps, no per-row conversion)."""
    t = duck_type.upper()
    q = quote_ident(col)
    iso = us_to_iso(us)[:-1]  # our own generated text: safe to inline
    if t in ("TIMESTAMP WITH TIME ZONE", "TIMESTAMPTZ"):
        return q, f"CAST('{iso}+00:00' AS TIMESTAMPTZ)"
    if t.startswith("TIMESTAMP"):
        return q, f"CAST('{iso}' AS TIMESTAMP)"
    if t == "DATE":
        return f"CAST({q} AS TIMESTAMP)", f"CAST('{iso}' AS TIMESTAMP)"
    return f"epoch_us({q})", str(int(us))


def _select_sql(fs: OnlineFeatureSet, layout: Layout, types: Mapping[str, str],
                as_of_us: int, since_us: int | None) -> tuple[str, list[Any]]:
    """Latest row per entity in [as_of - ttl, as_of] (and > since): keep the rows at the
    max event time per key (a cheap unordered window), then break the rare ties by the
    created timestamp and the feature values (deterministic)."""
    ts_type = types[fs.timestamp]
    where = [f"{quote_ident(k)} IS NOT NULL" for k in fs.join_keys]
    col, lit = _bound(fs.timestamp, ts_type, as_of_us)
    where.append(f"{col} <= {lit}")
    if fs.ttl_seconds:
        col, lit = _bound(fs.timestamp, ts_type, as_of_us - int(round(fs.ttl_seconds * 1e6)))
        where.append(f"{col} >= {lit}")
    if since_us is not None:
        col, lit = _bound(fs.timestamp, ts_type, since_us)
        where.append(f"{col} > {lit}")
    part = ", ".join(quote_ident(k) for k in fs.join_keys)
    ts = quote_ident(fs.timestamp)
    latest = (f"SELECT * FROM {fs.relation} WHERE {' AND '.join(where)} "
              f"QUALIFY {ts} = max({ts}) OVER (PARTITION BY {part})")
    order = [f"{quote_ident(fs.created_timestamp)} DESC NULLS LAST"] if fs.created_timestamp \
        else []
    # Tie-break by the values (not by an engine's own hash): the Spark engine makes the
    # same pick (fsql.engines.spark_retrieval); maps are not orderable there.
    order += [f"{quote_ident(f)} DESC NULLS LAST" for f in fs.features if orderable(types[f])]
    order = order or [ts]  # nothing to order by: tied rows are identical where it counts
    inner = (f"SELECT * FROM ({latest}) QUALIFY row_number() OVER "
             f"(PARTITION BY {part} ORDER BY {', '.join(order)}) = 1")
    keys = [_value_sql(k, kind) for k, kind in zip(fs.join_keys, layout.key_kinds, strict=True)]
    feats = [_value_sql(f, k) for f, k in zip(fs.features, layout.kinds, strict=True)]
    ts_us = f"epoch_us({ts})"
    hashed = f"CAST(hash({', '.join([ts_us, *feats])}) >> 1 AS BIGINT)"
    cols = ", ".join([*keys, ts_us, hashed, *feats])
    by_key = ", ".join(str(i + 1) for i in range(len(keys)))  # stores insert in key order
    return f"SELECT {cols} FROM ({inner}) ORDER BY {by_key}", []


def _native_sql(engine: Any, fs: OnlineFeatureSet, layout: Layout, types: Mapping[str, str],
                as_of_us: int, since_us: int | None) -> str:
    """:func:`_select_sql`'s rows in the engine's own SQL (Spark: one aggregate per key,
    see fsql.engines.spark_retrieval); the content hash is the engine's own (it only tells
    a later materialize of the same engine what changed)."""
    from fsql.engines.spark_retrieval import latest_per_entity_sql_spark, spark_ident

    latest = latest_per_entity_sql_spark(
        engine.spark_relation(fs.relation), fs.join_keys, fs.timestamp, fs.created_timestamp,
        fs.ttl_seconds or None, as_of_us, fs.features, since=since_us, column_types=types)
    conv = {"float": "CAST({} AS DOUBLE)", "str": "CAST({} AS STRING)",
            "json": "to_json({})"}
    keys = [conv.get(k, "{}").format(spark_ident(c))
            for c, k in zip(fs.join_keys, layout.key_kinds, strict=True)]
    feats = [conv.get(k, "{}").format(spark_ident(c))
             for c, k in zip(fs.features, layout.kinds, strict=True)]
    hashed = f"shiftright(xxhash64(__fsql_ts_us, {', '.join(feats) or '0'}), 1)"
    by_key = ", ".join(str(i + 1) for i in range(len(keys)))
    return (f"SELECT {', '.join([*keys, '__fsql_ts_us', hashed, *feats])} "
            f"FROM ({latest}) ORDER BY {by_key}")


def _fetch(cur: Any) -> Iterator[tuple[Any, ...]]:
    """The rows of ``cur``, fetched ``_FETCH`` at a time (no Python code runs per row)."""
    return chain.from_iterable(iter(lambda: cur.fetchmany(_FETCH), []))


def _changed(rows: Iterable[Sequence[Any]], stored: dict[Key, int | None],
             nk: int) -> tuple[Iterator[Sequence[Any]], list[Key]]:
    """Rows whose content hash differs from the stored one; keys to delete are filled in
    (into the returned list) once the rows are consumed — stores read rows first."""
    deleted: list[Key] = []

    def gen() -> Iterator[Sequence[Any]]:
        for r in rows:
            key = tuple(r[:nk])
            if stored.pop(key, _MISSING) != r[nk + 1] or r[nk + 1] is None:
                yield r
        deleted.extend(sorted(stored, key=repr))

    return gen(), deleted
