"""Stage 2 — render: Jinja per model; ``ref``/``source``/``var``/``config`` are collected.

A model's rendered SQL keeps its line structure, so a DuckDB error line in the compiled SQL is
the same line in the model file.

Templates whose only Jinja is ``{{ name(literal, ...) }}`` (ref/source/var/config/env_var or a
macro) are rendered without compiling them with Jinja (:func:`_fast_plan`): same output, refs and
lines; anything else, and every error, goes through Jinja. ``jinja2`` is imported only when a
template or a macro needs it.
"""

from __future__ import annotations

import ast
import os
import re
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from .errors import CompileError, FsqlError, did_you_mean
from .spec import ModelSpec, ProjectSpec

__all__ = ["Ref", "RenderedModel", "Renderer", "relation_for", "version_relation"]

VERSIONS_SCHEMA = "fsql_versions"


def relation_for(name: str) -> str:
    """The live relation (a view) of a model: ``"main"."name"``."""
    return f'"main"."{name}"'


def version_relation(name: str, version: int) -> str:
    """The physical relation of one version of a model."""
    return f'"{VERSIONS_SCHEMA}"."{name}__v{version}"'


@dataclass(frozen=True)
class Ref:
    """One ``ref()``/``source()`` call: what it names and where it was written."""

    kind: str  # "model" | "source"
    name: str  # model name, or "source.table"
    line: int
    col: int
    version: int | None = None
    as_of: str | None = None


@dataclass(frozen=True)
class RenderedModel:
    name: str
    path: str
    sql: str
    refs: tuple[Ref, ...]
    config: dict[str, Any] = field(default_factory=dict)
    config_line: int | None = None
    # False when the output depends on more than the project files and vars (env_var, ref to
    # a version or as_of): such a render is never cached
    pure: bool = field(default=True, compare=False)


class _Call:
    """Collects what one model's template calls while it renders."""

    def __init__(self, spec: ModelSpec) -> None:
        self.spec = spec
        self.refs: list[Ref] = []
        self.config: dict[str, Any] = {}
        self.config_line: int | None = None
        self.line: int | None = None  # fast path: the template line of the current call
        self.pure = True


_MISSING = object()
_RENDER_VARS = frozenset({"this", "start", "end", "is_incremental"})


class VersionLookup(Protocol):
    """What rendering asks the state about, for ``ref('m', version=N)`` and
    ``ref('m', as_of=...)``: implemented by :class:`fsql.Project` (it opens the state
    read-only on first use), so rendering never calls up into the facade."""

    def readable_versions(self, model: str) -> list[int] | None:
        """Versions of ``model`` a ref may name; None when nothing is built yet (the ref is
        then checked when the model runs)."""

    def version_live_at(self, model: str, as_of: str) -> int:
        """The version of ``model`` that was live at ``as_of`` (a ConfigError if none)."""


class Renderer:
    """Renders every model of a project with one Jinja environment (macros loaded once)."""

    def __init__(self, project: ProjectSpec, vars: dict[str, Any] | None = None,
                 versions: VersionLookup | None = None, cache_dir: Path | None = None) -> None:
        self.project = project
        self.vars = {**project.vars, **(vars or {})}
        self.versions = versions
        self.fast = True  # False: every template through Jinja (tests compare the two)
        self._call: _Call | None = None
        self._lock = threading.RLock()  # builds render incremental intervals from threads
        self._cache_dir = cache_dir
        self._env: Any = None
        self._globals: dict[str, Any] = dict(ref=self._ref, source=self._source_fn, var=self._var,
                                             config=self._config, env_var=self._env_var)
        if project.macros:
            self._jinja()  # macro syntax errors are reported before any model renders

    # -- jinja plumbing -------------------------------------------------------------------
    @property
    def env(self) -> Any:
        return self._jinja()

    def _jinja(self) -> Any:
        """The Jinja environment (and the macros), created on first use."""
        if self._env is not None:
            return self._env
        import jinja2

        cache_dir = self._cache_dir
        if cache_dir is not None:
            cache_dir.mkdir(parents=True, exist_ok=True)
        bcc = jinja2.FileSystemBytecodeCache(str(cache_dir)) if cache_dir else None
        env = jinja2.Environment(
            loader=jinja2.FunctionLoader(self._source), undefined=jinja2.StrictUndefined,
            bytecode_cache=bcc, keep_trailing_newline=True, autoescape=False)
        env.globals.update(self._globals, is_incremental=lambda: False, this="")
        self._env = env
        self._load_macros()
        return env

    def _source(self, name: str) -> tuple[str, str, Any]:
        if name in self.project.models:
            return self.project.models[name].raw_sql, self.project.models[name].path, lambda: True
        for path, text in self.project.macros:
            if path == name:
                return text, path, lambda: True
        import jinja2

        raise jinja2.TemplateNotFound(name)

    def _load_macros(self) -> None:
        import jinja2

        for path, _ in self.project.macros:
            try:
                module = self._env.get_template(path).module
            except jinja2.TemplateSyntaxError as e:
                self._env = None
                text = next(t for p, t in self.project.macros if p == path)
                raise _syntax_error(e, path, text, None) from None
            for key in dir(module):
                if not key.startswith("_"):
                    self._env.globals[key] = self._globals[key] = getattr(module, key)

    # -- rendering ------------------------------------------------------------------------
    def render(self, spec: ModelSpec, *, start: Any = None, end: Any = None,
               incremental: bool = False) -> RenderedModel:
        """Render one model; Jinja and lookup errors point at the .sql line.

        ``start``/``end`` (incremental intervals) default to fixed sentinels so the compiled
        SQL, and so the fingerprint, do not depend on the day it is compiled.
        """
        with self._lock:
            return self._render(spec, start, end, incremental)

    def _render(self, spec: ModelSpec, start: Any, end: Any, incremental: bool) -> RenderedModel:
        if "{" not in spec.raw_sql:
            # no Jinja at all: skip the template compiler
            return RenderedModel(spec.name, spec.path, spec.raw_sql, ())
        plan = _fast_plan(spec.raw_sql) if self.fast else None
        if plan is not None:
            done = self._render_fast(spec, plan)
            if done is not None:
                return done
        call = self._call = _Call(spec)
        try:
            tmpl = self.env.get_template(spec.name)
            sql = tmpl.render(this=relation_for(spec.name),
                              start=_stamp(start, "1970-01-01 00:00:00"),
                              end=_stamp(end, "1970-01-02 00:00:00"),
                              is_incremental=lambda: incremental)
        except FsqlError:
            raise
        except Exception as e:
            raise self._jinja_error(spec, e) from None
        finally:
            self._call = None
        return RenderedModel(spec.name, spec.path, sql, tuple(call.refs), call.config,
                             call.config_line, call.pure)

    def _render_fast(self, spec: ModelSpec, plan: list[Any]) -> RenderedModel | None:
        """Run a :func:`_fast_plan`; None (nothing kept) when anything fails: Jinja then
        renders the template and reports the error exactly as it always does."""
        call = self._call = _Call(spec)
        out = []
        try:
            for part in plan:
                if isinstance(part, str):
                    out.append(part)
                    continue
                name, args, kwargs, call.line = part
                fn = self._globals.get(name)
                if fn is None or name in _RENDER_VARS or not _fast_callable(fn):
                    return None
                out.append(str(fn(*args, **kwargs)))
        except Exception:  # noqa: BLE001 - Jinja reproduces it with its own error
            return None
        finally:
            self._call = None
        return RenderedModel(spec.name, spec.path, "".join(out), tuple(call.refs), call.config,
                             call.config_line, call.pure)

    def _jinja_error(self, spec: ModelSpec, e: Exception) -> CompileError:
        import jinja2

        if isinstance(e, jinja2.TemplateSyntaxError):
            return _syntax_error(e, spec.path, spec.raw_sql, spec.name)
        if isinstance(e, TypeError):  # wrong call shape: ref(), config('table'), ...
            return self._call_error(spec, e)
        return self._template_error(spec, e)  # undefined names, errors inside macros, ...

    def _call_error(self, spec: ModelSpec, e: TypeError) -> CompileError:
        line = _template_line(sys.exc_info()[2], spec.path)
        msg = str(e)
        usage = {"_ref": ("ref", "ref('model') or ref('model', version=3)"),
                 "_source_fn": ("source", "source('source_name', 'table_name')"),
                 "_config": ("config", "config(materialized='table', ...) with keyword "
                             "arguments"),
                 "_var": ("var", "var('name') or var('name', default)"),
                 "_env_var": ("env_var", "env_var('NAME') or env_var('NAME', 'default')")}
        for fn, (name, shape) in usage.items():
            if f"{fn}()" in msg:
                return CompileError(f"wrong call to {name}(): {msg.split('() ', 1)[-1]}",
                                    path=spec.path, line=line,
                                    col=_col_of(spec.raw_sql, line, name + "("),
                                    model=spec.name, expected=shape, hint=f"write {shape}")
        return self._template_error(spec, e)

    def _template_error(self, spec: ModelSpec, e: Exception) -> CompileError:
        import jinja2

        line = _template_line(sys.exc_info()[2], spec.path)
        msg = str(e)
        macro = _macro_frame(sys.exc_info()[2], [p for p, _ in self.project.macros])
        if isinstance(e, jinja2.UndefinedError) and macro is None:
            name = msg.split("'")[1] if msg.count("'") >= 2 else ""
            known = list(self.env.globals)
            return CompileError(f"undefined name in template: {msg}", path=spec.path, line=line,
                                col=_col_of(spec.raw_sql, line, name), model=spec.name,
                                expected="a macro from macros/ or one of ref/source/var/config",
                                hint=did_you_mean(name, known) or "define it in macros/")
        macro = _macro_frame(sys.exc_info()[2], [p for p, _ in self.project.macros])
        where = f" (in {macro})" if macro else ""
        return CompileError(f"template error{where}: {type(e).__name__}: {msg}",
                            path=spec.path, line=line, col=_first_expr_col(spec.raw_sql, line),
                            model=spec.name, expected="a Jinja expression that renders",
                            hint="check the expression" + (f" and the macro in {macro}"
                                                           if macro else ""))

    # -- context functions ------------------------------------------------------------------
    def _here(self, needle: str) -> tuple[int, int]:
        call = self._current()
        line = _template_line_from_stack(call.spec.path, call.line or 1)
        return line, _col_of(call.spec.raw_sql, line, needle)

    def _current(self) -> _Call:
        assert self._call is not None, "ref()/source() used outside a model render"
        return self._call

    def _ref(self, name: str, version: int | None = None, as_of: str | None = None) -> str:
        call = self._current()
        line, col = self._here(f"ref('{name}'")
        if name not in self.project.models and name not in self.project.seeds:
            known = list(self.project.models) + list(self.project.seeds)
            raise CompileError(f"ref('{name}') does not name a model", path=call.spec.path,
                               line=line, col=col, model=call.spec.name,
                               expected="the name of a model in models/ or a seed in seeds/",
                               hint=did_you_mean(name, known) or "check the model file name")
        call.refs.append(Ref("model", name, line, col, version, as_of))
        if as_of is not None or version is not None:
            call.pure = False  # resolved or checked against the database
        if as_of is not None and self.versions is not None:
            version = self.versions.version_live_at(name, as_of)
        elif version is not None and self.versions is not None:
            readable = self.versions.readable_versions(name)
            if readable is not None and int(version) not in readable:
                raise CompileError(f"ref('{name}', version={version}): no such version",
                                   path=call.spec.path, line=line, col=col,
                                   model=call.spec.name,
                                   expected="one of: " + (", ".join(f"{v}" for v in readable)
                                                          or "no readable version yet"),
                                   hint=f"see `fsql versions {name}`")
        if version is not None:
            return version_relation(name, int(version))
        return relation_for(name)

    def _source_fn(self, source: str, table: str) -> str:
        call = self._current()
        key = f"{source}.{table}"
        line, col = self._here(f"source('{source}'")
        if key not in self.project.sources:
            raise CompileError(f"source('{source}', '{table}') is not declared",
                               path=call.spec.path, line=line, col=col, model=call.spec.name,
                               expected="a source declared in sources.yml",
                               hint=did_you_mean(key, self.project.sources)
                               or "declare it in sources.yml")
        call.refs.append(Ref("source", key, line, col))
        spec = self.project.sources[key]
        return spec.table if spec.table else f'"{source}"."{table}"'

    def _var(self, name: str, default: Any = _MISSING) -> Any:
        if name in self.vars:
            return self.vars[name]
        if default is not _MISSING:
            return default
        call = self._current()
        line, col = self._here(f"var('{name}'")
        raise CompileError(f"var('{name}') is not defined", path=call.spec.path, line=line,
                           col=col, model=call.spec.name,
                           expected="a key of vars: in fsql_project.yml or of --vars",
                           hint=did_you_mean(name, self.vars) or f"add it under vars: or pass "
                           f"--vars '{{\"{name}\": ...}}'")

    def _config(self, **kwargs: Any) -> str:
        call = self._current()
        call.config.update(kwargs)
        call.config_line = _template_line_from_stack(call.spec.path, call.line or 1)
        return ""

    def _env_var(self, name: str, default: str | None = None) -> str:
        if self._call is not None:
            self._call.pure = False
        if name in os.environ:
            return os.environ[name]
        if default is not None:
            return default
        call = self._current()
        line, col = self._here(f"env_var('{name}'")
        raise CompileError(f"environment variable '{name}' is not set", path=call.spec.path,
                           line=line, col=col, model=call.spec.name,
                           expected=f"{name} in the environment",
                           hint=f"export {name}=... or give env_var a default")


# -- fast path: templates whose only Jinja is {{ name(literals) }} ----------------------------
def _fast_plan(text: str) -> list[Any] | None:
    """Split a template into text and ``(name, args, kwargs, line)`` calls, or None when it
    uses any other Jinja (tags, comments, filters, names, whitespace control, ...).

    ``line`` is the line of the call's ``(``, which is where Jinja puts the call.

    >>> _fast_plan("select {{ ref('a') }}\\n")
    ['select ', ('ref', ['a'], {}, 1), '\\n']
    >>> _fast_plan("{% if x %}1{% endif %}") is None, _fast_plan("{{ a | upper }}") is None
    (True, True)
    """
    if "{%" in text or "{#" in text or "\r" in text:
        return None
    plan: list[Any] = []
    pos = 0
    while True:
        i = text.find("{{", pos)
        if i < 0:
            plan.append(text[pos:])
            return plan
        j = text.find("}}", i + 2)
        if j < 0:
            return None
        raw = text[i + 2:j]
        expr = raw.strip()
        found = _fast_call(expr)
        if found is None:
            return None
        start = i + 2 + raw.index(expr)
        plan += [text[pos:i], (*found, text.count("\n", 0, start) + 1)]
        pos = j + 2


_STR = r"'[^'\\\n]*'" + "|" + r'"[^"\\\n]*"'  # a quoted string without \ or newline
_STRS = re.compile(_STR)
_PLAIN_CALL = re.compile(rf"([A-Za-z][A-Za-z0-9_]*)\(\s*((?:{_STR})(?:\s*,\s*(?:{_STR}))*)?"
                         r"\s*\)\Z")


def _fast_call(expr: str) -> tuple[str, list[Any], dict[str, Any]] | None:
    """``name(literal, ..., key=literal)`` -> (name, args, kwargs); None for anything else.

    >>> _fast_call("source('raw', 'events')"), _fast_call("config(x=1)")
    (('source', ['raw', 'events'], {}), ('config', [], {'x': 1}))
    """
    plain = _PLAIN_CALL.match(expr)  # the common case, string arguments only: no ast
    if plain is not None:
        return plain.group(1), [a[1:-1] for a in _STRS.findall(plain.group(2) or "")], {}
    if "\\" in expr or "#" in expr or not expr[:1].isalpha():
        return None
    try:
        node = ast.parse(expr, mode="eval").body
    except (SyntaxError, ValueError):
        return None
    if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Name) \
            or not expr[len(node.func.id):].lstrip(" \t").startswith("("):
        return None
    if not all(_fast_literal(a, expr) for a in node.args) \
            or not all(k.arg is not None and _fast_literal(k.value, expr) for k in node.keywords):
        return None
    return (node.func.id, [ast.literal_eval(a) for a in node.args],
            {str(k.arg): ast.literal_eval(k.value) for k in node.keywords})


def _fast_literal(node: ast.AST, expr: str) -> bool:
    """A literal Jinja reads as the same value: 'str', "str", 12, 1.5, -3, True/False/None,
    and lists, tuples and dicts of them."""
    if isinstance(node, ast.Constant):
        src = ast.get_source_segment(expr, node) or ""
        if isinstance(node.value, str):
            return src[:1] in "'\"" and src[:3] not in ("'''", '"""') and src[-1:] == src[:1]
        if isinstance(node.value, bool) or node.value is None:
            return src in ("True", "False", "None")
        return isinstance(node.value, int | float) and src.replace(".", "", 1).isdigit() \
            and src[:1] != "." and src[-1:] != "."
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        return isinstance(node.operand, ast.Constant) and not isinstance(
            node.operand.value, str | bool) and _fast_literal(node.operand, expr)
    if isinstance(node, ast.List | ast.Tuple):
        return all(_fast_literal(e, expr) for e in node.elts)
    if isinstance(node, ast.Dict):
        return all(k is not None and _fast_literal(k, expr) and _fast_literal(v, expr)
                   for k, v in zip(node.keys, node.values, strict=True))
    return False


def _fast_callable(fn: Any) -> bool:
    """Our own context functions, or a macro (both are called by Jinja exactly like this)."""
    if getattr(fn, "__self__", None) is not None and getattr(fn, "__func__", None) in _OWN:
        return True
    return type(fn).__name__ == "Macro" and type(fn).__module__ == "jinja2.runtime"


_OWN = {Renderer._ref, Renderer._source_fn, Renderer._var, Renderer._config,
        Renderer._env_var}


def _stamp(value: Any, default: str) -> str:
    if value is None:
        return default
    return value.strftime("%Y-%m-%d %H:%M:%S") if hasattr(value, "strftime") else str(value)


def _syntax_error(e: Any, path: str, text: str, model: str | None) -> CompileError:
    """A Jinja syntax error at the tag that opened the problem (col of the last {{ / {%)."""
    lines = text.splitlines()
    line = e.lineno or 1
    message = str(e.message or "")
    hint = "check matching {{ }} and {% %}"
    if "Unexpected end of template" in message:
        block = message.split("innermost block that needs to be closed is '")[-1].split("'")[0]
        opener = _last_tag(lines, "{%", block)
        if opener:
            line, col = opener
            return CompileError(f"Jinja syntax error: '{{% {block} %}}' is never closed",
                                path=path, line=line, col=col, model=model,
                                expected=f"a matching '{{% end{block} %}}'",
                                hint=f"add {{% end{block} %}} after the block")
    text_line = lines[line - 1] if 0 < line <= len(lines) else ""
    col = max(text_line.rfind("{{"), text_line.rfind("{%")) + 1 or 1
    return CompileError(f"Jinja syntax error: {message}", path=path, line=line, col=col,
                        model=model, expected="a valid Jinja expression or tag", hint=hint)


def _last_tag(lines: list[str], mark: str, word: str) -> tuple[int, int] | None:
    for i in range(len(lines) - 1, -1, -1):
        idx = lines[i].find(mark)
        while idx >= 0:
            rest = lines[i][idx + 2:].lstrip("- ")
            if rest.startswith(word):
                return i + 1, idx + 1
            idx = lines[i].find(mark, idx + 2)
    return None


def _template_line_from_stack(path: str, default: int = 1) -> int:
    frame = sys._getframe(1)
    while frame is not None:
        if frame.f_code.co_filename == path:
            return _jinja_line(frame, frame.f_lineno)
        frame = frame.f_back  # type: ignore[assignment]
    return default


def _template_line(tb: Any, path: str) -> int:
    line = 1
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == path:
            line = _jinja_line(tb.tb_frame, tb.tb_lineno)
        tb = tb.tb_next
    return line


def _jinja_line(frame: Any, py_line: int) -> int:
    debug = frame.f_globals.get("__jinja_template__")
    if debug is not None:
        return int(debug.get_corresponding_lineno(py_line))
    return py_line  # jinja's rewritten tracebacks already carry the template line


def _macro_frame(tb: Any, macro_paths: list[str]) -> str | None:
    found = None
    while tb is not None:
        name = tb.tb_frame.f_code.co_filename
        if name in macro_paths:
            found = f"{name}:{_jinja_line(tb.tb_frame, tb.tb_lineno)}"
        tb = tb.tb_next
    return found


def _first_expr_col(text: str, line: int) -> int:
    lines = text.splitlines()
    if not 1 <= line <= len(lines):
        return 1
    idx = lines[line - 1].find("{{")
    return idx + 4 if idx >= 0 else 1


def _col_of(text: str, line: int, needle: str) -> int:
    lines = text.splitlines()
    if not needle or not 1 <= line <= len(lines):
        return 1
    idx = lines[line - 1].find(needle)
    if idx < 0:
        idx = lines[line - 1].find(needle.split("(")[0] + "(") if "(" in needle else -1
    return idx + 1 if idx >= 0 else 1
