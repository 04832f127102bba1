"""Stage 7 — validate: the checks a new version must pass before it is published.

Type contracts (declared column ``type`` in YAML) and expectations run here; a failed
``error``-severity check keeps the version unpublished.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from . import engine
from .compiler import CompiledModel
from .spec import ColumnSpec

__all__ = ["Outcome", "check_contracts", "check_feature_set"]


@dataclass(frozen=True)
class Outcome:
    """What validation decided for one new version."""

    passed: bool
    checks: tuple[dict[str, Any], ...] = ()
    messages: tuple[str, ...] = field(default_factory=tuple)


def check_contracts(con: Any, columns: Sequence[tuple[str, str]],
                    declared: Sequence[ColumnSpec], path: str) -> list[dict[str, Any]]:
    """One check per declared type: the built type must be DuckDB-equal to the declared one."""
    actual = {c.lower(): t for c, t in columns}
    out = []
    for col in declared:
        if not col.type:
            continue
        want = engine.canonical_type(con, col.type) or col.type.upper()
        got = actual.get(col.name.lower())
        loc = f"{col.loc.path}:{col.loc.line}:{col.loc.col}" if col.loc else path
        if got is None:
            msg = (f"{loc}: column '{col.name}' is declared with type {want} but the model "
                   f"does not produce it (columns: {', '.join(c for c, _ in columns)})")
        elif got != want:
            msg = (f"{loc}: column '{col.name}' type mismatch: declared {want}, actual {got}; "
                   f"hint: cast it in the SQL (::{want}) or declare type: {got}")
        else:
            msg = ""
        out.append({"id": f"{col.name}.type_contract", "type": "type_contract",
                    "column": col.name, "severity": "error", "success": not msg,
                    "message": msg, "expected": want, "actual": got})
    return out


def run_expectations(con: Any, relation: str, specs: Sequence[Any],
                     columns: Sequence[tuple[str, str]], previous: str | None,
                     result_format: str = "SUMMARY") -> list[dict[str, Any]]:
    """Run a model's expectations (fused SQL) on a new version; one check dict each."""
    if not specs:
        return []
    from .expectations import run_suite

    suite = run_suite(con, relation, specs, result_format=result_format, columns=columns,
                      previous_relation=previous)
    return [expectation_check(r) for r in suite.results]


def expectation_check(r: Any) -> dict[str, Any]:
    """The stored form of one expectation result (GX's fields under ``result``)."""
    d = r.to_dict()
    return {"id": r.spec.id, "type": r.spec.type, "column": r.spec.kwargs.get("column"),
            "severity": r.spec.severity, "success": bool(r.success),
            "message": "" if r.success else r.message, "result": d["result"],
            "kwargs": d["expectation_config"]["kwargs"], "exception": r.exception}


def check_feature_set(columns: Sequence[tuple[str, str]], m: CompiledModel,
                      join_keys: Callable[[str], list[tuple[str, str]]]) -> list[dict[str, Any]]:
    """Entity join keys and the timestamp must exist, with compatible types."""
    if m.materialized != "feature_set":
        return []
    actual = {c.lower(): t for c, t in columns}
    out = []
    ts = str(m.config.get("timestamp", ""))
    for col, kinds, what in [(ts, ("TIMESTAMP", "DATE"), "a TIMESTAMP or DATE"),
                             (str(m.config.get("created_timestamp") or ""), ("TIMESTAMP",),
                              "a TIMESTAMP")]:
        if col:
            got = actual.get(col.lower())
            ok = got is not None and got.startswith(kinds)
            out.append(_fs_check(f"{col}.feature_set_timestamp", col, ok, what, got))
    for ent in _as_list(m.config.get("entities")):
        for key, typ in join_keys(ent):
            got = actual.get(key.lower())
            ok = got is not None and _compatible(typ, got)
            out.append(_fs_check(f"{key}.entity_key", key, ok,
                                 f"join key of entity '{ent}' ({typ})", got))
    return out


def _fs_check(cid: str, col: str, ok: bool, what: str, got: str | None) -> dict[str, Any]:
    msg = "" if ok else (f"feature_set column '{col}' must be {what}, "
                         f"found {got or 'no such column'}")
    return {"id": cid, "type": "feature_set_schema", "column": col, "severity": "error",
            "success": ok, "message": msg, "expected": what, "actual": got}


_INTS = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT",
         "UINTEGER", "UBIGINT", "INT", "INT8", "INT4", "LONG")
_STRS = ("VARCHAR", "TEXT", "STRING")


def _compatible(declared: str, actual: str) -> bool:
    d, a = declared.upper(), actual.upper()
    if d == a:
        return True
    return (d in _INTS and a in _INTS) or (d in _STRS and a in _STRS)


def _as_list(v: Any) -> list[str]:
    if v is None:
        return []
    return [v] if isinstance(v, str) else [str(x) for x in v]
