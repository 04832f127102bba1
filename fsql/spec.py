"""What a project *is*: the frozen specs the loader builds. The YAML boundary (strict
pydantic models) is :mod:`fsql.yamlspec`, so a cached project loads without pydantic.
Everything after the loader is a frozen dataclass. Config keys are declared once, as data
(``CONFIG_KEYS``), and drive validation, ``docs/project-reference.md`` and error hints.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "CONFIG_KEYS",
    "MATERIALIZATIONS",
    "ColumnSpec",
    "ConfigKey",
    "EntitySpec",
    "Loc",
    "ModelSpec",
    "ProfileSpec",
    "ProjectSpec",
    "SeedSpec",
    "SourceSpec",
    "SparkSpec",
]

MATERIALIZATIONS = ("view", "table", "ephemeral", "feature_set", "incremental")


@dataclass(frozen=True)
class ConfigKey:
    """One model config key: its accepted Python types and what it means."""

    name: str
    types: tuple[type, ...]
    description: str
    choices: tuple[str, ...] = ()


CONFIG_KEYS: dict[str, ConfigKey] = {
    k.name: k
    for k in [
        ConfigKey("materialized", (str,), "How the model is stored.", MATERIALIZATIONS),
        ConfigKey("tags", (list, str), "Tags for selection (`tag:x`) and docs."),
        ConfigKey("enabled", (bool,), "Set false to ignore the model."),
        ConfigKey("description", (str,), "Model description (the YAML one wins)."),
        ConfigKey("entities", (list, str), "feature_set: entity names from entities.yml."),
        ConfigKey("timestamp", (str,), "feature_set: the event-time column."),
        ConfigKey("created_timestamp", (str,), "feature_set: created time, breaks timestamp ties."),
        ConfigKey("ttl", (str, int), "feature_set: how long a row stays valid, e.g. `30d`."),
        ConfigKey("online", (bool,), "feature_set: materialize to the online store."),
        ConfigKey("unique_key", (str, list), "Columns that identify a row (diff, merge)."),
        ConfigKey("time_column", (str,), "incremental: the column intervals are cut on."),
        ConfigKey("batch_size", (str,), "incremental: interval size, e.g. `1 day`."),
        ConfigKey("start", (str,), "incremental: first interval start."),
        ConfigKey("end", (str,), "incremental: end of the last interval (default: now)."),
        ConfigKey("lookback", (int,), "incremental: rebuild the last K intervals."),
        ConfigKey(
            "incremental_strategy",
            (str,),
            "incremental: how new intervals land.",
            ("append", "delete+insert", "merge"),
        ),
        ConfigKey("meta", (dict,), "Free-form metadata shown in docs."),
        ConfigKey("dialect", (str,), "The SQL dialect the model is written in: duckdb (the "
                  "default) or spark (read into DuckDB SQL at compile; every engine runs it).",
                  ("duckdb", "spark")),
        ConfigKey("statistics", (bool,), "Profile each new version at build (column "
                  "statistics and drift vs the previous version); default true for feature_set "
                  "models (and any model with drift expectations), false otherwise: "
                  "`fsql stats` computes those on request."),
    ]
}


@dataclass(frozen=True)
class Loc:
    """A place in a project file (1-based line and column)."""

    path: str
    line: int | None = None
    col: int | None = None

    def kw(self) -> dict[str, Any]:
        return {"path": self.path, "line": self.line, "col": self.col}


@dataclass(frozen=True)
class RawExpectation:
    """An expectation as written in YAML, with where it was written."""

    raw: Any
    column: str | None
    loc: Loc


@dataclass(frozen=True)
class ColumnSpec:
    name: str
    type: str | None = None
    description: str = ""
    tags: tuple[str, ...] = ()
    loc: Loc | None = None
    type_loc: Loc | None = None


@dataclass(frozen=True)
class ModelSpec:
    """A model as loaded: its SQL text, YAML properties and folder defaults."""

    name: str
    path: str  # relative to the project root, posix
    raw_sql: str
    description: str = ""
    config: dict[str, Any] = field(default_factory=dict)  # folder defaults + YAML config
    config_locs: dict[str, Loc] = field(default_factory=dict)
    tags: tuple[str, ...] = ()
    columns: tuple[ColumnSpec, ...] = ()
    expectations: tuple[RawExpectation, ...] = ()
    yml_loc: Loc | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    kind: str = "model"  # "model" (SQL) | "ingest" (a FeatureSet filled from Python)
    checks: tuple[Any, ...] = ()  # parsed ExpectationSpec objects (fsql.expectations)

    @property
    def folder(self) -> str:
        return str(Path(self.path).parent.as_posix())


@dataclass(frozen=True)
class SourceSpec:
    source: str
    name: str
    description: str = ""
    path: str | None = None  # file or glob, relative to the project root
    table: str | None = None
    format: str | None = None
    columns: tuple[ColumnSpec, ...] = ()
    expectations: tuple[RawExpectation, ...] = ()
    freshness: dict[str, Any] | None = None
    loaded_at_field: str | None = None
    loc: Loc | None = None
    checks: tuple[Any, ...] = ()

    @property
    def key(self) -> str:
        return f"{self.source}.{self.name}"


@dataclass(frozen=True)
class EntitySpec:
    name: str
    join_keys: tuple[tuple[str, str], ...]  # (column, type)
    description: str = ""
    loc: Loc | None = None


@dataclass(frozen=True)
class SeedSpec:
    name: str
    path: str
    loc: Loc | None = None


@dataclass(frozen=True)
class SparkSpec:
    """A Spark target's session and storage (see ``yamlspec.SparkYml``)."""

    master: str = "local[2]"
    conf: tuple[tuple[str, str], ...] = ()
    warehouse: str = "spark-warehouse"
    table_format: str = "parquet"
    database: str | None = None


@dataclass(frozen=True)
class ProfileSpec:
    database: str = "warehouse.duckdb"
    threads: int | None = None  # None: default_threads()
    memory_limit: str | None = None
    engine: str = "duckdb"  # duckdb | spark
    spark: SparkSpec | None = None
    target: str | None = None  # the name of the target this profile came from


def default_threads() -> int:
    """Models built at once when the profile does not say: the CPU count, at most 4 (each
    DuckDB query already uses every core; more concurrent models only add memory)."""
    import os

    # the CPUs this process may run on (a container's limit), not the host's count
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(1, min(4, cpus or 1))


@dataclass(frozen=True)
class ProjectSpec:
    """Everything the loader read, before rendering."""

    root: Path
    name: str
    description: str
    profile: ProfileSpec
    vars: dict[str, Any]
    models: dict[str, ModelSpec]
    sources: dict[str, SourceSpec]
    entities: dict[str, EntitySpec]
    seeds: dict[str, SeedSpec]
    macros: tuple[tuple[str, str], ...]  # (relative path, text)
    generic_expectations: tuple[tuple[str, str], ...] = ()  # (relative path, text)
    online_store: dict[str, Any] | None = None
    targets: dict[str, ProfileSpec] = field(default_factory=dict)  # --target NAME
    # fsql.project_cache's signature of the files this was read from ("" when not known)
    signature: str = field(default="", compare=False, repr=False)

    @property
    def database_path(self) -> Path:
        p = Path(self.profile.database)
        return p if p.is_absolute() else self.root / p
