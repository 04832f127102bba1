"""fsql — a feature store that feels like dbt.

Public API (imports are lazy so ``fsql --help`` stays fast):

>>> import fsql
>>> sorted(fsql.__all__) == fsql.__all__
True
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

__all__ = [
    "CompileError",
    "ConfigError",
    "ExecutionError",
    "FeatureSet",
    "FeatureStore",
    "FsqlError",
    "IngestError",
    "Project",
    "__version__",
    "init_project",
    "validate",
]

_LAZY = {
    "Project": "fsql.api",
    "init_project": "fsql.api",
    "CompileError": "fsql.errors",
    "ConfigError": "fsql.errors",
    "ExecutionError": "fsql.errors",
    "FsqlError": "fsql.errors",
    "IngestError": "fsql.errors",
    "FeatureSet": "fsql.featurestore.featureset",
    "FeatureStore": "fsql.featurestore.store",
    "validate": "fsql.expectations",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'fsql' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
