"""Compile a whole project: render -> compile -> graph -> fingerprints, as one frozen Manifest.

``target/manifest.json`` and ``target/compiled/**.sql`` are written from it.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import pickle
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from . import __version__
from .compiler import (
    CompiledModel,
    FileDigests,
    _hash,
    compile_ingested,
    compile_model,
    compile_seed,
    source_hash,
    sql_key,
)
from .errors import ErrorGroup, FsqlError
from .forking import Child, can_fork, split_map
from .graph import Graph, NodeInfo
from .lineage import SqlFacts, sql_facts
from .renderer import RenderedModel, Renderer, VersionLookup
from .spec import ProjectSpec

__all__ = ["Manifest", "build_manifest", "compile_project"]


@dataclass(frozen=True)
class Manifest:
    project: ProjectSpec
    models: Mapping[str, CompiledModel]
    graph: Graph
    fingerprints: Mapping[str, str]
    source_hashes: Mapping[str, str]
    renderer: Any = field(default=None, compare=False, repr=False)
    prewrite: Any = field(default=None, compare=False, repr=False)  # a cold compile's _Prewrite
    # a digest of everything manifest.json is made of ("" when not known: always regenerated)
    inputs: str = field(default="", compare=False, repr=False)

    def render_interval(self, name: str, start: Any, end: Any, incremental: bool) -> str:
        """The compiled SQL of an incremental model for one interval range."""
        spec = self.project.models[name]
        m = self.models[name]
        r = self.renderer.render(spec, start=start, end=end, incremental=incremental)
        ephemerals = {d: self.models[d] for d in m.depends_on if self.models[d].is_ephemeral}
        if not ephemerals:  # nothing to inline: the rendered SQL is what runs (no sqlglot)
            return r.sql
        schemas = {d: self.models[d].columns for d in m.depends_on}
        return compile_model(self.project, spec, r, ephemerals, schemas).sql

    def compiled_path(self, name: str) -> str:
        return f"target/compiled/{self.models[name].path}"

    def to_dict(self) -> dict[str, Any]:
        p = self.project
        specs = p.models
        nodes = {}
        for n in self.graph.order:
            m = self.models[n]
            spec = specs.get(n)
            nodes[n] = {
                "name": n, "kind": m.kind, "path": m.path, "materialized": m.materialized,
                "description": m.description, "tags": list(m.tags), "config": m.config,
                "depends_on": list(m.depends_on), "sources": list(m.sources),
                "fingerprint": self.fingerprints[n], "compiled_path": self.compiled_path(n),
                "columns": _columns(m, spec), "lineage": {k: list(v) for k, v in
                                                          m.lineage.items()},
                "raw_sql": spec.raw_sql if spec else "", "compiled_sql": m.sql,
            }
        return {
            "metadata": {"project": p.name, "description": p.description,
                         "fsql_version": __version__},
            "order": list(self.graph.order), "nodes": nodes,
            "sources": {k: {"source": s.source, "name": s.name, "description": s.description,
                            "path": s.path, "table": s.table,
                            "columns": [{"name": c.name, "type": c.type,
                                         "description": c.description} for c in s.columns]}
                        for k, s in sorted(p.sources.items())},
            "entities": {k: {"name": e.name, "description": e.description,
                             "join_keys": [{"name": c, "type": t} for c, t in e.join_keys]}
                         for k, e in sorted(p.entities.items())},
        }

    def write(self, target: Path) -> None:
        """Write manifest.json and compiled SQL (files rewritten only when they change)."""
        target.mkdir(parents=True, exist_ok=True)
        known = _Written(target)
        file = target / "manifest.json"
        same = bool(self.inputs) and known.unchanged(file, self.inputs)  # same inputs
        manifest = "" if same else json.dumps(self.to_dict(), sort_keys=True, default=str)
        # after the JSON: meanwhile, a cold compile's child writes compiled files
        done = self.prewrite.written(target / "compiled") if self.prewrite else {}
        for m in self.models.values():
            text = m.sql.rstrip() + "\n"
            path = target / "compiled" / m.path
            digest = _digest(text)
            if done.get(m.path) != text and not known.unchanged(path, digest):
                _write_if_changed(path, text)
            known.record(path, digest)
        if not same:
            _write_if_changed(file, manifest)
        known.record(file, self.inputs or _digest(manifest))
        known.save()


class _Written:
    """The files as last written (digest of the text or of the inputs, size, mtime): a file
    whose stat still matches is not read back to be compared, nor manifest.json regenerated
    (``target/.cache/written.pickle``)."""

    def __init__(self, target: Path) -> None:
        self.file = target / ".cache" / "written.pickle"
        try:
            with open(self.file, "rb") as fh:
                self.old: dict[str, tuple[str, int, int]] = pickle.load(fh)
        except Exception:  # noqa: BLE001 - missing or corrupt: compare by content
            self.old = {}
        self.new: dict[str, tuple[str, int, int]] = {}

    def unchanged(self, path: Path, digest: str) -> bool:
        rec = self.old.get(str(path))
        return rec is not None and rec[0] == digest and rec[1:] == _stat(path)

    def record(self, path: Path, digest: str) -> None:
        st = _stat(path)
        if st is not None:
            self.new[str(path)] = (digest, *st)

    def save(self) -> None:
        if self.new != self.old:
            try:
                self.file.parent.mkdir(parents=True, exist_ok=True)
                tmp = self.file.with_suffix(f".{os.getpid()}.tmp")
                with open(tmp, "wb") as fh:
                    pickle.dump(self.new, fh, protocol=pickle.HIGHEST_PROTOCOL)
                os.replace(tmp, self.file)
            except OSError:
                pass  # read-only target: compared by content next time


def _digest(text: str) -> str:
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


def _stat(path: Path) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_size, st.st_mtime_ns


def _columns(m: CompiledModel, spec: Any) -> list[dict[str, Any]]:
    declared = {c.name: c for c in (spec.columns if spec else ())}
    names = list(m.columns or ()) + [c for c in declared if c not in (m.columns or ())]
    return [{"name": c, "type": declared[c].type if c in declared else None,
             "description": declared[c].description if c in declared else "",
             "lineage": list(m.lineage.get(c, ()))} for c in names]


def _write_if_changed(path: Path, text: str) -> None:
    if path.exists() and path.read_text(encoding="utf-8") == text:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")



def compile_project(root: str | Path, vars: dict[str, Any] | None = None, *,
                    versions: Callable[[], VersionLookup] | None = None) -> Manifest:
    """``fsql compile``: what ``fsql.Project(root, vars=vars).compile()`` does, without
    importing the build machinery (DuckDB, state). ``versions`` makes the state lookups
    (the Project, from the CLI) and is called only when a model refs a version or an as_of."""
    from .project_cache import load_project

    root = Path(root).resolve()
    out = root / "target"
    lookup = _DeferredVersions(versions) if versions is not None else None
    manifest = build_manifest(load_project(root), vars, lookup, out / ".cache", out)
    manifest.write(out)
    return manifest


class _DeferredVersions:
    """A :class:`VersionLookup` made on first use (opening the state costs a DuckDB import)."""

    def __init__(self, make: Callable[[], VersionLookup]) -> None:
        self._make = make
        self._made: VersionLookup | None = None

    def _lookup(self) -> VersionLookup:
        if self._made is None:
            self._made = self._make()
        return self._made

    def readable_versions(self, model: str) -> list[int] | None:
        return self._lookup().readable_versions(model)

    def version_live_at(self, model: str, as_of: str) -> int:
        return self._lookup().version_live_at(model, as_of)


def build_manifest(project: ProjectSpec, vars: dict[str, Any] | None = None,
                   versions: VersionLookup | None = None, cache_dir: Path | None = None,
                   target: Path | None = None) -> Manifest:
    """Render and compile every model; all errors are collected and raised together.

    ``target``: the folder :meth:`Manifest.write` will be given (a cold compile starts
    writing compiled SQL there early; it is removed again if the compile fails).
    """
    renderer = _LazyRenderer(lambda: Renderer(project, vars, versions,
                                              cache_dir / "jinja" if cache_dir else None))
    cache = _load_cache(cache_dir)
    size = _cache_size(cache)
    rendered = _render_all(project, renderer, cache["render"], _render_key(project, vars))
    rendered = {n: r for n, r in rendered.items() if r.config.get("enabled", True) is not False}
    after = {n: _check_targets(project.models[n].checks, project) for n in rendered}
    parents = {n: [x.name for x in r.refs if x.kind == "model"] + after[n]
               for n, r in rendered.items()}
    parents.update({s: [] for s in project.seeds})
    ingested = {n: s for n, s in project.models.items() if s.kind == "ingest"}
    parents.update({n: [] for n in ingested})
    info = {n: NodeInfo(project.models[n].path, project.models[n].tags,
                        {**project.models[n].config, **r.config},
                        {x.name: (x.line, x.col) for x in reversed(r.refs)})
            for n, r in rendered.items()}
    info.update({s: NodeInfo(sd.path, ("seed",), {"materialized": "seed"})
                 for s, sd in project.seeds.items()})
    info.update({n: NodeInfo(s.path, s.tags, s.config) for n, s in ingested.items()})
    graph = Graph.build(parents, info)
    facts, prewrite = _precompute(project, rendered, graph, cache["analysis"], target)
    try:
        errors: list[FsqlError] = []
        models = _compile_all(project, rendered, graph, errors, cache["analysis"], facts)
        ErrorGroup.raise_if(errors)
        models = {n: replace(m, after=tuple(sorted(set(after.get(n, ())) - set(m.depends_on))))
                  if after.get(n) else m for n, m in models.items()}
        if cache_dir is not None and _cache_size(cache) != size:
            _save_cache(cache_dir, cache)
        digests = FileDigests(project.root / "target" / ".cache" / "source_digests.json")
        src = {k: source_hash(project.root, s, digests) for k, s in project.sources.items()}
        digests.save()
    except BaseException:
        if prewrite is not None:
            prewrite.abandon()
        raise
    fps = _fingerprints(models, graph, src)
    # the manifest shows the project's files (signature), what vars and pure renders made of
    # them, and the fingerprints (SQL, configs, source files): the same inputs, the same JSON
    inputs = _hash("manifest", project.signature, repr(vars), repr(sorted(fps.items()))) \
        if project.signature and all(r.pure for r in rendered.values()) else ""
    return Manifest(project, models, graph, fps, src, renderer, prewrite, inputs)


class _LazyRenderer:
    """The project's Renderer, built (Jinja, macros) only when something is rendered."""

    def __init__(self, make: Any) -> None:
        self._make = make
        self._renderer: Renderer | None = None

    def get(self) -> Renderer:
        if self._renderer is None:
            self._renderer = self._make()
        return self._renderer

    def render(self, spec: Any, **kwargs: Any) -> RenderedModel:
        return self.get().render(spec, **kwargs)


def _render_key(project: ProjectSpec, vars: dict[str, Any] | None) -> str:
    """Everything a model's render reads besides its own file: vars, macros, which models,
    seeds and sources exist (and the table a source names)."""
    return _hash(repr({**project.vars, **(vars or {})}), repr(project.macros),
                 repr(sorted(project.models)), repr(sorted(project.seeds)),
                 repr(sorted((k, s.table) for k, s in project.sources.items())))


def _render_all(project: ProjectSpec, renderer: _LazyRenderer, cache: dict[str, Any],
                project_key: str) -> dict[str, RenderedModel]:
    """Render every enabled SQL model: from the cache when its template and the project's
    render inputs are unchanged (then neither Jinja nor the macros are loaded)."""
    rendered: dict[str, RenderedModel] = {}
    todo: dict[str, str] = {}
    for name, spec in project.models.items():
        if spec.config.get("enabled") is False or spec.kind == "ingest":
            continue
        key = _hash(project_key, name, spec.path, spec.raw_sql)
        hit = cache.get(key)
        if hit is not None:
            rendered[name] = hit
        else:
            todo[name] = key
    if todo:
        renderer.get()  # a macro error is raised here, once, as before any render
    errors: list[FsqlError] = []
    for name, key in todo.items():
        try:
            rendered[name] = r = renderer.render(project.models[name])
        except FsqlError as e:
            errors.append(e)
            continue
        if r.pure:
            cache[key] = r
    ErrorGroup.raise_if(errors)
    return {n: rendered[n] for n in project.models if n in rendered}


def _check_targets(checks: Any, project: ProjectSpec) -> list[str]:
    """Models a model's expectations read (relationships 'to'): they must be built first."""
    import re

    out = []
    for c in checks:
        to = c.kwargs.get("to") if c.type == "relationships" else None
        if isinstance(to, str):
            m = re.fullmatch(r"\s*ref\(\s*['\"]([^'\"]+)['\"]\s*\)\s*", to)
            name = m.group(1) if m else to.strip()
            if name in project.models or name in project.seeds:
                out.append(name)
    return sorted(set(out))


def _compile_all(project: ProjectSpec, rendered: Mapping[str, RenderedModel], graph: Graph,
                 errors: list[FsqlError], cache: dict[str, Any],
                 facts: Mapping[str, SqlFacts | None]) -> dict[str, CompiledModel]:
    models: dict[str, CompiledModel] = {}
    schemas: dict[str, tuple[str, ...] | None] = {}
    for n in graph.order:
        if n in project.seeds and n not in rendered:
            models[n] = compile_seed(project.root, project.seeds[n])
            continue
        if project.models.get(n) is not None and project.models[n].kind == "ingest":
            models[n] = compile_ingested(project.models[n])
            schemas[n] = tuple(c.name for c in project.models[n].columns)
            continue
        if any(d not in models for d in graph.parents[n]):
            continue  # a parent failed to compile: its error is already reported
        ephemerals = {d: models[d] for d in graph.parents[n] if models[d].is_ephemeral}
        try:
            models[n] = compile_model(project, project.models[n], rendered[n], ephemerals,
                                      schemas, cache,
                                      facts.get(sql_key(rendered[n].sql)) if facts else None)
        except ErrorGroup as g:
            errors.extend(g.errors)
            continue
        except FsqlError as e:
            errors.append(e)
            continue
        schemas[n] = models[n].columns
    return models


# -- cold compiles of many models: a forked process takes half of the parsing ----------------
FORK_MIN = 64  # new SQL texts below which one process is faster than two


def _precompute(project: ProjectSpec, rendered: Mapping[str, RenderedModel], graph: Graph,
                cache: dict[str, Any], target: Path | None
                ) -> tuple[dict[str, SqlFacts | None], _Prewrite | None]:
    """:func:`sql_facts` of every rendered SQL no earlier compile analysed (none on a warm
    compile), half of them computed by a forked child when there are enough to pay for it;
    else {}. On a cold compile into ``target`` (no ``target/compiled`` yet) the child then
    also writes the compiled SQL known before compiling (a model's rendered SQL when it has
    no ephemeral parent): creating ~1000 files overlaps this process's work."""
    seen = {k.partition(":")[0] for k in cache}
    ephemeral = {n for n, r in rendered.items()
                 if {**project.models[n].config, **r.config}.get("materialized") == "ephemeral"}
    plain = [n for n in rendered if not ephemeral.intersection(graph.parents[n])]
    todo = {sql_key(rendered[n].sql): rendered[n].sql for n in plain}
    todo = {k: sql for k, sql in todo.items() if k not in seen}
    if len(todo) < FORK_MIN or not can_fork():
        return {}, None
    compiled = target / "compiled" if target is not None else None
    files: dict[str, str] = {}
    then = None
    if compiled is not None and not compiled.exists():
        files = {rendered[n].path: rendered[n].sql.rstrip() + "\n" for n in plain}
        then = functools.partial(_write_new, compiled, files)
    sql_facts("select 1 as x from t")  # every import happens before the fork
    sqls: list[str] = sorted(todo.values(), key=len, reverse=True)  # longest first: balance
    by_sql, child = split_map(sql_facts, sqls, min_items=FORK_MIN, then=then)
    prewrite = _Prewrite(child, compiled, files) if child is not None else None
    return {k: by_sql[sql] for k, sql in todo.items()}, prewrite


def _write_new(folder: Path, files: dict[str, str], backward: bool = False) -> None:
    """Create ``files`` in order (or from the end), stopping at the first one that exists:
    the child writes forward while the parent, done compiling, writes backward; they meet
    and every file is created once (O_EXCL)."""
    made: set[Path] = set()
    items = list(files.items())
    for rel, text in reversed(items) if backward else items:
        path = folder / rel
        if path.parent not in made:
            path.parent.mkdir(parents=True, exist_ok=True)
            made.add(path.parent)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:
            return
        try:
            os.write(fd, text.encode("utf-8"))
        finally:
            os.close(fd)


class _Prewrite:
    """The forked child of a cold compile and the compiled files it writes."""

    def __init__(self, child: Child, compiled: Path | None, files: dict[str, str]) -> None:
        self.child, self.compiled, self.files = child, compiled, files

    def written(self, compiled: Path) -> dict[str, str]:
        """What the child (helped by this process) wrote into ``compiled``: path -> text."""
        if self.compiled != compiled:
            return {}
        _write_new(compiled, self.files, backward=True)
        return self.files if self.child.wait() else {}

    def abandon(self) -> None:
        """The compile failed: the compiled folder this cold compile started goes again."""
        self.child.wait()
        if self.files and self.compiled is not None:
            import shutil

            shutil.rmtree(self.compiled, ignore_errors=True)


_CACHE_FILE = "compile.pickle"
_CACHE_LIMIT = 20000  # entries; past it a cold start rebuilds the cache


def _cache_tag() -> str:
    """Cached results are valid for this fsql version and this code of the stages."""
    here = Path(__file__).parent
    stages = ("renderer.py", "compiler.py", "lineage.py", "manifest.py")
    return "|".join([__version__, "2"] + [str((here / f).stat().st_mtime_ns) for f in stages])


def _cache_size(cache: dict[str, Any]) -> int:
    return len(cache["render"]) + len(cache["analysis"])


def _load_cache(cache_dir: Path | None) -> dict[str, Any]:
    """Renders and SQL analysis results of earlier compiles (a pure cache: deleting it is always
    safe): ``render`` by template + render inputs, ``analysis`` by rendered SQL + parents."""
    empty: dict[str, Any] = {"render": {}, "analysis": {}}
    if cache_dir is None:
        return empty
    try:
        with open(cache_dir / _CACHE_FILE, "rb") as fh:
            data = pickle.load(fh)
    except Exception:  # noqa: BLE001 - a missing or corrupt cache is just a cold start
        return empty
    ok = isinstance(data, dict) and data.get("_v") == _cache_tag() \
        and all(isinstance(data.get(k), dict) for k in empty)
    return data if ok else empty


def _save_cache(cache_dir: Path, cache: dict[str, Any]) -> None:
    if _cache_size(cache) > _CACHE_LIMIT:
        cache = {"render": {}, "analysis": {}}
    cache["_v"] = _cache_tag()
    cache_dir.mkdir(parents=True, exist_ok=True)
    tmp = cache_dir / (_CACHE_FILE + f".{os.getpid()}.tmp")
    with open(tmp, "wb") as fh:
        pickle.dump(cache, fh, protocol=pickle.HIGHEST_PROTOCOL)
    os.replace(tmp, cache_dir / _CACHE_FILE)


def _fingerprints(models: Mapping[str, CompiledModel], graph: Graph,
                  src: Mapping[str, str]) -> dict[str, str]:
    fps: dict[str, str] = {}
    for n in graph.order:
        m = models[n]
        h = hashlib.sha256(m.own_hash.encode())
        for d in m.depends_on:
            h.update(f"|{d}={fps[d]}".encode())
        for s in m.sources:
            h.update(f"|src:{s}={src.get(s, '')}".encode())
        fps[n] = h.hexdigest()
    return fps
