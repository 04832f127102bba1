"""Point-in-time SQL generation: feature references and the ASOF-join query.

Pure functions (no connection): :func:`parse_feature_refs` resolves ``"fs:col"`` /
``"fs:*"`` references and :func:`training_set_sql` writes the DuckDB query that
:mod:`fsql.featurestore.retrieval` runs.

Semantics (Feast 0.67): per entity row and feature view, the row with equal join keys
and the greatest event timestamp ``<=`` the entity timestamp and ``>=`` entity
timestamp minus TTL (both inclusive; TTL ``None``/0 = unlimited); ties on the event
timestamp go to the greatest created timestamp (NULL smallest), then (exact
duplicates) to the greatest feature values (:func:`tiebreak_columns`), so the pick
never depends on physical order and every engine makes the same one (the Spark
variant is :mod:`fsql.engines.spark_retrieval`). No visible row gives nulls; every
entity row is kept, in input order.

Query plan per view (measured fastest correct variant, see bench/bench_retrieval.py):
restrict the feature rows to the distinct entity keys (semi join) and the time window
``[min(entity ts) - TTL, max(entity ts)]``, then one ``ASOF LEFT JOIN`` whose
inequality is on a sort key ``(event ts, created ts)`` -- this folds the
created-timestamp dedupe into the ASOF sort instead of a separate window/aggregate --
then replace matches that have exact duplicates by their tie-break winner (an
aggregate over the tied groups only) and null out matches older than the TTL.

>>> view = FeatureView("fv", '"fv"', ("user_id",), "ts", None, None, ("v",))
>>> sql = training_set_sql('"ent"', ["user_id", "event_timestamp"], "event_timestamp", [view])
>>> "ASOF LEFT JOIN" in sql
True
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from fsql.engines.duckdb import quote_ident
from fsql.errors import ConfigError, did_you_mean

__all__ = [
    "ROW_INDEX",
    "FeatureView",
    "check_names",
    "orderable",
    "output_names",
    "parse_feature_refs",
    "tiebreak_columns",
    "training_set_sql",
    "utc_expr",
]

ROW_INDEX = "__fsql_row"
SEPARATOR = "__"  # Feast's full_feature_names separator: "<view>__<feature>"
_NAIVE = {"TIMESTAMP", "TIMESTAMP WITHOUT TIME ZONE"}
_AWARE = {"TIMESTAMP WITH TIME ZONE", "TIMESTAMPTZ"}
_CASTABLE = {"DATE", "TIMESTAMP_NS", "TIMESTAMP_MS", "TIMESTAMP_S"}


@dataclass(frozen=True)
class FeatureView:
    """One feature set as retrieval sees it (a pinned version of its table)."""

    name: str
    relation: str
    join_keys: tuple[str, ...]
    timestamp: str
    created_timestamp: str | None
    ttl_seconds: float | None
    features: tuple[str, ...]
    version: int | None = None


def parse_feature_refs(
    features: Sequence[str], available: Mapping[str, Sequence[str]]
) -> list[tuple[str, tuple[str, ...]]]:
    """Resolve ``"fs:col"`` / ``"fs:*"`` references against ``available`` columns.

    Returns ``[(feature_set, (cols...))]`` grouped per feature set in order of first
    appearance, columns in requested order (a repeated reference is kept once).

    >>> parse_feature_refs(["b:x", "a:*", "b:y"], {"a": ["p", "q"], "b": ["x", "y"]})
    [('b', ('x', 'y')), ('a', ('p', 'q'))]
    """
    if isinstance(features, str):
        features = [features]
    grouped: dict[str, list[str]] = {}
    for ref in features:
        fs, col = _split_ref(ref)
        if fs not in available:
            raise ConfigError(
                f"unknown feature set '{fs}' in feature reference '{ref}'",
                expected="one of: " + ", ".join(sorted(available)),
                hint=did_you_mean(fs, available),
            )
        cols = list(available[fs]) if col == "*" else [col]
        for c in cols:
            if c not in available[fs]:
                raise ConfigError(
                    f"feature set '{fs}' has no feature '{c}'",
                    expected="one of: " + ", ".join(available[fs]),
                    hint=did_you_mean(c, available[fs]),
                )
            chosen = grouped.setdefault(fs, [])
            if c not in chosen:
                chosen.append(c)
        grouped.setdefault(fs, [])
    return [(fs, tuple(cols)) for fs, cols in grouped.items()]


def _split_ref(ref: object) -> tuple[str, str]:
    if not isinstance(ref, str) or ref.count(":") != 1 or ref.startswith(":") or ref.endswith(":"):
        raise ConfigError(
            f"invalid feature reference {ref!r}",
            expected="'feature_set:feature' or 'feature_set:*'",
            hint="write e.g. 'user_spend:total_30d'",
        )
    fs, col = ref.split(":")
    return fs.strip(), col.strip()


def output_names(views: Sequence[FeatureView], full_feature_names: bool) -> list[str]:
    """Output column names of the features, in order; ``<view>__<feature>`` when full."""
    return [
        f"{v.name}{SEPARATOR}{f}" if full_feature_names else f for v in views for f in v.features
    ]


def utc_expr(column_sql: str, duck_type: str | None) -> str:
    """SQL turning a timestamp-ish column into a naive UTC ``TIMESTAMP``.

    Naive timestamps are taken as UTC; tz-aware ones are converted to their UTC
    instant. Unknown types use a generic (slower) expression that is right for all.

    >>> utc_expr('"ts"', "TIMESTAMP WITH TIME ZONE")
    'timezone(\\'UTC\\', "ts")'
    """
    t = (duck_type or "").upper()
    if t in _NAIVE:
        return column_sql
    if t in _AWARE:
        return f"timezone('UTC', {column_sql})"
    if t in _CASTABLE or t == "VARCHAR":
        return f"CAST({column_sql} AS TIMESTAMP)"
    return f"make_timestamp(epoch_us({column_sql}))"


def training_set_sql(
    entity_relation: str,
    entity_columns: Sequence[str],
    entity_timestamp: str,
    views: Sequence[FeatureView],
    *,
    full_feature_names: bool = False,
    row_index: str | None = None,
    column_types: Mapping[tuple[str, str], str] | None = None,
) -> str:
    """DuckDB SQL for a point-in-time training set.

    Returns the entity columns in input order, then each view's features in requested
    order; one row per entity row, in input order (``row_index`` names a 0..n-1 column
    of ``entity_relation`` holding that order; without it ``row_number() OVER ()`` is
    used). ``column_types`` maps ``(relation, column)`` to DuckDB type names so timestamp
    normalization can skip casts; without it a generic expression is used.
    """
    check_names(entity_columns, entity_timestamp, views, full_feature_names)
    types = column_types or {}
    ets = utc_expr(quote_ident(entity_timestamp), types.get((entity_relation, entity_timestamp)))
    row = quote_ident(row_index) if row_index else "row_number() OVER () - 1"
    ecols = ", ".join(quote_ident(c) for c in entity_columns)
    ctes = [
        f"__fsql_e AS (SELECT {row} AS {ROW_INDEX}, {ets} AS __fsql_ts, {ecols} "
        f"FROM {entity_relation})",
        "__fsql_b AS (SELECT min(__fsql_ts) AS lo, max(__fsql_ts) AS hi FROM __fsql_e)",
    ]
    joins: list[str] = []
    selects = [f"e.{quote_ident(c)}" for c in entity_columns]
    names = iter(output_names(views, full_feature_names))
    for i, view in enumerate(views):
        ctes.append(f"__fsql_f{i} AS ({_view_sql(view, types)})")
        joins.append(_asof_join(i, view))
        ties = _ties_sql(i, view, types)
        if ties:
            ctes.append(ties)
            joins.append(_ties_join(i, view))
        for j in range(len(view.features)):
            value = f"f{i}.__fsql_c{j}"
            if ties:  # an exact tie on (keys, ts, created): the greatest feature values win
                value = f"CASE WHEN t{i}.__fsql_sk IS NULL THEN {value} ELSE t{i}.__fsql_v.c{j} END"
            ttl = _ttl_interval(view.ttl_seconds)
            if ttl:
                value = f"CASE WHEN f{i}.__fsql_ts >= e.__fsql_ts - {ttl} THEN {value} END"
            selects.append(f"{value} AS {quote_ident(next(names))}")
    return (
        "WITH "
        + ",\n".join(ctes)
        + "\nSELECT "
        + ", ".join(selects)
        + "\nFROM __fsql_e e\n"
        + "\n".join(joins)
        + f"\nORDER BY e.{ROW_INDEX}"
    )


def _view_sql(view: FeatureView, types: Mapping[tuple[str, str], str]) -> str:
    """Feature rows restricted to the entity keys and time window, with an ASOF sort key."""
    rel = view.relation
    ts = utc_expr(quote_ident(view.timestamp), types.get((rel, view.timestamp)))
    keys = ", ".join(f"{quote_ident(k)} AS __fsql_k{j}" for j, k in enumerate(view.join_keys))
    feats = ", ".join(f"{quote_ident(c)} AS __fsql_c{j}" for j, c in enumerate(view.features))
    sort_key = [f"t := {ts}"]
    if view.created_timestamp:
        created = view.created_timestamp
        cts = utc_expr(quote_ident(created), types.get((rel, created)))
        sort_key.append(f"c := coalesce({cts}, TIMESTAMP '-infinity')")
    distinct_keys = ", ".join(quote_ident(k) for k in view.join_keys)
    on = " AND ".join(f"f.{quote_ident(k)} = k.{quote_ident(k)}" for k in view.join_keys)
    ttl = _ttl_interval(view.ttl_seconds)
    window = f"{ts} <= (SELECT hi FROM __fsql_b)"
    if ttl:  # unlimited TTL: no lower bound
        window += f" AND {ts} >= (SELECT lo FROM __fsql_b) - {ttl}"
    select = ", ".join(x for x in (keys, f"{ts} AS __fsql_ts", feats) if x)
    return (
        f"SELECT {select}, struct_pack({', '.join(sort_key)}) AS __fsql_sk FROM {rel} f "
        f"SEMI JOIN (SELECT DISTINCT {distinct_keys} FROM __fsql_e) k ON {on} "
        f"WHERE {window}"
    )


def _asof_join(i: int, view: FeatureView) -> str:
    eq = " AND ".join(
        f"e.{quote_ident(k)} = f{i}.__fsql_k{j}" for j, k in enumerate(view.join_keys)
    )
    probe = ["t := e.__fsql_ts"]
    if view.created_timestamp:
        probe.append("c := TIMESTAMP 'infinity'")
    key = f"CASE WHEN e.__fsql_ts IS NULL THEN NULL ELSE struct_pack({', '.join(probe)}) END"
    return f"ASOF LEFT JOIN __fsql_f{i} f{i} ON {eq} AND {key} >= f{i}.__fsql_sk"


def _ties_sql(i: int, view: FeatureView, types: Mapping[tuple[str, str], str]) -> str | None:
    """Feature rows tied on (keys, event ts, created ts), reduced to the row with the
    greatest tie-break values. Ties are rare: only the tied groups are aggregated, the
    ASOF join stays on the narrow (ts, created) key (a value-wide key doubles its cost)."""
    order = tiebreak_columns(view, types)
    if not order:
        return None
    at = {c: j for j, c in enumerate(view.features)}
    keys = ", ".join(f"__fsql_k{j}" for j in range(len(view.join_keys))) + ", __fsql_sk"
    values = ", ".join(f"c{j} := __fsql_c{j}" for j in range(len(view.features)))
    rank = ", ".join(
        f"n{at[c]} := __fsql_c{at[c]} IS NOT NULL, v{at[c]} := __fsql_c{at[c]}" for c in order
    )
    dup = f"SELECT {keys} FROM __fsql_f{i} GROUP BY ALL HAVING count(*) > 1"
    return (
        f"__fsql_t{i} AS (SELECT {keys}, arg_max(struct_pack({values}), struct_pack({rank})) "
        f"AS __fsql_v FROM __fsql_f{i} SEMI JOIN ({dup}) d USING ({keys}) GROUP BY ALL)"
    )


def _ties_join(i: int, view: FeatureView) -> str:
    on = [f"t{i}.__fsql_k{j} = f{i}.__fsql_k{j}" for j in range(len(view.join_keys))]
    return f"LEFT JOIN __fsql_t{i} t{i} ON {' AND '.join(on)} AND t{i}.__fsql_sk = f{i}.__fsql_sk"


def tiebreak_columns(view: FeatureView, types: Mapping[tuple[str, str], str]) -> list[str]:
    """Features ordering rows tied on (keys, event ts, created ts), in request order.

    Both engines order them the same way -- the greatest values win, compared left to
    right, NULL smallest, NaN greatest -- so the pick is portable (an engine's own hash
    is not). Map-typed features (known from ``types``; Spark cannot order maps) are
    left out.

    >>> v = FeatureView("fv", "fv", ("k",), "ts", None, None, ("a", "m"))
    >>> tiebreak_columns(v, {("fv", "m"): "MAP(VARCHAR, INTEGER)"})
    ['a']
    """
    return [c for c in view.features if orderable(types.get((view.relation, c), ""))]


def orderable(type_name: str) -> bool:
    """Whether values of this DuckDB or Spark type order the same in both engines (not
    maps, nor anything holding one; Spark cannot order them).

    >>> orderable("DOUBLE"), orderable("MAP(VARCHAR, INTEGER)"), orderable("struct<m:map<int,int>>")
    (True, False, False)
    """
    t = type_name.upper()
    return not any(x in t for x in ("MAP(", "MAP<", "VARIANT"))


def _ttl_interval(ttl_seconds: float | None) -> str | None:
    if not ttl_seconds or ttl_seconds <= 0:
        return None
    return f"to_microseconds({int(round(ttl_seconds * 1_000_000))}::BIGINT)"


def check_names(
    entity_columns: Sequence[str],
    entity_timestamp: str,
    views: Sequence[FeatureView],
    full_feature_names: bool,
) -> None:
    """Raise a :class:`ConfigError` naming the column when the entity timestamp or a join
    key is missing from the entity columns, or an output column name collides."""
    cols = list(entity_columns)
    if entity_timestamp not in cols:
        raise ConfigError(
            f"entity timestamp column '{entity_timestamp}' is not an entity column",
            expected="one of: " + ", ".join(cols),
            hint=did_you_mean(entity_timestamp, cols),
        )
    for view in views:
        if not view.join_keys:
            raise ConfigError(f"feature set '{view.name}' has no join keys")
        for key in view.join_keys:
            if key not in cols:
                raise ConfigError(
                    f"entity data has no join key '{key}' needed by feature set '{view.name}'",
                    expected="entity columns: " + ", ".join(cols),
                    hint=did_you_mean(key, cols),
                )
    seen: dict[str, str] = {c: "the entity data" for c in cols}
    names = output_names(views, full_feature_names)
    owners = [v.name for v in views for _ in v.features]
    for name, owner in zip(names, owners, strict=True):
        if name in seen:
            raise ConfigError(
                f"feature column '{name}' of feature set '{owner}' collides with "
                f"'{name}' from {seen[name]}",
                hint="pass full_feature_names=True to name columns '<feature_set>__<feature>'"
                if not full_feature_names
                else "rename the entity column",
            )
        seen[name] = f"feature set '{owner}'"
