"""``fsql.FeatureStore``: feature sets, point-in-time training sets, ingest (the Feast part).

>>> import fsql, pandas as pd, tempfile, pathlib
>>> root = fsql.init_project(pathlib.Path(tempfile.mkdtemp()) / "demo")
>>> _ = fsql.Project(root).run()
>>> store = fsql.FeatureStore(root)
>>> entity = pd.DataFrame({"user_id": [1, 2],
...                        "event_timestamp": pd.to_datetime(["2026-06-01", "2026-06-02"])})
>>> store.get_training_set(entity, ["user_spend_30d:spend_30d"]).to_pandas().shape
(2, 3)
>>> store.close()
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..api import Project
from ..compiler import CompiledModel, parse_ttl
from ..engines import duckdb as engine
from ..errors import ConfigError, FsqlError, did_you_mean
from ..names import name_error
from ..online.base import OnlineFeatureSet, OnlineStore
from ..online.config import DEFAULT_CONFIG, store_from_config
from ..online.read import OnlineResponse
from ..online.reader import OnlineReader
from ..renderer import version_relation
from ..state import META, StateStore
from .featureset import FeatureSet
from .retrieval import FeatureView, TrainingSet, get_training_set, parse_feature_refs

if TYPE_CHECKING:
    from ..online.materializer import MaterializeResult

__all__ = ["FeatureSetInfo", "FeatureStore", "online_feature_sets", "open_online_store"]


@dataclass(frozen=True)
class FeatureSetInfo:
    """A feature set as the store sees it: keys, timestamp, TTL, features, live version."""

    name: str
    entities: tuple[str, ...]
    join_keys: tuple[str, ...]
    timestamp: str
    created_timestamp: str | None
    ttl_seconds: float | None
    online: bool
    features: tuple[str, ...]
    version: int | None
    description: str = ""
    kind: str = "model"

    def view(self, version: int | None = None, features: Sequence[str] | None = None
             ) -> FeatureView:
        v = version if version is not None else self.version
        if v is None:
            raise ConfigError(f"feature set '{self.name}' has no live version",
                              hint="run `fsql run` (or store.ingest for Python feature sets)")
        return FeatureView(self.name, version_relation(self.name, v), self.join_keys,
                           self.timestamp, self.created_timestamp, self.ttl_seconds,
                           tuple(features if features is not None else self.features), v)

    def to_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


class FeatureStore:
    """Feature sets of a project, readable while builds run elsewhere (read-only, brief).

    Holds one read-only DuckDB connection while training sets are read; ``close()`` (or a
    ``with`` block) releases the file so ``fsql run`` can write it. Online reads keep the
    online store open (an :class:`~fsql.online.reader.OnlineReader`) until ``close()``.
    """

    def __init__(self, project_dir: str | Path = ".", **project_kwargs: Any) -> None:
        self.project = Project(project_dir, **project_kwargs)
        self._con: Any = None
        self._online: OnlineReader | None = None

    def __enter__(self) -> FeatureStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._con is not None:
            self._con.close()
            self._con = None
        self.close_online()

    def close_online(self) -> None:
        """Close the online store opened by :meth:`get_online_features` (``close`` does too)."""
        if self._online is not None:
            self._online.close()
            self._online = None

    def _reader(self) -> Any:
        if self._con is None:
            if not self.project.database.exists():
                raise ConfigError(f"no warehouse at {self.project.database}",
                                  hint="run `fsql run` first")
            self._con = self.project._reader().__enter__()
        return self._con

    # -- discovery ----------------------------------------------------------------------------
    def feature_sets(self) -> dict[str, FeatureSetInfo]:
        """Every feature set (SQL models and Python-defined ones) with its live version."""
        manifest = self.project.compile(write=False)
        con = self._reader()
        live = StateStore(con).live() if StateStore.exists(con) else {}
        return {n: self._info(m, live.get(n)) for n, m in sorted(manifest.models.items())
                if m.materialized == "feature_set"}

    def _info(self, m: CompiledModel, live: Any) -> FeatureSetInfo:
        spec = self.project.spec
        ents = m.config.get("entities") or []
        ents = [ents] if isinstance(ents, str) else list(ents)
        keys = tuple(k for e in ents for k, _ in spec.entities[e].join_keys)
        ts = str(m.config.get("timestamp"))
        created = m.config.get("created_timestamp")
        skip = set(keys) | {ts} | ({created} if created else set())
        cols = [c for c, _ in live.columns] if live else list(m.columns or ())
        return FeatureSetInfo(m.name, tuple(ents), keys, ts, created,
                              parse_ttl(m.config.get("ttl")), bool(m.config.get("online")),
                              tuple(c for c in cols if c not in skip),
                              live.version if live else None, m.description, m.kind)

    # -- training sets ------------------------------------------------------------------------
    def get_training_set(self, entity_df: Any, features: Sequence[str], *,
                         full_feature_names: bool = False,
                         entity_timestamp: str | None = None) -> TrainingSet:
        """Point-in-time correct features for every entity row (Feast semantics).

        ``entity_df``: pandas, Arrow, a SQL query, or the name of a model of the project.
        """
        infos = self.feature_sets()
        refs = parse_feature_refs(features, {n: i.features for n, i in infos.items()})
        views = [infos[n].view(features=cols) for n, cols in refs]
        return self._training_set(entity_df, views, full_feature_names, entity_timestamp)

    def _training_set(self, entity_df: Any, views: list[FeatureView], full: bool,
                      ts: str | None) -> TrainingSet:
        con = self._reader()
        if isinstance(entity_df, str) and entity_df in self.project.compile(write=False).models:
            entity_df = f'select * from "main"."{entity_df}"'
        if self.project.two_phase:  # the feature sets live in another engine (Spark)
            from .retrieval import get_training_set_spark

            return get_training_set_spark(self.project._data(con).engine, entity_df, views,
                                          entity_timestamp=ts, full_feature_names=full)
        return get_training_set(con, entity_df, views, entity_timestamp=ts,
                                full_feature_names=full)

    def save_training_set(self, name: str, ts: TrainingSet) -> None:
        """Store the entity rows and the pinned versions, so ``get_saved_training_set`` can
        re-create the same rows later (gc never removes a pinned version)."""
        entity = _entity_arrow(ts)
        self.close()
        from ..lock import WriteLock

        with WriteLock(self.project.database), self.project._writer() as con:
            StateStore(con).init()
            con.execute('create schema if not exists "fsql_training"')
            engine.register_frame(con, "__fsql_entity", entity)
            con.execute("begin transaction")
            con.execute(f'create or replace table "fsql_training"."{name}" as '
                        f"select * from __fsql_entity")
            con.execute(f"delete from {META}.training_sets where name = ?", [name])
            con.execute(f"insert into {META}.training_sets values (?, now(), ?)",
                        [name, json.dumps(ts.manifest, default=str)])
            con.execute("commit")

    def list_saved_training_sets(self) -> list[dict[str, Any]]:
        con = self._reader()
        rows = con.execute(f"select name, created_at, manifest from {META}.training_sets "
                           f"order by name").fetchall()
        return [{"name": n, "created_at": str(c), **json.loads(m)} for n, c, m in rows]

    def get_saved_training_set(self, name: str) -> TrainingSet:
        """Re-create a saved training set from its pinned feature-set versions."""
        saved = {s["name"]: s for s in self.list_saved_training_sets()}
        if name not in saved:
            raise ConfigError(f"no saved training set '{name}'",
                              expected="one of: " + ", ".join(sorted(saved)),
                              hint=did_you_mean(name, saved) or "see `fsql dataset ls`")
        m = saved[name]
        infos = self.feature_sets()
        views = [infos[fs].view(version=info["version"], features=info["features"])
                 for fs, info in m["feature_sets"].items()]
        entity = engine.arrow_table(self._reader(), f'select * from "fsql_training"."{name}"')
        return self._training_set(entity, views, m["full_feature_names"],
                                  m["entity_timestamp"])

    # -- online -------------------------------------------------------------------------------
    def materialize(self, select: Sequence[str] | None = None, *, as_of: Any = None,
                    full: bool = False) -> list[MaterializeResult]:
        """Write the latest row per entity of the online feature sets to the online store
        (``fsql materialize``); returns one MaterializeResult per feature set (sorted by
        name, one shared ``as_of``). The warehouse is opened read-only only while
        materializing and closed afterwards."""
        from ..online.materializer import materialize_all

        self.close()
        try:
            sets = online_feature_sets(self, select)
            if not sets:
                return []
            with open_online_store(self.project) as online:
                con = self.project._data(self._reader())  # DuckDB, or a Spark cursor
                return materialize_all(con, sets, online, as_of=as_of, full=full)
        finally:
            self.close()

    def get_online_features(self, features: Sequence[str],
                            entity_rows: Sequence[Mapping[str, Any]], *,
                            full_feature_names: bool = False, now: Any = None
                            ) -> OnlineResponse:
        """Latest online values of ``features`` (``"fs:feature"`` / ``"fs:*"``) per entity
        row: an OnlineResponse with ``to_dict()`` / ``to_pandas()`` / ``statuses``.

        Reads only the online store (kept open until ``close()``); a missing entity gives
        None (``NOT_FOUND``), a row older than the TTL at ``now`` None (``OUTSIDE_MAX_AGE``).
        """
        if self._online is None:
            self._online = OnlineReader(open_online_store(self.project))
        return self._online.read(features, entity_rows, full_feature_names=full_feature_names,
                                 now=now, project_models=self.project.spec.models)

    # -- Python-defined feature sets ----------------------------------------------------------
    def apply(self, fs: FeatureSet) -> Path:
        """Register ``fs``: writes ``feature_sets/<name>.yml`` (validated like any YAML)."""
        _check_feature_set(self.project, fs)
        path = self.project.root / "feature_sets" / f"{fs.name}.yml"
        path.parent.mkdir(parents=True, exist_ok=True)
        old = path.read_text() if path.exists() else None
        path.write_text(fs.to_yaml(), encoding="utf-8")
        try:
            Project(self.project.root).compile(write=False)
        except FsqlError:
            if old is None:
                path.unlink()
            else:
                path.write_text(old, encoding="utf-8")
            raise
        self.project = Project(self.project.root, vars=self.project.vars,
                               target=self.project.target_name)
        return path

    def ingest(self, fs: FeatureSet | str, df: Any, *, mode: str = "append") -> int:
        """Validate ``df`` and store it as a new version of the feature set (write-audit-publish).

        ``mode``: ``append`` (new version = previous rows + ``df``) or ``overwrite``.
        Returns the new version number; raises IngestError and stores nothing on failure.
        """
        from .ingest import ingest_frame

        name = fs if isinstance(fs, str) else fs.name
        self.close()
        version = ingest_frame(self.project, name, df, mode=mode)
        self.project = Project(self.project.root, vars=self.project.vars,
                               target=self.project.target_name)
        return version


def online_feature_sets(store: FeatureStore, select: Sequence[str] | None = None
                        ) -> dict[str, OnlineFeatureSet]:
    """The ``online: true`` feature sets with a live version, as ``OnlineFeatureSet``s.

    ``relation`` is the live version's table; feature types come from the version's
    recorded columns. ``select`` restricts to these names (an unknown name, a feature set
    without ``online: true`` or without a live version raises ConfigError). Uses the
    store's read-only connection: close the store when done.
    """
    infos = store.feature_sets()
    names = _selected(infos, select)
    live = StateStore(store._reader()).live() if names else {}
    out = {}
    for name in names:
        info = infos[name]
        if info.version is None or name not in live:
            continue
        types = {c: t for c, t in live[name].columns}
        out[name] = OnlineFeatureSet(
            name, version_relation(name, info.version), info.version, info.join_keys,
            info.timestamp, info.ttl_seconds, info.features,
            {c: types[c] for c in (*info.join_keys, info.timestamp, *info.features)
             if c in types}, info.created_timestamp)
    return out


def _selected(infos: Mapping[str, FeatureSetInfo], select: Sequence[str] | None) -> list[str]:
    if select is None or len(select) == 0:
        return sorted(n for n, i in infos.items() if i.online)
    if isinstance(select, str):
        select = [select]
    for name in select:
        if name not in infos:
            raise ConfigError(f"unknown feature set '{name}'",
                              expected="one of: " + ", ".join(sorted(infos)),
                              hint=did_you_mean(name, infos) or "see `fsql ls --feature-sets`")
        if not infos[name].online:
            raise ConfigError(f"feature set '{name}' is not online", model=name,
                              expected="online: true in its config",
                              hint="add online=true to its config() (or FeatureSet(..., "
                                   "online=True) + store.apply)")
        if infos[name].version is None:
            raise ConfigError(f"feature set '{name}' has no live version", model=name,
                              hint="run `fsql run` (or store.ingest for Python feature sets)")
    return sorted(set(select))


def open_online_store(project: Project | str | Path) -> OnlineStore:
    """The project's online store (``online_store:`` of fsql_project.yml; default
    ``{type: sqlite, path: online.sqlite}`` in the project folder). Close it when done."""
    p = project if isinstance(project, Project) else Project(project)
    return store_from_config(p.spec.online_store or DEFAULT_CONFIG, p.root)


def _check_feature_set(project: Project, fs: FeatureSet) -> None:
    # the name becomes a file name and relation names: check it before anything is written
    bad = name_error("feature set", fs.name, None)
    if bad is not None:
        raise bad
    for e in fs.entities:
        if e not in project.spec.entities:
            raise ConfigError(f"feature set '{fs.name}': unknown entity '{e}'",
                              expected="an entity declared in entities.yml",
                              hint=did_you_mean(e, project.spec.entities) or
                              "declare it in entities.yml")
    names = [f.name for f in fs.fields]
    needed = [k for e in fs.entities for k, _ in project.spec.entities[e].join_keys]
    for col in needed + [fs.timestamp]:
        if names and col not in names:
            raise ConfigError(f"feature set '{fs.name}' has no column '{col}'",
                              expected="the entity join keys and the timestamp among the fields",
                              hint=did_you_mean(col, names) or "infer_fields_from_df(df) first")


def _entity_arrow(ts: TrainingSet) -> Any:
    """The entity rows of a training set (its leading output columns), types as given."""
    m = ts.manifest
    n = len(m["output_columns"]) - len(m["features"])
    return ts.to_arrow().select(m["output_columns"][:n])
