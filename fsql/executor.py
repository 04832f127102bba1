"""Stage 6 (+7, +8) — execute: build each planned model into a NEW version relation, validate
it, and publish it (write-audit-publish). Independent models build concurrently; each thread
uses its own cursor of one connection.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import sys
import threading
import time
from collections.abc import Callable, Collection, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, Literal

from .compiler import CompiledModel
from .engines.base import Engine
from .engines.duckdb import DuckDBError, error_position
from .errors import ErrorGroup, ExecutionError, FsqlError
from .planner import Plan, PlanStep
from .renderer import version_relation
from .state import LiveVersion, NewVersion, Publish, StateStore, Write, supersede_sql
from .validator import Validate, check_error

# what happened to a model in a run: built and published, built but a check failed, the SQL
# failed, not started (an upstream failed), nothing to do, or blocked by the plan
Status = Literal["success", "failed", "error", "skipped", "unchanged", "blocked"]
__all__ = ["ModelResult", "RunInputs", "RunResult", "Status", "execute_plan"]


@dataclass(frozen=True)
class ModelResult:
    model: str
    status: Status
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


@dataclass(frozen=True)
class _Ready:
    """A model built and validated: its result once ``publish`` is committed."""

    result: ModelResult
    publish: Publish
    t0: float


class _Run:
    """Mutable bookkeeping of one execution (kept private; results are frozen)."""

    def __init__(self, con: Any, engine: Engine, models: Mapping[str, CompiledModel], plan: Plan,
                 run_id: str, live_versions: dict[str, int], validate: Validate,
                 reporter: Callable[[str, Any], None], fail_fast: bool,
                 paths: Mapping[str, str]) -> None:
        self.con, self.models, self.plan, self.run_id = con, models, plan, run_id
        self.engine = engine  # where the data is; ``con`` holds the state (the same for DuckDB)
        self.two_phase = not engine.caps.transactions
        self.live = dict(live_versions)
        self.validate, self.report, self.fail_fast = validate, reporter, fail_fast
        self.paths = paths
        self.lock = threading.Lock()  # state writes and publishes are serialized
        self.results: dict[str, ModelResult] = {}
        self.stop = False
        self.active: dict[int, Any] = {}  # thread -> the cursor it builds with (Ctrl+C)
        self.to_build = set(plan.to_build)
        self._parents: dict[str, list[str]] = {}
        self.profile = False
        self.incremental: dict[str, Any] = {}
        self.versions: dict[str, int] = {}   # highest version number per model
        self.pins: set[str] = set()          # models a rollback pinned
        self.live_rows: dict[str, int | None] = {}
        self.live_columns: dict[str, tuple[tuple[str, str], ...]] = {}
        # published versions whose predecessors are marked superseded when the run ends
        self.superseding: list[tuple[str, int]] = []

    def parents(self, name: str) -> list[str]:
        """Physical parents (looking through ephemerals), computed once per model."""
        hit = self._parents.get(name)
        if hit is None:
            out: list[str] = [a for a in self.models[name].after if a in self.models]
            for d in self.models[name].depends_on:
                out.extend(self.parents(d) if self.models[d].is_ephemeral else [d])
            hit = self._parents[name] = sorted(set(out))
        return hit

    def build(self, step: PlanStep) -> ModelResult | _Ready:
        started = datetime.now(UTC).replace(tzinfo=None).isoformat(sep=" ")
        res = self._build(step)
        if isinstance(res, _Ready):
            return replace(res, result=replace(res.result, started_at=started))
        return replace(res, started_at=started)

    def publish(self, outcomes: list[ModelResult | _Ready]) -> list[ModelResult]:
        """Publish every validated version among ``outcomes`` in ONE transaction (on the
        scheduler's thread, while the workers go on building); if the batch fails, each
        is retried alone so one bad publish does not take the others with it."""
        ready = [o for o in outcomes if isinstance(o, _Ready)]
        if ready:
            try:
                self._publish([r.publish for r in ready])
            except self._errors():
                return [self._publish_one(o) if isinstance(o, _Ready) else o for o in outcomes]
        return [self._published(o) if isinstance(o, _Ready) else o for o in outcomes]

    def _publish_one(self, r: _Ready) -> ModelResult:
        try:
            self._publish([r.publish])
        except self._errors() as e:
            m = self.models[r.result.model]
            view = f'"main"."{m.name}"'
            err = ExecutionError(
                f"cannot publish v{r.publish.new.version}: {str(e).splitlines()[0]}",
                path=m.path, model=m.name, expected=f"{view} to be fsql's view of the live "
                "version", hint=f"fsql owns the relation named after each model: drop or "
                f"rename {view} (in DuckDB) and run again")
            p = r.publish
            self._state(self.con).fail_version(p.new, err.message, p.checks,
                                               row_count=p.row_count, columns=p.columns,
                                               duration_s=p.duration_s)
            return replace(r.result, status="error", message=err.message, error=err)
        return self._published(r)

    def _errors(self) -> tuple[type[BaseException], ...]:
        return (DuckDBError, self.engine.Error)  # the state store's, the engine's

    def _publish(self, items: list[Publish]) -> None:
        """Transactional engines: view swaps and state in one transaction. Two-phase: swap
        the views (the user-visible commit), then record them (see StateStore.two_phase)."""
        if self.two_phase:
            self.engine.publish_views([(p.new.model, p.new.version) for p in items])
            for p in items:
                self.engine_live(p.new.model, p.new.version)
        self._state(self.con).publish_many(items, supersede=False)

    def engine_live(self, model: str, version: int) -> None:
        live = getattr(self.engine, "live", None)
        if live is not None:
            with self.lock:
                live[model] = version

    def _state(self, cur: Any) -> StateStore:
        return StateStore(cur, two_phase=self.two_phase)

    def _published(self, r: _Ready) -> ModelResult:
        with self.lock:
            self.live[r.result.model] = r.publish.new.version
            if r.publish.has_live:
                self.superseding.append((r.result.model, r.publish.new.version))
        return replace(r.result, duration_s=time.perf_counter() - r.t0)  # with the publish

    def _new_version(self, m: CompiledModel, step: PlanStep) -> NewVersion:
        with self.lock:
            version = self.versions[m.name] = self.versions.get(m.name, 0) + 1
        inputs = {p: self.live[p] for p in self.parents(m.name) if p in self.live}
        return NewVersion(m.name, version, m.kind, m.materialized, step.fingerprint,
                          m.own_hash, self.run_id, m.sql, inputs, m.config)

    def _build(self, step: PlanStep) -> ModelResult | _Ready:
        """Write (autocommit) -> audit; the scheduler then publishes (ONE transaction: live
        view, state row, statistics, drift — see :meth:`publish`). A kill -9 before the
        publish leaves only a relation no state row records; the next run drops it. The
        scheduler pauses for a checkpoint when the WAL grows (see ``_Scheduler``).

        Incremental models append to a parts table their previous versions share: their
        write, audit and publish are ONE transaction on the worker (a kill leaves no rows
        behind, so part ids can follow from the version number without a query). A check
        whose query fails aborts that transaction: the model is then built again the
        two-step way, where such a failure is just a failed check."""
        m = self.models[step.model]
        new = self._new_version(m, step)
        try:
            if m.materialized == "incremental" and not self.two_phase:
                out = self._attempt(m, step, new, atomic=True)
                if out is not None:
                    return out
            out = self._attempt(m, step, new, atomic=False)
            assert out is not None
            return out
        finally:
            self.active.pop(threading.get_ident(), None)

    def cancel(self) -> None:
        """Ctrl+C: start nothing more and interrupt the queries running (DuckDB's
        interrupt: they end within milliseconds with an INTERRUPT error)."""
        self.stop = True
        for cur in list(self.active.values()):
            with contextlib.suppress(Exception):
                cur.interrupt()

    def _attempt(self, m: CompiledModel, step: PlanStep, new: NewVersion,
                 atomic: bool) -> ModelResult | _Ready | None:
        """Build, audit and (``atomic``) publish ``new``; None when a check's query aborted
        the one transaction (the caller retries the two-step way)."""
        cur = self.engine.cursor()  # the data; ``scur`` the state (the same cursor on DuckDB)
        self.active[threading.get_ident()] = cur
        scur = self.con.cursor() if self.two_phase else cur
        t0 = time.perf_counter()
        if atomic:
            cur.execute("begin transaction")
        elif self.two_phase:  # recorded before the table exists: a kill leaves a trace
            with self.lock:
                self._state(scur).begin_building(new)
        built = self._write_or_error(cur, scur, m, step, new, atomic, t0)
        if isinstance(built, ModelResult):
            return built
        rows, writes, columns = built
        prev = self.live.get(m.name)
        try:
            v = self.validate(cur, m, new.relation, columns,
                              version_relation(m.name, prev) if prev else None, rows)
        except self.engine.Error as e:
            if not self.two_phase:
                raise
            return self._error(scur, m, step, new, t0, e)
        dur, state = time.perf_counter() - t0, self._state(scur)
        if not v.passed:
            res = self._failed(m, step, new, rows, v.checks, dur)
            ok = _record(cur, atomic, lambda: state.fail_version(
                new, res.message or "", v.checks, row_count=rows, columns=columns,
                duration_s=dur, writes=writes + v.writes, open_transaction=atomic))
            return res if ok else None
        # the run holds the write lock: a model it knows no live version of has none
        ready = _Ready(ModelResult(m.name, "success", new.version, dur, rows, None,
                                   checks=tuple(v.checks), thread=_thread(),
                                   reason=step.reason),
                       Publish(new, rows, columns, v.checks, dur, writes + v.writes,
                               pinned=m.name in self.pins, has_live=prev is not None), t0)
        if not atomic:
            return ready  # the scheduler publishes it (see publish)
        ok = _record(cur, True, lambda: state.publish_many([ready.publish], open_transaction=True,
                                                           supersede=False))
        return self._published(ready) if ok else None

    def _write_or_error(self, cur: Any, scur: Any, m: CompiledModel, step: PlanStep,
                        new: NewVersion, atomic: bool, t0: float
                        ) -> tuple[int | None, list[Write], list[tuple[str, str]]] | ModelResult:
        """(rows, statements for the publish, columns), or the error result of a SQL error
        (recorded as a failed version)."""
        try:
            rows, writes = self._write(cur, m, new, atomic)
            return rows, writes, (self._appended_columns(m)
                                  or self.engine.describe(cur, new.relation))
        except self.engine.Error as e:
            if atomic:
                cur.execute("rollback")
            return self._error(scur, m, step, new, t0, e)

    def _error(self, scur: Any, m: CompiledModel, step: PlanStep, new: NewVersion, t0: float,
               e: BaseException) -> ModelResult:
        err = self._map_error(m, e)
        with self.lock:
            self._state(scur).fail_version(new, err.format())
        return ModelResult(m.name, "error", new.version, time.perf_counter() - t0, None,
                           err.message, err, thread=_thread(), reason=step.reason)

    @staticmethod
    def _failed(m: CompiledModel, step: PlanStep, new: NewVersion, rows: int | None,
                checks: list[dict[str, Any]], dur: float) -> ModelResult:
        """The result of a version whose error-severity checks failed."""
        bad = [c for c in checks if not c.get("success") and c.get("severity", "error") == "error"]
        msg = "; ".join(c.get("message") or c.get("id", "") for c in bad)
        errs = [check_error(m.name, c) for c in bad]
        return ModelResult(m.name, "failed", new.version, dur, rows, msg,
                           errs[0] if len(errs) == 1 else ErrorGroup(errs),
                           checks=tuple(checks), thread=_thread(), reason=step.reason)

    def _appended_columns(self, m: CompiledModel) -> list[tuple[str, str]] | None:
        """An append to the live version's parts table keeps that table's columns (a new
        generation, not an append, follows any change of the model's SQL)."""
        if m.materialized != "incremental":
            return None
        plan, prev, _ = self.incremental[m.name]
        cols = self.live_columns.get(m.name)
        return list(cols) if not plan.full and prev is not None and cols else None

    def _write(self, cur: Any, m: CompiledModel, new: NewVersion, atomic: bool = False
               ) -> tuple[int | None, list[Write]]:
        """Build the version's relation; (its row count, statements for the publish)."""
        rel, writes = new.relation, list[Write]()
        profile = self.profile and self.engine.caps.operator_profile
        if profile:
            cur.execute("set enable_profiling = 'no_output'")
        if m.materialized == "incremental" and not self.two_phase:
            rows, writes = self._build_incremental(cur, m, new.version, rel, atomic)
            if rows is None:
                rows = int(cur.execute(f"select count(*) from {rel}").fetchone()[0])
        else:
            rows = self.engine.create_version(cur, rel, m.sql, m.materialized)
        if profile:
            writes.append(self._save_profile(cur, m.name, new.version))
        return rows, writes

    def _build_incremental(self, cur: Any, m: CompiledModel, version: int,
                           rel: str, atomic: bool) -> tuple[int | None, list[Write]]:
        from .incremental import build_incremental

        plan, prev, manifest = self.incremental[m.name]
        return build_incremental(cur, m.name, version, rel, plan, prev,
                                 lambda a, b, inc: manifest.render_interval(m.name, a, b, inc),
                                 m.config, self.live_rows.get(m.name), atomic)

    def _save_profile(self, cur: Any, model: str, version: int) -> Write:
        """DuckDB's operator profile of the build query (shown in the docs site's run view)."""
        info = cur.get_profiling_information(format="json")
        cur.execute("set enable_profiling = 'no_output'")  # keep later queries out of it
        cur.execute("pragma disable_profiling")
        return ("insert into fsql_meta.model_profiles values (?, ?, ?, now(), ?)",
                [self.run_id, model, version, info])

    def _map_error(self, m: CompiledModel, e: BaseException) -> ExecutionError:
        from .explain import explain

        known = explain(e)  # a full disk or a damaged file is not the SQL's fault
        if known is not None:
            return ExecutionError(known.message, path=m.path, model=m.name,
                                  expected=known.expected, hint=known.hint)
        if self.two_phase:
            return self._engine_error(m, e)
        line, col = error_position(e, "x\n" + m.sql)
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


    def _engine_error(self, m: CompiledModel, e: BaseException) -> ExecutionError:
        """An error of another engine (Spark): its message, and where to see the SQL it ran."""
        first = (str(e).strip().split("\n") or [type(e).__name__])[0]
        first = re.sub(r";? ?line \d+ pos \d+;?$", "", first).strip()
        name = self.engine.name
        target = getattr(self.engine, "target", None) or name
        return ExecutionError(first, path=m.path, model=m.name,
                              expected=f"SQL that {name} can run against the inputs",
                              hint=f"`fsql --target {target} compile` writes the {name} SQL "
                                   f"and flags constructs that do not carry over")


def _thread() -> str:
    return threading.current_thread().name


def _record(cur: Any, atomic: bool, write: Callable[[], None]) -> bool:
    """Run ``write`` (inside the open transaction when ``atomic``, then commit). False: a
    check's query had aborted that transaction (DuckDB then refuses every statement), so it
    is rolled back. Outside a transaction an error propagates."""
    try:
        write()
        if atomic:
            cur.execute("commit")
    except DuckDBError:
        if not atomic:
            raise
        cur.execute("rollback")
        return False
    return True


@dataclass(frozen=True)
class RunInputs:
    """Everything one execution needs besides the state connection (built by the API)."""

    models: Mapping[str, CompiledModel]
    plan: Plan
    run_id: str
    live: Mapping[str, LiveVersion]
    validate: Validate
    engine: Engine | None = None           # default: DuckDB on the state connection
    threads: int = 4
    fail_fast: bool = False
    reporter: Callable[[str, Any], None] | None = None
    compiled_paths: Mapping[str, str] = field(default_factory=dict)
    cleaned: tuple[str, ...] = ()
    profile: bool = False                  # record DuckDB's operator profile per model
    incremental: Mapping[str, Any] = field(default_factory=dict)  # (plan, layout, manifest)
    pinned: Collection[str] = ()           # models a rollback pinned
    wal: str | None = None                 # the DuckDB WAL watched for checkpoints
    numbers: Mapping[str, int] | None = None  # highest version per model, if already read


def execute_plan(con: Any, inputs: RunInputs) -> RunResult:
    """Run every step of ``inputs.plan`` in DAG order; never replaces a live version on
    failure. ``con`` is the state store's connection (and DuckDB's data)."""
    i = inputs
    models, plan, run_id, live = i.models, i.plan, i.run_id, i.live
    started = datetime.now(UTC).isoformat()
    t0 = time.perf_counter()
    engine = i.engine
    if engine is None:
        from .engines.duckdb import DuckDBEngine

        engine = DuckDBEngine(con)
    run = _Run(con, engine, models, plan, run_id, {k: v.version for k, v in live.items()},
               i.validate, i.reporter or (lambda *_: None), i.fail_fast, i.compiled_paths)
    run.profile = i.profile
    run.incremental = dict(i.incremental)
    # the highest version number per model (``numbers``: already read by the caller)
    run.versions = dict(i.numbers) if i.numbers is not None else (
        StateStore(con).last_versions() if plan.to_build else {})
    run.pins = set(i.pinned)
    run.live_rows = {k: v.row_count for k, v in live.items()}
    run.live_columns = {k: v.columns for k, v in live.items()}
    for s in plan.steps:
        if s.action == "skip":
            run.results[s.model] = ModelResult(s.model, "unchanged", s.live_version,
                                               reason=s.reason)
        elif s.action == "blocked":
            run.results[s.model] = ModelResult(s.model, "blocked", message=s.reason,
                                               reason=s.reason)
    try:
        _Scheduler(run, [s for s in plan.steps if s.action == "build"], i.wal).execute(
            max(1, i.threads))
    finally:  # one statement for the whole run (see state.VERSIONS)
        done = supersede_sql(run.superseding)
        if done:
            con.execute(*done)
    results = tuple(run.results[s.model] for s in plan.steps)
    return RunResult(run_id, plan, results, started, time.perf_counter() - t0, i.cleaned)


class _Scheduler:
    """Submits a step once its parents are done; re-checks only the children of a finished
    step (rescanning every waiting step per completion is O(n^2) at 1000 models).

    DuckDB checkpoints (moves the WAL into the database file and frees its memory) only when
    no transaction is open, which never happens while 4 threads build back to back: the WAL
    then grows to ~400 MB and the peak RSS doubles at 1000 models. So when the WAL passes
    ``WAL_CHECKPOINT_BYTES``, ready steps wait until the running ones finish, and the run
    checkpoints."""

    WAL_CHECKPOINT_BYTES = 24 * 1024 * 1024

    def __init__(self, run: _Run, steps: list[PlanStep], wal: str | None = None) -> None:
        self.run = run
        self.todo = {s.model: s for s in steps}
        self.order = {s.model: i for i, s in enumerate(steps)}
        self.children: dict[str, list[str]] = {}
        for s in steps:
            for p in run.parents(s.model):
                self.children.setdefault(p, []).append(s.model)
        self.running: dict[Future[ModelResult | _Ready], str] = {}
        self.wal, self.draining, self.deferred = wal, False, list[str]()

    def execute(self, threads: int) -> None:
        with _Quiet() as quiet, ThreadPoolExecutor(max_workers=threads,
                                                   thread_name_prefix="fsql") as pool:
            try:
                self._loop(pool)
            except BaseException:  # Ctrl+C (or a bug): stop the queries, not just Python
                quiet.arm()  # a second Ctrl+C must not abort the wait below
                pool.shutdown(wait=False, cancel_futures=True)
                self.run.cancel()
                raise

    def _loop(self, pool: ThreadPoolExecutor) -> None:
        self._check(list(self.todo), pool)
        while self.running or self.deferred:
            if not self.running:  # drained: no transaction is open
                self._checkpoint()
                names, self.deferred = self.deferred, []
                self._check(names, pool)
                continue
            done, _ = wait(self.running, return_when=FIRST_COMPLETED)
            outcomes = [fut.result() for fut in
                        sorted(done, key=lambda f: self.order[self.running[f]])]
            for fut in done:
                del self.running[fut]
            finished = []
            for res in self.run.publish(outcomes):
                self._finish(res)
                finished.append(res.model)
            self.draining = self.draining or self._wal_bytes() > self.WAL_CHECKPOINT_BYTES
            self._check([c for n in finished for c in self.children.get(n, ())], pool)

    def _wal_bytes(self) -> int:
        try:
            return os.stat(self.wal).st_size if self.wal else 0
        except OSError:
            return 0

    def _checkpoint(self) -> None:
        self.draining = False
        try:
            self.run.con.execute("checkpoint")
        except DuckDBError:  # best effort: DuckDB checkpoints again at close
            pass

    def _finish(self, res: ModelResult) -> None:
        self.run.results[res.model] = res
        self.run.report("done", res)
        if res.status in ("error", "failed") and self.run.fail_fast:
            self.run.stop = True
            self._check(list(self.todo), None)  # everything waiting is skipped

    def _check(self, names: list[str], pool: ThreadPoolExecutor | None) -> None:
        """Start (or skip) every step in ``names`` whose parents are all done, in plan order;
        a skip cascades to its children."""
        queue = sorted(set(names), key=self.order.__getitem__)
        while queue:
            name = queue.pop(0)
            step = self.todo.get(name)
            state = "wait" if step is None else _readiness(self.run, step)
            if step is None or state == "wait" or (state == "go" and pool is None
                                                  and not self.run.stop):
                continue
            if state == "go" and self.draining and not self.run.stop:
                self.deferred.append(name)  # started after the checkpoint
                continue
            del self.todo[name]
            if state != "go" or self.run.stop:
                why = state if state != "go" else "stopped by --fail-fast"
                self._finish(ModelResult(name, "skipped", message=why, reason=step.reason))
                queue = sorted(set(queue) | set(self.children.get(name, ())),
                               key=self.order.__getitem__)
                continue
            self.run.report("start", step)
            assert pool is not None
            self.running[pool.submit(self.run.build, step)] = name


class _Quiet:
    """Once armed, further SIGINTs only say that the run is being cancelled (main thread
    only; the previous handler comes back on exit)."""

    def __init__(self) -> None:
        self.previous: Any = None

    def __enter__(self) -> _Quiet:
        return self

    def arm(self) -> None:
        if threading.current_thread() is threading.main_thread() and self.previous is None:
            self.previous = signal.signal(signal.SIGINT, _still_cancelling)

    def __exit__(self, *exc: object) -> None:
        if self.previous is not None:
            signal.signal(signal.SIGINT, self.previous)


def _still_cancelling(signum: int, frame: Any) -> None:
    print("cancelling the running queries; the run stops in a moment", file=sys.stderr)


def _readiness(run: _Run, step: PlanStep) -> str:
    """'go', 'wait', or the reason the step must be skipped."""
    for p in run.parents(step.model):
        res = run.results.get(p)
        if res is None and p in run.to_build:
            return "wait"
        if res is not None and res.status not in ("success", "unchanged"):
            return f"upstream '{p}' {res.status}"
    return "go"
