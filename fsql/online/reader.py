"""A long-lived in-process reader: an open online store plus its feature-set layouts.

``fsql.FeatureStore.get_online_features`` keeps one per store (opened on the first read,
closed by ``close()``), so repeated reads pay neither the open nor the layout read.
"""

from __future__ import annotations

import time
from collections.abc import Collection, Mapping, Sequence
from datetime import date, datetime
from typing import Any

from fsql.errors import ConfigError
from fsql.online.base import OnlineFeatureSet, OnlineStore
from fsql.online.read import OnlineResponse, get_online_features

__all__ = ["OnlineReader"]

Timestamp = datetime | date | str


class OnlineReader:
    """Reads of ``store``; the stored layouts are re-read after ``refresh_s`` seconds or
    when a reference names a feature set or feature not seen yet (materialized since)."""

    def __init__(self, store: OnlineStore, *, refresh_s: float = 1.0) -> None:
        self.store, self.refresh_s = store, refresh_s
        self.sets = _layout_sets(store)
        self.loaded = time.monotonic()
        self.known: set[tuple[str, ...]] = set()  # references found in `sets`

    def read(self, features: Sequence[str], entity_rows: Sequence[Mapping[str, Any]], *,
             full_feature_names: bool = False, now: Timestamp | float | None = None,
             project_models: Collection[str] = ()) -> OnlineResponse:
        """Latest online values of ``features`` per entity row; a feature set of
        ``project_models`` that is not online raises ConfigError saying how to fix it."""
        if self._stale(features):
            self.sets = _layout_sets(self.store)
            self.loaded = time.monotonic()
            self.known.clear()
            self._check_online(features, project_models)
        return get_online_features(self.store, self.sets, features, entity_rows, now=now,
                                   full_feature_names=full_feature_names)

    def close(self) -> None:
        self.store.close()

    def _check_online(self, features: Sequence[str], project_models: Collection[str]) -> None:
        for ref in features if not isinstance(features, str) else [features]:
            name = str(ref).partition(":")[0]
            if name not in self.sets and name in project_models:
                raise ConfigError(f"feature set '{name}' is not in the online store",
                                  model=name,
                                  expected="a materialized feature set with online: true",
                                  hint="run `fsql materialize` (after setting online: true in "
                                       "its config if needed)")

    def _stale(self, features: Sequence[str]) -> bool:
        if time.monotonic() - self.loaded > self.refresh_s:
            return True
        refs = (features,) if isinstance(features, str) else tuple(features)
        try:
            if refs in self.known:
                return False
        except TypeError:  # unhashable references: the read says what is wrong
            return False
        for ref in refs:
            name, _, feat = str(ref).partition(":")
            fs = self.sets.get(name)
            if fs is None or (feat != "*" and feat not in fs.features):
                return True
        if len(self.known) < 1024:
            self.known.add(refs)
        return False


def _layout_sets(online: OnlineStore) -> dict[str, OnlineFeatureSet]:
    return {n: lay.to_feature_set() for n, lay in online.layouts().items()}
