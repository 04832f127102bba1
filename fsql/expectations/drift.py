"""Drift expectations: their vocabulary and their parsing (the loader reads them with the
other expectations; fsql.stats.drift measures the drift and fsql.stats.drift_checks evaluates them
when a version is built).

``expect_column_psi_to_be_less_than: {threshold: 0.2}`` under a column gates publishing like any
expectation; it passes when there is no previous version to compare with.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fsql.errors import ConfigError, did_you_mean

__all__ = ["DRIFT_EXPECTATIONS", "is_drift", "parse_drift"]

DRIFT_EXPECTATIONS: Mapping[str, Mapping[str, str]] = {
    "expect_column_psi_to_be_less_than": {
        "metric": "psi",
        "doc": "PSI vs the previous (or pinned reference) version is below threshold "
               "(passes without one).",
        "threshold": "Maximum PSI, exclusive (0.1 small, 0.25 large shift)."},
    "expect_column_ks_statistic_to_be_less_than": {
        "metric": "ks",
        "doc": "Two-sample KS statistic vs the previous (or reference) version is below "
               "threshold (passes without one).",
        "threshold": "Maximum KS statistic in [0, 1], exclusive."},
    "expect_column_null_rate_change_to_be_less_than": {
        "metric": "null_rate_change",
        "doc": "|null-rate change| vs the previous (or reference) version is below threshold "
               "(passes without one).",
        "threshold": "Maximum absolute change of the null share, in [0, 1], exclusive."},
}


def is_drift(raw: Any) -> bool:
    """Is the raw YAML expectation ``raw`` (a name, or ``{name: kwargs}``) a drift one?"""
    name = raw if isinstance(raw, str) else next(iter(raw), None) if isinstance(raw, dict) \
        and len(raw) == 1 else None
    return name in DRIFT_EXPECTATIONS


def parse_drift(raw: Any, *, column: str | None, path: str | None, line: int | None,
                col: int | None, model: str | None) -> Any:
    """A drift expectation as an ExpectationSpec (kwargs: column, threshold)."""
    from .parse import ExpectationSpec

    name = raw if isinstance(raw, str) else next(iter(raw))
    body = dict(raw[name] or {}) if isinstance(raw, dict) else {}
    loc: dict[str, Any] = {"path": path, "line": line, "col": col, "model": model}
    severity = str(body.pop("severity", "error")).lower()
    where = body.pop("where", None)
    if column is not None:
        body.setdefault("column", column)
    for key in body:
        if key not in ("column", "threshold"):
            raise ConfigError(f"{name}: unknown kwarg '{key}'", expected="column, threshold",
                              hint=did_you_mean(key, ["column", "threshold"]), **loc)
    if "column" not in body:
        raise ConfigError(f"{name}: missing required kwarg 'column'", expected="a column name",
                          hint="declare it under a column or pass column: ...", **loc)
    threshold = body.get("threshold")
    if isinstance(threshold, bool) or not isinstance(threshold, int | float) or threshold <= 0:
        raise ConfigError(f"{name}: 'threshold' must be a positive number, got {threshold!r}",
                          expected="e.g. threshold: 0.2", hint="add threshold: <number>", **loc)
    if severity not in ("error", "warn"):
        raise ConfigError(f"{name}: invalid severity {severity!r}", expected="error or warn",
                          hint=did_you_mean(severity, ["error", "warn"]), **loc)
    return ExpectationSpec(name, {"column": body["column"], "threshold": float(threshold)},
                           severity, where, path, line, col, model)
