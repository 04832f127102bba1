"""Build an online store from the ``online_store`` section of ``fsql_project.yml``.

>>> store_from_config({"online_store": {"type": "memory"}}, Path(".")).kind
'memory'
>>> store_from_config({"type": "sqlit"}, Path("."))
Traceback (most recent call last):
...
fsql.errors.ConfigError: fsql_project.yml: error: unknown online_store type 'sqlit'
  expected: one of: memory, redis, sqlite
  hint: did you mean 'sqlite'?
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from fsql.errors import ConfigError, did_you_mean
from fsql.online.base import OnlineStore

__all__ = ["DEFAULT_CONFIG", "store_from_config"]

DEFAULT_CONFIG: Mapping[str, Any] = {"type": "sqlite", "path": "online.sqlite"}
_KEYS = {
    "sqlite": {"type", "path"},
    "redis": {"type", "url", "prefix"},
    "memory": {"type"},
}
_FILE = "fsql_project.yml"


def store_from_config(config: Mapping[str, Any] | None, project_root: Path) -> OnlineStore:
    """Open the online store described by ``config``.

    ``config`` is either the whole project config (with an ``online_store`` key) or the
    section itself: ``{type: sqlite, path: online.sqlite}`` (path relative to
    ``project_root``; the default), ``{type: redis, url: redis://127.0.0.1:6379/0,
    prefix: fsql}`` or ``{type: memory}``. Raises ConfigError on a bad section.
    """
    section = _section(config)
    kind = section.get("type", "sqlite")
    if not isinstance(kind, str) or kind not in _KEYS:
        raise ConfigError(f"unknown online_store type {kind!r}", path=_FILE,
                          expected="one of: " + ", ".join(sorted(_KEYS)),
                          hint=did_you_mean(str(kind), _KEYS))
    for key in sorted(section):
        if key not in _KEYS[kind]:
            raise ConfigError(f"unknown key {key!r} in online_store (type {kind})", path=_FILE,
                              expected="one of: " + ", ".join(sorted(_KEYS[kind])),
                              hint=did_you_mean(str(key), _KEYS[kind]))
    if kind == "memory":
        from fsql.online.memory import InMemoryStore

        return InMemoryStore()
    if kind == "redis":
        return _redis(section)
    return _sqlite(section, project_root)


def _section(config: Mapping[str, Any] | None) -> Mapping[str, Any]:
    if config is None:
        return DEFAULT_CONFIG
    if not isinstance(config, Mapping):
        raise ConfigError("online_store must be a mapping", path=_FILE,
                          expected="{type: sqlite, path: online.sqlite}")
    if "online_store" in config:
        return _section(config["online_store"] or DEFAULT_CONFIG)
    if "type" not in config and set(config) - set().union(*_KEYS.values()):
        return DEFAULT_CONFIG  # a project config without an online_store section
    return config


def _str_option(section: Mapping[str, Any], key: str, default: str) -> str:
    value = section.get(key, default)
    if not isinstance(value, str) or not value:
        raise ConfigError(f"online_store.{key} must be a non-empty string, got {value!r}",
                          path=_FILE, expected="a string")
    return value


def _sqlite(section: Mapping[str, Any], root: Path) -> OnlineStore:
    from fsql.online.sqlite import SQLiteStore

    path = _str_option(section, "path", "online.sqlite")
    if path == ":memory:":
        return SQLiteStore(path)
    full = Path(path) if Path(path).is_absolute() else Path(root) / path
    full.parent.mkdir(parents=True, exist_ok=True)
    return SQLiteStore(full)


def _redis(section: Mapping[str, Any]) -> OnlineStore:
    from fsql.online.redis_store import RedisStore

    url = _str_option(section, "url", "redis://127.0.0.1:6379/0")
    if not url.startswith(("redis://", "rediss://", "unix://")):
        raise ConfigError(f"online_store.url must be a redis:// URL, got {url!r}", path=_FILE,
                          expected="redis://host:port/db")
    return RedisStore(url, prefix=_str_option(section, "prefix", "fsql"))
