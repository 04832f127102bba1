"""Great Expectations interop: export suites as GX 1.x ExpectationSuite JSON."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from .parse import ExpectationSpec
from .registry import REGISTRY

__all__ = ["to_gx_suite", "gx_kwargs"]

GX_VERSION = "1.24.1"


def _json(v: Any) -> Any:
    if isinstance(v, dict):
        return {k: _json(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_json(x) for x in v]
    if isinstance(v, (dt.date, dt.datetime)):
        return v.isoformat()
    return v


def gx_kwargs(spec: ExpectationSpec) -> dict[str, Any]:
    """The spec's kwargs as GX expects them: ``row_condition`` as written (a plain SQL one
    and ``where`` become pandas query strings: they agree for simple predicates)."""
    kwargs = _json(dict(spec.kwargs))
    parts = [spec.where] if spec.where else []
    condition, parser = spec.row_condition, spec.condition_parser
    if condition is not None and parser not in (None, "sql", "pandas") and not parts:
        kwargs.update(row_condition=condition, condition_parser=parser)
        return kwargs
    if condition is not None:
        from .conditions import to_query

        parts.append(condition if parser == "sql" else to_query(condition, parser))
    if parts:
        kwargs["row_condition"] = (
            " and ".join(f"({p})" for p in parts) if len(parts) > 1 else parts[0]
        )
        kwargs["condition_parser"] = "pandas"
    return kwargs


def to_gx_suite(name: str, specs: Sequence[ExpectationSpec]) -> dict[str, Any]:
    """A GX 1.x ExpectationSuite JSON dict; fsql-only expectations go to ``meta``.

    ``severity: error`` maps to GX's ``critical``, ``warn`` to ``warning``.
    """
    expectations = []
    skipped = []
    for spec in specs:
        etype = REGISTRY.get(spec.type)
        if etype is None or not etype.gx:
            skipped.append({"type": spec.type, "kwargs": _json(dict(spec.kwargs))})
            continue
        expectations.append(
            {
                "type": spec.type,
                "kwargs": gx_kwargs(spec),
                "meta": {"fsql_id": spec.id, **_json(dict(spec.meta))},
                "severity": "critical" if spec.severity == "error" else "warning",
            }
        )
    meta: dict[str, Any] = {"great_expectations_version": GX_VERSION, "generated_by": "fsql"}
    if skipped:
        meta["fsql_only_expectations"] = skipped
    return {"name": name, "id": None, "expectations": expectations, "meta": meta, "notes": None}
