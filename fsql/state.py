"""The state store: versions, runs and per-model results in schema ``fsql_meta`` of the same
DuckDB file, so a project's warehouse is one file to copy.

Statuses of a version: ``building`` -> ``live`` | ``failed``; ``live`` -> ``superseded`` |
``rolled_back``; leftovers of a killed run become ``abandoned`` on the next run.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .renderer import VERSIONS_SCHEMA, relation_for, version_relation

__all__ = ["READABLE", "STATS_DDL", "VERSIONS", "LiveVersion", "NewVersion", "Publish",
           "StateStore", "VersionRow", "Write", "insert_rows", "supersede_sql"]

Write = tuple[str, list[Any]]  # one SQL statement + parameters, run inside a publish

META = "fsql_meta"

DDL = f"""
create schema if not exists {META};
create schema if not exists {VERSIONS_SCHEMA};
create table if not exists {META}.runs (
  run_id varchar, started_at timestamp, finished_at timestamp, status varchar,
  pid integer, command varchar, args varchar, fsql_version varchar);
create table if not exists {META}.versions (
  model varchar, version integer, status varchar, kind varchar, materialized varchar,
  fingerprint varchar, own_hash varchar, run_id varchar, relation varchar,
  created_at timestamp, published_at timestamp, row_count bigint, compiled_sql varchar,
  input_versions varchar, columns varchar, checks varchar, duration_s double, message varchar,
  config varchar);
create table if not exists {META}.model_runs (
  run_id varchar, model varchar, status varchar, version integer, started_at timestamp,
  duration_s double, thread varchar, message varchar);
create table if not exists {META}.sources (key varchar, hash varchar, relation varchar);
create table if not exists {META}.pins (
  model varchar, version integer, fingerprint varchar, reason varchar, created_at timestamp);
create table if not exists {META}.model_profiles (
  run_id varchar, model varchar, version integer, created_at timestamp, profile varchar);
create schema if not exists fsql_parts;
create table if not exists {META}.version_parts (
  model varchar, version integer, generation integer, segments varchar, intervals varchar);
create table if not exists {META}.training_sets (
  name varchar, created_at timestamp, manifest varchar);
"""

# Column statistics and drift per version (written by fsql.stats.columns / fsql.stats.drift).
STATS_DDL = f"""
create schema if not exists {META};
create table if not exists {META}.column_stats (
  model varchar, version integer, ordinal integer, column_name varchar, column_type varchar,
  stats varchar, relation varchar, row_count bigint, duration_s double, sample_rows bigint,
  created_at timestamp);
create table if not exists {META}.drift (
  model varchar, version integer, reference_version integer, rank integer,
  column_name varchar, psi double, ks double, mean_shift_sd double, null_rate_change double,
  score double, drift varchar, created_at timestamp);
"""

# ``versions`` as readers see it. A run marks the versions it replaced 'superseded' when it
# ends (one statement, not one per publish: the view swap is what makes a version live); if
# it is killed first, a model briefly has two 'live' rows — the one published last is live
# (rollback re-publishes an old version), and the next run rewrites the others.
VERSIONS = (f"(select * replace (case when status = 'live' and row_number() over (partition "
            f"by model order by status = 'live' desc, published_at desc, version desc) > 1 "
            f"then 'superseded' else status end as status) from {META}.versions)")

# the statuses of versions a reader may read (ref(version=), as_of, rollback, diff)
READABLE = ("live", "superseded", "rolled_back")

_VERSION_COLS = ("model", "version", "status", "kind", "materialized", "fingerprint",
                 "own_hash", "run_id", "relation", "created_at", "published_at", "row_count",
                 "compiled_sql", "input_versions", "columns", "checks", "duration_s", "message",
                 "config")


@dataclass(frozen=True)
class LiveVersion:
    model: str
    version: int
    fingerprint: str
    own_hash: str
    input_versions: dict[str, int]
    columns: tuple[tuple[str, str], ...]
    row_count: int | None = None


@dataclass(frozen=True)
class NewVersion:
    """What is known of a version when its build starts (its state row is written only when
    it is published or fails, so a killed build leaves no state behind)."""

    model: str
    version: int
    kind: str
    materialized: str
    fingerprint: str
    own_hash: str
    run_id: str
    sql: str
    inputs: dict[str, int]
    config: dict[str, Any]

    @property
    def relation(self) -> str:
        return version_relation(self.model, self.version)


def insert_rows(table: str, rows: list[list[Any]], tail: str = "") -> Write:
    """One multi-row ``INSERT`` (DuckDB runs ``executemany`` row by row: ~1 ms a row).

    >>> insert_rows("t", [[1, "a"], [2, "b"]], tail=", now()")
    ('insert into t values (?, ?, now()), (?, ?, now())', [1, 'a', 2, 'b'])
    """
    one = "(" + ", ".join("?" * len(rows[0])) + tail + ")"
    return (f"insert into {table} values " + ", ".join([one] * len(rows)),
            [v for r in rows for v in r])


@dataclass(frozen=True)
class Publish:
    """A validated new version waiting for its publish (see :meth:`StateStore.publish_many`)."""

    new: NewVersion
    row_count: int | None
    columns: list[tuple[str, str]]
    checks: list[dict[str, Any]]
    duration_s: float
    writes: list[Write]
    pinned: bool = True
    has_live: bool = True


def supersede_sql(live: Sequence[tuple[str, int]]) -> Write | None:
    """Mark every other 'live' version of these models superseded: ``live`` = the (model,
    version) pairs now live."""
    if not live:
        return None
    if len(live) == 1:  # the daily run of one model: the plain form is ~3x cheaper
        return (f"update {META}.versions set status = 'superseded' where model = ? and "
                f"status = 'live' and version <> ?", [live[0][0], int(live[0][1])])
    return (f"update {META}.versions v set status = 'superseded' from (select unnest(?) as m, "
            f"unnest(?) as keep) k where v.model = k.m and v.status = 'live' and "
            f"v.version <> k.keep", [[m for m, _ in live], [int(v) for _, v in live]])


def _version_rows(rows: Sequence[tuple[NewVersion, str, int | None,
                                       list[tuple[str, str]] | None,
                                       list[dict[str, Any]] | None, float | None,
                                       str | None]]) -> Write:
    """One multi-row insert of version state rows (created now; published now when live)."""
    cols = [c for c in _VERSION_COLS if c not in ("created_at", "published_at")]
    one = "(" + ", ".join("?" * len(cols)) + ", now(), {})"
    values = [one.format("now()" if status == "live" else "null")
              for _, status, *_ in rows]
    params = [v for new, status, row_count, columns, checks, duration_s, message in rows
              for v in (new.model, new.version, status, new.kind, new.materialized,
                        new.fingerprint, new.own_hash, new.run_id, new.relation, row_count,
                        new.sql, json.dumps(new.inputs, sort_keys=True),
                        json.dumps(columns or []), json.dumps(checks or [], default=str),
                        duration_s, message, json.dumps(new.config, sort_keys=True,
                                                        default=str))]
    return (f"insert into {META}.versions ({', '.join(cols)}, created_at, published_at) "
            f"values " + ", ".join(values), params)


@dataclass(frozen=True)
class VersionRow:
    """One row of ``fsql_meta.versions`` (JSON columns decoded)."""

    model: str
    version: int
    status: str
    kind: str
    materialized: str
    fingerprint: str
    own_hash: str
    run_id: str
    relation: str
    created_at: Any
    published_at: Any
    row_count: int | None
    compiled_sql: str
    input_versions: dict[str, int]
    columns: tuple[tuple[str, str], ...]
    checks: list[dict[str, Any]]
    duration_s: float | None
    message: str | None
    config: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        d = {k: getattr(self, k) for k in _VERSION_COLS}
        d["columns"] = [list(c) for c in self.columns]
        for k in ("created_at", "published_at"):
            d[k] = d[k].isoformat() if d[k] is not None else None
        return d


class StateStore:
    """Reads and writes fsql_meta through a DuckDB connection or cursor."""

    def __init__(self, con: Any, *, two_phase: bool = False) -> None:
        """``two_phase``: the data lives in another engine (Spark): versions are recorded
        'building' before their table is written, and live views are swapped by the engine
        before the publish is recorded (see fsql.engines.spark)."""
        self.con = con
        self.two_phase = two_phase
        self._catalog: list[tuple[str, str, str]] | None = None
        self.numbers: dict[str, int] | None = None  # highest version per model, once read
        self.cleaned = False  # clean_leftovers ran: no duplicate 'live' rows on disk
        self._pins: dict[str, tuple[int, str]] | None = None
        self._sources: dict[str, str] | None = None

    @staticmethod
    def exists(con: Any) -> bool:
        rows = con.execute("select 1 from information_schema.tables where table_schema = ? "
                           "and table_name = 'versions'", [META]).fetchall()
        return bool(rows)

    def init(self) -> None:
        """Create the state schema; a store that has every table is left alone (the DDL is
        ~15 catalog statements: measurable on every run and ingest)."""
        tables = DDL.count("create table") + STATS_DDL.count("create table")
        # the DDL creates the schemas before the tables: every table there => schemas too
        if sum(1 for schema, *_ in self._survey() if schema == META) == tables:
            return
        self.con.execute(DDL)
        self.con.execute(STATS_DDL)
        self._catalog = None

    def _survey(self) -> list[tuple[str, str, str]]:
        """(schema, name, TABLE|VIEW) of fsql's own relations: one catalog query, kept for
        :meth:`clean_leftovers` (catalog functions cost ~0.4 ms a call, more when combined)."""
        if self._catalog is None:
            self._catalog = [tuple(r) for r in self.con.execute(
                "select schema_name, table_name, 'TABLE' from duckdb_tables() where "
                "schema_name in (?, ?) and database_name = current_database() union all "
                "select schema_name, view_name, 'VIEW' from duckdb_views() where schema_name = ? "
                "and database_name = current_database()",
                [META, VERSIONS_SCHEMA, VERSIONS_SCHEMA]).fetchall()]
        return self._catalog

    # -- reads ------------------------------------------------------------------------------
    def live(self) -> dict[str, LiveVersion]:
        # after clean_leftovers (a writer) the rows on disk are normalized: no window needed
        src = f"{META}.versions" if self.cleaned else VERSIONS
        rows = self.con.execute(
            f"select model, version, fingerprint, own_hash, input_versions, columns, row_count "
            f"from {src} where status = 'live'").fetchall()
        return {r[0]: LiveVersion(r[0], r[1], r[2], r[3], json.loads(r[4] or "{}"),
                                  tuple(tuple(c) for c in json.loads(r[5] or "[]")), r[6])
                for r in rows}

    def versions(self, model: str | None = None, status: str | None = None) -> list[VersionRow]:
        where, params = [], []
        if model is not None:
            where.append("model = ?")
            params.append(model)
        if status is not None:
            where.append("status = ?")
            params.append(status)
        sql = f"select {', '.join(_VERSION_COLS)} from {VERSIONS}"
        if where:
            sql += " where " + " and ".join(where)
        rows = self.con.execute(sql + " order by model, version", params).fetchall()
        return [_version_row(r) for r in rows]

    def readable_versions(self, model: str) -> list[int]:
        """The versions of ``model`` a reader may use (live, superseded, rolled back)."""
        rows = self.con.execute(f"select version from {META}.versions where model = ? and "
                                f"status in {READABLE!r} order by 1", [model]).fetchall()
        return [int(r[0]) for r in rows]

    def version_live_at(self, model: str, as_of: str) -> int | None:
        """The version of ``model`` that was live at ``as_of`` (None: none was)."""
        row = self.con.execute(
            f"select max(version) from {META}.versions where model = ? and published_at <= "
            f"cast(? as timestamp) and status in {READABLE!r}", [model, as_of]).fetchone()
        return None if row is None or row[0] is None else int(row[0])

    def next_version(self, model: str) -> int:
        return self.last_versions([model]).get(model, 0) + 1

    def last_versions(self, models: list[str] | None = None) -> dict[str, int]:
        """The highest version number of every model (any status), in one query."""
        sql = f"select model, max(version) from {META}.versions"
        if models is not None:
            sql += " where model in (" + ", ".join("?" * len(models)) + ")" if models else \
                " where false"
        return {m: int(v) for m, v in self.con.execute(sql + " group by model",
                                                       models or []).fetchall()}

    def last_status(self) -> dict[str, tuple[str, str | None]]:
        rows = self.con.execute(
            f"select model, arg_max(status, started_at), arg_max(message, started_at) "
            f"from {META}.model_runs group by model").fetchall()
        return {r[0]: (r[1], r[2]) for r in rows}

    def pins(self) -> dict[str, tuple[int, str]]:
        """Models pinned to a version by ``rollback``: {model: (version, fingerprint)}."""
        if self._pins is not None:  # read by clean_leftovers
            return dict(self._pins)
        rows = self.con.execute(f"select model, version, fingerprint from {META}.pins").fetchall()
        return {r[0]: (r[1], r[2]) for r in rows}

    def source_hashes(self) -> dict[str, str]:
        if self._sources is not None:  # read by clean_leftovers
            return dict(self._sources)
        return dict(self.con.execute(f"select key, hash from {META}.sources").fetchall())

    # -- writes -----------------------------------------------------------------------------
    def start_run(self, run_id: str, pid: int, command: str, args: dict[str, Any],
                  version: str) -> None:
        self.con.execute(f"insert into {META}.runs values (?, now(), null, 'running', ?, ?, ?, ?)",
                         [run_id, pid, command, json.dumps(args, default=str), version])

    def finish_run(self, run_id: str, status: str, results: Any = ()) -> None:
        """Close the run's row, with one ``model_runs`` row per result (one transaction)."""
        end: Write = (f"update {META}.runs set finished_at = now(), status = ? where "
                      f"run_id = ?", [status, run_id])
        rows = self._model_run_rows(run_id, results)
        self._transaction([rows, end] if rows else [end])

    def begin_version(self, model: str, version: int, *, kind: str, materialized: str,
                      fingerprint: str, own_hash: str, run_id: str, sql: str,
                      inputs: dict[str, int], config: dict[str, Any]) -> NewVersion:
        """The description of a new version (nothing is written until publish/fail)."""
        return NewVersion(model, version, kind, materialized, fingerprint, own_hash, run_id,
                          sql, inputs, config)

    def fail_version(self, new: NewVersion, message: str,
                     checks: list[dict[str, Any]] | None = None, *, row_count: int | None = None,
                     columns: list[tuple[str, str]] | None = None, duration_s: float | None = None,
                     writes: Sequence[Write] = (), open_transaction: bool = False) -> None:
        """Record a version that failed (its relation, if any, is kept for inspection).
        ``open_transaction``: run the statements in the caller's transaction."""
        intents = [self._drop_intents([new])] if self.two_phase else []
        self._transaction([*intents, self._version_row(new, "failed", row_count, columns, checks,
                                                       duration_s, message), *writes],
                          open_transaction)

    def begin_building(self, new: NewVersion) -> None:
        """Two-phase engines: the row that says a table of ``new`` may exist (a killed run
        leaves it 'building'; the next run removes that table, see clean_leftovers)."""
        self._transaction([self._version_row(new, "building", None, None, None, None, None)])

    @staticmethod
    def _drop_intents(news: Sequence[NewVersion]) -> Write:
        cond = " or ".join(["(model = ? and version = ?)"] * len(news))
        return (f"delete from {META}.versions where status = 'building' and ({cond})",
                [x for n in news for x in (n.model, n.version)])

    def publish(self, new: NewVersion, *, row_count: int | None,
                columns: list[tuple[str, str]], checks: list[dict[str, Any]],
                duration_s: float, writes: Sequence[Write] = (),
                pinned: bool = True, has_live: bool = True) -> None:
        """Swap the live view and record the version (and ``writes``) in ONE transaction.
        ``has_live=False`` (the caller knows there is no live version) skips superseding."""
        self.publish_many([Publish(new, row_count, columns, checks, duration_s, list(writes),
                                   pinned, has_live)])

    def publish_many(self, items: Sequence[Publish], open_transaction: bool = False,
                     supersede: bool = True) -> None:
        """Publish several versions (of different models) in ONE transaction: a view swap
        each, then one statement per kind of state change for all of them — DuckDB spends
        ~0.5-1 ms on any statement, so a batch costs little more than one publish."""
        stmts: list[Write] = [] if self.two_phase else [
            (f"create or replace view {relation_for(p.new.model)} as select * from "
             f"{p.new.relation}", []) for p in items]
        if self.two_phase:
            stmts.append(self._drop_intents([p.new for p in items]))
        if supersede:  # else the caller runs supersede_sql() later (see VERSIONS)
            stmts += [w for w in [supersede_sql([(p.new.model, p.new.version) for p in items
                                                 if p.has_live])] if w]
        pinned = [p.new.model for p in items if p.pinned]
        if pinned:  # only rollback pins a model; skip the statement when none is known
            stmts.append((f"delete from {META}.pins where model in "
                          f"({', '.join('?' * len(pinned))})", pinned))
        stmts.append(_version_rows([(p.new, "live", p.row_count, p.columns, p.checks,
                                     p.duration_s, None) for p in items]))
        self._transaction(stmts + [w for p in items for w in p.writes], open_transaction)

    def _version_row(self, new: NewVersion, status: str, row_count: int | None,
                     columns: list[tuple[str, str]] | None, checks: list[dict[str, Any]] | None,
                     duration_s: float | None, message: str | None) -> Write:
        return _version_rows([(new, status, row_count, columns, checks, duration_s, message)])

    def _transaction(self, stmts: list[Write], open_transaction: bool = False) -> None:
        con = self.con
        if open_transaction:  # the caller's: it commits or rolls back
            for sql, params in stmts:
                con.execute(sql, params)
            return
        con.execute("begin transaction")
        try:
            for sql, params in stmts:
                con.execute(sql, params)
            con.execute("commit")
        except BaseException:
            con.execute("rollback")
            raise

    def rollback(self, model: str, version: int, code_fingerprint: str) -> int | None:
        """Re-point the live view to ``version`` in ONE transaction; returns the old live."""
        con = self.con
        con.execute("begin transaction")
        try:
            row = con.execute(f"select version from {VERSIONS} where model = ? and "
                              f"status = 'live'", [model]).fetchone()
            if not self.two_phase:  # (a two-phase engine swapped its view already)
                con.execute(f"create or replace view {relation_for(model)} as "
                            f"select * from {version_relation(model, version)}")
            con.execute(f"update {META}.versions set status = 'rolled_back' "
                        f"where model = ? and status = 'live'", [model])
            con.execute(f"update {META}.versions set status = 'live', published_at = now() "
                        f"where model = ? and version = ?", [model, version])
            con.execute(f"delete from {META}.pins where model = ?", [model])
            con.execute(f"insert into {META}.pins values (?, ?, ?, 'rollback', now())",
                        [model, version, code_fingerprint])
            con.execute("commit")
        except BaseException:
            con.execute("rollback")
            raise
        return int(row[0]) if row else None

    @staticmethod
    def _model_run_rows(run_id: str, results: Any) -> Write | None:
        """One statement whose parameters are one list per column (binding 8 parameters
        per row costs ~100x more)."""
        rows = [[run_id, r.model, r.status, r.version, r.started_at, r.duration_s, r.thread,
                 r.message] for r in results]
        if not rows:
            return None
        return (f"insert into {META}.model_runs select unnest(?), unnest(?), unnest(?), "
                "unnest(?)::integer, coalesce(cast(unnest(?) as timestamp), now()), "
                "unnest(?)::double, unnest(?), unnest(?)",
                [list(c) for c in zip(*rows, strict=True)])

    def set_source(self, key: str, hash_: str, relation: str) -> None:
        self._sources = None
        self.con.execute(f"delete from {META}.sources where key = ?", [key])
        self.con.execute(f"insert into {META}.sources values (?, ?, ?)", [key, hash_, relation])

    def drop_relation(self, model: str, version: int) -> None:
        sql = drop_relation_sql(self.con, model, version)
        if sql:
            self.con.execute(sql)

    def clean_leftovers(self, undo: Any = None) -> list[str]:
        """Drop relations of versions a killed run left 'building' (mark them abandoned) and
        relations no state row records; mark unfinished runs interrupted. Reads first, then
        writes only what needs writing (a clean store costs three reads). ``undo(model,
        version)``: how a two-phase engine removes a 'building' version's table."""
        rows = self.con.execute(f"select model, version, status from {META}.versions"
                                ).fetchall()
        running, parts, pins, sources = self.con.execute(
            f"select (select count(*) from {META}.runs where status = 'running'), "
            f"(select list([model, version::varchar]) from {META}.version_parts), "
            f"(select list(struct_pack(model := model, version := version, fingerprint := "
            f"fingerprint)) from {META}.pins), "
            f"(select list(struct_pack(key := key, hash := hash)) from {META}.sources)"
        ).fetchone()
        self._pins = {p["model"]: (p["version"], p["fingerprint"]) for p in pins or []}
        self._sources = {s["key"]: s["hash"] for s in sources or []}
        building = sorted((m, v) for m, v, st in rows if st == "building")
        for model, version in building:
            (undo or self.drop_relation)(model, version)
            self.con.execute(f"update {META}.versions set status = 'abandoned', message = "
                             f"'left unfinished by an interrupted run' where model = ? and "
                             f"version = ?", [model, version])
        if running:
            self.con.execute(f"update {META}.runs set status = 'interrupted' "
                             f"where status = 'running'")
        lives = [m for m, _, st in rows if st == "live"]
        if len(lives) != len(set(lives)):  # a run killed before its end (see VERSIONS)
            self.con.execute(f"update {META}.versions v set status = 'superseded' from "
                             f"{VERSIONS} n where n.model = v.model and n.version = v.version "
                             f"and v.status = 'live' and n.status = 'superseded'")
        self.cleaned = True
        known = {(m, int(v)) for m, v, _ in rows}
        self.numbers = {}
        for m, v in known:
            self.numbers[m] = max(v, self.numbers.get(m, 0))
        return [f"{m} v{v}" for m, v in building] + self._drop_orphans(known, parts or [])

    def _drop_orphans(self, known: set[tuple[str, int]], parts: list[list[str]]) -> list[str]:
        """Relations (and part lists) of versions a killed run created but never recorded."""
        names = {f"{m}__v{v}" for m, v in known}
        orphans = sorted((n, k) for schema, n, k in self._survey()
                         if schema == VERSIONS_SCHEMA and n not in names)
        for name, kind in orphans:
            what = "view" if kind == "VIEW" else "table"
            self.con.execute(f'drop {what} "{VERSIONS_SCHEMA}"."{name}"')
        if any((m, int(v)) not in known for m, v in parts):
            self.con.execute(f"delete from {META}.version_parts p where not exists (select 1 "
                             f"from {META}.versions v where v.model = p.model and "
                             f"v.version = p.version)")
        self._catalog = None
        return [n.replace("__v", " v") for n, _ in orphans]


def drop_any(con: Any, schema: str, name: str) -> None:
    """Drop a table or view, whichever ``schema.name`` is (if it exists)."""
    row = con.execute("select table_type from information_schema.tables where table_schema = ? "
                      "and table_name = ?", [schema, name]).fetchone()
    if row is not None:
        what = "view" if row[0] == "VIEW" else "table"
        con.execute(f'drop {what} "{schema}"."{name}"')


def drop_relation_sql(con: Any, model: str, version: int) -> str | None:
    """The DROP statement for a version's relation (table or view), None if it is gone."""
    name = f"{model}__v{version}"
    kind = con.execute(
        "select table_type from information_schema.tables where table_schema = ? and "
        "table_name = ?", [VERSIONS_SCHEMA, name]).fetchone()
    if kind is None:
        return None
    what = "view" if kind[0] == "VIEW" else "table"
    return f"drop {what} {version_relation(model, version)}"


def _version_row(r: tuple[Any, ...]) -> VersionRow:
    d = dict(zip(_VERSION_COLS, r, strict=True))
    d["input_versions"] = json.loads(d["input_versions"] or "{}")
    d["columns"] = tuple(tuple(c) for c in json.loads(d["columns"] or "[]"))
    d["checks"] = json.loads(d["checks"] or "[]")
    d["config"] = json.loads(d["config"] or "{}")
    return VersionRow(**d)
