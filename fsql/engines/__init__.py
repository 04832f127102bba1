"""Engines: the only package that imports duckdb or pyspark.

``base`` declares the :class:`~fsql.engines.base.Engine` operations and capability flags;
``duckdb`` is the embedded default; ``spark`` runs the same project on Apache Spark.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = ["open_engine"]


def open_engine(profile: Any, con: Any, root: Path, project: str) -> Any:
    """The engine of a profile (:class:`fsql.spec.ProfileSpec`): DuckDB on ``con`` (the
    state connection: data and state share the file), or Spark (its session starts on
    first use, so a run with nothing to build never starts one)."""
    if profile.engine == "spark":
        from .spark import SparkEngine

        return SparkEngine(profile.spark, root, project, profile.target)
    from .duckdb import DuckDBEngine

    return DuckDBEngine(con)
