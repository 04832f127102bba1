"""Push: validate a column-oriented batch against a feature set and write it online.

>>> from fsql.online.memory import InMemoryStore
>>> fs = OnlineFeatureSet("u", "", 1, ("id",), "ts", None, ("x",), {"id": "BIGINT", "x": "DOUBLE"})
>>> s = InMemoryStore()
>>> push_online(s, fs, {"id": [1, 1], "ts": ["2024-01-01", "2024-01-02"], "x": [1, 2.5]})
1
>>> s.read_batch("u", [(1,)], ["x"])
[(1704153600000000, 2.5)]
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from typing import Any

from fsql.errors import ConfigError, did_you_mean
from fsql.online.base import Layout, OnlineFeatureSet, OnlineStore, kind_of, to_epoch_us

__all__ = ["check_frame", "push_online"]

_I64 = 2**63


def _utf8(v: str) -> bool:
    try:
        v.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


_CHECK = {
    "int": lambda v: isinstance(v, int) and not isinstance(v, bool) and -_I64 <= v < _I64,
    "float": lambda v: (isinstance(v, float) and math.isfinite(v)) or (
        isinstance(v, int) and not isinstance(v, bool) and -_I64 <= v < _I64),
    "bool": lambda v: isinstance(v, bool),
    "str": lambda v: isinstance(v, str) and (v.isascii() or _utf8(v)),
    "json": lambda v: not isinstance(v, float) or math.isfinite(v),
}
_WORD = {"int": "an integer within 64 bits", "float": "a finite number",
         "bool": "a boolean", "str": "a valid Unicode string", "json": "any JSON value"}


def _kinds(fs: OnlineFeatureSet) -> dict[str, str]:
    kinds = {}
    for col in (*fs.join_keys, *fs.features):
        t = fs.feature_types.get(col)
        kinds[col] = "json" if t is None else kind_of(t)
    for k in fs.join_keys:
        kinds[k] = "int" if kinds[k] == "int" else "str"
    return kinds


def check_frame(fs: OnlineFeatureSet, df: Mapping[str, Any]) -> int:
    """Validate ``df`` (column -> list) against ``fs``; return its row count.

    Raises ConfigError naming the column, the row and the expected type.
    """
    if not isinstance(df, Mapping) or not df:
        raise ConfigError("df must be a non-empty object of column -> list of values",
                          expected='{"col": [values], ...}')
    ts_col = fs.timestamp or "event_timestamp"
    allowed = {*fs.join_keys, ts_col, *fs.features}
    if fs.created_timestamp:
        allowed.add(fs.created_timestamp)
    for col in sorted(df):
        if col not in allowed:
            raise ConfigError(f"unknown column '{col}' for feature set '{fs.name}'",
                              model=fs.name, expected="columns " + ", ".join(sorted(allowed)),
                              hint=did_you_mean(col, allowed))
    missing = [c for c in (*fs.join_keys, ts_col, *fs.features) if c not in df]
    if missing:
        raise ConfigError(f"missing column(s) {missing} for feature set '{fs.name}'",
                          model=fs.name, expected="columns " + ", ".join(sorted(allowed)))
    lengths = {len(v) if isinstance(v, list) else -1 for v in df.values()}
    if -1 in lengths or len(lengths) != 1:
        raise ConfigError("every df column must be a list of the same length", model=fs.name)
    kinds = _kinds(fs)
    for col, kind in kinds.items():
        for i, v in enumerate(df[col]):
            if v is None:
                if col in fs.join_keys:
                    raise ConfigError(f"join key '{col}' is null in row {i}", model=fs.name)
                continue
            if not _CHECK[kind](v):
                raise ConfigError(f"column '{col}' row {i}: expected {_WORD[kind]}, got "
                                  f"{repr(v)[:40]}",
                                  model=fs.name, expected=fs.feature_types.get(col, kind))
    for i, v in enumerate(df[ts_col]):
        if v is None or isinstance(v, bool):
            raise ConfigError(f"timestamp '{ts_col}' row {i}: expected a timestamp, got {v!r}",
                              model=fs.name)
        to_epoch_us(v)
    return lengths.pop()


def push_online(store: OnlineStore, fs: OnlineFeatureSet, df: Mapping[str, Sequence[Any]]) -> int:
    """Validate and upsert ``df`` online (the latest row per key within the batch wins).

    Keeps the stored layout when it matches ``fs``; returns the number of entities written.
    """
    check_frame(fs, df)
    kinds = _kinds(fs)
    layout = Layout(fs.name, tuple(fs.join_keys), tuple(kinds[k] for k in fs.join_keys),
                    tuple(fs.features), tuple(kinds[f] for f in fs.features),
                    fs.ttl_seconds or None, fs.version, fs.timestamp)
    stored = store.layout(fs.name)
    if stored is not None:
        if not layout.same_shape(stored):
            raise ConfigError(f"the online layout of '{fs.name}' differs from its definition",
                              model=fs.name, hint="run `fsql materialize` first")
        layout = stored
    ts_col = fs.timestamp or "event_timestamp"
    latest: dict[tuple[Any, ...], tuple[Any, ...]] = {}
    stamps = [to_epoch_us(v) for v in df[ts_col]]
    for i, ts in enumerate(stamps):
        key = tuple(df[k][i] for k in fs.join_keys)
        prev = latest.get(key)
        if prev is not None and prev[0] > ts:
            continue
        vals = tuple(_encode(df[f][i], kinds[f]) for f in fs.features)
        latest[key] = (ts, None, *vals)
    rows = [(*k, *v) for k, v in latest.items()]
    return store.write_batch(layout, rows)


def _encode(v: Any, kind: str) -> Any:
    if v is None:
        return None
    if kind == "json":
        return json.dumps(v)
    if kind == "float":
        return float(v)
    return v
