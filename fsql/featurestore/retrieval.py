"""Point-in-time training sets: entity data + pinned feature-set versions -> one table.

>>> import pandas as pd
>>> from fsql.engines.duckdb import connect
>>> con = connect()
>>> _ = con.execute("CREATE TABLE fv AS SELECT 1 AS user_id, DATE '2024-01-01' AS ts, 2.5 AS v")
>>> _ = con.execute("ALTER TABLE fv ALTER v TYPE DOUBLE")
>>> view = FeatureView("fv", '"fv"', ("user_id",), "ts", None, None, ("v",))
>>> ent = pd.DataFrame({"user_id": [1, 2], "event_timestamp": pd.to_datetime(["2024-02-01"] * 2)})
>>> get_training_set(con, ent, [view]).to_pandas()["v"].tolist()
[2.5, nan]

The heavy lifting is SQL (see :mod:`fsql.engines.retrieval_sql`); this module prepares the
entity data (Arrow, row index, fingerprint), registers it, and materializes lazily.
"""

from __future__ import annotations

import hashlib
import html
import uuid
import weakref
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fsql.engines.duckdb import Connection, DuckDBError, quote_ident, register_frame
from fsql.engines.retrieval_sql import (
    ROW_INDEX,
    FeatureView,
    output_names,
    parse_feature_refs,
    training_set_sql,
)
from fsql.errors import ConfigError, ExecutionError, did_you_mean

if TYPE_CHECKING:
    import pandas
    import pyarrow

__all__ = [
    "FeatureView",
    "TrainingSet",
    "get_training_set",
    "parse_feature_refs",
    "training_set_sql",
]

DEFAULT_ENTITY_TIMESTAMP = "event_timestamp"
PREVIEW_ROWS = 10


@dataclass(frozen=True)
class TrainingSet:
    """A lazy point-in-time training set: a connection plus the SQL that computes it.

    Nothing runs until ``to_arrow`` / ``to_pandas`` / ``to_parquet``; each call
    re-runs the query against the pinned relations recorded in ``manifest``.
    """

    con: Connection = field(repr=False)
    sql: str = field(repr=False)
    manifest: dict[str, Any]
    entity_schema: Any = field(default=None, repr=False, compare=False)
    _keepalive: Any = field(default=None, repr=False, compare=False)

    def to_arrow(self) -> pyarrow.Table:
        """Materialize as a ``pyarrow.Table`` (entity columns, then features)."""
        try:
            rel = self.con.sql(self.sql)
            fetch = getattr(rel, "to_arrow_table", None) or rel.arrow
            table = fetch()
        except DuckDBError as e:
            raise _execution_error(e) from e
        return _restore_timestamp_types(table, self.entity_schema)

    def to_pandas(self) -> pandas.DataFrame:
        """Materialize as a pandas DataFrame (via Arrow; ints with nulls become float)."""
        return self.to_arrow().to_pandas()

    def to_parquet(self, path: str | Path) -> Path:
        """Stream the result into a Parquet file with DuckDB ``COPY``; returns the path."""
        out = Path(path)
        out.parent.mkdir(parents=True, exist_ok=True)
        target = str(out).replace("'", "''")
        try:
            self.con.execute(f"COPY ({self.sql}) TO '{target}' (FORMAT parquet)").fetchall()
        except DuckDBError as e:
            raise _execution_error(e) from e
        return out

    def _repr_html_(self) -> str:
        try:
            cur = self.con.execute(f"SELECT * FROM ({self.sql}) LIMIT {PREVIEW_ROWS}")
            rows = cur.fetchall()
            columns = [d[0] for d in cur.description or []]
        except DuckDBError as e:  # pragma: no cover - shown only in notebooks
            return f"<pre>{html.escape(str(e))}</pre>"
        head = "".join(f"<th>{html.escape(str(c))}</th>" for c in columns)
        body = "".join(
            "<tr>" + "".join(f"<td>{html.escape(_cell(v))}</td>" for v in r) + "</tr>" for r in rows
        )
        m = self.manifest
        sets = "".join(
            f"<li>{html.escape(name)} v{html.escape(str(info['version']))}: "
            f"{html.escape(', '.join(info['features']))}</li>"
            for name, info in m["feature_sets"].items()
        )
        return (
            f"<div class='fsql-training-set'><b>TrainingSet</b> "
            f"({m['entity_rows']} rows; first {len(rows)} shown)"
            f"<ul>{sets}</ul><table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
            f"<small>entity sha256 {html.escape(m['entity_fingerprint'][:16])}... "
            f"created {html.escape(m['created_at'])}</small></div>"
        )


def get_training_set(
    con: Connection,
    entity: Any,
    views: Sequence[FeatureView],
    *,
    entity_timestamp: str | None = None,
    full_feature_names: bool = False,
) -> TrainingSet:
    """Build a lazy point-in-time training set.

    ``entity`` is a pandas DataFrame, a pyarrow Table or a SQL query string. Its
    timestamp column is ``entity_timestamp``, else ``event_timestamp``, else the only
    timestamp-typed column that is not a join key. Output: the entity columns as given
    (timestamps unchanged), then each view's features; one row per entity row, in order.
    """
    table = _entity_table(con, entity)
    join_keys = {k for v in views for k in v.join_keys}
    ts_col = _pick_timestamp(table, entity_timestamp, join_keys)
    columns = list(table.column_names)
    name = f"__fsql_entity_{uuid.uuid4().hex}"
    sql = training_set_sql(
        quote_ident(name),
        columns,
        ts_col,
        views,
        full_feature_names=full_feature_names,
        row_index=ROW_INDEX,
        column_types=_column_types(con, quote_ident(name), table, views),
    )
    manifest = _manifest(table, ts_col, views, full_feature_names)
    register_frame(con, name, _with_row_index(table))
    keep = _Registration(con, name)
    return TrainingSet(
        con=con, sql=sql, manifest=manifest, entity_schema=table.schema, _keepalive=keep
    )


class _Registration:
    """Unregisters the entity view when the TrainingSet holding it is collected."""

    def __init__(self, con: Connection, name: str) -> None:
        self._finalizer = weakref.finalize(self, _unregister, con, name)


def _unregister(con: Connection, name: str) -> None:
    try:
        con.unregister(name)
    except Exception:  # noqa: BLE001 - connection may already be closed
        pass


def _entity_table(con: Connection, entity: Any) -> pyarrow.Table:
    import pandas as pd
    import pyarrow as pa

    if isinstance(entity, pa.Table):
        table = entity
    elif isinstance(entity, str):
        table = _fetch_arrow(con, entity)
    elif isinstance(entity, pd.DataFrame):
        table = pa.Table.from_pandas(entity, preserve_index=False)
    elif callable(getattr(entity, "to_arrow", None)):  # e.g. a polars DataFrame
        table = entity.to_arrow()
    else:
        raise ConfigError(
            f"unsupported entity data of type {type(entity).__name__}",
            expected="a pandas DataFrame, a pyarrow Table or a SQL query string",
        )
    if ROW_INDEX in table.column_names:
        raise ConfigError(f"entity data must not have a column named '{ROW_INDEX}'")
    return table.replace_schema_metadata(None)


def _fetch_arrow(con: Connection, query: str) -> pyarrow.Table:
    try:
        rel = con.sql(query)
        fetch = getattr(rel, "to_arrow_table", None) or rel.arrow
        return fetch()
    except DuckDBError as e:
        raise ConfigError(
            f"entity query failed: {e}", expected="a SELECT query returning entity rows"
        ) from e


def _pick_timestamp(table: pyarrow.Table, wanted: str | None, join_keys: set[str]) -> str:
    import pyarrow as pa

    columns = list(table.column_names)
    if wanted is not None:
        if wanted not in columns:
            raise ConfigError(
                f"entity data has no timestamp column '{wanted}'",
                expected="one of: " + ", ".join(columns),
                hint=did_you_mean(wanted, columns),
            )
        return wanted
    if DEFAULT_ENTITY_TIMESTAMP in columns:
        return DEFAULT_ENTITY_TIMESTAMP
    candidates = [
        f.name
        for f in table.schema
        if (pa.types.is_timestamp(f.type) or pa.types.is_date(f.type)) and f.name not in join_keys
    ]
    if len(candidates) != 1:
        found = ", ".join(candidates) if candidates else "none"
        raise ConfigError(
            f"cannot tell which entity column is the event timestamp (candidates: {found})",
            expected=f"a column '{DEFAULT_ENTITY_TIMESTAMP}' or exactly one timestamp column",
            hint="pass entity_timestamp='<column>'",
        )
    return candidates[0]


def _column_types(
    con: Connection, entity_rel: str, table: pyarrow.Table, views: Sequence[FeatureView]
) -> dict[tuple[str, str], str]:
    """DuckDB types of the timestamp columns (so SQL normalizes them without casts) and of
    the features (the tie-break leaves out unorderable ones)."""
    import pyarrow as pa

    types: dict[tuple[str, str], str] = {}
    for f in table.schema:
        if pa.types.is_timestamp(f.type):
            if f.type.tz is not None:
                types[(entity_rel, f.name)] = "TIMESTAMP WITH TIME ZONE"
            elif f.type.unit == "us":
                types[(entity_rel, f.name)] = "TIMESTAMP"
    for view in views:
        cols = [c for c in (view.timestamp, view.created_timestamp, *view.features) if c]
        select = ", ".join(quote_ident(c) for c in cols)
        try:
            described = con.execute(f"DESCRIBE SELECT {select} FROM {view.relation}").fetchall()
        except DuckDBError as e:
            raise ConfigError(
                f"cannot read feature set '{view.name}' from {view.relation}: {e}",
                hint="is the feature set version materialized?",
            ) from e
        for row in described:
            types[(view.relation, str(row[0]))] = str(row[1])
    return types


def _with_row_index(table: pyarrow.Table) -> pyarrow.Table:
    import numpy as np
    import pyarrow as pa

    return table.append_column(ROW_INDEX, pa.array(np.arange(table.num_rows, dtype=np.int64)))


def entity_fingerprint(table: pyarrow.Table) -> str:
    """sha256 of the entity data (schema + values, independent of chunking)."""
    import pyarrow as pa

    digest = hashlib.sha256()
    table = table.replace_schema_metadata(None).combine_chunks()
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        for batch in table.to_batches():
            writer.write_batch(batch)
    digest.update(memoryview(sink.getvalue()))
    return digest.hexdigest()


def _manifest(
    table: pyarrow.Table, ts_col: str, views: Sequence[FeatureView], full: bool
) -> dict[str, Any]:
    return {
        "feature_sets": {
            v.name: {"version": v.version, "relation": v.relation, "features": list(v.features)}
            for v in views
        },
        "features": [f"{v.name}:{f}" for v in views for f in v.features],
        "output_columns": list(table.column_names) + output_names(views, full),
        "entity_fingerprint": entity_fingerprint(table),
        "entity_rows": table.num_rows,
        "entity_timestamp": ts_col,
        "created_at": datetime.now(UTC).isoformat(),
        "full_feature_names": full,
    }


def _restore_timestamp_types(table: pyarrow.Table, schema: Any) -> pyarrow.Table:
    """Give entity timestamp columns back their input type (DuckDB returns tz-aware ones in
    the session time zone); same instants, only the zone/unit label changes."""
    import pyarrow as pa

    if schema is None:
        return table
    for f in schema:
        i = table.schema.get_field_index(f.name)
        if i < 0 or not pa.types.is_timestamp(f.type) or table.schema.field(i).type == f.type:
            continue
        table = table.set_column(i, f.name, table.column(i).cast(f.type))
    return table


def _cell(value: Any) -> str:
    return "" if value is None else str(value)


def _execution_error(e: Exception) -> ExecutionError:
    return ExecutionError(
        f"point-in-time query failed: {e}",
        hint="check that join key types match between the entity data and the feature sets",
    )


# -- Spark ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class SparkTrainingSet(TrainingSet):
    """A training set computed by a Spark engine (``con`` is the engine): ``to_arrow`` /
    ``to_pandas`` bring it to the driver; ``to_parquet`` is written by Spark itself (a
    directory of part files), for results larger than the driver's memory."""

    @property
    def _engine(self) -> Any:
        return self.con

    def to_arrow(self) -> pyarrow.Table:
        try:
            table = self._engine.spark.sql(self.sql).toArrow()
        except self._engine.Error as e:
            raise _execution_error(e) from e
        return _restore_timestamp_types(table, self.entity_schema)

    def to_parquet(self, path: str | Path) -> Path:
        out = Path(path)
        try:
            self._engine.spark.sql(self.sql).write.mode("overwrite").parquet(str(out))
        except self._engine.Error as e:
            raise _execution_error(e) from e
        return out

    def _repr_html_(self) -> str:  # pragma: no cover - notebooks
        return f"<b>TrainingSet</b> on Spark ({self.manifest['entity_rows']} rows)"


def get_training_set_spark(engine: Any, entity: Any, views: Sequence[FeatureView], *,
                           entity_timestamp: str | None = None,
                           full_feature_names: bool = False) -> TrainingSet:
    """:func:`get_training_set` on a Spark engine: the entity frame is uploaded, the Spark
    variant of the point-in-time query (union + last ignore nulls) reads the pinned
    versions. ``entity``: pandas, Arrow, or a SQL query (fsql's dialect)."""
    from fsql.engines.spark_retrieval import training_set_sql_spark

    no_con: Any = None  # frames need no connection to become Arrow
    table = engine.fetch_arrow(entity) if isinstance(entity, str) else _entity_table(
        no_con, entity)
    join_keys = {k for v in views for k in v.join_keys}
    ts_col = _pick_timestamp(table, entity_timestamp, join_keys)
    name = f"__fsql_entity_{uuid.uuid4().hex}"
    rel = engine.upload_frame(name, _with_row_index(table))
    spark_views = [replace(v, relation=engine.spark_relation(v.relation)) for v in views]
    types = {(sv.relation, c): t for v, sv in zip(views, spark_views, strict=True)
             for c, t in engine.describe(None, v.relation)}
    sql = training_set_sql_spark(rel, list(table.column_names), ts_col, spark_views,
                                 full_feature_names=full_feature_names,
                                 row_index=ROW_INDEX, column_types=types)
    return SparkTrainingSet(con=engine, sql=sql,
                            manifest=_manifest(table, ts_col, views, full_feature_names),
                            entity_schema=table.schema)
