"""``fsql.FeatureSet``: a feature set defined in Python (features computed outside SQL).

>>> import pandas as pd
>>> fs = FeatureSet("all_users_agg_m", entities=["user"], timestamp="dt", ttl="30d")
>>> _ = fs.infer_fields_from_df(pd.DataFrame({"user_id": [1], "dt": pd.to_datetime(["2026-01-01"]),
...                                       "spend": [2.5], "segment": ["a"]}))
>>> [(f.name, f.type) for f in fs.fields]
[('user_id', 'BIGINT'), ('dt', 'TIMESTAMP'), ('spend', 'DOUBLE'), ('segment', 'VARCHAR')]
>>> print(fs.to_yaml().splitlines()[1])
- name: all_users_agg_m
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = ["FeatureSet", "Field", "arrow_to_duckdb_type"]


@dataclass(frozen=True)
class Field:
    name: str
    type: str
    description: str = ""
    expectations: tuple[Any, ...] = ()


@dataclass
class FeatureSet:
    """A feature set registered with ``store.apply(fs)`` and filled with ``store.ingest``."""

    name: str
    entities: Sequence[str]
    timestamp: str
    ttl: str | int | None = None
    created_timestamp: str | None = None
    online: bool = False
    description: str = ""
    fields: list[Field] = field(default_factory=list)
    expectations: list[Any] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)

    def infer_fields_from_df(self, df: Any) -> FeatureSet:
        """Set ``fields`` from a pandas DataFrame's or Arrow table's column types."""
        schema = _arrow_schema(df)
        self.fields = [Field(f.name, arrow_to_duckdb_type(f.type)) for f in schema]
        return self

    def field(self, name: str) -> Field | None:
        return next((f for f in self.fields if f.name == name), None)

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"name": self.name, "description": self.description,
                             "entities": list(self.entities), "timestamp": self.timestamp}
        for k in ("ttl", "created_timestamp"):
            if getattr(self, k) is not None:
                d[k] = getattr(self, k)
        d["online"] = self.online
        if self.tags:
            d["tags"] = list(self.tags)
        d["columns"] = [{"name": f.name, "type": f.type,
                         **({"description": f.description} if f.description else {}),
                         **({"expectations": list(f.expectations)} if f.expectations else {})}
                        for f in self.fields]
        if self.expectations:
            d["expectations"] = list(self.expectations)
        return d

    def to_yaml(self) -> str:
        """The YAML ``store.apply`` writes to ``feature_sets/<name>.yml``."""
        import yaml

        return yaml.safe_dump({"feature_sets": [self.to_dict()]}, sort_keys=False)


def _arrow_schema(df: Any) -> Any:
    import pyarrow as pa

    if isinstance(df, pa.Table):
        return df.schema
    return pa.Schema.from_pandas(df, preserve_index=False)


def arrow_to_duckdb_type(t: Any) -> str:
    """DuckDB type name for an Arrow type (what DuckDB stores when it reads that column)."""
    import pyarrow as pa

    checks = [
        (pa.types.is_boolean, "BOOLEAN"), (pa.types.is_int8, "TINYINT"),
        (pa.types.is_int16, "SMALLINT"), (pa.types.is_int32, "INTEGER"),
        (pa.types.is_int64, "BIGINT"), (pa.types.is_uint8, "UTINYINT"),
        (pa.types.is_uint16, "USMALLINT"), (pa.types.is_uint32, "UINTEGER"),
        (pa.types.is_uint64, "UBIGINT"), (pa.types.is_float32, "FLOAT"),
        (pa.types.is_float64, "DOUBLE"), (pa.types.is_date, "DATE"),
        (pa.types.is_string, "VARCHAR"), (pa.types.is_large_string, "VARCHAR"),
    ]
    for check, name in checks:
        if check(t):
            return name
    if pa.types.is_timestamp(t):
        return "TIMESTAMP WITH TIME ZONE" if t.tz else "TIMESTAMP"
    if pa.types.is_decimal(t):
        return f"DECIMAL({t.precision},{t.scale})"
    if pa.types.is_dictionary(t):
        return arrow_to_duckdb_type(t.value_type)
    return "VARCHAR" if pa.types.is_null(t) else str(t).upper()
