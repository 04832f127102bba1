"""The Spark engine: the same project on Apache Spark (a local session, a cluster, or Spark
Connect). The only module besides :mod:`fsql.engines.duckdb` that touches an engine library;
pyspark is imported when a Spark target is used, never before.

Storage. Every version is its own table directory ``<warehouse>/<database>/versions/m__vN``
(Parquet by default) and fsql reads versions by path, so its answers never depend on a
catalog: the state store (a DuckDB file) says which version is live. For users, each model
also gets a view ``<database>.m`` in the session catalog, swapped on publish (persistent when
the cluster has a metastore). Sources load once per change into ``.../sources/<src>/<t>``.

SQL. fsql's DuckDB SQL is transpiled by sqlglot (:func:`to_spark`), its canonical relation
names mapped onto that storage. Sessions run in UTC, with naive timestamps
(``spark.sql.timestampType=TIMESTAMP_NTZ``, like DuckDB's TIMESTAMP) and ANSI mode.

Publish is two-phase (Spark has no multi-statement transactions): the version is recorded
'building' in the state store before its table is written; the view swap follows the audit;
the state transaction makes it live. A run killed in between leaves a 'building' row: the
next run drops that table and points the view back at the live version (see
:meth:`SparkEngine.undo`).
"""

from __future__ import annotations

import os
import re
import shutil
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from .base import Capabilities, Engine

__all__ = ["SparkEngine", "session", "spark_type_to_duckdb"]

_SESSION: dict[str, Any] = {}
_TEMP_TABLE = re.compile(r"create or replace temp(?:orary)? table (\w+) as (.*)", re.I | re.S)
_DESCRIBE = re.compile(r"describe (select .*)", re.I | re.S)
_DROP_TEMP = re.compile(r"drop table if exists (__fsql_\w+)$", re.I)
_STATE_SQL = re.compile(r"\bfsql_meta\b|\binformation_schema\b|\bduckdb_tables\(", re.I)
_TRACE = bool(os.environ.get("FSQL_SPARK_TRACE"))  # print each query Spark runs
_SEED = re.compile(r"select \* from read_csv\('(?:[^']|'')*', header = true\)")
_LOCK = threading.Lock()

# DuckDB type names of Spark's simple types (describe() answers in DuckDB's spelling, so
# contracts, statistics and the docs site stay engine-neutral)
_TYPES = {"bigint": "BIGINT", "int": "INTEGER", "integer": "INTEGER", "smallint": "SMALLINT",
          "tinyint": "TINYINT", "double": "DOUBLE", "float": "FLOAT", "string": "VARCHAR",
          "boolean": "BOOLEAN", "date": "DATE", "timestamp": "TIMESTAMP WITH TIME ZONE",
          "timestamp_ntz": "TIMESTAMP", "binary": "BLOB", "void": "INTEGER"}


def spark_type_to_duckdb(simple: str) -> str:
    """DuckDB's spelling of a Spark type (``simpleString()``).

    >>> spark_type_to_duckdb("decimal(18,3)"), spark_type_to_duckdb("array<bigint>")
    ('DECIMAL(18,3)', 'BIGINT[]')
    """
    s = simple.lower()
    if s in _TYPES:
        return _TYPES[s]
    if s.startswith("decimal"):
        return s.upper()
    if s.startswith("array<") and s.endswith(">"):
        return spark_type_to_duckdb(s[6:-1]) + "[]"
    if s.startswith("varchar") or s.startswith("char"):
        return "VARCHAR"
    return s.upper()


def session(spec: Any) -> Any:
    """The process's Spark session for ``spec`` (a :class:`fsql.spec.SparkSpec`), started
    once and reused by every command and model (a local session takes seconds to start)."""
    with _LOCK:
        hit = _SESSION.get("session")
        if hit is not None:
            return hit
        _SESSION["session"] = _start(spec)
        return _SESSION["session"]


def _start(spec: Any) -> Any:
    import logging
    import warnings

    warnings.filterwarnings("ignore", message="PySpark does not yet fully support pandas")
    # pyspark logs every failed query with its JVM stack; fsql reports failures itself
    logging.getLogger("SQLQueryContextLogger").setLevel(logging.CRITICAL + 1)
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise ConfigError("the spark target needs pyspark", expected="pyspark installed",
                          hint="pip install 'fsql[spark]' (and a Java 17+ runtime)") from None
    builder = SparkSession.builder.appName("fsql")
    builder = (builder.remote(spec.master) if spec.master.startswith("sc://")
               else builder.master(spec.master))
    log4j = Path(__file__).with_name("spark_log4j2.properties").as_uri()
    conf = {"spark.sql.session.timeZone": "UTC", "spark.sql.timestampType": "TIMESTAMP_NTZ",
            "spark.ui.enabled": "false", "spark.ui.showConsoleProgress": "false",
            "spark.sql.ansi.enabled": "true",
            "spark.driver.extraJavaOptions": f"-Dlog4j2.configurationFile={log4j}",
            **dict(spec.conf)}
    for k, v in conf.items():
        builder = builder.config(k, v)
    try:
        spark = builder.getOrCreate()
    except Exception as e:  # noqa: BLE001 - no Java, a bad master URL, a missing jar
        raise ConfigError(f"cannot start Spark ({spec.master}): {_first_line(e)}",
                          expected="a reachable Spark master and a Java 17+ runtime",
                          hint=_start_hint(e)) from None
    for k in ("spark.sql.session.timeZone", "spark.sql.timestampType", "spark.sql.ansi.enabled"):
        spark.conf.set(k, conf[k])  # an already running session (tests, notebooks) gets them too
    if not spec.master.startswith("sc://"):
        spark.sparkContext.setLogLevel("ERROR")
    return spark


# a class each table format's data source needs on the driver's classpath
_FORMAT_CLASSES = {"delta": ("org.apache.spark.sql.delta.sources.DeltaDataSource",
                             "io.delta:delta-spark_2.13"),
                   "iceberg": ("org.apache.iceberg.spark.source.IcebergSource",
                               "org.apache.iceberg:iceberg-spark-runtime-4.0_2.13")}


def _check_format(spark: Any, fmt: str) -> None:
    """Delta and Iceberg need their jars on the cluster: say so before building anything."""
    if fmt not in _FORMAT_CLASSES:
        return
    cls, package = _FORMAT_CLASSES[fmt]
    try:
        spark.sparkContext._jvm.java.lang.Class.forName(cls)
    except Exception:  # noqa: BLE001 - py4j wraps ClassNotFoundException
        raise ConfigError(f"table_format {fmt} needs its jars, which this Spark lacks",
                          expected=f"{cls} on the classpath",
                          hint=f"add spark.jars.packages: {package}:<version> to the target's "
                               f"spark.conf (or table_format: parquet)") from None


def _start_hint(e: BaseException) -> str:
    text = str(e)
    if "JAVA_GATEWAY_EXITED" in text or "JAVA_HOME" in text:
        return "install a Java runtime (Debian: apt-get install openjdk-17-jre-headless)"
    return "check `spark.master` of the target in fsql_project.yml (local[N], spark://, sc://)"


def _first_line(e: BaseException) -> str:
    return (str(e).strip().splitlines() or [type(e).__name__])[0][:300]


class SparkCursor:
    """Runs fsql's DuckDB SQL on Spark (transpiled), DB-API style. ``fetchmany`` streams
    (partition by partition: the driver never holds the whole result); ``fetchone`` /
    ``fetchall`` collect."""

    def __init__(self, engine: SparkEngine) -> None:
        self.engine = engine
        self._df: Any = None
        self._rows: list[tuple[Any, ...]] | None = None
        self._iter: Iterator[Any] | None = None
        self._pos = 0
        self.description: list[tuple[str, str]] | None = None

    def execute(self, sql: str, parameters: Sequence[Any] | None = None) -> SparkCursor:
        text = sql.strip()
        self._df, self._rows, self._iter, self._pos, self.description = None, None, None, 0, None
        state = self.engine.state
        if state is not None and _STATE_SQL.search(text):
            # the state store's tables (a previous version's statistics, ...) live in the
            # DuckDB state file, never in Spark: such reads go there
            cur = state.cursor().execute(sql, list(parameters or []))
            self.description = [(d[0], str(d[1])) for d in cur.description or []]
            self._rows = [tuple(r) for r in cur.fetchall()] if cur.description else []
            return self
        if text.lower().startswith(("set ", "pragma ", "checkpoint", "begin", "commit",
                                    "rollback")):
            self._rows = []
            return self  # DuckDB session settings and transactions: nothing to do on Spark
        if self._special(text, parameters):
            return self
        self._df = self.engine.df(sql, parameters)
        self.description = [(f.name, spark_type_to_duckdb(f.dataType.simpleString()))
                            for f in self._df.schema.fields]
        return self

    def execute_native(self, sql: str) -> SparkCursor:
        """Run Spark SQL as written (fsql's Spark-specific generators)."""
        self._df, self._rows, self._iter, self._pos = self.engine.spark.sql(sql), None, None, 0
        self.description = [(f.name, spark_type_to_duckdb(f.dataType.simpleString()))
                            for f in self._df.schema.fields]
        return self

    def _special(self, text: str, parameters: Sequence[Any] | None) -> bool:
        """DuckDB statements Spark says differently: scratch tables, DESCRIBE."""
        temp, dropped = _TEMP_TABLE.match(text), _DROP_TEMP.match(text)
        desc = _DESCRIBE.match(text)
        if temp:  # a scratch table of one session: a cached temporary view
            self.engine.df(temp.group(2), parameters).cache().createOrReplaceTempView(
                temp.group(1))
        elif dropped:
            self.engine.spark.catalog.dropTempView(dropped.group(1))
        elif desc:  # DuckDB's DESCRIBE rows: name, type, null, key, default, extra
            schema = self.engine.df(desc.group(1), parameters).schema
            self._rows = [(f.name, spark_type_to_duckdb(f.dataType.simpleString()),
                           "YES", None, None, None) for f in schema.fields]
        return bool(temp or dropped or desc)

    def _collected(self) -> list[tuple[Any, ...]]:
        if self._rows is None:
            self._rows = [] if self._df is None else [tuple(r) for r in self._df.collect()]
        return self._rows

    def fetchone(self) -> tuple[Any, ...] | None:
        rows = self._collected()
        if self._pos >= len(rows):
            return None
        self._pos += 1
        return rows[self._pos - 1]

    def fetchall(self) -> list[tuple[Any, ...]]:
        rows = self._collected()
        out, self._pos = rows[self._pos:], len(rows)
        return out

    def fetchmany(self, size: int = 1) -> list[tuple[Any, ...]]:
        if self._rows is not None or self._df is None:
            rows = self._collected()
            out = rows[self._pos:self._pos + size]
            self._pos += len(out)
            return out
        if self._iter is None:
            self._iter = self._df.toLocalIterator(prefetchPartitions=True)
        return [tuple(r) for _, r in zip(range(size), self._iter, strict=False)]

    def fetchnumpy(self) -> dict[str, Any]:
        """Columns as numpy arrays, as DuckDB's ``fetchnumpy``: a masked array (mask =
        NULL) where a column has NULLs."""
        table = self._df.toArrow()
        return {n: _numpy(table.column(n)) for n in table.column_names}

    def df(self) -> Any:
        return self._df.toArrow().to_pandas()

    @property
    def columns(self) -> list[str]:
        return [d[0] for d in self.description or []]

    def cursor(self) -> SparkCursor:
        return SparkCursor(self.engine)

    def close(self) -> None:
        self._df = self._iter = None


class SparkEngine(Engine):
    """fsql's operations on a Spark session; versions are table directories read by path."""

    name = "spark"
    caps = Capabilities(transactions=False, asof_join=False, replace_view=True,
                        operator_profile=False, views_as_views=False)

    def __init__(self, spec: Any, root: Path, project: str, target: str | None = None) -> None:
        self.spec = spec
        self.target = target  # the name of the target (for hints)
        self.database = _ident(spec.database or project)
        warehouse = spec.warehouse
        self.warehouse = warehouse if "://" in warehouse else str((root / warehouse).resolve())
        self.fmt = spec.table_format
        self.live: dict[str, int] = {}  # the live version per model (from the state store)
        self.file_sources: set[str] = set()  # "src.table" of sources read from files
        self.state: Any = None  # the state store's DuckDB connection (fsql_meta reads)
        self._spark: Any = None
        self._schemas: dict[str, Any] = {}  # versions written by this engine: their schema
        self.Error: type[BaseException] = Exception

    # -- the session ---------------------------------------------------------------------
    @property
    def spark(self) -> Any:
        if self._spark is None:
            spark = session(self.spec)
            from pyspark.errors import PySparkException

            self.Error = PySparkException
            _check_format(spark, self.fmt)
            self._spark = spark
        return self._spark

    def start(self) -> None:
        """Start (or join) the session now: a Spark that cannot start is a ConfigError."""
        self.spark  # noqa: B018 - the property starts it

    @property
    def started(self) -> bool:
        return self._spark is not None

    # -- names ---------------------------------------------------------------------------
    def version_path(self, model: str, version: int) -> str:
        return f"{self.warehouse}/{self.database}/versions/{model}__v{version}"

    def source_path(self, source: str, table: str) -> str:
        return f"{self.warehouse}/{self.database}/sources/{source}/{table}"

    def to_spark(self, sql: str) -> str:
        """fsql's DuckDB SQL as Spark SQL, canonical names mapped onto this storage."""
        from .spark_names import transpile

        return transpile(sql, self._resolve)

    def _resolve(self, db: str, name: str) -> tuple[str, str] | None:
        """The Spark relation of a canonical name (None: leave it as written)."""
        if db == "fsql_versions":
            model, _, v = name.rpartition("__v")
            return self.fmt, self.version_path(model, int(v))
        if db == "main":
            if name not in self.live:
                raise ConfigError(f"'{name}' has no live version on Spark yet",
                                  model=name, hint="run `fsql run --target ...` first")
            return self.fmt, self.version_path(name, self.live[name])
        if f"{db}.{name}" in self.file_sources:  # (catalog-table sources pass as written)
            return "parquet", self.source_path(db, name)
        return None

    def spark_relation(self, relation: str) -> str:
        """The Spark SQL of a canonical relation (``"fsql_versions"."m__v3"``, ``"main"."m"``)."""
        db, _, name = relation.partition(".")
        target = self._resolve(db.strip('"'), name.strip('"'))
        return relation if target is None else f"{target[0]}.`{target[1]}`"

    def df(self, sql: str, parameters: Sequence[Any] | None = None) -> Any:
        text = self.to_spark(sql)
        if _TRACE:
            import sys
            import time

            print(f"fsql spark {time.strftime('%H:%M:%S')}: {text[:300]}", file=sys.stderr)
        return self.spark.sql(text, args=list(parameters)) if parameters else \
            self.spark.sql(text)

    # -- operations ----------------------------------------------------------------------
    def cursor(self) -> SparkCursor:
        return SparkCursor(self)

    def create_version(self, cur: Any, relation: str, select_sql: str,
                       materialized: str) -> int | None:
        """Views are stored as tables on Spark: a version must outlive the session."""
        model, version = _parse_version(relation)
        path = self.version_path(model, version)
        self.remove_path(path)  # what a killed attempt with this number left
        seed = _SEED.fullmatch(select_sql.strip())
        if seed:  # a seed: small by definition, read as DuckDB reads it (the same types)
            from .duckdb import arrow_table, connect

            return self.write_frame(path, arrow_table(connect(), select_sql))
        from pyspark.sql import Observation
        from pyspark.sql import functions as F

        # the row count is observed while the table is written: no second job to count it
        seen = Observation(f"fsql_{model}_{version}")
        df = self.df(select_sql)
        df.observe(seen, F.count(F.lit(1)).alias("rows")).write.format(self.fmt).mode(
            "errorifexists").save(path)
        self._schemas[relation] = df.schema  # describe() needs no footer read
        return int(seen.get["rows"])

    def drop_relation(self, cur: Any, relation: str) -> None:
        model, version = _parse_version(relation)
        self.remove_path(self.version_path(model, version))

    def remove_path(self, path: str) -> None:
        if "://" not in path:
            shutil.rmtree(path, ignore_errors=True)
            return
        jvm = self.spark.sparkContext._jvm  # remote storage: Hadoop's FileSystem
        p = jvm.org.apache.hadoop.fs.Path(path)
        p.getFileSystem(self.spark.sparkContext._jsc.hadoopConfiguration()).delete(p, True)

    def exists(self, path: str) -> bool:
        return Path(path).exists() if "://" not in path else True

    def publish_views(self, live: Sequence[tuple[str, int]]) -> None:
        """Point each model's catalog view at its new version (the user-visible commit)."""
        self.spark.sql(f"create database if not exists `{self.database}`")
        for model, version in live:
            fmt = "parquet" if self.fmt == "parquet" else self.fmt
            self.spark.sql(f"create or replace view `{self.database}`.`{model}` as select * "
                           f"from {fmt}.`{self.version_path(model, version)}`")

    def drop_view(self, model: str) -> None:
        self.spark.sql(f"drop view if exists `{self.database}`.`{model}`")

    def describe(self, cur: Any, relation: str) -> list[tuple[str, str]]:
        schema = self._schemas.get(relation) or self.df(f"select * from {relation} limit 0").schema
        return [(f.name, spark_type_to_duckdb(f.dataType.simpleString())) for f in schema.fields]

    def fetch_arrow(self, sql: str) -> Any:
        return self.df(sql).toArrow()

    def stream(self, sql: str, batch_rows: int) -> Iterator[list[tuple[Any, ...]]]:
        cur = self.cursor().execute(sql)
        return iter(lambda: cur.fetchmany(batch_rows), [])

    def upload_frame(self, name: str, data: Any) -> str:
        import pyarrow as pa

        table = data if isinstance(data, pa.Table) else pa.Table.from_pandas(
            data, preserve_index=False)
        self.spark.createDataFrame(table).createOrReplaceTempView(name)
        return f"`{name}`"

    def write_frame(self, path: str, data: Any) -> int:
        """Write an Arrow table / pandas frame as a table directory (seeds, ingest)."""
        import pyarrow as pa

        table = data if isinstance(data, pa.Table) else pa.Table.from_pandas(
            data, preserve_index=False)
        self.remove_path(path)
        self.spark.createDataFrame(table).write.format(self.fmt).save(path)
        return table.num_rows

    def load_source(self, root: Path, source: Any) -> str:
        """A file source (a :class:`fsql.spec.SourceSpec`), read by Spark with its declared
        column types and stored as a table directory; the relation name recorded."""
        path = source.path if "://" in source.path else str(root / source.path)
        fmt = (source.format or _format_of(source.path)).lower()
        reader = self.spark.read
        declared = [(c.name, c.type) for c in source.columns]
        if fmt == "csv":
            reader = reader.option("header", "true")
            if declared and all(t for _, t in declared):
                reader = reader.schema(", ".join(f"`{n}` {_spark_type(str(t))}"
                                                 for n, t in declared))
            else:
                reader = reader.option("inferSchema", "true")
        dest = self.source_path(source.source, source.name)
        self.remove_path(dest)
        reader.format("json" if fmt == "json" else fmt).load(path).write.format(
            self.fmt).save(dest)
        return dest


def _numpy(col: Any) -> Any:
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    col = col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col
    if not col.null_count:
        return col.to_numpy(zero_copy_only=False)
    mask = col.is_null().to_numpy(zero_copy_only=False)
    t = col.type
    if pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_boolean(t):
        data = pc.fill_null(col, pa.scalar(0, t) if not pa.types.is_boolean(t)
                            else pa.scalar(False)).to_numpy(zero_copy_only=False)
    else:
        data = np.array(col.to_pylist(), dtype=object)
    return np.ma.masked_array(data, mask=mask)


def _format_of(path: str) -> str:
    lower = path.lower().removesuffix(".gz")
    return "parquet" if lower.endswith(".parquet") else "json" if lower.endswith(
        (".json", ".ndjson")) else "csv"


def _spark_type(duck: str) -> str:
    """Spark's name of a declared (DuckDB) column type."""
    from sqlglot import exp

    return exp.DataType.build(duck, dialect="duckdb").sql(dialect="spark")


def _parse_version(relation: str) -> tuple[str, int]:
    m = re.fullmatch(r'"fsql_versions"\."(.+)__v(\d+)"', relation)
    if m is None:
        raise ValueError(f"not a version relation: {relation}")
    return m.group(1), int(m.group(2))


def _ident(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_]", "_", name).lower()


def java_available() -> bool:
    """A ``java`` on PATH or JAVA_HOME (pyspark starts the JVM from there)."""
    return bool(shutil.which("java") or os.environ.get("JAVA_HOME"))
