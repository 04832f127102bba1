"""Online serving wired to a project: materialize, online reads, push validation, the server.

The glue between ``fsql.FeatureStore`` (the offline side: DuckDB versions) and
``fsql.online`` (the stores, materialize, reads, the HTTP app):

* :func:`online_feature_sets` — the live versions of ``online: true`` feature sets (defined
  in :mod:`fsql.featurestore.store`, like the feature store's online reads: it owns its
  online handle).
* :func:`materialize_project` — opens the warehouse read-only for the duration of the
  materialization only, then closes it; :func:`online_status` says what is online.
* :func:`get_online_features` — reads only the online store (never DuckDB).
* :func:`make_app` / :func:`serve_project` — the HTTP server; pushes are checked against the
  feature set's declared types and row-level expectations, and ``to: offline`` writes a new
  validated version through ``FeatureStore.ingest`` (Python-defined feature sets only). The
  server never holds the DuckDB file open: each offline write opens and closes it.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..api import Project
from ..errors import ConfigError, LockedError
from ..online.base import Layout, OnlineStore, to_epoch_us
from ..online.config import DEFAULT_CONFIG
from ..online.read import OnlineResponse
from .store import FeatureStore, online_feature_sets, open_online_store

if TYPE_CHECKING:
    from ..online.materializer import MaterializeResult
    from ..spec import ModelSpec, ProjectSpec

__all__ = ["OfflineWriter", "PushValidator", "close_online", "get_online_features",
           "make_app", "materialize_project", "online_feature_sets", "online_status",
           "open_online_store", "serve_project"]

Timestamp = datetime | date | str
# Expectation kinds that are meaningful on a pushed batch (row by row). Aggregate and table
# expectations describe a whole table: the offline write checks them on the new version.
_ROW_KINDS = ("column_map", "multicolumn")
_KIND_TYPE = {"int": "BIGINT", "float": "DOUBLE", "bool": "BOOLEAN", "str": "VARCHAR"}


# -- materialize and status ------------------------------------------------------------------

def materialize_project(project_dir: str | Path, *, select: Sequence[str] | None = None,
                        as_of: Timestamp | None = None, full: bool = False,
                        target: str | None = None) -> list[MaterializeResult]:
    """Materialize the project's online feature sets (sorted by name, one shared ``as_of``).

    The warehouse is opened read-only only while materializing and closed afterwards; what
    went online (version, time, rows) is recorded in the online store's status.
    """
    with FeatureStore(project_dir, target=target) as store:
        return store.materialize(select, as_of=as_of, full=full)


def online_status(project_dir: str | Path) -> dict[str, dict[str, Any]]:
    """What is online per feature set: ``{name: {version, materialized_at, rows, as_of,
    mode}}`` (``mode`` ``push`` = only pushed so far). Empty when nothing was ever
    materialized (a missing SQLite file is not created)."""
    project = Project(project_dir)
    cfg = project.spec.online_store or DEFAULT_CONFIG
    if isinstance(cfg, Mapping) and cfg.get("type", "sqlite") == "sqlite":
        path = Path(str(cfg.get("path", DEFAULT_CONFIG["path"])))
        if str(path) != ":memory:" and not (project.root / path).exists():
            return {}
    with open_online_store(project) as online:
        try:
            status = online.status()
        except Exception as e:  # noqa: BLE001 - e.g. Redis down: say so, not a traceback
            raise ConfigError(f"online store unreachable: {e}", path="fsql_project.yml",
                              hint="check online_store in fsql_project.yml") from None
    return {n: {"version": s.version, "materialized_at": s.materialized_at,
                "rows": s.row_count, "as_of": s.as_of, "mode": s.mode}
            for n, s in sorted(status.items())}


# -- in-process reads -------------------------------------------------------------------------

def get_online_features(store: FeatureStore, features: Sequence[str],
                        entity_rows: Sequence[Mapping[str, Any]], *,
                        full_feature_names: bool = False,
                        now: Timestamp | float | None = None) -> OnlineResponse:
    """``store.get_online_features(...)`` (see :meth:`FeatureStore.get_online_features`)."""
    return store.get_online_features(features, entity_rows,
                                     full_feature_names=full_feature_names, now=now)


def close_online(store: FeatureStore) -> None:
    """``store.close_online()``: close the online store opened by its online reads."""
    store.close_online()


# -- push: validation and offline writes ----------------------------------------------------

class _Spec:
    """The project's parsed files (no DuckDB), re-read at most every ``max_age`` seconds."""

    def __init__(self, root: Path, max_age: float) -> None:
        self.root, self.max_age = root, max_age
        self._spec: ProjectSpec | None = None
        self._at = 0.0

    def get(self) -> ProjectSpec:
        if self._spec is None or time.monotonic() - self._at > self.max_age:
            self._spec = Project(self.root).spec
            self._at = time.monotonic()
        return self._spec

    def model(self, name: str) -> ModelSpec:
        spec = self.get()
        m = spec.models.get(name)
        if m is None:
            raise ConfigError(f"feature set '{name}' is online but not defined in the project",
                              model=name, hint="restore its definition, or drop it from the "
                              "online store (OnlineStore.delete(name))")
        return m


def _batch_types(m: ModelSpec, layout: Layout | None) -> dict[str, str]:
    """Target DuckDB type per column: declared in YAML, else from the online layout."""
    types: dict[str, str] = {}
    if layout is not None:
        kinds = zip((*layout.join_keys, *layout.features), (*layout.key_kinds, *layout.kinds),
                    strict=True)
        types.update({c: _KIND_TYPE[k] for c, k in kinds if k in _KIND_TYPE})
    types.update({c.name: c.type for c in m.columns if c.type})
    return types


def _timestamp_cols(m: ModelSpec, layout: Layout | None) -> tuple[str, ...]:
    cols = [layout.timestamp if layout and layout.timestamp else m.config.get("timestamp")]
    cols.append(m.config.get("created_timestamp"))
    return tuple(dict.fromkeys(str(c) for c in cols if c))


def _arrow_batch(m: ModelSpec, layout: Layout | None, df: Mapping[str, Sequence[Any]]) -> Any:
    """``df`` as Arrow: timestamps (ISO / epoch seconds) as naive-UTC microseconds, a missing
    declared created timestamp filled with the current time."""
    import pyarrow as pa

    stamps = _timestamp_cols(m, layout)
    n = len(next(iter(df.values()))) if df else 0
    cols: dict[str, Any] = {}
    for col, values in df.items():
        try:
            if col in stamps:
                cols[col] = pa.array([None if v is None else to_epoch_us(v) for v in values],
                                     pa.int64()).cast(pa.timestamp("us"))
            else:
                cols[col] = pa.array(list(values))
        except (pa.ArrowInvalid, pa.ArrowTypeError) as e:
            raise ConfigError(f"column '{col}' of the push to '{m.name}' has mixed or "
                              f"unsupported values: {e}", model=m.name) from None
    created = m.config.get("created_timestamp")
    if created and created not in cols:
        now = datetime.now(UTC).replace(tzinfo=None)
        cols[str(created)] = pa.array([now] * n, pa.timestamp("us"))
    return pa.table(cols)


def _typed(con: Any, m: ModelSpec, layout: Layout | None,
           df: Mapping[str, Sequence[Any]]) -> list[tuple[str, str]]:
    """Create table ``batch`` on ``con`` holding ``df`` cast to the feature set's types;
    ConfigError naming the column and row when a value does not convert."""
    from ..engines.duckdb import DuckDBError, describe, quote_ident, register_frame

    table = _arrow_batch(m, layout, df)
    types = _batch_types(m, layout)
    with contextlib.suppress(DuckDBError):
        con.execute("set TimeZone = 'UTC'")  # naive timestamps are UTC
    register_frame(con, "__fsql_push", table)
    casts = [(c, types[c]) for c in table.column_names if c in types]
    try:
        if casts:
            probes = ", ".join(f"min(__rn) filter (where {quote_ident(c)} is not null and "
                               f"try_cast({quote_ident(c)} as {t}) is null)" for c, t in casts)
            bad = con.execute(f"select {probes} from (select *, row_number() over () - 1 "
                              f"as __rn from __fsql_push)").fetchall()[0]
            for (col, typ), row in zip(casts, bad, strict=True):
                if row is not None:
                    raise ConfigError(
                        f"column '{col}' row {row}: {df[col][row]!r} is not a valid {typ}",
                        model=m.name, expected=typ, hint="fix the value or its type")
        select = ", ".join(f"cast({quote_ident(c)} as {types[c]}) as {quote_ident(c)}"
                           if c in types else quote_ident(c) for c in table.column_names)
        con.execute(f"create or replace temp table batch as select {select} from __fsql_push")
    except DuckDBError as e:
        raise ConfigError(f"push to '{m.name}' does not fit its declared types: "
                          f"{str(e).splitlines()[0]}", model=m.name) from None
    finally:
        con.unregister("__fsql_push")
    return describe(con, "batch")


class PushValidator:
    """``validator(name, df)`` for :func:`fsql.online.server.create_app`.

    Casts the batch to the feature set's declared types (YAML ``columns: type``, else the
    online layout's) and runs its row-level expectations (``column_map`` and
    ``multicolumn``: not-null, between, in-set, regex, ...) on the batch, in memory. Aggregate
    and table expectations describe the whole table; an offline write checks them on the new
    version. Returns the failed ``error``-severity expectations (the server answers 422).
    """

    def __init__(self, project_dir: str | Path, online: OnlineStore, *,
                 spec_max_age: float = 5.0) -> None:
        self.spec = _Spec(Path(project_dir), spec_max_age)
        self.online = online

    def __call__(self, name: str, df: Mapping[str, Sequence[Any]]) -> list[str]:
        from ..engines.duckdb import connect
        from ..expectations import REGISTRY, run_suite

        m = self.spec.model(name)
        checks = [s for s in m.checks
                  if s.type in REGISTRY and REGISTRY[s.type].kind in _ROW_KINDS]
        con = connect()
        try:
            columns = _typed(con, m, self.online.layout(name), df)
            if not checks:
                return []
            suite = run_suite(con, "batch", checks, columns=columns)
        finally:
            con.close()
        return [f"{r.spec.id}: {r.message}" for r in suite.results
                if not r.success and r.spec.severity == "error"]


class OfflineWriter:
    """``offline_writer(name, df)`` for :func:`fsql.online.server.create_app`: the pushed
    batch becomes a new version (``FeatureStore.ingest(name, batch, mode="append")``, which
    validates the whole version, write-audit-publish). Python-defined feature sets only: a
    SQL model's versions are built by ``fsql run`` (HTTP 400). The warehouse is opened and
    closed by the ingest itself; a running build answers HTTP 409 (retry later)."""

    def __init__(self, project_dir: str | Path, online: OnlineStore, *,
                 spec_max_age: float = 5.0) -> None:
        self.root = Path(project_dir)
        self.spec = _Spec(self.root, spec_max_age)
        self.online = online

    def __call__(self, name: str, df: Mapping[str, Sequence[Any]]) -> int:
        from ..engines.duckdb import arrow_table, connect
        from ..online.server import HTTPError

        m = self.spec.model(name)
        if m.kind != "ingest":
            raise HTTPError(400, f"feature set '{name}' is built by SQL; push to online only",
                            hint='send "to": "online"; its offline versions come from '
                                 f"`fsql run` ({m.path})", expected='"to": "online"')
        con = connect()
        try:
            _typed(con, m, self.online.layout(name), df)
            table = arrow_table(con, "select * from batch")
        finally:
            con.close()
        try:
            with FeatureStore(self.root) as store:
                return store.ingest(name, table, mode="append")
        except LockedError as e:
            raise HTTPError(409, e.message, hint="a build is running; retry the push when "
                            "it finishes", expected=e.expected) from None


# -- the server -------------------------------------------------------------------------------

def make_app(project_dir: str | Path = ".", **kw: Any) -> Any:
    """The feature server for a project (``fsql serve``): serves what is in the project's
    online store, validates pushes (:class:`PushValidator`) and writes ``to: offline``
    pushes as new versions (:class:`OfflineWriter`). ``kw`` goes to
    :func:`fsql.online.server.create_app` (``feature_sets``, ``max_body_bytes``, ``policy``,
    or your own ``validator`` / ``offline_writer``). Never holds the DuckDB file open."""
    from ..online.server import create_app

    project = Project(project_dir)
    project.spec  # noqa: B018 - fail fast on a broken project
    online = open_online_store(project)
    kw.setdefault("validator", PushValidator(project.root, online))
    kw.setdefault("offline_writer", OfflineWriter(project.root, online))
    return create_app(online, **kw)


def serve_project(project_dir: str | Path = ".", host: str = "127.0.0.1", port: int = 8666,
                  *, log_level: str = "warning", insecure: bool = False,
                  access_log: bool = True, **kw: Any) -> None:
    """Serve the project's online features over HTTP until interrupted (``fsql serve``).

    ``policy`` (a :class:`fsql.online.security.ServerPolicy`) defaults to the bound address
    and loopback names with the tokens of ``$FSQL_SERVE_TOKEN`` / ``$FSQL_SERVE_READ_TOKEN``;
    a non-loopback ``host`` without tokens needs ``insecure=True`` (ConfigError otherwise).
    """
    from ..online.security import ServerPolicy, load_tokens
    from ..online.server import check_bind, serve

    policy = kw.setdefault("policy", ServerPolicy.for_bind(host, tokens=load_tokens()))
    check_bind(host, policy, insecure)
    serve(make_app(project_dir, **kw), host, port, log_level=log_level, access_log=access_log)

