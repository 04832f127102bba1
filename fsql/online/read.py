"""Online reads: ``get_online_features`` and its ``OnlineResponse``.

Feature references are ``"feature_set:feature"`` (or ``"feature_set:*"``). A missing
entity gives None with status ``NOT_FOUND``; a stored row older than the feature set's
TTL at read time (``now``, default the current time) gives None with ``OUTSIDE_MAX_AGE``.
Parsed requests are cached, so a repeated request costs one store lookup per feature set.
"""

from __future__ import annotations

import operator
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, cast

from fsql.errors import ConfigError, did_you_mean
from fsql.online.base import OnlineFeatureSet, OnlineStore, kind_of, to_epoch_us, us_to_iso

__all__ = ["NOT_FOUND", "OUTSIDE_MAX_AGE", "PRESENT", "OnlineResponse", "get_online_features",
           "get_online_features_columns", "parse_refs"]

PRESENT, NOT_FOUND, OUTSIDE_MAX_AGE = "PRESENT", "NOT_FOUND", "OUTSIDE_MAX_AGE"
_CACHE_MAX = 512


@dataclass(frozen=True, eq=False)
class OnlineResponse:
    """Online feature values as columns: entity keys first, then the features requested.

    ``event_timestamps`` are epoch microseconds (0 for entity key columns, None when absent).
    Status and timestamp lists are shared between the columns of one feature set: treat
    them as read-only (``to_dict()`` returns copies of the values).
    """

    feature_names: tuple[str, ...]
    values: dict[str, list[Any]]
    statuses: dict[str, list[str]]
    event_timestamps: dict[str, list[int | None]]
    entity_columns: tuple[str, ...]

    @classmethod
    def _make(cls, feature_names: tuple[str, ...], values: dict[str, list[Any]],
              statuses: dict[str, list[str]], event_timestamps: dict[str, list[int | None]],
              entity_columns: tuple[str, ...]) -> OnlineResponse:
        """Build one without the frozen-dataclass ``__init__`` (five ``object.__setattr__``
        calls cost as much as a small read)."""
        self = object.__new__(cls)
        self.__dict__.update(feature_names=feature_names, values=values, statuses=statuses,
                             event_timestamps=event_timestamps, entity_columns=entity_columns)
        return self

    def to_dict(self) -> dict[str, list[Any]]:
        """Column name -> list of values (Feast's ``to_dict()``)."""
        return {k: list(v) for k, v in self.values.items()}

    def to_pandas(self) -> Any:
        """A pandas DataFrame with one row per entity row."""
        import pandas as pd

        return pd.DataFrame(self.to_dict(), columns=list(self.feature_names))

    def to_feast_json(self) -> dict[str, Any]:
        """The Feast feature-server JSON shape (one result per column)."""
        done: dict[int, list[str | None]] = {}
        results = []
        for name in self.feature_names:
            stamps = self.event_timestamps[name]
            iso = done.get(id(stamps))
            if iso is None:
                iso = done[id(stamps)] = [_iso(t) for t in stamps]
            results.append({"values": self.values[name], "statuses": self.statuses[name],
                            "event_timestamps": iso})
        return {"metadata": {"feature_names": list(self.feature_names)}, "results": results}


def _iso(t: int | None) -> str | None:
    if t is None:
        return None
    return _EPOCH if t == 0 else us_to_iso(t)


_EPOCH = "1970-01-01T00:00:00Z"


@dataclass(frozen=True)
class _Group:
    fs: OnlineFeatureSet
    features: tuple[str, ...]
    outputs: tuple[str, ...]
    key_kinds: tuple[str, ...]
    ttl_us: int | None
    key_types: tuple[type | None, ...] = ()  # int / str per join key (None: unchecked)


@dataclass(frozen=True)
class _Plan:
    groups: tuple[_Group, ...]
    entity_columns: tuple[str, ...]
    feature_names: tuple[str, ...]
    set_names: tuple[str, ...] = ()  # the feature sets of the groups, in order
    name_dict: dict[str, None] = field(default_factory=dict)  # feature_names as dict keys


_plans: dict[tuple[Any, ...], tuple[_Plan, tuple[OnlineFeatureSet | None, ...]]] = {}
_TYPES: dict[str, type | None] = {"int": int, "str": str}


def parse_refs(feature_sets: Mapping[str, OnlineFeatureSet], features: Sequence[str],
               full_feature_names: bool = False) -> _Plan:
    """Validate ``"fs:feature"`` references; ConfigError with a did-you-mean hint if bad."""
    if isinstance(features, str) or not features:
        raise ConfigError("features must be a non-empty list of 'feature_set:feature'",
                          expected='["feature_set:feature", ...]')
    grouped: dict[str, list[str]] = {}
    for ref in features:
        fs_name, feats = _parse_ref(feature_sets, ref)
        for f in feats:
            if f not in grouped.setdefault(fs_name, []):
                grouped[fs_name].append(f)
    groups: list[_Group] = []
    seen: dict[str, str] = {}
    entity_cols: dict[str, None] = {}
    for fs_name, feats in grouped.items():
        fs = feature_sets[fs_name]
        outs = tuple(f"{fs_name}__{f}" if full_feature_names else f for f in feats)
        for out in outs:
            if out in seen:
                raise ConfigError(f"feature name '{out}' is requested from both "
                                  f"'{seen[out]}' and '{fs_name}'",
                                  hint="pass full_feature_names=True")
            seen[out] = fs_name
        for k in fs.join_keys:
            entity_cols.setdefault(k, None)
        kinds = tuple(_key_kind(fs, k) for k in fs.join_keys)
        ttl = int(round(fs.ttl_seconds * 1_000_000)) if fs.ttl_seconds else None
        groups.append(_Group(fs, tuple(feats), outs, kinds, ttl,
                             tuple(_TYPES.get(k) for k in kinds)))
    names = (*entity_cols, *seen)
    return _Plan(tuple(groups), tuple(entity_cols), tuple(names),
                 tuple(g.fs.name for g in groups), dict.fromkeys(names))


def _parse_ref(feature_sets: Mapping[str, OnlineFeatureSet], ref: str) -> tuple[str, list[str]]:
    if not isinstance(ref, str) or ref.count(":") != 1:
        raise ConfigError(f"bad feature reference {ref!r}", expected="'feature_set:feature'")
    fs_name, feat = ref.split(":")
    fs = feature_sets.get(fs_name)
    if fs is None:
        raise ConfigError(f"unknown feature set '{fs_name}' in {ref!r}",
                          expected="one of: " + ", ".join(sorted(feature_sets)),
                          hint=did_you_mean(fs_name, feature_sets))
    if feat == "*":
        return fs_name, list(fs.features)
    if feat not in fs.features:
        raise ConfigError(f"unknown feature '{feat}' in feature set '{fs_name}'",
                          model=fs_name, expected="one of: " + ", ".join(fs.features),
                          hint=did_you_mean(feat, fs.features))
    return fs_name, [feat]


def _key_kind(fs: OnlineFeatureSet, key: str) -> str:
    t = fs.feature_types.get(key)
    if t is None:
        return ""
    return "int" if kind_of(t) == "int" else "str"


def _plan_for(feature_sets: Mapping[str, OnlineFeatureSet], features: Sequence[str],
              full: bool) -> _Plan:
    ck = (tuple(features) if not isinstance(features, str) else features, full)
    try:
        hit = _plans.get(ck)
    except TypeError:  # an unhashable reference: parse_refs says what is wrong
        return parse_refs(feature_sets, features, full)
    # a hit is valid while the same feature set objects are served (tuple == compares
    # identical objects without calling their __eq__ first)
    if hit is not None and tuple(map(feature_sets.get, hit[0].set_names)) == hit[1]:
        return hit[0]
    plan = parse_refs(feature_sets, features, full)
    if len(_plans) >= _CACHE_MAX:
        _plans.clear()
    _plans[ck] = (plan, tuple(g.fs for g in plan.groups))
    return plan


_I64 = 2**63


def _norm(v: Any, kind: str, name: str) -> Any:
    if kind == "int":
        if type(v) is int:
            return v
        if not isinstance(v, bool) and not isinstance(v, str | float):
            try:
                return operator.index(v)
            except TypeError:
                pass
    elif kind == "str":
        if isinstance(v, str):
            return str(v)
    else:
        return v
    raise ConfigError(f"join key '{name}' must be {'an integer' if kind == 'int' else 'a string'}"
                      f", got {v!r}", expected="int" if kind == "int" else "str")


def _key_columns(columns: Mapping[str, list[Any]], g: _Group, n: int) -> list[list[Any]]:
    """The join key columns of ``g``, checked (ints for integer keys, strings for string
    keys; integer-like values such as numpy ints become ints)."""
    if len(g.key_types) == 1:  # the common case, without the loop below
        col = columns[g.fs.join_keys[0]]
        want = g.key_types[0]
        if want is None or (type(col[0]) is want if n == 1 else set(map(type, col)) <= {want}):
            return [_in_range(col, g.fs.join_keys[0], n) if want is int else col]
    out = []
    for k, kind, want in zip(g.fs.join_keys, g.key_kinds, g.key_types, strict=True):
        col = columns[k]
        if want is not None and (type(col[0]) is not want if n == 1 else
                                 not set(map(type, col)) <= {want}):
            col = [_norm(v, kind, k) for v in col]
        out.append(_in_range(col, k, n) if kind == "int" else col)
    return out


def _in_range(col: list[int], name: str, n: int) -> list[int]:
    """Integer keys must fit the stores' 64-bit integers (min/max run in C)."""
    lo, hi = (col[0], col[0]) if n == 1 else (min(col), max(col)) if n else (0, 0)
    if lo < -_I64 or hi >= _I64:
        bad = lo if lo < -_I64 else hi
        raise ConfigError(f"join key '{name}' value {bad} does not fit in 64 bits",
                          expected=f"an integer from {-_I64} to {_I64 - 1}")
    return col


def _now(now: datetime | date | str | float | None) -> int:
    if now is None:
        return time.time_ns() // 1000
    return to_epoch_us(now)


def get_online_features(store: OnlineStore, feature_sets: Mapping[str, OnlineFeatureSet],
                        features: Sequence[str], entity_rows: Sequence[Mapping[str, Any]], *,
                        now: datetime | date | str | float | None = None,
                        full_feature_names: bool = False) -> OnlineResponse:
    """Look up the latest online values of ``features`` for each entity row.

    >>> from fsql.online.memory import InMemoryStore
    >>> from fsql.online.base import Layout
    >>> s = InMemoryStore()
    >>> _ = s.write_batch(Layout("u", ("id",), ("int",), ("x",), ("int",)), [(1, 0, None, 7)])
    >>> fs = {"u": OnlineFeatureSet("u", "", 1, ("id",), "ts", None, ("x",), {"id": "BIGINT"})}
    >>> get_online_features(s, fs, ["u:x"], [{"id": 1}, {"id": 2}]).to_dict()
    {'id': [1, 2], 'x': [7, None]}
    """
    plan = _plan_for(feature_sets, features, full_feature_names)
    columns: dict[str, list[Any]] = {}
    for col in plan.entity_columns:
        try:
            columns[col] = list(map(operator.itemgetter(col), entity_rows))
        except KeyError:
            raise ConfigError(f"entity row is missing join key '{col}'",
                              expected=f"keys {list(plan.entity_columns)}") from None
    return _lookup(store, plan, columns, len(entity_rows),
                   time.time_ns() // 1000 if now is None else to_epoch_us(now))


def get_online_features_columns(store: OnlineStore,
                                feature_sets: Mapping[str, OnlineFeatureSet],
                                features: Sequence[str], entities: Mapping[str, Sequence[Any]],
                                *, now: datetime | date | str | float | None = None,
                                full_feature_names: bool = False) -> OnlineResponse:
    """Like :func:`get_online_features` with entities as columns (join key -> values),
    the shape of the HTTP request."""
    plan = _plan_for(feature_sets, features, full_feature_names)
    lengths = {len(v) for v in entities.values()}
    if len(lengths) > 1:
        raise ConfigError("entity columns must have the same length")
    missing = [c for c in plan.entity_columns if c not in entities]
    if missing:
        raise ConfigError(f"entities are missing join key '{missing[0]}'",
                          expected=f"keys {list(plan.entity_columns)}",
                          hint=did_you_mean(missing[0], entities))
    columns = {c: list(entities[c]) for c in plan.entity_columns}
    return _lookup(store, plan, columns, lengths.pop() if lengths else 0, _now(now))


def _lookup(store: OnlineStore, plan: _Plan, columns: dict[str, list[Any]], n: int,
            now_us: int) -> OnlineResponse:
    """Read every group and build the response (the dicts are built in one go each: at
    this size, dict inserts are a good part of a one-entity read)."""
    present: list[str] = [PRESENT] * n
    zeros: list[int | None] = [0] * n
    vals = list(map(columns.__getitem__, plan.entity_columns))
    results = []
    for g in plan.groups:
        ts, cols = store.read_columns(g.fs.name, _key_columns(columns, g, n), g.features)
        cutoff = None if g.ttl_us is None else now_us - g.ttl_us
        if None not in ts and (cutoff is None or not ts or min(ts) >= cutoff):
            st = [PRESENT] * n
        else:
            st = _statuses(ts, cutoff)
            if OUTSIDE_MAX_AGE in st:
                cols = _blank_expired(st, cols)
        vals += cols
        results.append((g.outputs, st, ts))
    values = dict(zip(plan.feature_names, vals, strict=True))
    if len(results) == 1:  # status/timestamp lists are shared by a group's columns
        statuses = dict.fromkeys(plan.name_dict, results[0][1])
        stamps = dict.fromkeys(plan.name_dict, results[0][2])
        for k in plan.entity_columns:
            statuses[k], stamps[k] = present, zeros
    else:
        statuses = dict.fromkeys(plan.name_dict, present)
        stamps = dict.fromkeys(plan.name_dict, zeros)
        for outputs, st, ts in results:
            for out in outputs:
                statuses[out], stamps[out] = st, ts
    return OnlineResponse._make(plan.feature_names, values, statuses, stamps,
                                plan.entity_columns)


def _statuses(ts: list[int | None], cutoff: int | None) -> list[str]:
    """The status per row: NOT_FOUND (no row), OUTSIDE_MAX_AGE (older than ``cutoff``)."""
    if cutoff is None:
        return [NOT_FOUND if t is None else PRESENT for t in ts]
    if None not in ts and max(cast(list[int], ts)) < cutoff:
        return [OUTSIDE_MAX_AGE] * len(ts)
    return [NOT_FOUND if t is None else OUTSIDE_MAX_AGE if t < cutoff else PRESENT for t in ts]


def _blank_expired(st: list[str], cols: list[list[Any]]) -> list[list[Any]]:
    """The value columns with None for the expired rows."""
    if PRESENT not in st:
        return [[None] * len(st) for _ in cols]
    expired = [i for i, s in enumerate(st) if s is OUTSIDE_MAX_AGE]
    for col in cols:
        for i in expired:
            col[i] = None
    return cols
