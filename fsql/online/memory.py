"""An in-memory online store: the reference implementation for the contract tests.

>>> from fsql.online.base import Layout
>>> s = InMemoryStore()
>>> lay = Layout("fs", ("id",), ("int",), ("a", "b"), ("int", "str"))
>>> s.write_batch(lay, [(1, 10, None, 5, "x")])
1
>>> s.read_batch("fs", [(1,), (2,)], ["b", "a", "zz"])
[(10, 'x', 5, None), None]
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable, Sequence
from dataclasses import replace
from typing import Any

from fsql.online.base import FeatureSetStatus, Key, Layout, OnlineStore, Row

__all__ = ["InMemoryStore"]


class InMemoryStore(OnlineStore):
    """Dict-backed store; thread-safe; data lives as long as the object."""

    kind = "memory"

    def __init__(self) -> None:
        self._layouts: dict[str, Layout] = {}
        self._rows: dict[str, dict[Key, tuple[Any, ...]]] = {}
        self._status: dict[str, FeatureSetStatus] = {}
        self._lock = threading.Lock()

    def layout(self, name: str) -> Layout | None:
        return self._layouts.get(name)

    def write_batch(self, layout: Layout, rows: Iterable[Sequence[Any]], *,
                    reset: bool = False, delete_keys: Iterable[Key] = (),
                    status: FeatureSetStatus | None = None) -> int:
        nk = len(layout.join_keys)
        js = [i + 2 for i, k in enumerate(layout.kinds) if k == "json"]
        staged = {tuple(r[:nk]): _decoded(tuple(r[nk:]), js) for r in rows}
        drop = [tuple(k) for k in delete_keys]
        with self._lock:
            old = self._layouts.get(layout.name)
            table = {} if reset or not layout.same_shape(old) else dict(
                self._rows.get(layout.name, {}))
            for k in drop:
                table.pop(k, None)
            table.update(staged)
            self._rows[layout.name] = table
            self._layouts[layout.name] = layout
            if status is None:
                status = self._status.get(layout.name) or FeatureSetStatus(
                    layout.name, layout.version, None, None, 0, 0, "push")
            self._status[layout.name] = replace(status, row_count=len(table),
                                                rows_written=len(staged))
        return len(staged)

    def read_batch(self, name: str, keys: Sequence[Key],
                   features: Sequence[str]) -> list[Row | None]:
        layout = self._layouts.get(name)
        if layout is None:
            return [None] * len(keys)
        table = self._rows.get(name, {})
        pos = {f: i + 2 for i, f in enumerate(layout.features)}
        idx = [pos.get(f) for f in features]
        out: list[Row | None] = []
        for k in keys:
            r = table.get(k)
            out.append(None if r is None else
                       (r[0], *(None if i is None else r[i] for i in idx)))
        return out

    def delete(self, name: str, keys: Iterable[Key] | None = None) -> int:
        with self._lock:
            if keys is None:
                n = len(self._rows.pop(name, {}))
                self._layouts.pop(name, None)
                self._status.pop(name, None)
                return n
            table = self._rows.get(name, {})
            return sum(table.pop(tuple(k), None) is not None for k in keys)

    def entity_hashes(self, name: str) -> dict[Key, int | None]:
        return {k: v[1] for k, v in self._rows.get(name, {}).items()}

    def count(self, name: str) -> int:
        return len(self._rows.get(name, {}))

    def status(self) -> dict[str, FeatureSetStatus]:
        return dict(sorted(self._status.items()))


def _decoded(row: tuple[Any, ...], js: list[int]) -> tuple[Any, ...]:
    """Decode JSON-kind values (written as JSON text) once, at write time."""
    if not js:
        return row
    out = list(row)
    for i in js:
        if out[i] is not None:
            out[i] = json.loads(out[i])
    return tuple(out)
