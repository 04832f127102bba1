"""Result objects in Great Expectations' shape, plus JUnit XML and notebook HTML."""

from __future__ import annotations

import html
import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from xml.sax.saxutils import escape, quoteattr

from .parse import ExpectationSpec

__all__ = ["ExpectationResult", "SuiteResult", "format_map_result", "junit_xml", "RESULT_FORMATS"]

RESULT_FORMATS = ("BOOLEAN_ONLY", "BASIC", "SUMMARY", "COMPLETE")
PARTIAL = 20


@dataclass(frozen=True)
class ExpectationResult:
    """The outcome of one expectation; ``result`` holds GX's result fields."""

    spec: ExpectationSpec
    success: bool
    result: Mapping[str, Any]
    exception: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """GX's ExpectationValidationResult shape (plus fsql's id / severity)."""
        return {
            "success": self.success,
            "result": dict(self.result),
            "expectation_config": {
                "type": self.spec.type,
                "kwargs": _jsonable(dict(self.spec.kwargs)),
                "meta": dict(self.spec.meta),
                "id": self.spec.id,
                "severity": self.spec.severity,
                "where": self.spec.where,
            },
            "exception_info": {
                "raised_exception": self.exception is not None,
                "exception_message": self.exception,
                "exception_traceback": None,
            },
        }

    @property
    def message(self) -> str:
        """One line describing a failure, for consoles and JUnit."""
        if self.exception:
            return f"{self.spec.id}: error: {self.exception}"
        r = self.result
        parts = []
        if "observed_value" in r:
            parts.append(f"observed {r['observed_value']!r}")
        if r.get("unexpected_count") is not None and "element_count" in r:
            parts.append(f"{r['unexpected_count']} unexpected of {r['element_count']} rows")
        if r.get("partial_unexpected_list"):
            parts.append(f"e.g. {list(r['partial_unexpected_list'])[:5]!r}")
        status = "passed" if self.success else "failed"
        return f"{self.spec.id} {status}" + (": " + ", ".join(parts) if parts else "")


@dataclass(frozen=True)
class SuiteResult:
    """All results of one suite run, in declaration order."""

    results: tuple[ExpectationResult, ...]

    @property
    def success(self) -> bool:
        """True when every ``error``-severity expectation passed."""
        return not self.failed_errors

    @property
    def failed_errors(self) -> tuple[ExpectationResult, ...]:
        return tuple(r for r in self.results if not r.success and r.spec.severity == "error")

    @property
    def failed_warnings(self) -> tuple[ExpectationResult, ...]:
        return tuple(r for r in self.results if not r.success and r.spec.severity == "warn")

    @property
    def statistics(self) -> dict[str, Any]:
        n = len(self.results)
        ok = sum(1 for r in self.results if r.success)
        return {
            "evaluated_expectations": n,
            "successful_expectations": ok,
            "unsuccessful_expectations": n - ok,
            "success_percent": (ok / n * 100) if n else None,
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            "success": self.success,
            "statistics": self.statistics,
            "results": [r.to_dict() for r in self.results],
        }

    def _repr_html_(self) -> str:
        rows = []
        for r in self.results:
            status = "✔" if r.success else ("✖" if r.spec.severity == "error" else "⚠")
            detail = r.exception or _summary(r.result)
            rows.append(
                f"<tr><td>{status}</td><td><code>{html.escape(r.spec.id)}</code></td><td>{html.escape(r.spec.severity)}</td><td>{html.escape(detail)}</td></tr>"
            )
        s = self.statistics
        head = (
            f"<p><b>{'passed' if self.success else 'failed'}</b>: "
            f"{s['successful_expectations']}/{s['evaluated_expectations']} expectations</p>"
        )
        return (
            head + "<table><thead><tr><th></th><th>expectation</th><th>severity</th>"
            "<th>result</th></tr></thead><tbody>" + "".join(rows) + "</tbody></table>"
        )


def _summary(result: Mapping[str, Any]) -> str:
    keys = ("observed_value", "unexpected_count", "unexpected_percent", "partial_unexpected_list")
    return ", ".join(f"{k}={result[k]!r}" for k in keys if k in result)


def _jsonable(v: Any) -> Any:
    if isinstance(v, dict):
        return {k: _jsonable(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_jsonable(x) for x in v]
    if hasattr(v, "isoformat"):
        return v.isoformat()
    return v


# --- map expectation output (port of GX's _format_map_output) -----------------------------


class _NAKey:
    """pandas.NA as a Counter key: equal only to itself, unorderable."""

    __slots__ = ()

    def __eq__(self, other: object) -> bool:
        if other is self:
            return True
        raise TypeError("boolean value of NA is ambiguous")

    def __hash__(self) -> int:
        return 0x5A

    def __lt__(self, other: object) -> bool:
        raise TypeError("boolean value of NA is ambiguous")

    __gt__ = __lt__


_NA = _NAKey()


class _NaTKey:
    """pandas.NaT as a Counter key: one object, never equal to or ordered with a value
    (NaT comparisons are False), so GX's sort of pairs holding it does not fail."""

    __slots__ = ()

    def __eq__(self, other: object) -> bool:
        return other is self

    def __hash__(self) -> int:
        return 0x4E5A

    def __lt__(self, other: object) -> bool:
        return False

    __gt__ = __lt__


_NAT = _NaTKey()


def gx_key(value: Any, null_kind: str) -> Any:
    """The Python object pandas would hand to ``Counter`` for a value.

    ``null_kind``: ``nan`` (float columns: each missing value is a distinct NaN that never
    aggregates), ``na`` (nullable integers: pandas.NA), ``nat`` (timestamps: pandas.NaT),
    ``none`` (object columns).
    """
    if value is None or (isinstance(value, float) and math.isnan(value)):
        if null_kind == "nan":
            return float("nan")  # a fresh object: never equal to another NaN
        return {"na": _NA, "nat": _NAT}.get(null_kind)
    return value


def _counts(keys: list[Any], values: list[Any]) -> list[dict[str, Any]] | None:
    """GX partial_unexpected_counts; None when GX's sort raises TypeError (field omitted)."""
    by_key: dict[int, Any] = {}
    hashed = []
    for k, v in zip(keys, values, strict=True):
        hashed.append(k)
        by_key.setdefault(id(k), v)
    try:
        common = Counter(hashed).most_common(PARTIAL)
        ordered = sorted(common, key=lambda x: (-x[1], x[0]))
    except TypeError:
        return None
    out = []
    for key, count in ordered:
        out.append({"value": _display_key(key), "count": count})
    return out


def _display_key(key: Any) -> Any:
    if isinstance(key, tuple):
        return [_display_key(k) for k in key]
    if key is _NA or key is _NAT or (isinstance(key, float) and math.isnan(key)):
        return None
    return key


def format_map_result(
    result_format: str,
    *,
    success: bool,
    element_count: int,
    nonnull_count: int | None,
    unexpected_count: int,
    unexpected_list: Sequence[Any] | None,
    unexpected_keys: Sequence[Any] | None,
    unexpected_index_list: Sequence[int] | None,
) -> dict[str, Any]:
    """Build the ``result`` dict for a map expectation exactly as GX does."""
    if result_format == "BOOLEAN_ONLY":
        return {}
    skip_missing = nonnull_count is None
    missing_count = None if nonnull_count is None else element_count - nonnull_count
    missing_percent = pct_total = pct_nonmissing = None
    if element_count > 0:
        pct_total = unexpected_count / element_count * 100
        if not skip_missing and missing_count is not None:
            missing_percent = missing_count / element_count * 100
            if nonnull_count:
                pct_nonmissing = unexpected_count / nonnull_count * 100
        else:
            pct_nonmissing = pct_total
    res: dict[str, Any] = {
        "element_count": element_count,
        "unexpected_count": unexpected_count,
        "unexpected_percent": pct_nonmissing,
    }
    values = list(unexpected_list or [])
    res["partial_unexpected_list"] = values[:PARTIAL]
    if not skip_missing:
        res["missing_count"] = missing_count
        res["missing_percent"] = missing_percent
        res["unexpected_percent_total"] = pct_total
        res["unexpected_percent_nonmissing"] = pct_nonmissing
    if result_format == "BASIC":
        return res
    counts = _counts(list(unexpected_keys or []), values)
    if counts is not None:
        res["partial_unexpected_counts"] = counts
    if unexpected_index_list is not None:
        res["partial_unexpected_index_list"] = list(unexpected_index_list)[:PARTIAL]
    if result_format == "SUMMARY":
        return res
    res["unexpected_list"] = values
    if unexpected_index_list is not None:
        res["unexpected_index_list"] = list(unexpected_index_list)
    return res


def junit_xml(suites: Mapping[str, SuiteResult]) -> str:
    """JUnit XML: one ``<testsuite>`` per model, one ``<testcase>`` per expectation."""
    out = ['<?xml version="1.0" encoding="UTF-8"?>']
    total = sum(len(s.results) for s in suites.values())
    fails = sum(1 for s in suites.values() for r in s.results if not r.success and not r.exception)
    errs = sum(1 for s in suites.values() for r in s.results if r.exception)
    out.append(f'<testsuites name="fsql" tests="{total}" failures="{fails}" errors="{errs}">')
    for name in sorted(suites):
        suite = suites[name]
        n_fail = sum(1 for r in suite.results if not r.success and not r.exception)
        n_err = sum(1 for r in suite.results if r.exception)
        out.append(
            f'  <testsuite name={quoteattr(name)} tests="{len(suite.results)}" '
            f'failures="{n_fail}" errors="{n_err}">'
        )
        for r in suite.results:
            attrs = f"name={quoteattr(r.spec.id)} classname={quoteattr(name)}"
            if r.spec.path:
                attrs += f" file={quoteattr(r.spec.path)}"
                if r.spec.line is not None:
                    attrs += f' line="{r.spec.line}"'
            if r.success:
                out.append(f"    <testcase {attrs}/>")
                continue
            tag = "error" if r.exception else "failure"
            kind = "error" if r.exception else r.spec.severity
            out.append(f"    <testcase {attrs}>")
            out.append(
                f"      <{tag} message={quoteattr(r.message)} type={quoteattr(kind)}>"
                f"{escape(_summary(r.result) or (r.exception or ''))}</{tag}>"
            )
            out.append("    </testcase>")
        out.append("  </testsuite>")
    out.append("</testsuites>")
    return "\n".join(out) + "\n"
