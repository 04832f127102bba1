"""Engines: the only package that imports duckdb or pyspark.

``base`` declares the :class:`~fsql.engines.base.Engine` operations and capability flags;
``duckdb`` is the embedded default; ``spark`` runs the same project on Apache Spark.
"""
