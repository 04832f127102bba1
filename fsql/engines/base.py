"""The engine seam: what fsql asks of the place models are built, as operations.

fsql writes its SQL once, in DuckDB's dialect (the authoring dialect, the fingerprint basis),
naming relations canonically: ``"main"."m"`` (a model's live view), ``"fsql_versions"."m__v3"``
(one version), ``"raw"."t"`` (a source). An :class:`Engine` runs that SQL where the data is —
DuckDB runs it as written; Spark transpiles it and maps the names onto its own storage — and
offers the operations that differ by more than dialect (create a version, swap the live view,
upload a frame, fetch Arrow, stream rows, describe a relation).

Everything above the seam (loader, renderer, graph, planner, fingerprints, the expectation
vocabulary and result shaping, drift math, online stores, docs site) is engine-neutral; the
state store (``fsql_meta``) is always a small transactional DuckDB file, never inside Spark.

>>> from fsql.engines.duckdb import DuckDBEngine
>>> eng = DuckDBEngine.in_memory()
>>> eng.caps.transactions, eng.caps.asof_join
(True, True)
>>> cur = eng.cursor()
>>> eng.create_version(cur, '"t"', "select 1 as x", "table")
1
>>> eng.describe(cur, '"t"')
[('x', 'INTEGER')]
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol

__all__ = ["Capabilities", "Cursor", "Engine"]


@dataclass(frozen=True)
class Capabilities:
    """What an engine can do; callers branch on these, never on the engine's name."""

    transactions: bool      # multi-statement transactions spanning data and state (one file)
    asof_join: bool         # ASOF JOIN (else the union + last-ignore-nulls form)
    replace_view: bool      # CREATE OR REPLACE VIEW in the engine's catalog
    operator_profile: bool  # a per-query operator profile (the docs site's run view)
    views_as_views: bool    # `materialized: view` stays a view (else it is stored as a table)


class Cursor(Protocol):
    """The DB-API subset fsql's generated SQL runs through (DuckDB's own cursor satisfies it;
    other engines adapt). SQL given to ``execute`` is fsql's DuckDB dialect."""

    def execute(self, sql: str, parameters: Sequence[Any] | None = ...) -> Any: ...

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...

    def fetchmany(self, size: int = ...) -> list[Any]: ...


class Engine(ABC):
    """Where models are built and features read. One engine per command (one Spark
    session, one DuckDB connection), shared by every model of a run."""

    name: ClassVar[str]
    caps: ClassVar[Capabilities]
    Error: type[BaseException]  # what a failing query raises

    def publish_views(self, live: Sequence[tuple[str, int]]) -> None:
        """Two-phase engines: point each model's catalog view at its new version, before the
        state store records it (transactional engines swap views in the state transaction)."""
        return None

    @abstractmethod
    def cursor(self) -> Any:
        """A cursor for one thread (DuckDB: a cursor of the one connection)."""

    @abstractmethod
    def create_version(self, cur: Any, relation: str, select_sql: str,
                       materialized: str) -> int | None:
        """Build a NEW relation from a SELECT; its row count (None for a view)."""

    @abstractmethod
    def drop_relation(self, cur: Any, relation: str) -> None:
        """Drop one version's relation (table or view) if it exists."""

    @abstractmethod
    def describe(self, cur: Any, relation: str) -> list[tuple[str, str]]:
        """(column, type in DuckDB's spelling) of a relation or parenthesized query."""

    @abstractmethod
    def fetch_arrow(self, sql: str) -> Any:
        """Run ``sql`` and return a ``pyarrow.Table`` (for results that fit in memory)."""

    @abstractmethod
    def stream(self, sql: str, batch_rows: int) -> Iterator[list[tuple[Any, ...]]]:
        """Run ``sql`` and yield its rows in batches (never the whole result at once)."""

    @abstractmethod
    def upload_frame(self, name: str, data: Any) -> str:
        """Expose a pandas DataFrame / Arrow table to SQL as ``name``; the relation name."""

    def start(self) -> None:
        """Connect now (engines that connect lazily); failing to is a ConfigError."""
        return None

    def close(self) -> None:
        """Release the engine's resources (a Spark session is kept for the process)."""
        return None
