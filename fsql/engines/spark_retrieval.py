"""Point-in-time SQL for Spark: training sets and the latest row per entity.

Pure string generation (no pyspark import): the Spark variants of
:func:`fsql.engines.retrieval_sql.training_set_sql` (DuckDB's ASOF join) and of the online
materializer's latest-row query, giving the same answers -- same rows, same tie-breaks,
same column types.

Spark has no ASOF join and a range join blows up with long TTLs, so a training set is a
linear *union + running last* per feature view: the entity rows and the feature rows of a
view in one relation, partitioned by the join keys and ordered by
``(ts, is_entity, created ts, feature values)``; ``last(feature_struct, true)`` over the
rows up to the current one gives each entity row the greatest visible feature row, then
the TTL check nulls it out when too old. Views are chained: each stage carries the entity
row (and the features found so far) as one struct.

Timestamps are compared as epoch microseconds of their instant: tz-aware values by
their instant, naive ones (``TIMESTAMP_NTZ``), dates and strings read in the session time
zone, which the Spark engine pins to UTC (naive timestamps are UTC, as on DuckDB).

>>> view = FeatureView("fv", "fv", ("user_id",), "ts", None, None, ("v",))
>>> sql = training_set_sql_spark("ent", ["user_id", "event_timestamp"], "event_timestamp", [view])
>>> "last(__fsql_f, true) OVER" in sql
True
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from fsql.engines.retrieval_sql import (
    ROW_INDEX,
    FeatureView,
    check_names,
    output_names,
    tiebreak_columns,
)

__all__ = ["LatestQuery", "latest_per_entity_sql_spark", "spark_ident", "training_set_sql_spark"]

_STRUCT = "__fsql_f"  # the feature row of a view: t (epoch us), c (created us), v0..vn
_ENTITY = "__fsql_p"  # the entity row carried through a stage


def spark_ident(name: str) -> str:
    """A Spark SQL identifier (backticks, doubled inside).

    >>> spark_ident("a`b")
    '`a``b`'
    """
    return "`" + name.replace("`", "``") + "`"


def epoch_us(column_sql: str) -> str:
    """Epoch microseconds (UTC instant) of a timestamp, date or timestamp string.

    ``TIMESTAMP_LTZ`` explicitly: a session with ``spark.sql.timestampType=TIMESTAMP_NTZ``
    reads a bare ``TIMESTAMP`` as naive.

    >>> epoch_us("`ts`")
    'unix_micros(CAST(`ts` AS TIMESTAMP_LTZ))'
    """
    return f"unix_micros(CAST({column_sql} AS TIMESTAMP_LTZ))"


def training_set_sql_spark(
    entity_relation: str,
    entity_columns: Sequence[str],
    entity_timestamp: str,
    views: Sequence[FeatureView],
    *,
    full_feature_names: bool = False,
    row_index: str | None = ROW_INDEX,
    column_types: Mapping[tuple[str, str], str] | None = None,
) -> str:
    """Spark SQL for a point-in-time training set; the semantics of
    :func:`fsql.engines.retrieval_sql.training_set_sql` (Feast 0.67, same tie-breaks).

    The entity columns in input order, then each view's features in requested order; one
    row per entity row, ordered by ``row_index`` (a 0..n-1 column of ``entity_relation``;
    without it the scan order, ``monotonically_increasing_id()``). ``column_types`` maps
    ``(relation, column)`` to a DuckDB or Spark type name: map-typed features are left out
    of the tie-break (Spark cannot order maps). Relations are Spark SQL as given.

    >>> view = FeatureView("fv", "fv", ("k",), "ts", "created", 3600.0, ("v",))
    >>> print(training_set_sql_spark("ent", ["k", "ets"], "ets", [view]).splitlines()[-1])
    SELECT `k`, `ets`, `v` FROM __fsql_s0 ORDER BY __fsql_r
    """
    check_names(entity_columns, entity_timestamp, views, full_feature_names)
    types = column_types or {}
    row = spark_ident(row_index) if row_index else "monotonically_increasing_id()"
    ecols = [spark_ident(c) for c in entity_columns]
    ctes = [
        f"__fsql_s AS (SELECT {row} AS __fsql_r, "
        f"{epoch_us(spark_ident(entity_timestamp))} AS __fsql_t, {', '.join(ecols)} "
        f"FROM {entity_relation})"
    ]
    names = output_names(views, full_feature_names)
    stage, done = "__fsql_s", 0
    for i, view in enumerate(v for v in views if v.features):
        outs = names[done : done + len(view.features)]
        ctes += _stage_sql(i, stage, view, outs, types)
        stage, done = f"__fsql_s{i}", done + len(view.features)
    cols = ", ".join([*ecols, *(spark_ident(n) for n in names)])
    return "WITH " + ",\n".join(ctes) + f"\nSELECT {cols} FROM {stage} ORDER BY __fsql_r"


def _stage_sql(
    i: int,
    prev: str,
    view: FeatureView,
    outs: Sequence[str],
    types: Mapping[tuple[str, str], str],
) -> list[str]:
    """One view: union the stage's entity rows with the view's rows, take the running
    last feature row per key, keep the entity rows with the features added."""
    keys = [f"__fsql_k{j}" for j in range(len(view.join_keys))]
    entity_keys = ", ".join(
        f"{spark_ident(k)} AS {alias}" for k, alias in zip(view.join_keys, keys, strict=True)
    )
    union = (
        f"SELECT {entity_keys}, __fsql_t, 1 AS __fsql_x, struct(s.*) AS {_ENTITY}, "
        f"NULL AS {_STRUCT} FROM {prev} s\nUNION ALL\n{_feature_rows_sql(view, keys, prev)}"
    )
    order = ["__fsql_t", "__fsql_x", *_tiebreak_order(view, types)]
    last = (
        f"last({_STRUCT}, true) OVER (PARTITION BY {', '.join(keys)} ORDER BY "
        f"{', '.join(order)} ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)"
    )
    visible = _ttl_check(view.ttl_seconds)
    values = ", ".join(
        f"CASE WHEN {visible} THEN __fsql_m.v{j} END AS {spark_ident(out)}"
        for j, out in enumerate(outs)
    )
    return [
        f"__fsql_u{i} AS ({union})",
        f"__fsql_w{i} AS (SELECT __fsql_x, {_ENTITY}, {last} AS __fsql_m FROM __fsql_u{i})",
        f"__fsql_s{i} AS (SELECT {_ENTITY}.*, {values} FROM __fsql_w{i} WHERE __fsql_x = 1)",
    ]


def _feature_rows_sql(view: FeatureView, keys: Sequence[str], entities: str) -> str:
    """The view's rows that can matter, shaped like the entity rows: a usable key and
    event time, a key of some entity row (a broadcast semi join when the entities are
    few) and an event time in ``[min(entity ts) - TTL, max(entity ts)]``."""
    ts = epoch_us(spark_ident(view.timestamp))
    created = epoch_us(spark_ident(view.created_timestamp)) if view.created_timestamp else "NULL"
    fields = [f"'t', {ts}", f"'c', {created}"] + [
        f"'v{j}', {spark_ident(c)}" for j, c in enumerate(view.features)
    ]
    key_cols = [spark_ident(k) for k in view.join_keys]
    aliased = ", ".join(f"{k} AS {alias}" for k, alias in zip(key_cols, keys, strict=True))
    usable = [f"{c} IS NOT NULL" for c in [*key_cols, spark_ident(view.timestamp)]]
    tuple_sql = f"({', '.join(key_cols)})" if len(key_cols) > 1 else key_cols[0]
    entity_keys = ", ".join(spark_ident(k) for k in view.join_keys)
    usable.append(f"{tuple_sql} IN (SELECT {entity_keys} FROM {entities})")
    usable.append(f"{ts} <= (SELECT max(__fsql_t) FROM {entities})")
    if view.ttl_seconds and view.ttl_seconds > 0:
        ttl_us = int(round(view.ttl_seconds * 1_000_000))
        usable.append(f"{ts} >= (SELECT min(__fsql_t) FROM {entities}) - {ttl_us}")
    return (
        f"SELECT {aliased}, {ts} AS __fsql_t, 0 AS __fsql_x, NULL AS {_ENTITY}, "
        f"named_struct({', '.join(fields)}) AS {_STRUCT} FROM {view.relation} "
        f"WHERE {' AND '.join(usable)}"
    )


def _tiebreak_order(view: FeatureView, types: Mapping[tuple[str, str], str]) -> list[str]:
    """Feature rows at one event time ascend by created ts, then by the tie-break values
    (``ASC NULLS FIRST``: NULL smallest, as in the DuckDB variant); the running last is
    the greatest. When every feature is orderable that is the order of the feature struct
    itself (t, c, v0..vn; a NULL field sorts first): one sort key instead of n + 1
    (measured ~10% faster at 1e6 x 1e5)."""
    ordered = tiebreak_columns(view, types)
    if ordered == list(view.features):
        return [_STRUCT]
    at = {c: j for j, c in enumerate(view.features)}
    order = [f"{_STRUCT}.c"] if view.created_timestamp else []
    return order + [f"{_STRUCT}.v{at[c]}" for c in ordered]


def _ttl_check(ttl_seconds: float | None) -> str:
    """The matched row is within the TTL (inclusive); TTL None/0: any match."""
    if not ttl_seconds or ttl_seconds <= 0:
        return "__fsql_m IS NOT NULL"
    ttl_us = int(round(ttl_seconds * 1_000_000))
    return f"__fsql_m.t >= {_ENTITY}.__fsql_t - {ttl_us}"


@dataclass(frozen=True)
class LatestQuery:
    """What the online materializer asks for: the latest row per entity of one feature set
    with event time in ``[now - ttl, now]`` (and ``> since`` when given), in epoch us."""

    relation: str
    join_keys: tuple[str, ...]
    timestamp: str
    created: str | None
    ttl_seconds: float | None
    now_us: int
    features: tuple[str, ...]
    since_us: int | None = None


def latest_per_entity_sql_spark(
    relation: str,
    join_keys: Sequence[str],
    timestamp: str,
    created: str | None,
    ttl_seconds: float | None,
    now: int,
    features: Sequence[str],
    *,
    since: int | None = None,
    column_types: Mapping[str, str] | None = None,
) -> str:
    """Spark SQL for the latest row per entity within the TTL, as the DuckDB materializer
    picks it (:mod:`fsql.online.materializer`): rows with non-null keys and event time in
    ``[now - ttl, now]`` (``> since`` too when given; ``now``/``since`` in epoch
    microseconds), per key the greatest event time, then the greatest created ts (NULL
    smallest), then the greatest feature values (NULL smallest; maps left out, see
    ``column_types``: column -> type name). Columns: the keys, the event time in epoch
    microseconds (``__fsql_ts_us``), the features; rows ordered by the keys.

    One aggregate (``max_by`` on a struct ordering key), no sort of the whole table.

    >>> sql = latest_per_entity_sql_spark("fv", ["k"], "ts", None, None, 10, ["v"])
    >>> sql.startswith("SELECT `k`, __fsql_b.t AS __fsql_ts_us, __fsql_b.v0 AS `v`")
    True
    """
    q = LatestQuery(relation, tuple(join_keys), timestamp, created, ttl_seconds, now,
                    tuple(features), since)
    return _latest_sql(q, column_types or {})


def _latest_sql(q: LatestQuery, types: Mapping[str, str]) -> str:
    ts = epoch_us(spark_ident(q.timestamp))
    keys = [spark_ident(k) for k in q.join_keys]
    view = FeatureView("latest", q.relation, q.join_keys, q.timestamp, q.created, None,
                       q.features)
    order = [f"'t', {ts}"]
    if q.created:
        order.append(f"'c', {epoch_us(spark_ident(q.created))}")
    at = {c: j for j, c in enumerate(q.features)}
    order += [f"'v{at[c]}', {spark_ident(c)}"
              for c in tiebreak_columns(view, {(q.relation, c): t for c, t in types.items()})]
    best = [f"'t', {ts}"] + [f"'v{j}', {spark_ident(c)}" for j, c in enumerate(q.features)]
    cols = [*keys, "__fsql_b.t AS __fsql_ts_us"] + [
        f"__fsql_b.v{j} AS {spark_ident(c)}" for j, c in enumerate(q.features)
    ]
    key_list = ", ".join(keys)
    return (
        f"SELECT {', '.join(cols)} FROM (SELECT {key_list}, "
        f"max_by(named_struct({', '.join(best)}), named_struct({', '.join(order)})) AS __fsql_b "
        f"FROM {q.relation} WHERE {' AND '.join(_latest_where(q, keys, ts))} "
        f"GROUP BY {key_list}) ORDER BY {key_list}"
    )


def _latest_where(q: LatestQuery, keys: Sequence[str], ts: str) -> list[str]:
    where = [f"{k} IS NOT NULL" for k in keys] + [f"{ts} <= {int(q.now_us)}"]
    if q.ttl_seconds and q.ttl_seconds > 0:
        where.append(f"{ts} >= {int(q.now_us) - int(round(q.ttl_seconds * 1_000_000))}")
    if q.since_us is not None:
        where.append(f"{ts} > {int(q.since_us)}")
    return where
