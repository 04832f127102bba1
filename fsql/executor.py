"""Stage 6 (+7, +8) — execute: build each planned model into a NEW version relation, validate
it, and publish it (write-audit-publish). Independent models build concurrently; each thread
uses its own cursor of one connection.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from . import engine
from .compiler import CompiledModel
from .errors import ErrorGroup, ExecutionError, FsqlError
from .planner import Plan, PlanStep
from .state import StateStore
from .validator import check_error

__all__ = ["ModelResult", "RunResult", "execute_plan"]

Validate = Callable[[Any, CompiledModel, str, list[tuple[str, str]], str | None],
                    tuple[bool, list[dict[str, Any]]]]


@dataclass(frozen=True)
class ModelResult:
    model: str
    status: str  # success | failed | error | skipped | unchanged | blocked
    version: int | None = None
    duration_s: float = 0.0
    rows: int | None = None
    message: str | None = None
    error: FsqlError | None = None
    checks: tuple[dict[str, Any], ...] = ()
    thread: str = ""
    reason: str = ""
    started_at: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"model": self.model, "status": self.status, "version": self.version,
                "duration_s": round(self.duration_s, 6), "rows": self.rows,
                "message": self.message, "reason": self.reason, "thread": self.thread,
                "started_at": self.started_at,
                "error": self.error.to_dict() if self.error else None,
                "checks": list(self.checks)}


@dataclass(frozen=True)
class RunResult:
    run_id: str
    plan: Plan
    results: tuple[ModelResult, ...]
    started_at: str
    duration_s: float
    cleaned: tuple[str, ...] = field(default_factory=tuple)

    @property
    def exit_code(self) -> int:
        bad = {"failed", "error", "blocked", "skipped"}
        return 1 if any(r.status in bad for r in self.results) else 0

    def by_status(self, status: str) -> list[ModelResult]:
        return [r for r in self.results if r.status == status]

    def to_dict(self) -> dict[str, Any]:
        return {"run_id": self.run_id, "started_at": self.started_at,
                "duration_s": round(self.duration_s, 6), "exit_code": self.exit_code,
                "cleaned": list(self.cleaned), "results": [r.to_dict() for r in self.results]}


class _Run:
    """Mutable bookkeeping of one execution (kept private; results are frozen)."""

    def __init__(self, con: Any, models: Mapping[str, CompiledModel], plan: Plan,
                 run_id: str, live_versions: dict[str, int], validate: Validate,
                 reporter: Callable[[str, Any], None], fail_fast: bool,
                 paths: Mapping[str, str]) -> None:
        self.con, self.models, self.plan, self.run_id = con, models, plan, run_id
        self.live = dict(live_versions)
        self.validate, self.report, self.fail_fast = validate, reporter, fail_fast
        self.paths = paths
        self.lock = threading.Lock()  # state writes and publishes are serialized
        self.results: dict[str, ModelResult] = {}
        self.stop = False
        self.to_build = set(plan.to_build)
        self._parents: dict[str, list[str]] = {}
        self.profile = False
        self.incremental: dict[str, Any] = {}

    def parents(self, name: str) -> list[str]:
        """Physical parents (looking through ephemerals), computed once per model."""
        hit = self._parents.get(name)
        if hit is None:
            out: list[str] = [a for a in self.models[name].after if a in self.models]
            for d in self.models[name].depends_on:
                out.extend(self.parents(d) if self.models[d].is_ephemeral else [d])
            hit = self._parents[name] = sorted(set(out))
        return hit

    def build(self, step: PlanStep) -> ModelResult:
        started = datetime.now(UTC).replace(tzinfo=None).isoformat(sep=" ")
        res = self._build(step)
        return replace(res, started_at=started)

    def _build(self, step: PlanStep) -> ModelResult:
        m = self.models[step.model]
        cur = self.con.cursor()
        thread = threading.current_thread().name
        t0 = time.perf_counter()
        with self.lock:
            state = StateStore(self.con)
            version = state.next_version(m.name)
            inputs = {p: self.live[p] for p in self.parents(m.name) if p in self.live}
            rel = state.begin_version(m.name, version, kind=m.kind, materialized=m.materialized,
                                      fingerprint=step.fingerprint, own_hash=m.own_hash,
                                      run_id=self.run_id, sql=m.sql, inputs=inputs,
                                      config=m.config)
        try:
            kind = "view" if m.materialized == "view" else "table"
            if self.profile:
                cur.execute("set enable_profiling = 'no_output'")
            if m.materialized == "incremental":
                self._build_incremental(cur, m, version, rel)
                kind = "view"
            else:
                cur.execute(f"create {kind} {rel} as\n{m.sql}")
            if self.profile:
                self._save_profile(cur, m.name, version)
            columns = engine.describe(cur, rel)
            rows = None if kind == "view" and m.materialized != "incremental" else int(
                cur.execute(f"select count(*) from {rel}").fetchone()[0])
        except engine.DuckDBError as e:
            err = self._map_error(m, e)
            with self.lock:
                StateStore(self.con).fail_version(m.name, version, err.format())
            return ModelResult(m.name, "error", version, time.perf_counter() - t0, None,
                               err.message, err, thread=thread, reason=step.reason)
        prev = self.live.get(m.name)
        prev_rel = f'"fsql_versions"."{m.name}__v{prev}"' if prev else None
        passed, checks = self.validate(cur, m, rel, columns, prev_rel)
        dur = time.perf_counter() - t0
        with self.lock:
            state = StateStore(self.con)
            if not passed:
                bad = [c for c in checks
                       if not c.get("success") and c.get("severity", "error") == "error"]
                msgs = [c.get("message") or c.get("id", "") for c in bad]
                errs = [check_error(m.name, c) for c in bad]
                state.fail_version(m.name, version, "; ".join(msgs), checks, row_count=rows,
                                   columns=columns, duration_s=dur)
                return ModelResult(m.name, "failed", version, dur, rows, "; ".join(msgs),
                                   errs[0] if len(errs) == 1 else ErrorGroup(errs),
                                   checks=tuple(checks), thread=thread, reason=step.reason)
            state.publish(m.name, version, row_count=rows, columns=columns, checks=checks,
                          duration_s=dur)
            self.live[m.name] = version
        return ModelResult(m.name, "success", version, dur, rows, None, checks=tuple(checks),
                           thread=thread, reason=step.reason)

    def _build_incremental(self, cur: Any, m: CompiledModel, version: int, rel: str) -> None:
        from .incremental import build_incremental

        plan, prev, manifest = self.incremental[m.name]
        build_incremental(cur, m.name, version, rel, plan, prev,
                          lambda a, b, inc: manifest.render_interval(m.name, a, b, inc),
                          m.config, self.lock)

    def _save_profile(self, cur: Any, model: str, version: int) -> None:
        """DuckDB's operator profile of the build query (shown in the docs site's run view)."""
        info = cur.get_profiling_information(format="json")
        cur.execute("set enable_profiling = 'no_output'")  # keep later queries out of it
        cur.execute("pragma disable_profiling")
        with self.lock:
            self.con.execute("insert into fsql_meta.model_profiles values (?, ?, ?, now(), ?)",
                             [self.run_id, model, version, info])

    def _map_error(self, m: CompiledModel, e: Exception) -> ExecutionError:
        line, col = engine.error_position(e, "x\n" + m.sql)
        line = line - 1 if line and line > 1 else None
        compiled = self.paths.get(m.name, "")
        first = str(e).split("\n")[0]
        pinned = re.search(r"Table with name (\w+)__v(\d+) does not exist", first)
        if pinned:
            first = f"ref('{pinned.group(1)}', version={pinned.group(2)}): no such version"
        rest = [ln for ln in str(e).split("\n")[1:] if ln.strip() and not ln.startswith("LINE")
                and "^" not in ln]
        hint = rest[0].strip() if rest else "run `fsql compile` and try the SQL in DuckDB"
        if pinned:
            hint = f"see `fsql versions {pinned.group(1)}`"
        if compiled and line:
            hint += f" (compiled SQL: {compiled}:{line})"
        return ExecutionError(f"{first}", path=m.path, line=line, col=col if line else None,
                              model=m.name, expected="SQL that DuckDB can run against the "
                              "inputs", hint=hint)


def execute_plan(con: Any, models: Mapping[str, CompiledModel], plan: Plan, *, run_id: str,
                 live_versions: dict[str, int], validate: Validate, threads: int = 4,
                 fail_fast: bool = False, reporter: Callable[[str, Any], None] | None = None,
                 compiled_paths: Mapping[str, str] | None = None,
                 cleaned: tuple[str, ...] = (), profile: bool = False,
                 incremental: Mapping[str, Any] | None = None) -> RunResult:
    """Run every step of ``plan`` in DAG order; never replaces a live version on failure."""
    started = datetime.now(UTC).isoformat()
    t0 = time.perf_counter()
    run = _Run(con, models, plan, run_id, live_versions, validate,
               reporter or (lambda *_: None), fail_fast, compiled_paths or {})
    run.profile = profile
    run.incremental = dict(incremental or {})
    pending = {s.model: s for s in plan.steps}
    for s in plan.steps:
        if s.action == "skip":
            run.results[s.model] = ModelResult(s.model, "unchanged", s.live_version,
                                               reason=s.reason)
        elif s.action == "blocked":
            run.results[s.model] = ModelResult(s.model, "blocked", message=s.reason,
                                               reason=s.reason)
    _schedule(run, pending, max(1, threads))
    results = tuple(run.results[s.model] for s in plan.steps)
    return RunResult(run_id, plan, results, started, time.perf_counter() - t0, cleaned)


def _schedule(run: _Run, pending: dict[str, PlanStep], threads: int) -> None:
    todo = [s for s in pending.values() if s.action == "build"]
    running: dict[Future[ModelResult], str] = {}
    with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="fsql") as pool:
        while todo or running:
            for step in list(todo):
                state = _readiness(run, step)
                if state == "wait":
                    continue
                todo.remove(step)
                if state != "go" or run.stop:
                    why = state if state != "go" else "stopped by --fail-fast"
                    run.results[step.model] = ModelResult(step.model, "skipped", message=why,
                                                          reason=step.reason)
                    run.report("done", run.results[step.model])
                    continue
                run.report("start", step)
                running[pool.submit(run.build, step)] = step.model
            if not running:
                continue
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for fut in done:
                name = running.pop(fut)
                res = fut.result()
                run.results[name] = res
                run.report("done", res)
                if res.status in ("error", "failed") and run.fail_fast:
                    run.stop = True


def _readiness(run: _Run, step: PlanStep) -> str:
    """'go', 'wait', or the reason the step must be skipped."""
    for p in run.parents(step.model):
        res = run.results.get(p)
        if res is None and p in run.to_build:
            return "wait"
        if res is not None and res.status not in ("success", "unchanged"):
            return f"upstream '{p}' {res.status}"
    return "go"
