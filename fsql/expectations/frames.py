"""Registering a pandas / Arrow frame for ``fsql.validate`` so SQL sees what GX sees.

Two things DuckDB would otherwise change:

* names that differ only in case (``b`` and ``B``): DuckDB renames the second to ``B_1``; they
  get distinct SQL names here and keep their own names in results;
* object columns mixing Python types: DuckDB reads them as text (or refuses them). GX compares
  the Python values (``1 == 1.0 == True``, ``"1" != 1``), so a column of numbers and booleans
  becomes numeric, and a column mixing text with other values becomes a *key* column in which
  values equal in Python share one key (numbers as ``\\x1f`` + their exact text), plus a
  ``str(value)`` column for text checks. Results show the original Python objects.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from fsql.engines.duckdb import quote_ident, register_frame

__all__ = ["register", "NUMBER_KEY", "number_key", "key_value"]

NAME = "__fsql_validate"
NUMBER_KEY = "\x1f"  # starts the key of a number in a mixed column (never in real text)


def number_key(v: Any) -> str:
    """The key of a number: equal numbers (1, 1.0, True) share it, as Python equality does."""
    if isinstance(v, float) and v.is_integer():
        return NUMBER_KEY + str(int(v))
    return NUMBER_KEY + (str(int(v)) if isinstance(v, (bool, int)) else repr(float(v)))


def key_value(key: Any) -> Any:
    """A key back to a Python value (numbers come back as int or float)."""
    if not isinstance(key, str) or not key.startswith(NUMBER_KEY):
        return key
    text = key[len(NUMBER_KEY) :]
    try:
        return int(text)
    except ValueError:
        return float(text)


def _kinds(values: list[Any]) -> set[str]:
    out = set()
    for v in values:
        if isinstance(v, str):
            out.add("str")
        elif isinstance(v, bool) or type(v).__name__ == "bool_":
            out.add("bool")
        elif isinstance(v, (int, float)) or type(v).__module__ == "numpy":
            out.add("num")
        else:
            out.add("other")
    return out


def _missing(v: Any) -> bool:
    return v is None or (isinstance(v, float) and v != v)


def register(con: Any, data: Any) -> tuple[list[tuple[Any, ...]], dict[str, list[Any]]]:
    """Register ``data`` as ``__fsql_validate``: (columns for run_suite, originals by SQL
    name for mixed columns)."""
    arrow = hasattr(data, "rename_columns")
    names = [str(n) for n in (data.schema.names if arrow else data.columns)]
    folded = Counter(n.lower() for n in names)
    idents = [n if folded[n.lower()] == 1 else f"{n}__fsql_{i}" for i, n in enumerate(names)]
    if arrow:  # typed columns, nothing mixed
        register_frame(con, NAME, data.rename_columns(idents))
        return _columns(con, names, idents, set(), set()), {}
    import pandas as pd

    frame = pd.DataFrame({i: data.iloc[:, k] for k, i in enumerate(idents)}, index=data.index)
    mixed: set[str] = set()
    originals: dict[str, list[Any]] = {}
    for ident in idents:
        if frame[ident].dtype != object:
            continue
        values = frame[ident].tolist()
        kinds = _kinds([v for v in values if not _missing(v)])
        if len(kinds) < 2:
            continue
        originals[quote_ident(ident)] = [None if _missing(v) else v for v in values]
        frame[ident + "__fsql_text"] = pd.Series(
            [None if _missing(v) else str(v) for v in values], dtype=object, index=frame.index
        )
        if kinds <= {"num", "bool"}:
            floats = any(isinstance(v, float) for v in values if not _missing(v))
            frame[ident] = pd.array(
                [None if _missing(v) else (float(v) if floats else int(v)) for v in values],
                dtype="Float64" if floats else "Int64",
            )
            continue
        mixed.add(ident)
        frame[ident] = pd.Series([_key(v) for v in values], dtype=object, index=frame.index)
    register_frame(con, NAME, frame.reset_index(drop=True))
    texts = {i for i in idents if quote_ident(i) in originals}
    return _columns(con, names, idents, mixed, texts), originals


def _key(v: Any) -> Any:
    if _missing(v):
        return None
    if isinstance(v, str):
        return v
    if isinstance(v, (bool, int, float)) or type(v).__module__ == "numpy":
        return number_key(v.item() if hasattr(v, "item") else v)
    return repr(v)


def _columns(
    con: Any, names: list[str], idents: list[str], mixed: set[str], texts: set[str]
) -> list[tuple[Any, ...]]:
    rel = con.sql(f"select * from {quote_ident(NAME)}")
    types = {str(c): str(t) for c, t in zip(rel.columns, rel.types, strict=True)}
    return [
        (n, types[i], i, i in mixed, i in texts) for n, i in zip(names, idents, strict=True)
    ]
