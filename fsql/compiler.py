"""Stage 3 — compile: sqlglot parse, config validation, ephemeral inlining, columns, lineage.

The fingerprint of a model is a hash of its *normalized* SQL (sqlglot output without comments
or formatting), its config and its upstream fingerprints — so whitespace- or comment-only edits
do not rebuild anything.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from .errors import CompileError, ErrorGroup, FsqlError, did_you_mean
from .lineage import DIALECT, SqlFacts, needs_hold, qualified_lineage, tree_facts
from .renderer import Ref, RenderedModel
from .spec import CONFIG_KEYS, Loc, ModelSpec, ProjectSpec, SeedSpec, SourceSpec

__all__ = ["CompiledModel", "compile_model", "compile_seed", "parse_ttl", "source_sql"]

_TTL = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|sec|m|min|h|hr|d|day|days|w|week|weeks)?\s*$")
_UNIT_SECONDS = {"s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600, "hr": 3600, "d": 86400,
                 "day": 86400, "days": 86400, "w": 604800, "week": 604800, "weeks": 604800}


_MOVING_KEYS = frozenset({"end", "lookback"})


@dataclass(frozen=True)
class CompiledModel:
    """A model ready to plan and build."""

    name: str
    path: str
    kind: str  # "model" | "seed"
    materialized: str
    sql: str  # executable SELECT (ephemeral parents inlined)
    normalized: str
    depends_on: tuple[str, ...]  # models (and seeds), sorted
    sources: tuple[str, ...]
    config: dict[str, Any]
    tags: tuple[str, ...] = ()
    description: str = ""
    columns: tuple[str, ...] | None = None  # inferred output columns, when knowable
    lineage: dict[str, tuple[str, ...]] = field(default_factory=dict)
    own_hash: str = ""
    refs: tuple[Ref, ...] = ()
    config_locs: dict[str, Loc] = field(default_factory=dict)
    after: tuple[str, ...] = ()  # ordering-only parents (e.g. a relationships check's target)

    @property
    def is_ephemeral(self) -> bool:
        return self.materialized == "ephemeral"


def parse_ttl(value: Any) -> float | None:
    """``'30d'`` -> seconds; None/0 -> unlimited.

    >>> parse_ttl("30d"), parse_ttl("12h"), parse_ttl(None), parse_ttl(3600)
    (2592000.0, 43200.0, None, 3600.0)
    """
    if value in (None, 0, "0", ""):
        return None
    if isinstance(value, int | float):
        return float(value)
    m = _TTL.match(str(value))
    if not m:
        raise ValueError(f"invalid duration {value!r}")
    return float(m.group(1)) * _UNIT_SECONDS[m.group(2) or "s"]


def compile_model(project: ProjectSpec, spec: ModelSpec, r: RenderedModel,
                  ephemerals: Mapping[str, CompiledModel],
                  schemas: Mapping[str, tuple[str, ...] | None],
                  cache: dict[str, Any] | None = None,
                  facts: SqlFacts | None = None) -> CompiledModel:
    """Compile one rendered model. ``ephemerals``/``schemas`` hold already-compiled parents.

    ``cache`` maps a hash of everything the SQL analysis reads to its result, so a warm
    compile never imports sqlglot (the key starts with :func:`sql_key` of the rendered SQL).
    """
    config = {**spec.config, **r.config}
    _check_config(project, spec, r, config)
    if config.get("dialect") == "spark":  # written in Spark SQL: DuckDB SQL is the canonical
        r, facts = replace(r, sql=_from_spark(spec, r)), None  # form (fingerprint, lineage)
    deps = tuple(sorted({x.name for x in r.refs if x.kind == "model"}))
    eph = [d for d in deps if d in ephemerals]
    key = sql_key(r.sql) + ":" + _hash(*(ephemerals[d].sql for d in eph),
                                       repr([(d, schemas.get(d)) for d in deps]))
    hit = cache.get(key) if cache is not None else None
    if hit is None:
        hit = _analyze(spec, r, eph, ephemerals, schemas, facts)
        if cache is not None:
            cache[key] = hit
    sql, normalized, columns, lineage = hit
    tags = tuple(dict.fromkeys(list(spec.tags) + _as_list(config.get("tags"))))
    description = spec.description or str(config.get("description", ""))
    contract = [(c.name, c.type) for c in spec.columns if c.type]
    # an incremental model's window end / lookback move every day: not part of its definition
    hashed = {k: v for k, v in config.items() if k not in _MOVING_KEYS} \
        if config.get("materialized") == "incremental" else config
    own = _hash(normalized, json.dumps(hashed, sort_keys=True, default=str),
                json.dumps(contract))
    _check_feature_columns(project, spec, r, config, columns)
    return CompiledModel(
        spec.name, spec.path, "model", str(config.get("materialized", "view")), sql, normalized,
        deps, tuple(sorted({x.name for x in r.refs if x.kind == "source"})), config, tags,
        description, columns, lineage, own, r.refs,
        {k: _config_loc(spec, r, k) for k in config})


def _from_spark(spec: ModelSpec, r: RenderedModel) -> str:
    import sqlglot

    try:
        return ";\n".join(sqlglot.transpile(r.sql, read="spark", write=DIALECT, pretty=True))
    except sqlglot.errors.ParseError as e:
        err = e.errors[0] if e.errors else {}
        raise CompileError(f"cannot read this model as Spark SQL: {err.get('description', e)}",
                           path=spec.path, line=err.get("line"), col=err.get("col"),
                           model=spec.name, expected="Spark SQL (the model sets dialect: spark)",
                           hint="fix the SQL, or remove dialect: spark to write DuckDB SQL"
                           ) from None


def _analyze(spec: ModelSpec, r: RenderedModel, eph: list[str],
             ephemerals: Mapping[str, CompiledModel],
             schemas: Mapping[str, tuple[str, ...] | None],
             facts: SqlFacts | None = None) -> tuple[Any, ...]:
    """The sqlglot part: parse, inline ephemerals, normalize, infer columns and lineage.

    ``facts`` (from :func:`fsql.lineage.sql_facts`, maybe computed in another process) stand
    for the parse when they hold for these parents.
    """
    if facts is not None and not eph and facts.lineage is not None \
            and needs_hold(facts.needs, schemas):
        return r.sql, facts.normalized, facts.columns, facts.lineage
    tree = _parse(spec, r)
    sql = r.sql
    if eph:
        tree = _inline_ephemerals(tree, eph, ephemerals)
        sql = tree.sql(dialect=DIALECT, pretty=True)
    # "sqlglot.meta" comments change how qualify() reads names: leave those to it
    facts = tree_facts(tree, fast=not eph and "sqlglot.meta" not in r.sql)
    if facts.lineage is not None:
        if needs_hold(facts.needs, schemas):
            return sql, facts.normalized, facts.columns, facts.lineage
        tree = _parse(spec, r)  # generated without a copy: parse again for qualify
    normalized = tree.sql(dialect=DIALECT, comments=False)
    return sql, normalized, facts.columns, qualified_lineage(tree, facts.columns or (), schemas)


def compile_seed(root: Path, seed: SeedSpec) -> CompiledModel:
    """A seed is a table model whose SQL reads its CSV; its hash covers the file content."""
    sql = f"select * from read_csv('{_sql_str(str(root / seed.path))}', header = true)"
    digest = hashlib.sha256((root / seed.path).read_bytes()).hexdigest()
    return CompiledModel(seed.name, seed.path, "seed", "table", sql, sql, (), (),
                         {"materialized": "table"}, ("seed",), f"Seed {seed.path}",
                         own_hash=_hash(digest))


def compile_ingested(spec: ModelSpec) -> CompiledModel:
    """A Python-defined feature set: no SQL; its versions come from ``store.ingest``."""
    definition = json.dumps({"config": spec.config, "columns": [(c.name, c.type)
                                                                for c in spec.columns]},
                            sort_keys=True, default=str)
    cols = tuple(c.name for c in spec.columns)
    return CompiledModel(spec.name, spec.path, "ingest", "feature_set", "", definition, (), (),
                         dict(spec.config), spec.tags, spec.description, cols or None,
                         own_hash=_hash(definition))


def source_sql(root: Path, s: SourceSpec) -> str:
    """The SELECT a file source's view is created from (absolute paths: views outlive cwd)."""
    assert s.path is not None
    full = _sql_str(str(root / s.path))
    fmt = (s.format or _format_of(s.path)).lower()
    reader = {"parquet": "read_parquet", "json": "read_json_auto"}.get(fmt, "read_csv")
    return f"select * from {reader}('{full}')"


def source_hash(root: Path, s: SourceSpec, digests: FileDigests | None = None) -> str:
    """Changes when the source's files change, so dependants rebuild; the same after the
    project is moved or copied (paths relative to the root, contents not mtimes: a copy
    rebuilds nothing). ``digests`` caches file digests by stat, so unchanged files are not
    read again."""
    if s.path is None:
        return _hash(str(s.table))
    pattern = Path(s.path)
    base, rel = (Path(pattern.anchor), str(pattern.relative_to(pattern.anchor))) \
        if pattern.is_absolute() else (root, s.path)
    digests = digests or FileDigests(None)
    files = sorted(p for p in base.glob(rel) if p.is_file())
    stats = [(p.relative_to(base).as_posix(), p.stat().st_size, digests.get(p)) for p in files]
    return _hash(s.path, json.dumps(stats))


class FileDigests:
    """SHA-256 of files, remembered by (path, size, mtime, inode) in ``cache`` (a JSON file;
    unreadable or unwritable = no cache)."""

    def __init__(self, cache: Path | None) -> None:
        self.cache = cache
        self.known: dict[str, str] = {}
        self.used: dict[str, str] = {}
        if cache is not None:
            try:
                self.known = json.loads(cache.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                self.known = {}

    def get(self, path: Path) -> str:
        st = path.stat()
        key = f"{path}|{st.st_size}|{st.st_mtime_ns}|{st.st_ino}"
        digest = self.known.get(key)
        if digest is None:
            with open(path, "rb") as fh:
                digest = hashlib.file_digest(fh, "sha256").hexdigest()
        self.used[key] = digest
        return digest

    def save(self) -> None:
        """Keep the digests used this time (so the cache never grows stale entries)."""
        if self.cache is None or self.used == self.known:
            return
        try:
            self.cache.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.cache.with_suffix(".tmp")
            tmp.write_text(json.dumps(self.used, sort_keys=True), encoding="utf-8")
            tmp.replace(self.cache)
        except OSError:
            pass  # a read-only project: digests are computed again next time


def _format_of(path: str) -> str:
    lower = path.lower()
    for ext, fmt in ((".parquet", "parquet"), (".json", "json"), (".ndjson", "json")):
        if lower.endswith(ext) or lower.endswith(ext + ".gz"):
            return fmt
    return "csv"


def _sql_str(s: str) -> str:
    return s.replace("'", "''")


def sql_key(sql: str) -> str:
    """The first part of a model's analysis cache key: a hash of its rendered SQL."""
    return _hash(sql)


def _hash(*parts: str) -> str:
    h = hashlib.sha256()
    for p in parts:
        h.update(p.encode())
        h.update(b"\0")
    return h.hexdigest()


def _as_list(v: Any) -> list[str]:
    if v is None:
        return []
    return [v] if isinstance(v, str) else [str(x) for x in v]


# -- config ---------------------------------------------------------------------------------
def _config_loc(spec: ModelSpec, r: RenderedModel, key: str) -> Loc:
    if key in r.config and r.config_line:
        line = r.config_line
        lines = spec.raw_sql.splitlines()
        text = lines[line - 1] if line <= len(lines) else ""
        return Loc(spec.path, line, (text.find(key) + 1) or 1)
    return spec.config_locs.get(key) or spec.yml_loc or Loc(spec.path, 1, 1)


def _check_config(project: ProjectSpec, spec: ModelSpec, r: RenderedModel,
                  config: dict[str, Any]) -> None:
    errors: list[FsqlError] = []
    for key, value in config.items():
        loc = _config_loc(spec, r, key)
        ck = CONFIG_KEYS.get(key)
        if ck is None:
            errors.append(CompileError(f"unknown config key '{key}'", **loc.kw(), model=spec.name,
                                       expected="one of: " + ", ".join(sorted(CONFIG_KEYS)),
                                       hint=did_you_mean(key, CONFIG_KEYS) or "remove it"))
        elif not isinstance(value, ck.types) or (ck.choices and value not in ck.choices):
            expected = ", ".join(ck.choices) if ck.choices else \
                " or ".join(t.__name__ for t in ck.types)
            errors.append(CompileError(
                f"invalid value {value!r} for config '{key}'", **loc.kw(), model=spec.name,
                expected=expected, hint=did_you_mean(str(value), ck.choices) or ck.description))
    if config.get("materialized") == "feature_set":
        errors.extend(_check_feature_set(project, spec, r, config))
    if config.get("materialized") == "incremental":
        for key in ("time_column", "start"):
            if not config.get(key):
                errors.append(CompileError(
                    f"incremental model needs '{key}'",
                    **_config_loc(spec, r, "materialized").kw(), model=spec.name,
                    expected=f"{key}=... in config(...)",
                    hint="e.g. config(materialized='incremental', time_column='ts', "
                         "start='2026-01-01', batch_size='1 day')"))
    ErrorGroup.raise_if(errors)


def _check_feature_columns(project: ProjectSpec, spec: ModelSpec, r: RenderedModel,
                           config: dict[str, Any], columns: tuple[str, ...] | None) -> None:
    """When the output columns are known, the timestamp and join keys must be among them."""
    if config.get("materialized") != "feature_set" or columns is None:
        return
    errors: list[FsqlError] = []
    wanted = [("timestamp", str(config.get("timestamp")))]
    wanted += [("entities", k) for e in _as_list(config.get("entities"))
               if e in project.entities for k, _ in project.entities[e].join_keys]
    for key, col in wanted:
        if col not in columns:
            role = "event timestamp" if key == "timestamp" else "join key"
            errors.append(CompileError(
                f"feature_set column '{col}' ({role}) is not produced by the query",
                **_config_loc(spec, r, key).kw(),
                model=spec.name, expected="one of the output columns: " + ", ".join(columns),
                hint=did_you_mean(col, columns) or f"select a column named '{col}'"))
    ErrorGroup.raise_if(errors)


def _check_feature_set(project: ProjectSpec, spec: ModelSpec, r: RenderedModel,
                       config: dict[str, Any]) -> list[FsqlError]:
    errors: list[FsqlError] = []
    ents = _as_list(config.get("entities"))
    loc = _config_loc(spec, r, "entities")
    if not ents:
        errors.append(CompileError("feature_set needs 'entities'", **loc.kw(), model=spec.name,
                                   expected="entities=['user', ...] naming entities.yml entries",
                                   hint="add entities to config(...)"))
    for e in ents:
        if e not in project.entities:
            errors.append(CompileError(f"unknown entity '{e}'", **loc.kw(), model=spec.name,
                                       expected="an entity declared in entities.yml",
                                       hint=did_you_mean(e, project.entities)
                                       or "declare it in entities.yml"))
    if not config.get("timestamp"):
        errors.append(CompileError("feature_set needs 'timestamp'",
                                   **_config_loc(spec, r, "materialized").kw(), model=spec.name,
                                   expected="timestamp='<event time column>'",
                                   hint="add timestamp=... to config(...)"))
    try:
        if (parse_ttl(config.get("ttl")) or 0) < 0:
            raise ValueError("negative")
    except ValueError:
        errors.append(CompileError(f"invalid ttl {config.get('ttl')!r}",
                                   **_config_loc(spec, r, "ttl").kw(), model=spec.name,
                                   expected="a positive duration like 30d, 12h, 90m or seconds",
                                   hint="use a number followed by s, m, h, d or w"))
    return errors


# -- SQL ------------------------------------------------------------------------------------
def _parse(spec: ModelSpec, r: RenderedModel) -> Any:
    import sqlglot
    from sqlglot import exp
    from sqlglot.errors import ParseError, SqlglotError

    try:
        trees = [t for t in sqlglot.parse(r.sql, read=DIALECT) if t is not None]
    except ParseError as e:
        first = e.errors[0] if e.errors else {}
        desc = str(first.get("description", str(e)))
        if desc.startswith("Required keyword") or "Expected" in desc and "<class" in desc:
            desc = f"incomplete expression after '{first.get('highlight', '')}'"
        raise CompileError(f"SQL parse error: {desc}",
                           path=spec.path, line=first.get("line"), col=first.get("col"),
                           model=spec.name, expected="one DuckDB SELECT statement",
                           hint=f"check the SQL near '{first.get('highlight', '')}'") from None
    except SqlglotError as e:
        raise CompileError(f"SQL error: {e}", path=spec.path, line=1, col=1,
                           model=spec.name) from None
    if len(trees) != 1 or not isinstance(trees[0], exp.Query):
        what = "no statement" if not trees else f"{len(trees)} statements" if len(trees) > 1 \
            else type(trees[0]).__name__.upper()
        line, col = _statement_pos(r.sql, len(trees) > 1)
        hint = ("write a SELECT query in the file" if not trees else
                "remove the extra statement after ';'" if len(trees) > 1 else
                "remove CREATE/INSERT: write only the SELECT; fsql creates the table/view")
        raise CompileError(f"a model must be exactly one SELECT query, found {what}",
                           path=spec.path, line=line, col=col, model=spec.name,
                           expected="select ... (a query; fsql creates the table/view)",
                           hint=hint)
    return trees[0]


def _statement_pos(sql: str, second: bool) -> tuple[int, int]:
    """Where the second statement starts (its ';'), else the first token."""
    from sqlglot.tokens import Tokenizer, TokenType

    try:
        tokens = Tokenizer().tokenize(sql)
    except Exception:  # noqa: BLE001 - positions are best effort
        return 1, 1
    for t in tokens:
        if not second or t.token_type == TokenType.SEMICOLON:
            return t.line, max(t.col - len(t.text) + 1, 1)
    return 1, 1


def _inline_ephemerals(tree: Any, eph: list[str],
                       ephemerals: Mapping[str, CompiledModel]) -> Any:
    import sqlglot
    from sqlglot import exp

    names = {f"main.{n}": n for n in eph}

    def swap(node: Any) -> Any:
        if isinstance(node, exp.Table) and f"{node.db}.{node.name}" in names:
            alias = node.alias or node.name
            return exp.to_table(f"__eph_{node.name}").as_(alias) if alias else node
        return node

    tree = tree.transform(swap)
    for n in reversed(eph):
        parent = sqlglot.parse_one(ephemerals[n].sql, read=DIALECT)
        tree = _prepend_cte(tree, f"__eph_{n}", parent)
    return tree


def _prepend_cte(tree: Any, name: str, body: Any) -> Any:
    from sqlglot import exp

    cte = exp.CTE(this=body, alias=exp.TableAlias(this=exp.to_identifier(name)))
    with_ = tree.args.get("with_") or tree.args.get("with")
    if with_ is None:
        key = "with_" if "with_" in type(tree).arg_types else "with"
        tree.set(key, exp.With(expressions=[cte]))
    else:
        with_.set("expressions", [cte, *with_.expressions])
    return tree
