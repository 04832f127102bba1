"""Online serving: stores (SQLite, Redis, in-memory), materialize, reads, HTTP server.

>>> from fsql.online import InMemoryStore, OnlineFeatureSet, get_online_features
"""

from __future__ import annotations

from fsql.online.base import FeatureSetStatus, Layout, OnlineFeatureSet, OnlineStore
from fsql.online.config import store_from_config
from fsql.online.memory import InMemoryStore
from fsql.online.read import OnlineResponse, get_online_features, get_online_features_columns
from fsql.online.sqlite import SQLiteStore

__all__ = [
    "FeatureSetStatus",
    "InMemoryStore",
    "Layout",
    "MaterializeResult",
    "OnlineFeatureSet",
    "OnlineResponse",
    "OnlineStore",
    "RedisStore",
    "SQLiteStore",
    "get_online_features",
    "get_online_features_columns",
    "materialize",
    "materialize_all",
    "store_from_config",
]


_LAZY = {
    "RedisStore": "fsql.online.redis_store",
    "MaterializeResult": "fsql.online.materializer",
    "materialize": "fsql.online.materializer",
    "materialize_all": "fsql.online.materializer",
}


def __getattr__(name: str) -> object:
    """Import the Redis client and DuckDB only when used (serving needs neither)."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'fsql.online' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)
