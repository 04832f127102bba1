"""Stage 7 — validate: the checks a new version must pass before it is published.

Type contracts (declared column ``type`` in YAML) and expectations run here; a failed
``error``-severity check keeps the version unpublished.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from .compiler import CompiledModel
from .engines import duckdb as engine
from .errors import ExecutionError, did_you_mean
from .spec import ColumnSpec, ProjectSpec

__all__ = ["Validate", "Validation", "build_validator", "check_contracts", "check_feature_set"]


@dataclass(frozen=True)
class Validation:
    """What validation decided for one new version, and the statements (statistics, drift)
    to run in the transaction that records it."""

    passed: bool
    checks: list[dict[str, Any]]
    writes: list[tuple[str, list[Any]]] = field(default_factory=list)


# validate(cursor, model, relation, columns, previous relation, row count)
Validate = Callable[[Any, CompiledModel, str, list[tuple[str, str]], str | None, int | None],
                    Validation]


def build_validator(spec: ProjectSpec, suite_parameters: dict[str, Any] | None = None) -> Validate:
    """The checks of a project's new versions, as the executor calls them: type contracts,
    feature-set shape, build-time statistics and drift, then the fused expectations
    (``suite_parameters`` bind their ``{"$PARAMETER": ...}`` kwargs)."""
    from .stats.drift_checks import profile_and_drift, profiles_at_build

    def join_keys(entity: str) -> list[tuple[str, str]]:
        return list(spec.entities[entity].join_keys)

    def validate(cur: Any, m: CompiledModel, rel: str, columns: list[tuple[str, str]],
                 prev: str | None, rows: int | None = None) -> Validation:
        declared = spec.models[m.name].columns if m.name in spec.models else ()
        checks = check_contracts(cur, columns, declared, m.path)
        checks += check_feature_set(columns, m, join_keys)
        specs = spec.models[m.name].checks if m.name in spec.models else ()
        drifts, writes = None, list[tuple[str, list[Any]]]()
        if m.materialized != "view" and profiles_at_build(m, specs):
            drifts, writes = profile_and_drift(cur, m.name, rel, columns, prev, row_count=rows)
        checks += run_expectations(cur, rel, specs, columns, prev, drifts=drifts,
                                   suite_parameters=suite_parameters)
        ok = all(c["success"] for c in checks if c.get("severity", "error") == "error")
        return Validation(ok, checks, writes)

    return validate


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
        loc = col.type_loc or col.loc
        check = {"id": f"{col.name}.type_contract", "type": "type_contract",
                 "column": col.name, "severity": "error", "success": got == want,
                 "expected": f"{want} (the declared type)", "actual": got, "message": "",
                 **(loc.kw() if loc else {"path": path})}
        if got is None:
            check["message"] = (f"column '{col.name}' is declared with type {want} but the "
                                f"model does not produce it")
            check["hint"] = (did_you_mean(col.name, [c for c, _ in columns]) or
                             "produced columns: " + ", ".join(c for c, _ in columns))
        elif got != want:
            check["message"] = f"column '{col.name}' type mismatch: declared {want}, actual {got}"
            check["hint"] = f"cast it in the SQL (::{want}) or declare type: {got}"
        out.append(check)
    return out


def check_error(model: str, check: dict[str, Any]) -> ExecutionError:
    """A failed check as a user-facing error (location, expected, hint)."""
    return ExecutionError(check.get("message") or check.get("id", "check failed"),
                          path=check.get("path"), line=check.get("line"), col=check.get("col"),
                          model=model, expected=check.get("expected"),
                          hint=check.get("hint") or "fix the SQL or the data; the previous "
                          "version stays live")


def run_expectations(con: Any, relation: str, specs: Sequence[Any],
                     columns: Sequence[tuple[str, str]], previous: str | None,
                     result_format: str = "SUMMARY",
                     drifts: list[Any] | None = None,
                     suite_parameters: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """Run a model's expectations (fused SQL) on a new version; one check dict each."""
    from .expectations.drift import DRIFT_EXPECTATIONS
    from .stats.drift_checks import run_drift_checks

    drift_specs = [s for s in specs if s.type in DRIFT_EXPECTATIONS]
    other = [s for s in specs if s.type not in DRIFT_EXPECTATIONS]
    out = run_drift_checks(drift_specs, drifts) if drift_specs else []
    if not other:
        return out
    from .expectations import run_suite

    suite = run_suite(con, relation, other, result_format=result_format, columns=columns,
                      previous_relation=previous, suite_parameters=suite_parameters)
    return [expectation_check(r) for r in suite.results] + out


def expectation_check(r: Any) -> dict[str, Any]:
    """The stored form of one expectation result (GX's fields under ``result``)."""
    d = r.to_dict()
    kwargs = d["expectation_config"]["kwargs"]
    shown = {k: v for k, v in kwargs.items() if k not in ("column", "column_list")}
    return {"id": r.spec.id, "type": r.spec.type, "column": r.spec.kwargs.get("column"),
            "severity": r.spec.severity, "success": bool(r.success),
            "message": "" if r.success else f"expectation failed: {r.message}",
            "result": d["result"], "kwargs": kwargs, "exception": r.exception,
            "path": r.spec.path, "line": r.spec.line, "col": r.spec.col,
            "expected": f"{r.spec.type}({', '.join(f'{k}={v!r}' for k, v in shown.items())})",
            "hint": "fix the data or the SQL, or set severity: warn to only report it"}


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
            out.append(_fs_check(f"{col}.feature_set_timestamp", col, ok, what, got,
                                 m.config_locs.get("timestamp" if col == ts else
                                                   "created_timestamp")))
    for ent in _as_list(m.config.get("entities")):
        for key, typ in join_keys(ent):
            got = actual.get(key.lower())
            ok = got is not None and _compatible(typ, got)
            out.append(_fs_check(f"{key}.entity_key", key, ok,
                                 f"join key of entity '{ent}' ({typ})", got,
                                 m.config_locs.get("entities")))
    return out


def _fs_check(cid: str, col: str, ok: bool, what: str, got: str | None,
              loc: Any) -> dict[str, Any]:
    msg = "" if ok else (f"feature_set column '{col}' must be {what}, "
                         f"found {got or 'no such column'}")
    hint = (f"cast it in the SQL, e.g. {col}::TIMESTAMP" if got and "TIMESTAMP" in what
            else "cast it in the SQL to the entity's key type" if got
            else f"select a column named '{col}'")
    return {"id": cid, "type": "feature_set_schema", "column": col, "severity": "error",
            "success": ok, "message": msg, "expected": what, "actual": got, "hint": hint,
            **(loc.kw() if loc else {})}


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
