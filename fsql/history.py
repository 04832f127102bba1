"""Version management: rollback, garbage collection and diffs between versions.

Functions take an open DuckDB connection (the caller holds the write lock for changes).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from .errors import ConfigError
from .state import META, READABLE, StateStore, VersionRow, drop_relation_sql

__all__ = ["DiffResult", "GcResult", "diff_versions", "gc_versions", "rollback_model"]

_READABLE = READABLE


def rollback_model(con: Any, model: str, version: int, code_fingerprint: str,
                   publish_views: Any = None) -> int | None:
    """Make ``version`` live again; dependants see new input versions and rebuild next run.
    ``publish_views``: a two-phase engine's view swap (done first, then recorded)."""
    rows = {r.version: r for r in StateStore(con).versions(model)}
    row = rows.get(version)
    if row is None or row.status not in _READABLE:
        usable = [f"v{v}" for v, r in sorted(rows.items()) if r.status in _READABLE]
        why = "does not exist" if row is None else f"is {row.status}"
        raise ConfigError(f"cannot roll back '{model}' to v{version}: it {why}", model=model,
                          expected="one of: " + (", ".join(usable) or "no readable version"),
                          hint=f"see `fsql versions {model}`")
    if row.status == "live":
        return version
    if publish_views is not None:
        publish_views([(model, version)])
    return StateStore(con, two_phase=publish_views is not None).rollback(
        model, version, code_fingerprint)


@dataclass(frozen=True)
class GcResult:
    removed: tuple[str, ...]
    kept_pinned: tuple[str, ...]
    bytes_reclaimed: int
    dry_run: bool

    def to_dict(self) -> dict[str, Any]:
        return {"removed": list(self.removed), "kept_pinned": list(self.kept_pinned),
                "bytes_reclaimed": self.bytes_reclaimed, "dry_run": self.dry_run}


def gc_versions(con: Any, *, keep: int, older_than: timedelta | None = None,
                dry_run: bool = False, models: Sequence[str] | None = None,
                referenced: set[tuple[str, int]] | None = None, drop: Any = None) -> GcResult:
    """Drop old version relations, keeping per model the live version plus the ``keep``
    newest other readable versions (rollback targets); never one pinned by a saved training
    set, a rollback, or a model's ``ref('m', version=N)`` (``referenced``). ``drop(model,
    version)``: how a two-phase engine removes a version's table (else DuckDB's)."""
    pinned = _training_set_pins(con) | {(m, v) for m, (v, _) in StateStore(con).pins().items()}
    pinned |= referenced or set()
    cutoff = datetime.now(UTC).replace(tzinfo=None) - older_than if older_than else None
    doomed: list[VersionRow] = []
    kept: list[VersionRow] = []
    by_model: dict[str, list[VersionRow]] = {}
    for r in StateStore(con).versions():
        if models is None or r.model in models:
            by_model.setdefault(r.model, []).append(r)
    for model, rows in sorted(by_model.items()):
        # the N newest rollback targets besides the live version (which is always kept)
        recent = [r.version for r in sorted(rows, key=lambda r: -r.version)
                  if r.status in _READABLE and r.status != "live"][:keep]
        for r in rows:
            if r.status in ("live", "gc", "abandoned") or r.version in recent:
                continue
            if cutoff is not None and r.created_at and r.created_at > cutoff:
                continue
            (kept if (model, r.version) in pinned else doomed).append(r)
    size = 0 if drop else sum((_size(con, r) for r in doomed), 0)
    if not dry_run:
        _drop(con, doomed, drop)
        size += 0 if drop else _compact_parts(con)
    return GcResult(tuple(f"{r.model} v{r.version}" for r in doomed),
                    tuple(f"{r.model} v{r.version}" for r in kept), size, dry_run)


def _drop(con: Any, rows: list[VersionRow], drop: Any = None) -> None:
    for r in rows:
        if drop is not None:  # the data is elsewhere: remove it, then record that
            drop(r.model, r.version)
        sql = None if drop else drop_relation_sql(con, r.model, r.version)
        con.execute("begin transaction")
        if sql:
            con.execute(sql)
        con.execute(f"update {META}.versions set status = 'gc', message = 'removed by gc' "
                    f"where model = ? and version = ?", [r.model, r.version])
        con.execute("commit")
    if rows:
        con.execute("checkpoint")


def _compact_parts(con: Any) -> int:
    """Incremental models: delete parts no remaining version reads; drop dead generations."""
    rows = con.execute(f"select p.model, p.generation, p.segments from {META}.version_parts p "
                       f"join {META}.versions v on v.model = p.model and v.version = p.version "
                       f"where v.status not in ('gc', 'abandoned')").fetchall()
    keep: dict[tuple[str, int], set[int]] = {}
    for model, gen, segs in rows:
        keep.setdefault((model, gen), set()).update(int(s[0]) for s in json.loads(segs))
    tables = con.execute("select table_name from information_schema.tables where "
                         "table_schema = 'fsql_parts'").fetchall()
    before = _db_bytes(con)
    for (name,) in tables:
        model, _, gen = name.rpartition("__g")
        parts = keep.get((model, int(gen))) if gen.isdigit() else None
        if parts is None:
            con.execute(f'drop table "fsql_parts"."{name}"')
        else:
            ids = ", ".join(str(p) for p in sorted(parts))
            con.execute(f'delete from "fsql_parts"."{name}" where __fsql_part not in ({ids})')
    con.execute("checkpoint")
    return max(0, before - _db_bytes(con))


def _db_bytes(con: Any) -> int:
    row = con.execute("select used_blocks, block_size from pragma_database_size()").fetchone()
    return int(row[0]) * int(row[1]) if row else 0


def _size(con: Any, r: VersionRow) -> int:
    row = con.execute("select estimated_size, column_count from duckdb_tables() where "
                      "schema_name = 'fsql_versions' and table_name = ?",
                      [f"{r.model}__v{r.version}"]).fetchone()
    if row is None:
        return 0
    # estimated_size is a row-count estimate; storage bytes come from the blocks
    blocks = con.execute("select count(distinct block_id) from pragma_storage_info(?) "
                         "where block_id >= 0", [f'fsql_versions."{r.model}__v{r.version}"'])\
        .fetchone()
    block_size = con.execute("select block_size from pragma_database_size()").fetchone()[0]
    return int(blocks[0] or 0) * int(block_size)


def _training_set_pins(con: Any) -> set[tuple[str, int]]:
    out: set[tuple[str, int]] = set()
    for (manifest,) in con.execute(f"select manifest from {META}.training_sets").fetchall():
        data = json.loads(manifest)
        for name, fs in (data.get("feature_sets") or {}).items():
            if fs.get("version") is not None:
                out.add((name, int(fs["version"])))
    return out


@dataclass(frozen=True)
class DiffResult:
    model: str
    a: int
    b: int
    added_columns: tuple[tuple[str, str], ...]
    removed_columns: tuple[tuple[str, str], ...]
    retyped_columns: tuple[tuple[str, str, str], ...]
    rows_a: int
    rows_b: int
    key: tuple[str, ...] = ()
    added_rows: int | None = None
    removed_rows: int | None = None
    changed_rows: int | None = None
    samples: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    column_stats: dict[str, dict[str, Any]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


def diff_versions(con: Any, model: str, a: int, b: int, key: Sequence[str] = (),
                  sample: int = 5, data: Any = None) -> DiffResult:
    """Schema, row counts and (with a unique key) added / removed / changed rows. ``data``:
    where the versions' rows are read (default: ``con``, the state's DuckDB)."""
    rows = {r.version: r for r in StateStore(con).versions(model)}
    con = data if data is not None else con
    for v in (a, b):
        if v not in rows or rows[v].status not in _READABLE:
            raise ConfigError(f"model '{model}' has no readable version {v}", model=model,
                              hint=f"see `fsql versions {model}`")
    ra, rb = rows[a], rows[b]
    ca, cb = dict(ra.columns), dict(rb.columns)
    def count(rel: str) -> int:
        return int(con.execute(f"select count(*) from {rel}").fetchone()[0])

    out = DiffResult(
        model, a, b, tuple((c, t) for c, t in cb.items() if c not in ca),
        tuple((c, t) for c, t in ca.items() if c not in cb),
        tuple((c, ca[c], cb[c]) for c in cb if c in ca and ca[c] != cb[c]),
        count(ra.relation), count(rb.relation))
    key = tuple(k for k in key if k in ca and k in cb)
    if not key:
        return out
    return _keyed_diff(con, out, ra.relation, rb.relation, key,
                       [c for c in cb if c in ca and c not in key], sample)


def _keyed_diff(con: Any, out: DiffResult, rel_a: str, rel_b: str, key: tuple[str, ...],
                common: list[str], sample: int) -> DiffResult:
    def q(c: str) -> str:
        return '"' + c.replace('"', '""') + '"'

    on = " and ".join(f"a.{q(k)} is not distinct from b.{q(k)}" for k in key)
    ha = "hash(" + ", ".join(f"a.{q(c)}" for c in common) + ")" if common else "0"
    hb = "hash(" + ", ".join(f"b.{q(c)}" for c in common) + ")" if common else "0"
    keys = ", ".join(f"coalesce(a.{q(k)}, b.{q(k)}) as {q(k)}" for k in key)
    joined = (f"select {keys}, case when a.__present is null then 'added' when b.__present is "
              f"null then 'removed' when {ha} <> {hb} then 'changed' else 'same' end as __kind "
              f"from (select *, 1 as __present from {rel_a}) a full outer join "
              f"(select *, 1 as __present from {rel_b}) b on {on}")
    con.execute(f"create or replace temp table __fsql_diff as {joined}")
    try:
        counts = dict(con.execute("select __kind, count(*) from __fsql_diff group by 1")
                      .fetchall())
        samples = {}
        for kind in ("added", "removed", "changed"):
            rows = con.execute(f"select * exclude (__kind) from __fsql_diff where __kind = ? "
                               f"order by all limit {int(sample)}", [kind]).fetchall()
            samples[kind] = [dict(zip(key, r, strict=True)) for r in rows]
    finally:
        con.execute("drop table if exists __fsql_diff")
    return DiffResult(**{**out.to_dict(), "key": key, "added_rows": counts.get("added", 0),
                         "removed_rows": counts.get("removed", 0),
                         "changed_rows": counts.get("changed", 0), "samples": samples})
