"""``fsql compile --target T`` for a target whose engine is Spark: every chosen model is linted
(:func:`fsql.engines.spark_lint.lint` on its rendered SQL, positions in its ``.sql`` file) and,
when nothing is reported, its Spark SQL (:func:`fsql.engines.spark_sql.to_spark` of the
compiled SQL, ephemeral parents inlined) is written to ``target/compiled_spark/<model path>``.
Pure: sqlglot only.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from fsql.errors import CompileError, ErrorGroup

from .spark_lint import Portability, lint
from .spark_sql import to_spark

__all__ = ["write_spark_sql"]


def write_spark_sql(manifest: Any, names: Iterable[str], out: Path) -> list[Path]:
    """Write the Spark SQL of the models ``names`` under ``out``; the paths written.

    Raises a :class:`~fsql.errors.CompileError` (or an ``ErrorGroup`` of them) naming
    ``path:line:col``, the construct and a rewrite hint for everything that does not carry over
    to Spark; nothing is written then. Ephemeral models are linted (their SQL runs inlined)
    but get no file. Models written in Spark SQL (``dialect: spark``) are not linted.
    """
    chosen = [n for n in names if manifest.models[n].kind == "model"]
    errors = [e for n in chosen for e in _findings(manifest, n)]
    ErrorGroup.raise_if(errors)
    written = []
    for name in chosen:
        m = manifest.models[name]
        if m.is_ephemeral:
            continue
        path = out / m.path
        path.parent.mkdir(parents=True, exist_ok=True)
        text = to_spark(m.sql, pretty=True) + "\n"
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
        written.append(path)
    return written


def _findings(manifest: Any, name: str) -> list[CompileError]:
    m = manifest.models[name]
    if m.config.get("dialect") == "spark":
        return []
    spec = manifest.project.models[name]
    rendered = manifest.renderer.render(spec).sql
    return [_error(spec, rendered, f) for f in lint(rendered)]


def _error(spec: Any, rendered: str, f: Portability) -> CompileError:
    col = _source_col(spec.raw_sql, rendered, f.line, f.col)
    return CompileError(f"{f.construct} does not carry over to Spark: {f.message}",
                        path=spec.path, line=f.line, col=col, model=spec.name,
                        expected="SQL that runs the same on DuckDB and Spark (see docs/spark.md)",
                        hint=f.hint)


def _source_col(source: str, rendered: str, line: int, col: int) -> int:
    """The column in the model file of ``rendered``'s ``line:col``: rendering keeps lines but
    Jinja calls change their length, so the construct's text is looked up in the source line
    (the occurrence nearest the rendered column)."""
    src_lines, out_lines = source.splitlines(), rendered.splitlines()
    if not (1 <= line <= len(src_lines) and line <= len(out_lines)):
        return col
    src, text = src_lines[line - 1], out_lines[line - 1][col - 1:]
    for width in (24, 12, 6, 3):
        snippet = text[:width]
        hits = [i for i in range(len(src)) if src.startswith(snippet, i)] if snippet else []
        if hits:
            return min(hits, key=lambda i: abs(i + 1 - col)) + 1
    return col
