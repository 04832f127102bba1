"""Ingest: data from Python becomes a new, validated version of a feature set (WAP).

The frame is checked against the declared schema first (missing key / timestamp / declared
columns, incompatible types), then written to a new version table, validated exactly like a
SQL build (contracts, feature-set schema, expectations), and published only if it passes.
"""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime
from typing import Any

from ..engines import duckdb as engine
from ..errors import ConfigError, IngestError, did_you_mean
from ..lock import WriteLock
from ..state import StateStore
from .featureset import arrow_to_duckdb_type

__all__ = ["ingest_frame"]

_FAMILIES = [("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT",
              "UINTEGER", "UBIGINT"), ("FLOAT", "DOUBLE"), ("VARCHAR",), ("BOOLEAN",),
             ("DATE",), ("TIMESTAMP", "TIMESTAMP_NS", "TIMESTAMP_MS", "TIMESTAMP_S"),
             ("TIMESTAMP WITH TIME ZONE",)]


def ingest_frame(project: Any, name: str, df: Any, *, mode: str = "append") -> int:
    """Store ``df`` as the next version of feature set ``name``; returns the version."""
    if mode not in ("append", "overwrite"):
        raise ConfigError(f"invalid ingest mode {mode!r}", expected="append or overwrite",
                          hint=did_you_mean(mode, ["append", "overwrite"]) or "")
    manifest = project.compile(write=False)
    m = _ingestable(manifest, name)
    table = _to_arrow(df)
    select = _select_list(project, m, table)
    with WriteLock(project.database), project._writer() as con:
        state = StateStore(con)
        state.init()
        state.clean_leftovers()
        return _write_version(project, manifest, con, m, table, select, mode)


def _ingestable(manifest: Any, name: str) -> Any:
    m = manifest.models.get(name)
    if m is None:
        sets = [n for n, x in manifest.models.items() if x.kind == "ingest"]
        raise ConfigError(f"unknown feature set '{name}'", expected="a feature set registered "
                          "with store.apply", hint=did_you_mean(name, sets) or
                          "call store.apply(fs) first")
    if m.kind != "ingest":
        raise ConfigError(f"'{name}' is a SQL model; `fsql run` builds its versions",
                          model=name, hint="ingest into a feature set defined with "
                          "fsql.FeatureSet + store.apply")
    return m


class _Frame:
    """The data to ingest plus its Arrow schema; pandas frames are scanned by DuckDB in place
    (converting 1e6 rows to Arrow first costs as much as the insert)."""

    def __init__(self, data: Any, schema: Any) -> None:
        self.data, self.schema = data, schema


def _to_arrow(df: Any) -> _Frame:
    import pyarrow as pa

    if isinstance(df, pa.Table):
        return _Frame(df, df.schema)
    if isinstance(df, list):
        df = pa.Table.from_pylist(df)
        return _Frame(df, df.schema)
    if isinstance(df, dict):
        df = pa.Table.from_pydict(df)
        return _Frame(df, df.schema)
    return _Frame(df, pa.Schema.from_pandas(df, preserve_index=False))


def _select_list(project: Any, m: Any, table: Any) -> str:
    """Check the frame against the declared columns; return the casting SELECT list."""
    spec = project.spec.models[m.name]
    declared = {c.name: c.type for c in spec.columns}
    given = {f.name: arrow_to_duckdb_type(f.type) for f in table.schema}
    keys = [k for e in m.config["entities"] for k, _ in project.spec.entities[e].join_keys]
    required = keys + [m.config["timestamp"]] + list(declared)
    for col in dict.fromkeys(required):
        if col not in given:
            want = declared.get(col) or _key_type(project, m, col)
            raise IngestError(f"feature set '{m.name}': column '{col}' is missing",
                              model=m.name, expected=f"a column '{col}' of type {want}",
                              hint=did_you_mean(col, given) or "add it to the frame")
    extra = [c for c in given if declared and c not in declared]
    if extra:
        raise IngestError(f"feature set '{m.name}': unknown column '{extra[0]}'", model=m.name,
                          expected="only the declared columns: " + ", ".join(declared),
                          hint=did_you_mean(extra[0], declared) or "re-apply the feature set "
                          "with this column, or drop it")
    parts = []
    for col, actual in given.items():
        want = declared.get(col) or _key_type(project, m, col) or actual
        if not _compatible(want, actual):
            raise IngestError(f"feature set '{m.name}': column '{col}' has type {actual}",
                              model=m.name, expected=f"{want}",
                              hint=f"convert it, e.g. df['{col}'].astype(...)")
        parts.append(f"cast({engine.quote_ident(col)} as {want}) as {engine.quote_ident(col)}")
    return ", ".join(parts)


def _key_type(project: Any, m: Any, col: str) -> str | None:
    for e in m.config["entities"]:
        for k, t in project.spec.entities[e].join_keys:
            if k == col:
                return str(t)
    return None


def _compatible(want: str, actual: str) -> bool:
    w, a = want.upper(), actual.upper()
    if w == a or a == "VARCHAR" and w == "VARCHAR":
        return True
    fam = lambda t: next((i for i, f in enumerate(_FAMILIES) if t in f), None)  # noqa: E731
    fw, fa = fam(w), fam(a)
    if fw is not None and fw == fa:
        return True
    return (fw, fa) in ((1, 0), (6, 5), (5, 6))  # ints into floats; naive <-> aware timestamps


def _write_version(project: Any, manifest: Any, con: Any, m: Any, table: Any, select: str,
                   mode: str) -> int:
    state = StateStore(con)
    live = state.live().get(m.name)
    run_id = datetime.now(UTC).strftime("%Y%m%dT%H%M%S") + "-ingest-" + uuid.uuid4().hex[:4]
    inputs = {m.name: live.version} if live and mode == "append" else {}
    new = state.begin_version(m.name, state.next_version(m.name), kind="ingest",
                              materialized="feature_set",
                              fingerprint=manifest.fingerprints[m.name], own_hash=m.own_hash,
                              run_id=run_id, sql=f"-- ingest ({mode})", inputs=inputs,
                              config=m.config)
    t0 = time.perf_counter()
    engine.register_frame(con, "__fsql_ingest", table.data)
    try:
        body = f"select {select} from __fsql_ingest"
        if live is not None and mode == "append":
            cols = ", ".join(engine.quote_ident(f.name) for f in table.schema)
            body = f"select {cols} from \"fsql_versions\".\"{m.name}__v{live.version}\" " \
                   f"union all by name {body}"
        rows = int(con.execute(f"create table {new.relation} as {body}").fetchone()[0])
    except engine.DuckDBError as e:
        state.drop_relation(m.name, new.version)
        state.fail_version(new, str(e))
        raise IngestError(f"feature set '{m.name}': {str(e).splitlines()[0]}", model=m.name,
                          hint="check the column types against the feature set") from None
    finally:
        con.unregister("__fsql_ingest")
    return _audit_publish(project, manifest, con, m, new, rows, live, t0)


def _audit_publish(project: Any, manifest: Any, con: Any, m: Any, new: Any, rows: int,
                   live: Any, t0: float) -> int:
    state = StateStore(con)
    columns = engine.describe(con, new.relation)
    prev = f'"fsql_versions"."{m.name}__v{live.version}"' if live else None
    from ..validator import build_validator

    validate = build_validator(project.spec, project.suite_parameters)
    v = validate(con, m, new.relation, columns, prev, rows)
    dur = time.perf_counter() - t0
    if not v.passed:
        failed = [c for c in v.checks if not c.get("success") and c.get("severity") == "error"]
        msg = "; ".join(c.get("message") or c.get("id", "") for c in failed)
        state.drop_relation(m.name, new.version)
        state.fail_version(new, msg, v.checks, row_count=rows, columns=columns, duration_s=dur)
        raise IngestError(f"feature set '{m.name}': {len(failed)} check(s) failed: {msg}",
                          model=m.name, expected="data that passes the feature set's checks",
                          hint="nothing was stored; the previous version stays live")
    state.publish(new, row_count=rows, columns=columns, checks=v.checks, duration_s=dur,
                  writes=v.writes)
    return int(new.version)
