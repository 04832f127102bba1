"""The per-version statistics step of a build and the evaluation of drift expectations (PSI /
KS / null-rate change vs the previous version) on its result. Their vocabulary and parsing
live in :mod:`fsql.expectations.drift`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from ..expectations.drift import DRIFT_EXPECTATIONS

__all__ = ["profile_and_drift", "profiles_at_build", "run_drift_checks"]


def _version_of(relation: str | None) -> int | None:
    m = re.search(r"__v(\d+)\"?$", relation or "")
    return int(m.group(1)) if m else None


def profiles_at_build(m: Any, specs: Sequence[Any]) -> bool:
    """Is ``m`` profiled when it builds? ``statistics`` in its config, else yes for feature
    sets (what models train on) and no for other models (their statistics are computed on
    request: ``fsql stats``). Drift expectations always need them.

    >>> from types import SimpleNamespace as NS
    >>> [profiles_at_build(NS(materialized=k, config={}), []) for k in ("feature_set", "table")]
    [True, False]
    """
    if any(s.type in DRIFT_EXPECTATIONS for s in specs):
        return True
    return bool(m.config.get("statistics", m.materialized == "feature_set"))


def profile_and_drift(cur: Any, model: str, relation: str, columns: Sequence[tuple[str, str]],
                      previous: str | None, *, row_count: int | None = None
                      ) -> tuple[list[Any] | None, list[tuple[str, list[Any]]]]:
    """Statistics of the new version and its drift vs ``previous``: (drifts, the statements
    that store both — the caller runs them in the transaction that records the version)."""
    from .columns import load_profile, profile_relation, profile_writes
    from .drift import drift, drift_writes

    version = _version_of(relation)
    if version is None:
        return None, []
    prof = profile_relation(cur, relation, list(columns), row_count=row_count, fresh=True)
    writes = profile_writes(model, version, prof)
    prev = _version_of(previous)
    if previous is None or prev is None:
        return None, writes
    # a predecessor built without statistics is profiled now (its data is immutable)
    ref = load_profile(cur, model, prev) or profile_relation(cur, previous)
    drifts = drift(cur, prof, ref, relation, previous)
    return list(drifts), writes + drift_writes(model, version, prev, drifts)


def run_drift_checks(specs: Sequence[Any], drifts: list[Any] | None) -> list[dict[str, Any]]:
    from .drift import evaluate_drift_expectation

    by_col = {d.column: d for d in drifts or []}
    out = []
    for s in specs:
        ok, result = evaluate_drift_expectation(s.type, s.kwargs, by_col.get(s.kwargs["column"]))
        out.append({"id": s.id, "type": s.type, "column": s.kwargs["column"],
                    "severity": s.severity, "success": ok, "result": result,
                    "kwargs": dict(s.kwargs), "exception": None, "path": s.path,
                    "line": s.line, "col": s.col,
                    "message": "" if ok else f"expectation failed: {s.type} observed "
                    f"{result.get('observed_value')!r} >= threshold {s.kwargs['threshold']}",
                    "expected": f"{s.type}(threshold={s.kwargs['threshold']})",
                    "hint": "the distribution moved vs the previous version; check the "
                            "inputs, or raise the threshold / set severity: warn"})
    return out
