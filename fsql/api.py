"""The Python API: ``fsql.Project`` — the CLI is a thin layer over it.

>>> import fsql, tempfile, pathlib
>>> d = pathlib.Path(tempfile.mkdtemp())
>>> _ = fsql.init_project(d / "demo")
>>> result = fsql.Project(d / "demo").run()
>>> result.exit_code
0
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from functools import cached_property
from pathlib import Path
from typing import Any

from . import __version__
from .compiler import CompiledModel, source_sql
from .engines import duckdb as engine
from .errors import ConfigError, FsqlError, did_you_mean
from .executor import RunInputs, RunResult, execute_plan
from .history import DiffResult, GcResult, diff_versions, gc_versions, rollback_model
from .incremental import intervals_todo, live_layout
from .lock import WriteLock, mark_reader, open_waiting
from .manifest import Manifest, build_manifest
from .planner import Plan, make_plan
from .project_cache import load_project
from .renderer import version_relation
from .spec import ProfileSpec, ProjectSpec, default_threads
from .state import StateStore, VersionRow, drop_any
from .suite_runner import TestRun, run_tests
from .validator import build_validator

__all__ = ["Project", "init_project"]

TEMPLATE = Path(__file__).resolve().parent / "project_template"


def init_project(path: str | Path) -> Path:
    """Copy the sample project (card transactions) to ``path``; refuses a non-empty folder."""
    dest = Path(path)
    if dest.exists() and any(dest.iterdir()):
        raise ConfigError(f"{dest} exists and is not empty", path=str(dest),
                          expected="a new or empty folder", hint="choose another name")
    src = _template_dir()
    shutil.copytree(src, dest, dirs_exist_ok=True,
                    ignore=shutil.ignore_patterns("target", "*.duckdb*", "__pycache__"))
    return dest


def _template_dir() -> Path:
    if (TEMPLATE / "fsql_project.yml").is_file():  # package data: wheels ship it
        return TEMPLATE
    raise ConfigError("project template not found in the installation",
                      hint="reinstall fsql (pip install -e .)")


class Project:
    """A fsql project folder: load, compile, plan, run, and read its versions.

    Keyword arguments mirror the CLI flags (``vars`` = ``--vars``, ``threads`` = ``--threads``).
    """

    def __init__(self, path: str | Path = ".", *, vars: dict[str, Any] | None = None,
                 threads: int | None = None, database: str | Path | None = None,
                 target: str | None = None) -> None:
        self.root = Path(path).resolve()
        self.vars = dict(vars or {})
        self._threads = threads
        self._database = Path(database) if database else None
        self.target_name = target or os.environ.get("FSQL_TARGET") or None
        self._engine: Any = None  # a two-phase engine (Spark), opened on first use

    # -- loading and compiling ----------------------------------------------------------------
    @cached_property
    def spec(self) -> ProjectSpec:
        return load_project(self.root)

    @cached_property
    def profile(self) -> ProfileSpec:
        """The profile of the chosen target (``target=`` / ``--target`` / FSQL_TARGET)."""
        name = self.target_name
        if name is None:
            return self.spec.profile
        found = self.spec.targets.get(name)
        if found is None:
            known = sorted(self.spec.targets)
            raise ConfigError(f"unknown target '{name}'",
                              path=str(self.root / "fsql_project.yml"),
                              expected="one of: " + (", ".join(known) or "(no targets declared)"),
                              hint=did_you_mean(name, known)
                              or "declare it under `targets:` in fsql_project.yml")
        return found

    @property
    def database(self) -> Path:
        if self._database:
            return self._database
        p = Path(self.profile.database)
        return p if p.is_absolute() else self.root / p

    @property
    def target(self) -> Path:
        return self.root / "target"

    def compile(self, *, write: bool = True) -> Manifest:
        """Render and compile every model; writes target/manifest.json and compiled SQL."""
        manifest = build_manifest(self.spec, self.vars, self,
                                  self.target / ".cache" if write else None)
        if write:
            manifest.write(self.target)
        return manifest

    def readable_versions(self, model: str) -> list[int] | None:
        """Versions of ``model`` that can be read (``ref('m', version=N)``, ``fsql show``);
        None when nothing is built yet (a ref is then checked when the model runs)."""
        if not self.database.exists():
            return None
        with self._reader() as con:
            if not StateStore.exists(con):
                return None
            return StateStore(con).readable_versions(model) or None

    def version_live_at(self, model: str, as_of: str) -> int:
        """The version of ``model`` that was live at ``as_of`` (ISO timestamp)."""
        with self._reader() as con:
            found = StateStore(con).version_live_at(model, as_of)
        if found is None:
            raise ConfigError(f"no version of '{model}' was live at {as_of}", model=model,
                              hint="see `fsql versions " + model + "`")
        return found

    # -- running ------------------------------------------------------------------------------
    def plan(self, select: Sequence[str] | str | None = None,
             exclude: Sequence[str] | str | None = None, *, full_refresh: bool = False,
             backfill: Any = None) -> Plan:
        """What ``run`` would do, without building anything."""
        manifest = self.compile()
        selected = manifest.graph.select(select, exclude)
        with self._reader(missing_ok=True) as con:
            has = con is not None and StateStore.exists(con)
            live = StateStore(con).live() if has else {}
            pins = StateStore(con).pins() if has else {}
            inc = self._incremental_plans(con if has else None, manifest, live, full_refresh,
                                          backfill)
        return make_plan(manifest.models, manifest.fingerprints, manifest.graph, selected, live,
                         full_refresh=full_refresh, pins=pins,
                         incremental={n: p for n, (p, _) in inc.items()})

    def _incremental_plans(self, con: Any, manifest: Manifest, live: Any, full_refresh: bool,
                           backfill: Any = None) -> dict[str, Any]:
        """Per incremental model: (intervals to build, the live version's layout); a full
        rebuild when its SQL changed. The executor reuses the layout it was planned with."""
        out = {}
        for n, m in manifest.models.items():
            if m.materialized != "incremental":
                continue
            cur = live.get(n)
            layout = live_layout(con, n, cur.version) if con is not None and cur else None
            full = (full_refresh or cur is None or layout is None
                    or cur.own_hash != m.own_hash)
            rng = backfill[1:] if backfill and backfill[0] == n else None
            plan = intervals_todo(m.config, layout[2] if layout else None, full=full,
                                  backfill=rng)
            out[n] = (plan, None if plan.full else layout)
        return out

    def run(self, select: Sequence[str] | str | None = None,
            exclude: Sequence[str] | str | None = None, *, full_refresh: bool = False,
            threads: int | None = None, fail_fast: bool = False, dry_run: bool = False,
            reporter: Callable[[str, Any], None] | None = None,
            profile: bool = False, backfill: Any = None) -> RunResult:
        """Build every changed selected model as a new version; publish those that pass."""
        if dry_run:
            plan = self.plan(select, exclude, full_refresh=full_refresh, backfill=backfill)
            return RunResult("dry-run", plan, (), "", 0.0)
        with WriteLock(self.database):  # a run that cannot start leaves target/ as it was
            pass
        manifest = self.compile()
        selected = manifest.graph.select(select, exclude)
        with WriteLock(self.database), self._writer() as con:
            state = StateStore(con, two_phase=self.two_phase)
            state.init()
            eng = self.engine(con)
            cleaned = tuple(state.clean_leftovers(undo=self._undo(eng, state)))
            self._ensure_sources(con, manifest, state)
            live = state.live()
            self._set_live(eng, live)
            inc = self._incremental_plans(con, manifest, live, full_refresh, backfill)
            pins = state.pins()
            plan = make_plan(manifest.models, manifest.fingerprints, manifest.graph, selected,
                             live, full_refresh=full_refresh, pins=pins,
                             incremental={n: p for n, (p, _) in inc.items()})
            run_id = datetime.now(UTC).strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:6]
            if self.two_phase and plan.to_build:  # an engine that cannot start: exit 2,
                eng.start()                       # not one error per model
            return self._execute(con, manifest, plan, run_id, live, threads, fail_fast,
                                 reporter, cleaned, profile, inc, pins=pins,
                                 numbers=state.numbers)

    def test(self, select: Sequence[str] | str | None = None,
             exclude: Sequence[str] | str | None = None, *, version: int | None = None,
             engine: str = "fsql", store_failures: bool = False,
             junit_xml: str | Path | None = None, result_format: str = "SUMMARY",
             params: dict[str, Any] | None = None) -> TestRun:
        """Run expectations on the live versions (or ``version``) and on sources; results are
        stored per model version and written to target/run_results.json (and JUnit XML).
        ``params`` (``--param``) bind suite parameters, over the project's vars."""
        manifest = self.compile()
        chosen = manifest.graph.select(select, exclude)
        names = [n for n in chosen if n in self.spec.models and self.spec.models[n].checks]
        if not select:
            names = sorted(k for k, s in self.spec.sources.items() if s.checks) + names
        with WriteLock(self.database), self._writer() as con:
            state = StateStore(con)
            state.init()
            self._ensure_sources(con, manifest, state)
            result = run_tests(self, con, names, version=version, engine=engine,
                               store_failures=store_failures, result_format=result_format,
                               data=self._data(con),
                               suite_parameters={**self.suite_parameters, **(params or {})})
        self.target.mkdir(parents=True, exist_ok=True)
        (self.target / "run_results.json").write_text(
            json.dumps(result.to_dict(), indent=1, default=str), encoding="utf-8")
        if junit_xml:
            Path(junit_xml).write_text(result.junit_xml(), encoding="utf-8")
        return result

    def validate(self, model: str, expectations: Sequence[Any], *, version: int | None = None,
                 result_format: str = "SUMMARY") -> Any:
        """Run ad-hoc expectations (YAML form) on a model's live (or given) version."""
        from .expectations import parse_expectation, run_suite

        rel = self._relation(model, version, None)
        specs = [parse_expectation(e, model=model) for e in expectations]
        with self._reader() as con:
            return run_suite(self._data(con), rel, specs, result_format=result_format,
                             suite_parameters=self.suite_parameters)

    @property
    def suite_parameters(self) -> dict[str, Any]:
        """Values of ``{"$PARAMETER": ...}`` kwargs: the project's vars (``--vars`` win)."""
        return {**self.spec.vars, **self.vars}

    def backfill(self, model: str, start: str, end: str, **kwargs: Any) -> RunResult:
        """Rebuild the intervals of an incremental model in [start, end) as a new version."""
        from .incremental import _ts

        self._check_model(model)
        m = self.compile(write=False).models[model]
        if m.materialized != "incremental":
            raise ConfigError(f"'{model}' is not an incremental model", model=model,
                              expected="materialized='incremental'",
                              hint="use `fsql run --full-refresh -s " + model + "`")
        return self.run(select=[model], backfill=(model, _ts(start), _ts(end)), **kwargs)

    def seed(self, **kwargs: Any) -> RunResult:
        """Load ``seeds/*.csv`` (as versioned tables)."""
        seeds = sorted(self.spec.seeds)
        if not seeds:
            raise ConfigError("no seeds/*.csv in this project", path=str(self.root / "seeds"),
                              hint="add CSV files under seeds/")
        return self.run(select=seeds, **kwargs)

    @property
    def two_phase(self) -> bool:
        """The data lives in another engine than the state store (Spark)."""
        return self.profile.engine != "duckdb"

    def engine(self, con: Any) -> Any:
        """The profile's engine (one per Project: a Spark session is reused by every model
        and command of this process; DuckDB's runs on ``con``)."""
        if not self.two_phase:
            from .engines.duckdb import DuckDBEngine

            return DuckDBEngine(con)
        if self._engine is None:
            from .engines import open_engine

            self._engine = open_engine(self.profile, con, self.root, self.spec.name)
            self._engine.file_sources = {k for k, s in self.spec.sources.items() if s.path}
        if con is not None:
            self._engine.state = con  # the state store of this command
        return self._engine

    @staticmethod
    def _set_live(eng: Any, live: Any) -> None:
        if hasattr(eng, "live"):
            eng.live.clear()
            eng.live.update({k: v.version for k, v in live.items()})

    def _drop_version(self, con: Any) -> Any:
        eng = self.engine(con)
        return lambda model, version: eng.drop_relation(None, version_relation(model, version))

    def _undo(self, eng: Any, state: StateStore) -> Any:
        """Two-phase engines: how a version a killed run left 'building' is undone (its
        table removed, the model's view pointed back at the live version)."""
        if not self.two_phase:
            return None

        def undo(model: str, version: int) -> None:
            eng.drop_relation(None, version_relation(model, version))
            live = state.live().get(model)
            if live is not None:
                eng.publish_views([(model, live.version)])
            else:
                eng.drop_view(model)
        return undo

    def _execute(self, con: Any, manifest: Manifest, plan: Plan, run_id: str, live: Any,
                 threads: int | None, fail_fast: bool, reporter: Any,
                 cleaned: tuple[str, ...], profile: bool,
                 incremental: Any, pins: Any, numbers: dict[str, int] | None) -> RunResult:
        state = StateStore(con)
        state.start_run(run_id, os.getpid(), "run", {"full_refresh": plan.full_refresh},
                        __version__)
        try:
            result = execute_plan(con, RunInputs(
                manifest.models, plan, run_id, live,
                build_validator(self.spec, self.suite_parameters),
                engine=self.engine(con), pinned=pins, numbers=numbers, reporter=reporter,
                fail_fast=fail_fast, threads=(threads or self._threads or self.profile.threads
                                              or default_threads()),
                compiled_paths={n: manifest.compiled_path(n) for n in manifest.models},
                cleaned=cleaned, profile=profile, wal=str(self.database) + ".wal",
                incremental={n: (p, layout, manifest)
                             for n, (p, layout) in (incremental or {}).items()}))
        except BaseException:
            # the builds Ctrl+C interrupted (their queries ended with DuckDB's INTERRUPT)
            con.execute("update fsql_meta.versions set status = 'cancelled', message = "
                        "'cancelled by an interrupt (Ctrl+C)' where run_id = ? and status = "
                        "'failed' and message like '%INTERRUPT Error%'", [run_id])
            state.finish_run(run_id, "interrupted")
            raise
        state.finish_run(run_id, "success" if result.exit_code == 0 else "failed",
                         [r for r in result.results if r.status != "unchanged"])
        self._write_run_results(result)
        return result

    def _ensure_sources(self, con: Any, manifest: Manifest, state: StateStore) -> None:
        known = state.source_hashes()
        for key, s in sorted(self.spec.sources.items()):
            # the stored key says where the files were read from: a moved project reloads
            # its sources (same contents: nothing downstream rebuilds)
            loaded = f"{manifest.source_hashes[key]} {self.root}"
            if s.path is None or known.get(key) == loaded:
                continue
            if self.two_phase:  # loaded where the engine reads it (Spark: a table directory)
                rel = self.engine(con).load_source(self.root, s)
                state.set_source(key, loaded, rel)
                continue
            rel = f'"{s.source}"."{s.name}"'
            con.execute(f'create schema if not exists "{s.source}"')
            # CSV/JSON files are loaded once per change (models and expectations then scan a
            # DuckDB table, not a gzip text file); Parquet is read in place.
            kind = "view" if source_sql(self.root, s).startswith("select * from read_parquet") \
                else "table"
            drop_any(con, s.source, s.name)
            con.execute(f"create {kind} {rel} as {source_sql(self.root, s)}")
            state.set_source(key, loaded, rel)

    def _write_run_results(self, result: RunResult) -> None:
        self.target.mkdir(parents=True, exist_ok=True)
        (self.target / "run_results.json").write_text(
            json.dumps(result.to_dict(), indent=1, default=str), encoding="utf-8")

    # -- reading ------------------------------------------------------------------------------
    def _writer(self) -> Any:
        return _Conn(self.database, read_only=False, memory_limit=self.profile.memory_limit)

    def _reader(self, missing_ok: bool = False) -> Any:
        if not self.database.exists():
            if missing_ok:
                return _Conn(None, read_only=True, memory_limit=None, none=True)
            raise ConfigError(f"no warehouse at {self.database}", path=str(self.database),
                              expected="a built project", hint="run `fsql run` first")
        return _Conn(self.database, read_only=True, memory_limit=self.profile.memory_limit)

    def ls(self) -> list[dict[str, Any]]:
        """Models with materialization, live version and last status."""
        manifest = self.compile(write=False)
        with self._reader(missing_ok=True) as con:
            has = con is not None and StateStore.exists(con)
            live = StateStore(con).live() if has else {}
            last = StateStore(con).last_status() if has else {}
        return [{"name": n, "kind": m.kind, "materialized": m.materialized, "path": m.path,
                 "live_version": live[n].version if n in live else None,
                 "last_status": last.get(n, (None, None))[0], "tags": list(m.tags)}
                for n, m in ((n, manifest.models[n]) for n in manifest.graph.order)]

    def versions(self, model: str) -> list[VersionRow]:
        """Every version of ``model``, oldest first."""
        self._check_model(model)
        with self._reader() as con:
            return StateStore(con).versions(model)

    def show(self, model: str, *, limit: int = 10, version: int | None = None,
             as_of: str | None = None) -> tuple[list[str], list[tuple[Any, ...]]]:
        """Column names and the first ``limit`` rows of the live (or a given) version."""
        rel = self._relation(model, version, as_of)
        with self._reader() as con:
            cur = self._data(con).execute(f"select * from {rel} limit {int(limit)}")
            return [d[0] for d in cur.description], cur.fetchall()

    def read(self, model: str, *, version: int | None = None, as_of: str | None = None) -> Any:
        """The live (or a given) version of a model as a pandas DataFrame."""
        rel = self._relation(model, version, as_of)
        with self._reader() as con:
            if self.two_phase:  # dates as datetime64, as DuckDB's .df() gives them
                return self._data(con).engine.fetch_arrow(f"select * from {rel}").to_pandas(
                    date_as_object=False)
            return con.execute(f"select * from {rel}").df()

    def _data(self, con: Any) -> Any:
        """Where a reader's data queries go: ``con`` itself on DuckDB; on a two-phase
        engine a cursor of it, knowing the live versions ``con`` (the state) records."""
        if not self.two_phase:
            return con
        eng = self.engine(con)
        self._set_live(eng, StateStore(con).live() if StateStore.exists(con) else {})
        return eng.cursor()

    def _relation(self, model: str, version: int | None, as_of: str | None) -> str:
        self._check_model(model)
        if as_of is not None:
            version = self.version_live_at(model, as_of)
        if version is None:
            return f'"main"."{model}"'
        with self._reader() as con:
            rows = StateStore(con).versions(model)
        known = {r.version: r for r in rows}
        if version not in known or known[version].status in ("abandoned", "gc"):
            raise ConfigError(f"model '{model}' has no version {version}", model=model,
                              expected="one of: " + ", ".join(f"v{v}" for v in sorted(known)),
                              hint=f"see `fsql versions {model}`")
        return known[version].relation

    def docs_generate(self, out_dir: str | Path | None = None) -> Any:
        """Generate the static docs site (default: target/docs/)."""
        from .site import generate_site, load_site_data

        manifest = self.compile()
        data_manifest = manifest.to_dict()
        with self._reader(missing_ok=True) as con:
            data = load_site_data(data_manifest, con)
        return generate_site(data, Path(out_dir) if out_dir else self.target / "docs")

    # -- history ------------------------------------------------------------------------------
    def rollback(self, model: str, version: int) -> int | None:
        """Re-point ``model``'s live view to ``version`` (atomically); returns the old live one.

        The model stays pinned there until its SQL changes; dependants rebuild on the next run.
        """
        self._check_model(model)
        manifest = self.compile(write=False)
        with WriteLock(self.database), self._writer() as con:
            StateStore(con, two_phase=self.two_phase).init()
            views = self.engine(con).publish_views if self.two_phase else None
            return rollback_model(con, model, version, manifest.fingerprints[model],
                                  publish_views=views)

    def gc(self, *, keep: int = 5, older_than: str | None = None,
           dry_run: bool = False) -> GcResult:
        """Remove old versions (never a live one or one pinned by a saved training set)."""
        if keep < 1:
            raise ConfigError("--keep must be at least 1", expected="an integer >= 1",
                              hint="the live version is always kept as well")
        age = _duration(older_than) if older_than else None
        manifest = self.compile(write=False)
        referenced = {(r.name, int(r.version)) for m in manifest.models.values()
                      for r in m.refs if r.version is not None}
        with WriteLock(self.database), self._writer() as con:
            StateStore(con).init()
            drop = self._drop_version(con) if self.two_phase else None
            return gc_versions(con, keep=keep, older_than=age, dry_run=dry_run,
                               referenced=referenced, drop=drop)

    def diff(self, model: str, a: int, b: int, *, sample: int = 5) -> DiffResult:
        """Schema, row count and keyed row differences between versions ``a`` and ``b``."""
        self._check_model(model)
        m = self.compile(write=False).models[model]
        with self._reader() as con:
            return diff_versions(con, model, a, b, self._unique_key(m), sample,
                                 data=self._data(con))

    def stats(self, model: str, *, version: int | None = None) -> Any:
        """Column statistics of a version (default: live) as a TableProfile
        (``.to_pandas()`` gives one row per column)."""
        from .stats.columns import load_profile

        v = self._version_number(model, version)
        with self._reader() as con:
            return load_profile(con, model, v) or self._profile_now(self._data(con), model, v)

    def _profile_now(self, con: Any, model: str, version: int) -> Any:
        """Statistics of a version that was not profiled at build (``statistics: false``, the
        default for tables): computed now from its immutable data, not stored."""
        from .stats.columns import profile_relation

        return profile_relation(con, self._relation(model, version, None))

    def drift(self, model: str, a: int | None = None, b: int | None = None) -> list[Any]:
        """Drift of version ``b`` (default: live) vs ``a`` (default: its predecessor), ranked."""
        from .stats.columns import load_profile
        from .stats.drift import drift, load_drift

        vb = self._version_number(model, b)
        with self._reader() as con:
            if a is None:
                stored = load_drift(con, model, vb)
                if stored:
                    return stored
                prev = [r.version for r in StateStore(con).versions(model)
                        if r.version < vb and r.status in ("live", "superseded", "rolled_back")]
                if not prev:
                    return []
                a = prev[-1]
            data = self._data(con)
            pa = load_profile(con, model, a) or self._profile_now(data, model, a)
            pb = load_profile(con, model, vb) or self._profile_now(data, model, vb)
            rel = self._relation
            return drift(data, pb, pa, rel(model, vb, None), rel(model, a, None))

    def _version_number(self, model: str, version: int | None) -> int:
        self._check_model(model)
        with self._reader() as con:
            rows = StateStore(con).versions(model)
        if version is None:
            live = [r.version for r in rows if r.status == "live"]
            if not live:
                raise ConfigError(f"model '{model}' has no live version", model=model,
                                  hint="run `fsql run` first")
            return live[0]
        return version

    def _unique_key(self, m: CompiledModel) -> list[str]:
        uk = m.config.get("unique_key")
        if uk:
            return [uk] if isinstance(uk, str) else list(uk)
        if m.materialized != "feature_set":
            return []
        ents = m.config.get("entities") or []
        keys = [k for e in ([ents] if isinstance(ents, str) else ents)
                for k, _ in self.spec.entities[e].join_keys]
        return keys + [str(m.config["timestamp"])]

    def _check_model(self, model: str) -> None:
        names = list(self.spec.models) + list(self.spec.seeds)
        if model not in names:
            raise ConfigError(f"unknown model '{model}'", expected="a model of this project",
                              hint=did_you_mean(model, names) or "see `fsql ls`")


def explain(e: BaseException, path: Path | None) -> FsqlError | None:
    from .explain import explain as known

    return known(e, str(path) if path else None)


class _Conn:
    """Context manager: a DuckDB connection, with lock conflicts turned into LockedError."""

    def __init__(self, path: Path | None, *, read_only: bool, memory_limit: str | None,
                 none: bool = False) -> None:
        self.path, self.read_only, self.memory_limit, self.none = path, read_only, \
            memory_limit, none
        self.con: Any = None

    def __enter__(self) -> Any:
        if self.none:
            return None
        assert self.path is not None
        path = self.path
        try:  # a reader waits for a build and a build for a reader (one writer per file)
            self.con = open_waiting(lambda: engine.connect(
                path, read_only=self.read_only, memory_limit=self.memory_limit), path,
                engine.is_lock_error)
        except engine.DuckDBError as e:
            raise explain(e, self.path) or FsqlError(f"cannot open {self.path}: {e}",
                                                     path=str(self.path)) from None
        if self.read_only:
            mark_reader(path)
        return self.con

    def __exit__(self, *exc: object) -> None:
        if self.con is not None:
            self.con.close()


def _duration(text: str) -> timedelta:
    from .compiler import parse_ttl

    try:
        seconds = parse_ttl(text)
    except ValueError:
        raise ConfigError(f"invalid duration {text!r}", expected="e.g. 7d, 12h, 30m",
                          hint="a number followed by s, m, h, d or w") from None
    return timedelta(seconds=seconds or 0)
