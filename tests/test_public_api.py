"""The declared public API (httpx-style: a small, sorted ``__all__``) and the docstring
examples of every module (discovered, not listed: a new module's examples run too)."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import fsql

PUBLIC = ["CompileError", "ConfigError", "ExecutionError", "FeatureSet", "FeatureStore",
          "FsqlError", "IngestError", "Project", "__version__", "init_project", "validate"]


def test_all_is_sorted_and_pinned():
    assert fsql.__all__ == sorted(fsql.__all__)
    assert fsql.__all__ == PUBLIC
    for name in fsql.__all__:
        assert getattr(fsql, name) is not None


def _modules() -> list[str]:
    """Every module of the fsql package (the sample project's data script is not one)."""
    return ["fsql", *sorted(m.name for m in pkgutil.walk_packages(fsql.__path__, "fsql."))]


MODULES = _modules()
WITH_EXAMPLES = [m for m in MODULES if any(
    t.examples for t in doctest.DocTestFinder().find(importlib.import_module(m)))]


def test_docstring_examples_are_discovered_in_every_package():
    for wing in ("fsql.expectations", "fsql.online", "fsql.site", "fsql.engines.duckdb"):
        assert wing in WITH_EXAMPLES, wing
    assert len(WITH_EXAMPLES) >= 25, WITH_EXAMPLES


# their examples build the sample project (seconds each)
BUILDS_THE_SAMPLE = {"fsql.api", "fsql.featurestore.store"}


@pytest.mark.parametrize("module", [
    pytest.param(m, marks=pytest.mark.slow) if m in BUILDS_THE_SAMPLE else m
    for m in WITH_EXAMPLES])
def test_docstring_examples_run(module):
    result = doctest.testmod(importlib.import_module(module))
    assert result.failed == 0 and result.attempted > 0
