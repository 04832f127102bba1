"""The online-store interface, the stored layout of a feature set, and shared helpers.

An online store keeps, per feature set, the latest row of every entity: the entity
key, the event timestamp (epoch microseconds, UTC), a content hash (for incremental
materialization) and the feature values. Stores implement four primitives
(``write_batch`` / ``read_batch`` / ``delete`` / ``status``) plus layout lookup.

>>> kind_of("DECIMAL(18,2)"), kind_of("BIGINT"), kind_of("VARCHAR[]"), kind_of("TIMESTAMP")
('float', 'int', 'json', 'str')
"""

from __future__ import annotations

import json
import operator
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from fsql.errors import ConfigError

__all__ = [
    "FeatureSetStatus",
    "Key",
    "Layout",
    "OnlineFeatureSet",
    "OnlineStore",
    "Row",
    "columns_to_rows",
    "getter",
    "kind_of",
    "now_us",
    "to_epoch_us",
    "us_to_iso",
]

Key = tuple[Any, ...]
# A stored row as returned by read_batch: (event_ts_us, value_of_feature_1, ...).
Row = tuple[Any, ...]

_INT_TYPES = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "UTINYINT", "USMALLINT", "UINTEGER",
              "UBIGINT", "HUGEINT", "UHUGEINT", "INT", "INT1", "INT2", "INT4", "INT8", "LONG")
_FLOAT_TYPES = ("FLOAT", "DOUBLE", "REAL", "DECIMAL", "NUMERIC", "FLOAT4", "FLOAT8")


@dataclass(frozen=True)
class OnlineFeatureSet:
    """What materialize and online reads need to know about one feature set.

    ``relation`` is the quoted SQL relation of the live version, ``ttl_seconds`` None or 0
    means unlimited, ``feature_types`` maps column names (join keys, features) to DuckDB
    types. ``created_timestamp`` optionally breaks ties between rows with equal event time.
    """

    name: str
    relation: str
    version: int | None
    join_keys: tuple[str, ...]
    timestamp: str
    ttl_seconds: float | None
    features: tuple[str, ...]
    feature_types: Mapping[str, str] = field(default_factory=dict)
    created_timestamp: str | None = None


@dataclass(frozen=True)
class Layout:
    """How one feature set is stored online: key/feature names and value kinds."""

    name: str
    join_keys: tuple[str, ...]
    key_kinds: tuple[str, ...]
    features: tuple[str, ...]
    kinds: tuple[str, ...]
    ttl_seconds: float | None = None
    version: int | None = None
    timestamp: str = ""

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str | bytes) -> Layout:
        d = json.loads(text)
        return cls(
            name=d["name"], join_keys=tuple(d["join_keys"]), key_kinds=tuple(d["key_kinds"]),
            features=tuple(d["features"]), kinds=tuple(d["kinds"]),
            ttl_seconds=d.get("ttl_seconds"), version=d.get("version"),
            timestamp=d.get("timestamp", ""),
        )

    def same_shape(self, other: Layout | None) -> bool:
        """True when rows written under ``other`` can be read under this layout."""
        return other is not None and (self.join_keys, self.key_kinds, self.features,
                                      self.kinds) == (other.join_keys, other.key_kinds,
                                                      other.features, other.kinds)

    def to_feature_set(self) -> OnlineFeatureSet:
        """An OnlineFeatureSet for reading (no relation: serving needs only the store)."""
        types = {k: _TYPE_OF_KIND[t] for k, t in zip(self.join_keys, self.key_kinds, strict=True)}
        types.update({f: _TYPE_OF_KIND[t] for f, t in zip(self.features, self.kinds, strict=True)})
        return OnlineFeatureSet(self.name, "", self.version, self.join_keys, self.timestamp,
                                self.ttl_seconds, self.features, types)


_TYPE_OF_KIND = {"int": "BIGINT", "float": "DOUBLE", "bool": "BOOLEAN", "str": "VARCHAR",
                 "json": "JSON"}


@dataclass(frozen=True)
class FeatureSetStatus:
    """What is online for one feature set (``store.status()``)."""

    name: str
    version: int | None
    materialized_at: str | None
    as_of: str | None
    row_count: int
    rows_written: int
    mode: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def kind_of(duckdb_type: str) -> str:
    """Map a DuckDB type to the value kind stored online: int/float/bool/str/json."""
    t = duckdb_type.strip().upper()
    if t.endswith("]") or t.startswith(("STRUCT", "MAP", "UNION", "JSON")):
        return "json"
    base = t.split("(", 1)[0].strip()
    if base in _INT_TYPES:
        return "int"
    if base in _FLOAT_TYPES:
        return "float"
    if base in ("BOOLEAN", "BOOL", "LOGICAL"):
        return "bool"
    return "str"


def now_us() -> int:
    """The current UTC time in epoch microseconds."""
    return time.time_ns() // 1000


EPOCH_LIMIT_S = 253_402_300_799  # 9999-12-31T23:59:59Z: int64 microseconds hold it


def to_epoch_us(value: datetime | date | str | int | float) -> int:
    """A timestamp (naive = UTC), ISO string, date or epoch seconds as epoch microseconds.

    >>> to_epoch_us("1970-01-01T00:00:01Z"), to_epoch_us(datetime(1970, 1, 1, 0, 0, 2))
    (1000000, 2000000)
    """
    if isinstance(value, bool) or not isinstance(value, datetime | date | str | int | float):
        raise ConfigError(f"not a timestamp: {value!r}",
                          expected="an ISO string, epoch seconds, a date or a datetime")
    if isinstance(value, int | float):
        if not -EPOCH_LIMIT_S <= value <= EPOCH_LIMIT_S:  # also False for NaN
            raise ConfigError(f"epoch seconds out of range: {value!r}",
                              expected=f"a number within +-{EPOCH_LIMIT_S}")
        return int(round(value * 1_000_000))
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError as e:
            raise ConfigError(f"not an ISO timestamp: {value!r}",
                              expected="e.g. 2024-05-01T12:00:00Z") from e
    if not isinstance(value, datetime):
        value = datetime(value.year, value.month, value.day)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    delta = value - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def us_to_iso(us: int) -> str:
    """Epoch microseconds as an ISO-8601 UTC string (``...Z``, fraction only when non-zero).

    >>> us_to_iso(1_500_000), us_to_iso(0)
    ('1970-01-01T00:00:01.500000Z', '1970-01-01T00:00:00Z')
    """
    sec, frac = divmod(us, 1_000_000)
    text = _SECONDS.get(sec)
    if text is None:
        if len(_SECONDS) > 100_000:
            _SECONDS.clear()
        text = _SECONDS[sec] = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(sec))
    return f"{text}.{frac:06d}Z" if frac else text + "Z"


_SECONDS: dict[int, str] = {}


def check_key(layout: Layout, key: Key) -> None:
    """Raise ConfigError when ``key`` does not match the layout's key kinds."""
    if len(key) != len(layout.join_keys):
        raise ConfigError(f"feature set '{layout.name}' expects join keys "
                          f"{list(layout.join_keys)}, got {len(key)} value(s)")
    for name, kind, v in zip(layout.join_keys, layout.key_kinds, key, strict=True):
        ok = (isinstance(v, int) and not isinstance(v, bool)) if kind == "int" else (
            isinstance(v, str))
        if not ok:
            raise ConfigError(f"join key '{name}' of feature set '{layout.name}' must be "
                              f"{'an integer' if kind == 'int' else 'a string'}, got {v!r}",
                              expected="int" if kind == "int" else "str")


def columns_to_rows(ts: list[Any], cols: list[list[Any]]) -> list[Row | None]:
    """The rows of a :meth:`OnlineStore.read_columns` answer (None for a missing key)."""
    return [None if t is None else (t, *vals)
            for t, *vals in zip(ts, *cols, strict=True)]


def getter(indexes: Sequence[int]) -> Callable[[Sequence[Any]], tuple[Any, ...]]:
    """A fast function returning the items at ``indexes`` of a row, always as a tuple.

    >>> getter([2, 0])("abc"), getter([1])("abc"), getter([])("abc")
    (('c', 'a'), ('b',), ())
    """
    if len(indexes) > 1:
        return operator.itemgetter(*indexes)
    if len(indexes) == 1:
        i = indexes[0]
        return lambda r: (r[i],)
    return lambda r: ()


def read_batch_via_columns(store: OnlineStore, name: str, keys: Sequence[Key],
                           features: Sequence[str]) -> list[Row | None]:
    """``read_batch`` for stores whose native read is :meth:`OnlineStore.read_columns`."""
    width = len(keys[0]) if keys else 0
    cols = [[k[i] for k in keys] for i in range(width)]
    return columns_to_rows(*store.read_columns(name, cols, features))


class OnlineStore(ABC):
    """A key-value store holding the latest row per entity of each feature set.

    Rows written are ``(*key, event_ts_us, content_hash, *features)`` in layout order;
    rows read are ``(event_ts_us, *features)`` in the requested feature order (None for a
    feature the stored layout does not have). JSON-kind values are written as JSON text
    and read back decoded.
    """

    kind = "abstract"

    @abstractmethod
    def layout(self, name: str) -> Layout | None:
        """The stored layout of feature set ``name`` (None when never written)."""

    @abstractmethod
    def write_batch(self, layout: Layout, rows: Iterable[Sequence[Any]], *,
                    reset: bool = False, delete_keys: Iterable[Key] = (),
                    status: FeatureSetStatus | None = None) -> int:
        """Upsert ``rows`` (atomically where the store can), optionally dropping all
        previous rows first (``reset``), then delete ``delete_keys`` (consumed only after
        ``rows``); record ``status`` (row_count/rows_written filled in by the store).
        A layout of a different shape replaces the stored one and all its rows.
        Returns the number of rows written.
        """

    @abstractmethod
    def read_batch(self, name: str, keys: Sequence[Key],
                   features: Sequence[str]) -> list[Row | None]:
        """Look up ``keys``; one ``(event_ts_us, *values)`` or None per key, in order."""

    def read_columns(self, name: str, keys: Sequence[Sequence[Any]],
                     features: Sequence[str]) -> tuple[list[Any], list[list[Any]]]:
        """Column-oriented :meth:`read_batch` (what online reads use).

        ``keys`` holds one sequence of values per join key, all of the same length.
        Returns the event timestamps (None for a missing key) and one new list of values
        per feature, aligned with the keys.
        """
        n = len(keys[0]) if keys else 0
        rows = self.read_batch(name, list(zip(*keys, strict=True)), features)
        ts = [None if r is None else r[0] for r in rows]
        blank = (None,) * (len(features) + 1)
        cols = list(zip(*(blank if r is None else r for r in rows), strict=True))
        return ts, [list(c) for c in cols[1:]] if n else [[] for _ in features]

    @abstractmethod
    def delete(self, name: str, keys: Iterable[Key] | None = None) -> int:
        """Delete some keys of a feature set, or the whole feature set when keys is None."""

    @abstractmethod
    def entity_hashes(self, name: str) -> dict[Key, int | None]:
        """Every stored key of ``name`` with its content hash (for incremental writes)."""

    @abstractmethod
    def count(self, name: str) -> int:
        """Number of entities stored for ``name``."""

    @abstractmethod
    def status(self) -> dict[str, FeatureSetStatus]:
        """What is online: feature set -> version, materialized_at, row count."""

    def layouts(self) -> dict[str, Layout]:
        """All stored layouts by feature set name."""
        out = {}
        for name in sorted(self.status()):
            lay = self.layout(name)
            if lay is not None:
                out[name] = lay
        return out

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections."""

    def __enter__(self) -> OnlineStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
