"""Column lineage, and the part of a model's SQL analysis that needs no parent.

:func:`sql_facts` parses a rendered SELECT and returns its normalized SQL (what the fingerprint
hashes), output columns and — for a single SELECT over plain tables — its column lineage from one
read-only walk, with what that lineage assumes of the parents' columns (:func:`needs_hold`).
Everything else goes through :func:`qualified_lineage` (sqlglot ``qualify`` + a scope walk) with
the parents' columns. Facts depend on the SQL text alone, so they can be computed in any order,
in another process (:mod:`fsql.manifest` forks one for cold compiles of many models).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["SqlFacts", "fast_lineage", "needs_hold", "qualified_lineage", "sql_facts",
           "tree_facts"]

DIALECT = "duckdb"
# (table, read as main.<table>, columns read through it) for each source of a fast lineage
Needs = tuple[tuple[str, bool, frozenset[str]], ...]


@dataclass(frozen=True)
class SqlFacts:
    """What a rendered SELECT yields on its own; ``lineage`` None: it needs ``qualify``."""

    normalized: str
    columns: tuple[str, ...] | None
    lineage: dict[str, tuple[str, ...]] | None
    needs: Needs = ()


def sql_facts(sql: str) -> SqlFacts | None:
    """Facts of one rendered model, or None when they need more than its SQL (an error to
    report, a query only ``qualify`` understands): the caller then compiles it as usual."""
    import sqlglot
    from sqlglot import exp

    try:
        trees = [t for t in sqlglot.parse(sql, read=DIALECT) if t is not None]
    except Exception:  # noqa: BLE001 - reported by the regular compile
        return None
    if len(trees) != 1 or not isinstance(trees[0], exp.Query):
        return None
    facts = tree_facts(trees[0], fast="sqlglot.meta" not in sql)
    return facts if facts.lineage is not None else None


def tree_facts(tree: Any, fast: bool) -> SqlFacts:
    """Facts of a parsed query; ``lineage`` is None (and ``tree`` untouched) when it needs
    ``qualify``. Generating SQL mutates a tree unless it is copied: a tree whose lineage is
    done is only read before, so it is generated without a copy."""
    from sqlglot import exp

    selects = tree.selects if isinstance(tree, exp.Query) else []
    if not isinstance(tree, exp.Query) or any(
            isinstance(s, exp.Star) or (isinstance(s, exp.Column) and s.is_star) for s in selects):
        return SqlFacts(tree.sql(dialect=DIALECT, comments=False, copy=False), None, {})
    cols = tuple(tree.named_selects)
    found = _lineage_and_needs(tree, cols) if fast else None
    if found is None:
        return SqlFacts("", cols, None)
    return SqlFacts(tree.sql(dialect=DIALECT, comments=False, copy=False), cols, *found)


def qualified_lineage(tree: Any, cols: tuple[str, ...],
                      schemas: Mapping[str, tuple[str, ...] | None]) -> dict[str, tuple[str, ...]]:
    """Column lineage: output column -> sorted ("upstream.column", ...); best effort.

    One qualify + one scope walk per model (sqlglot's ``lineage()`` per column re-copies the
    tree each call: 60% of a cold 1000-model compile).
    """
    from sqlglot import exp
    from sqlglot.errors import SqlglotError
    from sqlglot.optimizer.qualify import qualify
    from sqlglot.optimizer.scope import build_scope
    from sqlglot.schema import MappingSchema

    tables = {t.name for t in tree.find_all(exp.Table)} & set(schemas)
    schema = MappingSchema({"main": {d: {c: "UNKNOWN" for c in schemas[d] or ()}
                                     for d in sorted(tables) if schemas.get(d)}},
                           dialect=DIALECT, normalize=False)
    try:
        # in place (the tree is not used after this); quoting does not change any name
        q = qualify(tree, schema=schema, dialect=DIALECT, validate_qualify_columns=False,
                    quote_identifiers=False)
        scope = build_scope(q)
        if scope is None:
            return {}
        memo: dict[tuple[int, str], frozenset[str]] = {}
        return {c: tuple(sorted(_trace(scope, c, memo))) for c in cols}
    except (SqlglotError, KeyError, AttributeError, ValueError, TypeError, RecursionError):
        return {}


_SELECT_ARGS = frozenset({"expressions", "from", "from_", "joins", "where", "group", "having",
                          "qualify", "windows", "order", "limit", "offset", "distinct"})
_JOIN_ARGS = frozenset({"this", "on", "side", "kind"})
_TABLE_ARGS = frozenset({"this", "db", "catalog", "alias"})


def fast_lineage(tree: Any, cols: tuple[str, ...], schemas: Mapping[str, tuple[str, ...] | None]
                 ) -> dict[str, tuple[str, ...]] | None:
    """:func:`qualified_lineage` without ``qualify``, or None outside the shape where the two
    agree (its rules mirror qualify's, see :func:`_lineage_and_needs`; tests compare the two on
    a corpus and on random queries)."""
    found = _lineage_and_needs(tree, cols)
    return found[0] if found is not None and needs_hold(found[1], schemas) else None


def needs_hold(needs: Needs, schemas: Mapping[str, tuple[str, ...] | None]) -> bool:
    """Whether a fast lineage stands given the parents' columns: a source whose columns are
    known must be ``main.<model>`` and have every column the query reads from it (else
    ``qualify`` raises, and the lineage is empty)."""
    for table, is_main, used in needs:
        known = schemas.get(table)
        if known and (not is_main or not used <= set(known)):
            return False
    return True


def _lineage_and_needs(tree: Any, cols: tuple[str, ...]
                       ) -> tuple[dict[str, tuple[str, ...]], Needs] | None:
    """Lineage of one SELECT over plain tables from one read-only walk, and what it assumes of
    the parents' columns; None when the query is outside the shape.

    The shape: no CTE, subquery, lambda, struct access, USING/NATURAL/SEMI join, positional
    GROUP/ORDER BY or star but ``count(*)``; lower-case names (normalization changes nothing);
    every column qualified by a source alias, or unqualified over a single source and not a
    projection alias (so neither alias expansion nor its "missing source schemas" error can
    happen).
    """
    from sqlglot import exp

    sources = _fast_sources(tree)
    columns = _fast_columns(tree, sources) if sources is not None else None
    if sources is None or columns is None:
        return None
    aliases = {p.alias for p in tree.expressions if isinstance(p, exp.Alias)}
    used: dict[str, set[str]] = {a: set() for a in sources}
    for col in columns:
        if col.table:
            if col.table not in sources:
                return None
            used[col.table].add(col.name)
        elif len(sources) != 1 or col.name in aliases or col.name in sources:
            return None
    only = next(iter(sources.values()))
    out: dict[str, set[str]] = {}
    for i, p in enumerate(tree.expressions):
        name = p.alias if isinstance(p, exp.Alias) else (p.output_name or f"_col_{i}").lower()
        out.setdefault(name, set()).update(
            f"{(sources[c.table] if c.table else only).name}.{c.name}"
            for c in p.find_all(exp.Column))
    needs = tuple((t.name, t.db == "main" and not t.catalog, frozenset(used[a]))
                  for a, t in sources.items())
    return {c: tuple(sorted(out.get(c, ()))) for c in cols}, needs


def _fast_sources(tree: Any) -> dict[str, Any] | None:
    """alias -> Table of a SELECT whose FROM and JOINs are plain, distinctly aliased tables."""
    from sqlglot import exp

    if type(tree) is not exp.Select or any(v for k, v in tree.args.items()
                                           if k not in _SELECT_ARGS):
        return None
    distinct = tree.args.get("distinct")
    from_ = tree.args.get("from_") or tree.args.get("from")
    if from_ is None or (distinct is not None and distinct.args.get("on")):
        return None
    joins = tree.args.get("joins") or []
    if any(any(v for k, v in j.args.items() if k not in _JOIN_ARGS)
           or j.kind not in ("", "INNER", "OUTER", "CROSS") for j in joins):
        return None
    tables = [from_.this] + [j.this for j in joins]
    for t in tables:
        alias = t.args.get("alias") if isinstance(t, exp.Table) else None
        if not isinstance(t, exp.Table) or not isinstance(t.this, exp.Identifier) \
                or any(v for k, v in t.args.items() if k not in _TABLE_ARGS) \
                or (alias is not None and alias.args.get("columns")):
            return None
    sources = {t.alias_or_name: t for t in tables}
    return sources if len(sources) == len(tables) else None


def _fast_columns(tree: Any, sources: dict[str, Any]) -> list[Any] | None:
    """Every column of the query, or None when a node is outside the shape."""
    from sqlglot import exp

    tables = {id(t) for t in sources.values()}
    kinds = _KINDS
    columns = []
    for node in tree.walk():
        kind = kinds.get(type(node))
        if kind is None:
            kind = kinds[type(node)] = _kind(type(node))
        if kind == _OTHER:
            continue
        if kind == _IDENTIFIER:
            if node.this != node.this.lower():
                return None
        elif kind == _COLUMN:
            if not isinstance(node.this, exp.Identifier) or node.args.get("db") \
                    or node.args.get("catalog"):
                return None
            columns.append(node)
        elif kind == _STAR:
            if not isinstance(node.parent, exp.Count):
                return None
        elif kind == _TABLE:
            if id(node) not in tables:
                return None
        elif kind == _EXCLUDED:
            if node is not tree:
                return None
        elif node.is_int and isinstance(node.parent, exp.Group | exp.Ordered):  # a literal
            return None  # positional GROUP BY / ORDER BY
    return columns


_OTHER, _IDENTIFIER, _COLUMN, _STAR, _TABLE, _EXCLUDED, _LITERAL = range(7)
_KINDS: dict[type, int] = {}  # node class -> what _fast_columns checks of it


def _kind(cls: type) -> int:
    from sqlglot import exp

    for kind, types in ((_IDENTIFIER, exp.Identifier), (_COLUMN, exp.Column),
                        (_STAR, exp.Star), (_TABLE, exp.Table),
                        (_EXCLUDED, (exp.Query, exp.Subquery, exp.Lambda, exp.Unnest,
                                     exp.Lateral, exp.Dot, exp.Pivot, exp.Values,
                                     exp.Comprehension, exp.Aliases, exp.TableColumn, exp.With,
                                     exp.CTE, exp.Parameter, exp.Placeholder)),
                        (_LITERAL, exp.Literal)):
        if issubclass(cls, types):
            return kind
    return _OTHER


def _trace(scope: Any, column: str, memo: dict[tuple[int, str], frozenset[str]]) -> frozenset[str]:
    """Upstream table columns feeding ``column`` of ``scope``'s projection."""
    from sqlglot import exp

    key = (id(scope), column)
    if key in memo:
        return memo[key]
    memo[key] = frozenset()  # cycle guard (recursive CTEs)
    out: set[str] = set()
    expr = scope.expression
    selects = expr.selects if isinstance(expr, exp.Query) and hasattr(expr, "selects") else []
    if isinstance(expr, exp.SetOperation):
        for side in scope.union_scopes:
            out |= _trace(side, column, memo)
    for sel in selects:
        if sel.alias_or_name != column:
            continue
        for col in sel.find_all(exp.Column):
            source = scope.sources.get(col.table)
            if source is None and not col.table and len(scope.sources) == 1:
                source = next(iter(scope.sources.values()))
            if isinstance(source, exp.Table):
                out.add(f"{source.name}.{col.name}")
            elif source is not None and hasattr(source, "expression"):
                out |= _trace(source, col.name, memo)
    memo[key] = frozenset(out)
    return memo[key]
