"""What the docs site shows: the manifest plus the state tables, read once into frozen dataclasses.

``load_site_data(manifest, con)`` is the only function that touches DuckDB (through a read-only
connection opened by ``fsql.engines.duckdb.connect``). Every state table is optional: a
project that was never run, or a store without statistics/profiles yet, still gives a complete
(emptier) site.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

__all__ = ["Column", "Entity", "ModelInfo", "ModelRun", "Run", "SiteData", "Source", "Version",
           "load_site_data", "split_ref"]

MAX_RUNS = 20          # recent runs shown (timelines, heat)
MAX_VERSIONS = 50      # versions per model kept (expectation timeline, versions list)
STATS_VERSIONS = 3     # newest versions per model whose column statistics are loaded


@dataclass(frozen=True)
class Column:
    """One output column: declared/inferred type, description, upstream columns."""

    name: str
    type: str
    description: str
    lineage: tuple[str, ...] = ()


@dataclass(frozen=True)
class ModelInfo:
    """A model, seed or feature set from the manifest."""

    name: str
    kind: str                   # model | seed
    materialized: str           # view | table | feature_set | incremental | ephemeral
    description: str
    tags: tuple[str, ...]
    config: Mapping[str, Any]
    path: str
    raw_sql: str
    compiled_sql: str
    depends_on: tuple[str, ...]
    sources: tuple[str, ...]
    columns: tuple[Column, ...]
    fingerprint: str = ""

    @property
    def entities(self) -> tuple[str, ...]:
        ents = self.config.get("entities") or ()
        return tuple(str(e) for e in (ents if isinstance(ents, list | tuple) else [ents]))

    @property
    def is_feature_set(self) -> bool:
        return self.materialized == "feature_set"


@dataclass(frozen=True)
class Source:
    """A raw input declared in sources.yml (key ``source.name``)."""

    key: str
    description: str
    path: str
    table: str
    columns: tuple[Column, ...]


@dataclass(frozen=True)
class Entity:
    """An entity: join keys ``[(name, type)]``."""

    name: str
    description: str
    join_keys: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Version:
    """One row of ``fsql_meta.versions``."""

    model: str
    version: int
    status: str
    row_count: int | None
    created_at: str
    published_at: str
    duration_s: float | None
    run_id: str
    checks: tuple[Mapping[str, Any], ...]
    columns: tuple[tuple[str, str], ...]
    input_versions: Mapping[str, Any]
    compiled_sql: str
    message: str


@dataclass(frozen=True)
class Run:
    """One row of ``fsql_meta.runs``."""

    run_id: str
    started_at: str
    finished_at: str
    status: str
    command: str


@dataclass(frozen=True)
class ModelRun:
    """One model build of a run (``fsql_meta.model_runs``); ``start_s`` is relative to the run."""

    run_id: str
    model: str
    status: str
    version: int | None
    started_at: str
    start_s: float
    duration_s: float
    thread: str
    message: str


@dataclass(frozen=True)
class SiteData:
    """Everything the generator renders; build it with ``load_site_data`` (or by hand in tests)."""

    project: str
    description: str
    fsql_version: str
    models: tuple[ModelInfo, ...]
    sources: tuple[Source, ...] = ()
    entities: tuple[Entity, ...] = ()
    versions: Mapping[str, tuple[Version, ...]] = field(default_factory=dict)  # ascending
    runs: tuple[Run, ...] = ()                                                # newest first
    model_runs: Mapping[str, tuple[ModelRun, ...]] = field(default_factory=dict)  # by run_id
    stats: Mapping[tuple[str, int], Mapping[str, Mapping[str, Any]]] = field(default_factory=dict)
    drift: Mapping[tuple[str, int], tuple[Mapping[str, Any], ...]] = field(default_factory=dict)
    profiles: Mapping[str, tuple[str, Mapping[str, Any]]] = field(default_factory=dict)
    has_stats_table: bool = False
    generated_at: str = ""
    by_name: Mapping[str, ModelInfo] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "by_name", {m.name: m for m in self.models})

    def current_version(self, name: str) -> Version | None:
        """The live version, else the newest one."""
        vs = self.versions.get(name, ())
        live = [v for v in vs if v.status == "live"]
        return live[-1] if live else (vs[-1] if vs else None)


def split_ref(ref: str) -> tuple[str, str]:
    """``"model.col"`` / ``"source.table.col"`` -> (relation, column)."""
    rel, _, col = ref.rpartition(".")
    return rel, col


# -- manifest ---------------------------------------------------------------------------------
def _columns(items: Any, lineage: Mapping[str, Any] | None = None) -> tuple[Column, ...]:
    out = []
    for c in items or []:
        name = str(c.get("name", ""))
        lin = c.get("lineage")
        if lin is None and lineage:
            lin = lineage.get(name)
        out.append(Column(name, str(c.get("type") or ""), str(c.get("description") or ""),
                          tuple(sorted(str(x) for x in lin or ()))))
    return tuple(out)


def _model(name: str, n: Mapping[str, Any]) -> ModelInfo:
    config = dict(n.get("config") or {})
    tags = sorted({str(t) for t in (n.get("tags") or config.get("tags") or [])})
    return ModelInfo(
        name=name, kind=str(n.get("kind") or "model"),
        materialized=str(n.get("materialized") or config.get("materialized") or "view"),
        description=str(n.get("description") or ""), tags=tuple(tags), config=config,
        path=str(n.get("path") or ""), raw_sql=str(n.get("raw_sql") or ""),
        compiled_sql=str(n.get("compiled_sql") or ""),
        depends_on=tuple(sorted(str(d) for d in n.get("depends_on") or ())),
        sources=tuple(sorted(str(s) for s in n.get("sources") or ())),
        columns=_columns(n.get("columns"), n.get("lineage")),
        fingerprint=str(n.get("fingerprint") or ""))


def _from_manifest(manifest: Mapping[str, Any]) -> dict[str, Any]:
    meta = manifest.get("metadata") or {}
    nodes = manifest.get("nodes") or {}
    models = tuple(_model(k, nodes[k]) for k in sorted(nodes))
    sources = tuple(
        Source(k, str(s.get("description") or ""), str(s.get("path") or ""),
               str(s.get("table") or ""), _columns(s.get("columns")))
        for k, s in sorted((manifest.get("sources") or {}).items()))
    entities = tuple(
        Entity(k, str(e.get("description") or ""),
               tuple((str(j.get("name")), str(j.get("type") or "")) if isinstance(j, dict)
                     else (str(j), "") for j in e.get("join_keys") or ()))
        for k, e in sorted((manifest.get("entities") or {}).items()))
    return {"project": str(meta.get("project") or "fsql project"),
            "description": str(meta.get("description") or ""),
            "fsql_version": str(meta.get("fsql_version") or ""),
            "models": models, "sources": sources, "entities": entities}


# -- state ------------------------------------------------------------------------------------
def _tables(con: Any) -> set[str]:
    try:
        rows = con.execute("select table_name from information_schema.tables "
                           "where table_schema = 'fsql_meta'").fetchall()
    except Exception:  # noqa: BLE001 - any engine error means "no state"
        return set()
    return {str(r[0]) for r in rows}


def _cols(con: Any, table: str) -> set[str]:
    rows = con.execute("select column_name from information_schema.columns where table_schema="
                       "'fsql_meta' and table_name = ?", [table]).fetchall()
    return {str(r[0]) for r in rows}


def _json(text: Any, default: Any) -> Any:
    if text is None or text == "":
        return default
    if not isinstance(text, str):
        return text
    try:
        return json.loads(text)
    except ValueError:
        return default


def _ts(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, datetime):
        return v.isoformat(sep=" ", timespec="seconds")
    return str(v)


def _select(con: Any, table: str, wanted: list[str], tail: str = "",
            source: str | None = None) -> list[dict[str, Any]]:
    """``wanted`` columns of ``fsql_meta.<table>`` (or of ``source``, a query over it); NULL
    for a column an older store lacks."""
    have = _cols(con, table)
    exprs = [c if c in have else f"null as {c}" for c in wanted]
    cur = con.execute(f"select {', '.join(exprs)} from {source or 'fsql_meta.' + table} {tail}")
    return [dict(zip(wanted, r, strict=True)) for r in cur.fetchall()]


_VERSION_COLS = ["model", "version", "status", "row_count", "created_at", "published_at",
                 "duration_s", "run_id", "checks", "columns", "input_versions", "compiled_sql",
                 "message"]


def _versions(con: Any) -> dict[str, tuple[Version, ...]]:
    from ..state import VERSIONS  # one 'live' row per model, as every reader sees it

    rows = _select(con, "versions", _VERSION_COLS,
                   f"qualify row_number() over (partition by model order by version desc) "
                   f"<= {MAX_VERSIONS} order by model, version", source=VERSIONS)
    out: dict[str, list[Version]] = {}
    for r in rows:
        checks = _json(r["checks"], [])
        cols = _json(r["columns"], [])
        out.setdefault(str(r["model"]), []).append(Version(
            model=str(r["model"]), version=int(r["version"]), status=str(r["status"] or ""),
            row_count=None if r["row_count"] is None else int(r["row_count"]),
            created_at=_ts(r["created_at"]), published_at=_ts(r["published_at"]),
            duration_s=None if r["duration_s"] is None else float(r["duration_s"]),
            run_id=str(r["run_id"] or ""),
            checks=tuple(c for c in checks if isinstance(c, dict)),
            columns=tuple((str(c[0]), str(c[1])) for c in cols if isinstance(c, list | tuple)
                          and len(c) >= 2),
            input_versions=_json(r["input_versions"], {}) or {},
            compiled_sql=str(r["compiled_sql"] or ""), message=str(r["message"] or "")))
    return {k: tuple(v) for k, v in out.items()}


def _runs(con: Any, tables: set[str]) -> tuple[tuple[Run, ...], dict[str, tuple[ModelRun, ...]]]:
    runs: list[Run] = []
    if "runs" in tables:
        for r in _select(con, "runs", ["run_id", "started_at", "finished_at", "status",
                                       "command"],
                         f"order by started_at desc nulls last, run_id desc limit {MAX_RUNS}"):
            runs.append(Run(str(r["run_id"]), _ts(r["started_at"]), _ts(r["finished_at"]),
                            str(r["status"] or ""), str(r["command"] or "")))
    by_run: dict[str, list[ModelRun]] = {}
    if "model_runs" in tables:
        ids = {r.run_id for r in runs}
        if not runs:  # model_runs without runs: take the newest run ids seen there
            rows = con.execute("select run_id from fsql_meta.model_runs group by run_id order "
                               f"by max(started_at) desc limit {MAX_RUNS}").fetchall()
            ids = {str(r[0]) for r in rows}
            runs = [Run(i, "", "", "", "") for i in sorted(ids, reverse=True)]
        for r in _select(con, "model_runs", ["run_id", "model", "status", "version",
                                             "started_at", "duration_s", "thread", "message"],
                         "order by run_id, started_at, model"):
            if str(r["run_id"]) in ids:
                by_run.setdefault(str(r["run_id"]), []).append(_model_run(r))
    out = {k: _relative(v) for k, v in by_run.items()}
    return tuple(runs), out


def _model_run(r: Mapping[str, Any]) -> ModelRun:
    return ModelRun(str(r["run_id"]), str(r["model"]), str(r["status"] or ""),
                    None if r["version"] is None else int(r["version"]),
                    _ts(r["started_at"]), 0.0, float(r["duration_s"] or 0.0),
                    str(r["thread"] or "main"), str(r["message"] or ""))


def _relative(items: list[ModelRun]) -> tuple[ModelRun, ...]:
    def secs(s: str) -> float | None:
        try:
            return datetime.fromisoformat(s).timestamp()
        except ValueError:
            return None
    starts = [secs(m.started_at) for m in items]
    known = [s for s in starts if s is not None]
    t0 = min(known) if known else 0.0
    out = []
    for m, s in zip(items, starts, strict=True):
        out.append(ModelRun(m.run_id, m.model, m.status, m.version, m.started_at,
                            (s - t0) if s is not None else 0.0, m.duration_s, m.thread,
                            m.message))
    return tuple(out)


def _stats(con: Any) -> dict[tuple[str, int], dict[str, Any]]:
    rows = con.execute(
        "select model, version, column_name, stats from fsql_meta.column_stats qualify "
        "dense_rank() over (partition by model order by version desc) <= "
        f"{STATS_VERSIONS} order by model, version, column_name").fetchall()
    out: dict[tuple[str, int], dict[str, Any]] = {}
    for model, version, col, stats in rows:
        out.setdefault((str(model), int(version)), {})[str(col)] = _json(stats, {}) or {}
    return out


def _drift(con: Any) -> dict[tuple[str, int], tuple[dict[str, Any], ...]]:
    have = _cols(con, "drift")
    rows = con.execute(
        "select * from fsql_meta.drift qualify dense_rank() over (partition by model order by "
        f"version desc) <= {STATS_VERSIONS} order by model, version, column_name").fetchall()
    names = [d[0] for d in con.description] if con.description else sorted(have)
    out: dict[tuple[str, int], list[dict[str, Any]]] = {}
    for row in rows:
        d = {k: _json(v, v) if isinstance(v, str) and v[:1] in "[{" else v
             for k, v in zip(names, row, strict=True)}
        out.setdefault((str(d["model"]), int(d["version"])), []).append(d)
    return {k: tuple(v) for k, v in out.items()}


def _profiles(con: Any, runs: tuple[Run, ...]) -> dict[str, tuple[str, dict[str, Any]]]:
    """Newest operator profile per model: model -> (run_id, profile)."""
    rows = con.execute("select run_id, model, profile from fsql_meta.model_profiles "
                       "order by run_id, model").fetchall()
    order = {r.run_id: i for i, r in enumerate(runs)}
    out: dict[str, tuple[str, dict[str, Any]]] = {}
    newest_last = sorted(rows, key=lambda r: (-order.get(str(r[0]), len(order)), str(r[0])))
    for run_id, model, prof in newest_last:
        p = _json(prof, None)
        if isinstance(p, dict):
            out[str(model)] = (str(run_id), p)  # later (newer) rows win
    return out


def load_site_data(manifest: Mapping[str, Any], con: Any | None) -> SiteData:
    """Read the manifest and the ``fsql_meta`` state tables (any of which may be missing).

    ``con`` is a read-only connection (``fsql.engines.duckdb.connect(path, read_only=True)``)
    or None
    when the project has no database yet.
    """
    base = _from_manifest(manifest)
    tables = _tables(con) if con is not None else set()
    versions = _versions(con) if "versions" in tables else {}
    runs, model_runs = _runs(con, tables) if tables else ((), {})
    stats = _stats(con) if "column_stats" in tables else {}
    drift = _drift(con) if "drift" in tables else {}
    profiles = _profiles(con, runs) if "model_profiles" in tables else {}
    return SiteData(**base, versions=versions, runs=runs, model_runs=model_runs, stats=stats,
                    drift=drift, profiles=profiles, has_stats_table="column_stats" in tables,
                    generated_at=datetime.now().isoformat(sep=" ", timespec="seconds"))
