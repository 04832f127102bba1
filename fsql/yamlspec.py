"""The YAML boundary: strict pydantic models (``strict=True, extra="forbid"``) for every file of
a project; errors carry line/column through :mod:`fsql.yamlio`. The JSON schema in
docs/project-reference.md is generated from these classes.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "ColumnYml",
    "EntitiesFileYml",
    "EntityYml",
    "FeatureSetYml",
    "FeatureSetsFileYml",
    "JoinKeyYml",
    "ModelYml",
    "ModelsFileYml",
    "ProfileYml",
    "ProjectYml",
    "SourceTableYml",
    "SourceYml",
    "SourcesFileYml",
    "SparkYml",
    "TargetYml",
]


class _Strict(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)


class SparkYml(_Strict):
    """Where a Spark target runs (docs/spark.md)."""

    master: str = Field(default="local[2]", description=(
        "local[N], spark://host:7077, or a Spark Connect URL sc://host:15002."))
    conf: dict[str, str | int | float | bool] = Field(
        default={}, description="Spark configuration applied when the session starts.")
    warehouse: str = Field(default="spark-warehouse", description=(
        "Where version tables are written (a path relative to the project, or any URI "
        "Spark can write: hdfs://, s3a://, ...)."))
    table_format: Literal["parquet", "iceberg", "delta"] = Field(default="parquet", description=(
        "Format of version tables; iceberg and delta need their jars on the cluster."))
    database: str | None = Field(default=None, description=(
        "Catalog database of the live views (default: the project's name); versions go to "
        "<database>__versions, sources to <database>__<source>."))


class ProfileYml(_Strict):
    engine: Literal["duckdb", "spark"] = Field(default="duckdb", description=(
        "Where models are built: duckdb (embedded, the default) or spark."))
    database: str = Field(default="warehouse.duckdb", description=(
        "The DuckDB file: the data and the state (fsql_meta) on duckdb; only the state on "
        "spark."))
    threads: int | None = Field(
        default=None, ge=1, le=256,
        description="Models built at once (default: the CPU count, at most 4 — DuckDB already "
                    "runs each query on every core, so more only adds memory).")
    memory_limit: str | None = None
    spark: SparkYml | None = None


class TargetYml(_Strict):
    """A named variant of the profile (``--target NAME``): keys given here replace the
    profile's."""

    engine: Literal["duckdb", "spark"] | None = None
    database: str | None = None
    threads: int | None = Field(default=None, ge=1, le=256)
    memory_limit: str | None = None
    spark: SparkYml | None = None


class ProjectYml(_Strict):
    name: str
    description: str = ""
    version: str | int | None = None
    profile: ProfileYml = ProfileYml()
    targets: dict[str, TargetYml] = {}
    vars: dict[str, Any] = {}
    models: dict[str, Any] = {}
    seeds: dict[str, Any] = {}
    online_store: dict[str, Any] | None = None


class ColumnYml(_Strict):
    name: str
    type: str | None = None
    description: str = ""
    tags: list[str] = []
    expectations: list[Any] = []
    tests: list[Any] = []  # dbt's name for expectations
    meta: dict[str, Any] = {}


class ModelYml(_Strict):
    name: str
    description: str = ""
    config: dict[str, Any] = {}
    tags: list[str] = []
    columns: list[ColumnYml] = []
    expectations: list[Any] = []
    tests: list[Any] = []
    meta: dict[str, Any] = {}


class ModelsFileYml(_Strict):
    version: int | None = None
    models: list[ModelYml] = []


class FeatureSetYml(_Strict):
    """A feature set defined in Python (``store.apply``): no SQL, filled by ``ingest``."""

    name: str
    description: str = ""
    entities: list[str]
    timestamp: str
    created_timestamp: str | None = None
    ttl: str | int | None = None
    online: bool = False
    tags: list[str] = []
    columns: list[ColumnYml] = []
    expectations: list[Any] = []
    tests: list[Any] = []
    meta: dict[str, Any] = {}


class FeatureSetsFileYml(_Strict):
    version: int | None = None
    feature_sets: list[FeatureSetYml] = []


class SourceTableYml(_Strict):
    name: str
    description: str = ""
    path: str | None = None
    table: str | None = None
    format: str | None = None
    columns: list[ColumnYml] = []
    expectations: list[Any] = []
    tests: list[Any] = []
    freshness: dict[str, Any] | None = None
    loaded_at_field: str | None = None
    tags: list[str] = []


class SourceYml(_Strict):
    name: str
    description: str = ""
    schema_: str | None = Field(default=None, alias="schema")
    tables: list[SourceTableYml] = []


class SourcesFileYml(_Strict):
    version: int | None = None
    sources: list[SourceYml] = []


class JoinKeyYml(_Strict):
    name: str
    type: str = "VARCHAR"
    description: str = ""


class EntityYml(_Strict):
    name: str
    join_keys: list[JoinKeyYml | str]
    description: str = ""


class EntitiesFileYml(_Strict):
    version: int | None = None
    entities: list[EntityYml] = []
