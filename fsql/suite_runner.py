"""``fsql test``: re-run expectations on live (or given) versions, store the results per
version, report to the console, ``target/run_results.json`` and JUnit XML.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from .errors import ConfigError
from .state import META, StateStore

__all__ = ["ModelTest", "TestRun", "run_tests"]

RESULTS_DDL = f"""
create table if not exists {META}.test_results (
  run_id varchar, model varchar, version integer, created_at timestamp, engine varchar,
  success boolean, checks varchar);
"""


@dataclass(frozen=True)
class ModelTest:
    model: str
    version: int | None
    relation: str
    checks: tuple[dict[str, Any], ...]
    duration_s: float
    suite: Any = field(default=None, repr=False, compare=False)

    @property
    def failed_errors(self) -> list[dict[str, Any]]:
        return [c for c in self.checks if not c["success"] and c["severity"] == "error"]

    @property
    def failed_warnings(self) -> list[dict[str, Any]]:
        return [c for c in self.checks if not c["success"] and c["severity"] == "warn"]


@dataclass(frozen=True)
class TestRun:
    __test__ = False  # not a pytest class

    run_id: str
    engine: str
    models: tuple[ModelTest, ...]
    duration_s: float

    @property
    def exit_code(self) -> int:
        return 1 if any(m.failed_errors for m in self.models) else 0

    def counts(self) -> dict[str, int]:
        checks = [c for m in self.models for c in m.checks]
        return {"passed": sum(c["success"] for c in checks),
                "failed": sum(not c["success"] and c["severity"] == "error" for c in checks),
                "warned": sum(not c["success"] and c["severity"] == "warn" for c in checks)}

    def worst(self, n: int = 10) -> list[tuple[str, dict[str, Any]]]:
        """Failing checks, errors first, then by unexpected percent."""
        bad = [(m.model, c) for m in self.models for c in m.checks if not c["success"]]
        return sorted(bad, key=lambda mc: (mc[1]["severity"] != "error",
                                           -float(mc[1].get("result", {}).get(
                                               "unexpected_percent") or 0), mc[0],
                                           mc[1]["id"]))[:n]

    def to_dict(self) -> dict[str, Any]:
        return {"run_id": self.run_id, "command": "test", "engine": self.engine,
                "exit_code": self.exit_code, "duration_s": round(self.duration_s, 6),
                "counts": self.counts(),
                "results": [{"model": m.model, "version": m.version, "checks": list(m.checks),
                             "duration_s": round(m.duration_s, 6)} for m in self.models]}

    def junit_xml(self) -> str:
        from .expectations import junit_xml

        return junit_xml({m.model: m.suite for m in self.models if m.suite is not None})


def run_tests(project: Any, con: Any, models: Sequence[str], *, version: int | None = None,
              engine: str = "fsql", store_failures: bool = False,
              result_format: str = "SUMMARY", data: Any = None,
              suite_parameters: dict[str, Any] | None = None) -> TestRun:
    """Run the expectations of ``models`` on their live versions (or ``version``).
    ``con`` is the state store; ``data`` where the versions are read (default: ``con``);
    ``suite_parameters`` bind ``{"$PARAMETER": ...}`` kwargs."""
    data = con if data is None else data
    if engine not in ("fsql", "gx"):
        raise ConfigError(f"unknown engine '{engine}'", expected="fsql or gx",
                          hint="--engine gx needs `pip install fsql[gx]`")
    t0 = time.perf_counter()
    run_id = datetime.now(UTC).strftime("%Y%m%dT%H%M%S") + "-test-" + uuid.uuid4().hex[:4]
    con.execute(RESULTS_DDL)
    out = []
    for name in models:
        target = _target(project, con, name, version)
        if target is None:
            continue
        out.append(_test_one(project, con, name, target, engine, result_format, data,
                             suite_parameters or {}))
    for mt in out:
        con.execute(f"insert into {META}.test_results values (?, ?, ?, now(), ?, ?, ?)",
                    [run_id, mt.model, mt.version, engine, not mt.failed_errors,
                     json.dumps(mt.checks, default=str)])
        if store_failures:
            _store_failures(data, mt)
    return TestRun(run_id, engine, tuple(out), time.perf_counter() - t0)


def _target(project: Any, con: Any, name: str, version: int | None) -> tuple[int | None, str]:
    spec = project.spec
    if name in spec.sources:
        s = spec.sources[name]
        return None, s.table or f'"{s.source}"."{s.name}"'
    rows = {r.version: r for r in StateStore(con).versions(name)}
    live = next((v for v, r in rows.items() if r.status == "live"), None)
    v = version if version is not None else live
    if v is None or v not in rows or rows[v].status in ("gc", "abandoned", "building"):
        if version is None:
            return None  # type: ignore[return-value]  # never built: nothing to test
        raise ConfigError(f"model '{name}' has no version {version}", model=name,
                          hint=f"see `fsql versions {name}`")
    return v, rows[v].relation


def _test_one(project: Any, con: Any, name: str, target: tuple[int | None, str], engine: str,
              result_format: str, data: Any, params: dict[str, Any]) -> ModelTest:
    from .validator import expectation_check

    version, rel = target
    specs = _specs(project, name)
    t0 = time.perf_counter()
    if engine == "gx":
        from .expectations.gx_run import run_suite_gx

        suite = run_suite_gx(data, rel, specs, result_format=result_format,
                             suite_parameters=params)
    else:
        from .expectations import run_suite

        prev = _previous(con, name, version)
        suite = run_suite(data, rel, specs, result_format=result_format,
                          columns=_columns(con, name, version) or _describe(data, rel),
                          previous_relation=prev, suite_parameters=params)
    checks = tuple(expectation_check(r) for r in suite.results)
    return ModelTest(name, version, rel, checks, time.perf_counter() - t0, suite)


def _describe(data: Any, rel: str) -> list[tuple[str, str]]:
    return [(str(r[0]), str(r[1])) for r in
            data.execute(f"DESCRIBE SELECT * FROM {rel}").fetchall()]


def _columns(con: Any, name: str, version: int | None) -> list[tuple[str, str]]:
    """The version's schema as recorded at build time (saves a DESCRIBE per model)."""
    if version is None:
        return []
    row = con.execute(f"select columns from {META}.versions where model = ? and version = ?",
                      [name, version]).fetchone()
    return [tuple(c) for c in json.loads(row[0] or "[]")] if row else []  # type: ignore[misc]


def _specs(project: Any, name: str) -> tuple[Any, ...]:
    spec = project.spec
    if name in spec.sources:
        return tuple(spec.sources[name].checks)
    return tuple(spec.models[name].checks) if name in spec.models else ()


def _previous(con: Any, name: str, version: int | None) -> str | None:
    if version is None:
        return None
    rows = [r for r in StateStore(con).versions(name)
            if r.version < version and r.status in ("live", "superseded", "rolled_back")]
    return rows[-1].relation if rows else None


def _store_failures(con: Any, mt: ModelTest) -> None:
    """Like dbt's --store-failures: a table per failing expectation with its failing rows."""
    from .failures import failing_rows_sql

    con.execute('create schema if not exists "fsql_failures"')
    for spec, check in zip(_suite_specs(mt), mt.checks, strict=True):
        if check["success"]:
            continue
        sql = failing_rows_sql(spec, mt.relation)
        if sql is None:
            continue
        table = f"{mt.model}__{check['id']}".replace('"', "")
        con.execute(f'create or replace table "fsql_failures"."{table}" as {sql}')


def _suite_specs(mt: ModelTest) -> list[Any]:
    return [r.spec for r in mt.suite.results] if mt.suite is not None else []
