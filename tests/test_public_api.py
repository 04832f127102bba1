"""The declared public API (httpx-style: a small, sorted ``__all__``) and the docstring
examples of the public modules."""

from __future__ import annotations

import doctest
import importlib

import pytest

import fsql

PUBLIC = ["CompileError", "ConfigError", "ExecutionError", "FeatureSet", "FeatureStore",
          "FsqlError", "IngestError", "Project", "__version__", "init_project", "validate"]


def test_all_is_sorted_and_pinned():
    assert fsql.__all__ == sorted(fsql.__all__)
    assert fsql.__all__ == PUBLIC
    for name in fsql.__all__:
        assert getattr(fsql, name) is not None


@pytest.mark.parametrize("module", ["fsql.errors", "fsql.graph", "fsql.compiler", "fsql.yamlio",
                                    "fsql.failures", "fsql.featureset", "fsql.engines.duckdb",
                                    "fsql.retrieval_sql", "fsql.expectations"])
def test_docstring_examples_run(module):
    result = doctest.testmod(importlib.import_module(module))
    assert result.failed == 0 and result.attempted > 0
