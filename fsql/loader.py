"""Stage 1 — load: read a project folder into a ``ProjectSpec`` (no SQL is parsed here).

All problems are collected and raised once as an ``ErrorGroup``.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from .errors import ConfigError, ErrorGroup, FsqlError, did_you_mean
from .files import read_utf8, walk
from .forking import split_map
from .names import check_relation, name_error
from .spec import (
    CONFIG_KEYS,
    ColumnSpec,
    EntitySpec,
    Loc,
    ModelSpec,
    ProfileSpec,
    ProjectSpec,
    RawExpectation,
    SeedSpec,
    SourceSpec,
    SparkSpec,
)
from .yamlio import YamlDoc, load_file, validate

# the models of fsql.yamlspec, by name: pydantic is imported only for a file the fast path of
# fsql.yamlio.validate does not vouch for (an error, an unusual value)
EntitiesFileYml, EntityYml = "EntitiesFileYml", "EntityYml"
FeatureSetsFileYml, FeatureSetYml = "FeatureSetsFileYml", "FeatureSetYml"
ModelsFileYml, ModelYml, ProjectYml = "ModelsFileYml", "ModelYml", "ProjectYml"
SourcesFileYml, SourceYml = "SourcesFileYml", "SourceYml"

__all__ = ["PROJECT_FILE", "load_project"]

PROJECT_FILE = "fsql_project.yml"


def load_project(root: str | Path) -> ProjectSpec:
    """Parse a project folder into a ProjectSpec, or raise every problem found at once.

    (``fsql.project_cache.load_project`` puts a cache in front of this.)
    """
    root = Path(root).resolve()
    if not (root / PROJECT_FILE).is_file():
        raise ConfigError(f"no {PROJECT_FILE} in {root}", path=str(root),
                          expected="a project folder",
                          hint="run `fsql init DIR` or pass --project-dir")
    errors: list[FsqlError] = []
    doc = _safe_load(root / PROJECT_FILE, PROJECT_FILE, errors)
    project = _collect(validate(ProjectYml, doc), errors) if doc else None
    entities = _load_entities(root, errors)
    found = sorted(walk(root, "models", errors), key=_parts)  # one walk, as sorted(rglob)
    sources = _load_sources(root, found, errors)
    defaults = _folder_defaults(project, doc, errors)
    models = _load_models(root, found, defaults, errors)
    for name, fs in _load_feature_sets(root, errors).items():
        if name in models:
            errors.append(ConfigError(f"feature set '{name}' is also a SQL model",
                                      **_kw(fs.yml_loc), model=name,
                                      hint=f"rename one of them (models: {models[name].path})"))
        models[name] = fs
    generics = _texts(root, "expectations", errors)
    macros = _texts(root, "macros", errors)
    register_generics(generics, errors)
    models = {n: replace(m, checks=_parse_checks(m.expectations, n, errors))
              for n, m in models.items()}
    for n, m in models.items():
        _check_types(m.columns, n, errors)
    for s in sources.values():
        _check_types(s.columns, None, errors)
    _check_seed_clash(root, models, errors)
    _check_names(root, models, sources, entities, errors)
    sources = {k: replace(s, checks=_parse_checks(s.expectations + _freshness(s), None, errors))
               for k, s in sources.items()}
    ErrorGroup.raise_if(errors)
    assert project is not None
    profile = _profile(project.profile)
    return ProjectSpec(
        root=root, name=project.name, description=project.description, profile=profile,
        targets={n: _target(profile, n, t) for n, t in sorted(project.targets.items())},
        vars=dict(project.vars), models=models, sources=sources, entities=entities,
        seeds=_seeds(root), macros=macros,
        generic_expectations=generics,
        online_store=project.online_store,
    )


def _profile(prof: Any) -> ProfileSpec:
    return ProfileSpec(prof.database, prof.threads, prof.memory_limit, prof.engine,
                       _spark(prof.spark) if prof.engine == "spark" else None)


def _spark(yml: Any) -> SparkSpec:
    if yml is None:
        return SparkSpec()
    return SparkSpec(yml.master, tuple(sorted((k, _conf_text(v)) for k, v in yml.conf.items())),
                     yml.warehouse, yml.table_format, yml.database)


def _conf_text(v: Any) -> str:
    return str(v).lower() if isinstance(v, bool) else str(v)


def _target(base: ProfileSpec, name: str, t: Any) -> ProfileSpec:
    """``base`` with the keys ``t`` sets replaced. A target that moves to another engine
    keeps its state in a file of its own (``<target>_state.duckdb``) unless it names one:
    the versions of two engines must never share one state store."""
    engine = t.engine or base.engine
    database = t.database or (base.database if engine == base.engine
                              else f"{name}_state.duckdb")
    spark = None
    if engine == "spark":
        spark = _spark(t.spark) if t.spark is not None else (base.spark or SparkSpec())
    return ProfileSpec(database, t.threads or base.threads, t.memory_limit or base.memory_limit,
                       engine, spark, name)


def _collect(pair: tuple[Any, list[ConfigError]] | None, errors: list[FsqlError]) -> Any:
    if pair is None:
        return None
    value, errs = pair
    errors.extend(errs)
    return value


def _items(doc: YamlDoc, file_model: Any, list_key: str, item_model: Any,
           errors: list[FsqlError]) -> list[tuple[int, Any]]:
    """Validate a file's top level, then each list item on its own (one bad item does not
    hide the errors of the others)."""
    if doc.data is not None and not isinstance(doc.data, dict):
        errors.append(ConfigError(f"expected a mapping with '{list_key}:' at the top level",
                                  **doc.loc(()).kw(), expected=f"{list_key}:\n  - name: ...",
                                  hint=f"put the list under a '{list_key}:' key"))
        return []
    data = doc.data if isinstance(doc.data, dict) else {}
    top = {k: ([] if k == list_key else v) for k, v in data.items()}
    _collect(validate(file_model, doc, data=top), errors)
    items = data.get(list_key) or []
    if not isinstance(items, list):
        errors.append(ConfigError(f"'{list_key}' must be a list", **doc.loc((list_key,)).kw(),
                                  expected=f"{list_key}:\n  - name: ...", hint="use '- ' items"))
        return []
    out = []
    for i, item in enumerate(items):
        value, errs = validate(item_model, doc, (list_key, i), data=item)
        name = item.get("name") if isinstance(item, dict) else None
        if list_key in ("models", "feature_sets") and isinstance(name, str):
            for e in errs:
                e.model = name
        errors.extend(errs)
        if value is not None:
            out.append((i, value))
    return out


def _safe_load(path: Path, rel: str, errors: list[FsqlError]) -> YamlDoc | None:
    try:
        return load_file(path, rel)
    except ConfigError as e:
        errors.append(e)
        return None


def _load_entities(root: Path, errors: list[FsqlError]) -> dict[str, EntitySpec]:
    doc = _safe_load(root / "entities.yml", "entities.yml", errors) \
        if (root / "entities.yml").is_file() else None
    out: dict[str, EntitySpec] = {}
    for i, e in _items(doc, EntitiesFileYml, "entities", EntityYml, errors) if doc else []:
        keys = tuple((k, "VARCHAR") if isinstance(k, str) else (k.name, k.type)
                     for k in e.join_keys)
        loc = doc.loc(("entities", i)) if doc else None
        if doc is not None:  # a join key's type is a load error, like a column's
            _check_types(tuple(ColumnSpec(k.name, k.type, type_loc=doc.loc(
                ("entities", i, "join_keys", j, "type"))) for j, k in enumerate(e.join_keys)
                if not isinstance(k, str)), None, errors)
        if e.name in out:
            errors.append(ConfigError(f"duplicate entity '{e.name}'", **_kw(loc),
                                      expected="entity names unique in entities.yml",
                                      hint=f"also defined at {_where(out[e.name].loc)}"))
        out[e.name] = EntitySpec(e.name, keys, e.description, loc)
    return out


def _load_sources(root: Path, found: list[Path], errors: list[FsqlError]
                  ) -> dict[str, SourceSpec]:
    out: dict[str, SourceSpec] = {}
    files = sorted(root.glob("sources*.yml")) + [p for p in found if p.name == "sources.yml"]
    for path in files:
        rel = path.relative_to(root).as_posix()
        doc = _safe_load(path, rel, errors)
        for i, src in _items(doc, SourcesFileYml, "sources", SourceYml, errors) if doc else []:
            for j, t in enumerate(src.tables):
                assert doc is not None
                key = ("sources", i, "tables", j)
                spec = SourceSpec(
                    src.name, t.name, t.description, t.path, t.table, t.format,
                    _columns(t.columns, doc, key), _expectations(t, doc, key),
                    t.freshness, t.loaded_at_field, doc.loc(key))
                _check_source(root, replace(spec, loc=doc.loc(key + ("path",))
                                            if t.path else spec.loc), errors)
                if spec.key in out:
                    errors.append(ConfigError(f"duplicate source '{spec.key}'", **doc.loc(key).kw(),
                                              hint=f"also defined at {_where(out[spec.key].loc)}"))
                out[spec.key] = spec
    return out


def _check_source(root: Path, s: SourceSpec, errors: list[FsqlError]) -> None:
    if (s.path is None) == (s.table is None):
        errors.append(ConfigError(f"source '{s.key}' needs exactly one of 'path' or 'table'",
                                  **_kw(s.loc), expected="path: data/x.csv  or  table: schema.t",
                                  hint="a file/glob source uses path, a table uses table"))
    elif s.path is not None and not _glob_matches(root, s.path):
        errors.append(ConfigError(f"source '{s.key}': no file matches '{s.path}'", **_kw(s.loc),
                                  expected="an existing CSV/Parquet file or glob (relative to "
                                  "the project)", hint=_file_hint(root, s.path)))


def _glob_matches(root: Path, pattern: str) -> bool:
    p = Path(pattern)
    if p.is_absolute():
        return any(Path(p.anchor).glob(str(p.relative_to(p.anchor))))
    return any(root.glob(pattern))


def _file_hint(root: Path, pattern: str) -> str:
    parent = (root / pattern).parent
    names = [f.name for f in parent.iterdir()] if parent.is_dir() else []
    return did_you_mean(Path(pattern).name, names) or f"no such file under {parent}"


_DUCKDB_TYPES = frozenset(
    "ARRAY BIGINT BIGNUM BINARY BIT BITSTRING BLOB BOOL BOOLEAN BPCHAR BYTEA CHAR DATE DATETIME "
    "DEC DECIMAL DOUBLE ENUM FLOAT FLOAT4 FLOAT8 GUID HUGEINT INT INT1 INT128 INT16 INT2 INT32 "
    "INT4 INT64 INT8 INTEGER INTERVAL JSON LIST LONG MAP NUMERIC NVARCHAR REAL ROW SHORT SIGNED "
    "SMALLINT STRING STRUCT TEXT TIME TIMESTAMP TIMESTAMPTZ TIMESTAMP_MS TIMESTAMP_NS "
    "TIMESTAMP_S TIMESTAMP_US TIMETZ TINYINT UBIGINT UHUGEINT UINTEGER UNION USMALLINT "
    "UTINYINT UUID VARBINARY VARCHAR VARINT".split())


def check_type_name(type_name: str) -> str | None:
    """None if DuckDB knows the type's base name, else a did-you-mean hint (or '')."""
    base = type_name.strip().upper().split("(")[0].split("[")[0].strip()
    first = base.split()[0] if base else ""
    if first in _DUCKDB_TYPES:
        return None
    return did_you_mean(first, _DUCKDB_TYPES) or ""


def _check_types(cols: tuple[ColumnSpec, ...], model: str | None,
                 errors: list[FsqlError]) -> None:
    for c in cols:
        hint = check_type_name(c.type) if c.type else None
        if hint is not None:
            loc = c.type_loc or c.loc
            errors.append(ConfigError(f"unknown type '{c.type}' for column '{c.name}'",
                                      **_kw(loc), model=model,
                                      expected="a DuckDB type (BIGINT, DOUBLE, VARCHAR, "
                                      "TIMESTAMP, DECIMAL(18,2), ...)",
                                      hint=hint or "see DuckDB's data types"))


def _columns(cols: list[Any], doc: YamlDoc, key: tuple[Any, ...]) -> tuple[ColumnSpec, ...]:
    return tuple(ColumnSpec(c.name, c.type, c.description, tuple(c.tags),
                            doc.loc(key + ("columns", i)), doc.loc(key + ("columns", i, "type")))
                 for i, c in enumerate(cols))


def _expectations(item: Any, doc: YamlDoc, key: tuple[Any, ...]) -> tuple[RawExpectation, ...]:
    out = []
    for field_name in ("expectations", "tests"):
        for i, raw in enumerate(getattr(item, field_name)):
            out.append(RawExpectation(raw, None, doc.loc(key + (field_name, i))))
    for ci, col in enumerate(item.columns):
        for field_name in ("expectations", "tests"):
            for i, raw in enumerate(getattr(col, field_name)):
                loc = doc.loc(key + ("columns", ci, field_name, i))
                out.append(RawExpectation(raw, col.name, loc))
    return tuple(out)


def _folder_defaults(project: Any, doc: YamlDoc | None,
                     errors: list[FsqlError]) -> dict[str, tuple[dict, dict]]:
    """Flatten the ``models:`` block into {folder: (config, locs)}; '' is the root."""
    out: dict[str, tuple[dict, dict]] = {}
    if project is None or doc is None:
        return out
    _walk_defaults(project.models, "", {}, {}, ("models",), doc, out, errors)
    return out


def _walk_defaults(block: Any, folder: str, inherited: dict, locs: dict, key: tuple,
                   doc: YamlDoc, out: dict, errors: list[FsqlError]) -> None:
    config, here = dict(inherited), dict(locs)
    subfolders = []
    for k, v in (block or {}).items():
        name = str(k).lstrip("+")
        if name in CONFIG_KEYS:
            config[name], here[name] = v, doc.loc(key + (k, "__key__"))
        elif isinstance(v, dict):
            subfolders.append((k, v))
        else:
            errors.append(ConfigError(f"unknown model config key '{k}'",
                                      **doc.loc(key + (k, "__key__")).kw(),
                                      expected="a config key or a folder mapping",
                                      hint=did_you_mean(name, CONFIG_KEYS) or "see docs"))
    out[folder] = (config, here)
    for k, v in subfolders:
        sub = f"{folder}/{k}" if folder else str(k)
        _walk_defaults(v, sub, config, here, key + (k,), doc, out, errors)


def _load_models(root: Path, found: list[Path], defaults: dict,
                 errors: list[FsqlError]) -> dict[str, ModelSpec]:
    sql_files: dict[str, Path] = {}
    for path in (p for p in found if p.name.endswith(".sql")):
        name = path.stem
        if name in sql_files:
            first = sql_files[name].relative_to(root).as_posix()
            errors.append(ConfigError(
                f"duplicate model name '{name}'", path=path.relative_to(root).as_posix(),
                line=1, col=1, model=name, expected="model names unique across models/",
                hint=f"also defined at {first}:1:1; rename one of the files"))
            continue
        sql_files[name] = path
    yml = [(p, p.relative_to(root).as_posix()) for ext in (".yml", ".yaml") for p in found
           if p.name.endswith(ext) and p.name != "sources.yml"]
    # every file read (and the YAML parsed and validated) half in a forked child when many
    # (str keys: cheap to pickle, hash and compare, unlike Path objects)
    done, _ = split_map(_read_model_file,
                        [(str(p), "") for p in sql_files.values()] + [(str(p), r) for p, r in yml])
    props = _model_properties(sql_files, yml, done, errors)
    return {name: _model_spec(root, path, props.get(name), defaults, errors,
                              done[str(path), ""])
            for name, path in sorted(sql_files.items())}


def _parts(path: Path) -> tuple[str, ...]:
    return path.parts  # the order of Path.__lt__ on posix, compared as tuples (fast)


def _model_properties(sql_files: dict[str, Path], files: list[tuple[Path, str]],
                      done: dict[tuple[str, str], Any], errors: list[FsqlError]
                      ) -> dict[str, tuple[Any, YamlDoc, tuple]]:
    props: dict[str, tuple[Any, YamlDoc, tuple]] = {}
    for path, rel in files:
        doc, items = done[str(path), rel] or (_safe_load(path, rel, errors), None)
        if items is None:
            items = _items(doc, ModelsFileYml, "models", ModelYml, errors) if doc else []
        for i, m in items:
            assert doc is not None
            key = ("models", i)
            if m.name not in sql_files:
                errors.append(ConfigError(
                    f"properties for model '{m.name}' but no models/**/{m.name}.sql",
                    **doc.loc(key + ("name",)).kw(), model=m.name, expected="an existing model",
                    hint=did_you_mean(m.name, sql_files) or "create the .sql file"))
            elif m.name in props:
                errors.append(ConfigError(f"model '{m.name}' described twice",
                                          **doc.loc(key).kw(), model=m.name,
                                          hint=f"also in {props[m.name][1].path}"))
            else:
                props[m.name] = (m, doc, key)
    return props


def _read_model_file(file: tuple[str, str]) -> Any:
    """A model's SQL text (``rel`` empty), or a models YAML file and its validated items. None
    for a file with an error (and no items for one whose items have errors): those are read
    again, and reported, in order."""
    name, rel = file
    try:
        if not rel:
            with open(name, "rb") as fh:
                return fh.read().decode("utf-8")
        doc = load_file(Path(name), rel)
    except Exception:  # noqa: BLE001 - reported when read again
        return None
    errors: list[FsqlError] = []
    items = _items(doc, ModelsFileYml, "models", ModelYml, errors)
    return doc, None if errors else items


def _model_spec(root: Path, path: Path, prop: tuple | None, defaults: dict,
                errors: list[FsqlError], text: str | None = None) -> ModelSpec:
    rel = path.relative_to(root).as_posix()  # models/<folder>/<name>.sql
    parent = rel.rpartition("/")[0]
    folder = parent.partition("/")[2]
    config, locs = _defaults_for(folder, defaults)
    if text is None:
        text = _read_text(path, rel, errors, path.stem)
    if prop is None:
        return ModelSpec(path.stem, rel, text, config=config,
                         config_locs=locs, tags=tuple(_as_list(config.get("tags"))))
    m, doc, key = prop
    for k, v in m.config.items():
        config[k], locs[k] = v, doc.loc(key + ("config", k, "__key__"))
    tags = tuple(dict.fromkeys(_as_list(config.get("tags")) + list(m.tags)))
    return ModelSpec(
        m.name, rel, text, m.description, config, locs, tags,
        _columns(m.columns, doc, key), _expectations(m, doc, key), doc.loc(key), dict(m.meta))


def _load_feature_sets(root: Path, errors: list[FsqlError]) -> dict[str, ModelSpec]:
    """``feature_sets/*.yml``: feature sets defined in Python and written by ``apply``."""
    out: dict[str, ModelSpec] = {}
    for path in sorted((root / "feature_sets").glob("*.yml")):
        rel = path.relative_to(root).as_posix()
        doc = _safe_load(path, rel, errors)
        for i, f in (_items(doc, FeatureSetsFileYml, "feature_sets", FeatureSetYml, errors)
                     if doc else []):
            assert doc is not None
            key = ("feature_sets", i)
            config: dict[str, Any] = {"materialized": "feature_set", "entities": f.entities,
                                      "timestamp": f.timestamp, "online": f.online}
            for k in ("ttl", "created_timestamp"):
                if getattr(f, k) is not None:
                    config[k] = getattr(f, k)
            out[f.name] = ModelSpec(f.name, rel, "", f.description, config, {}, tuple(f.tags),
                                    _columns(f.columns, doc, key), _expectations(f, doc, key),
                                    doc.loc(key), dict(f.meta), kind="ingest")
    return out


def _check_names(root: Path, models: dict[str, ModelSpec], sources: dict[str, SourceSpec],
                 entities: dict[str, EntitySpec], errors: list[FsqlError]) -> None:
    """Names that reach SQL or file names must be identifiers (see fsql.names)."""
    found: list[tuple[str, str, Loc | None, str | None]] = [
        ("feature set" if m.kind == "ingest" else "model", n,
         m.yml_loc if m.kind == "ingest" else Loc(m.path, 1, 1), n)
        for n, m in models.items()]
    found += [("seed", p.stem, Loc(p.relative_to(root).as_posix(), 1, 1), None)
              for p in sorted((root / "seeds").glob("*.csv"))]
    for s in sources.values():
        found += [("source", s.source, s.loc, None), ("source table", s.name, s.loc, None)]
        if s.table is not None:
            errors.extend(e for e in [check_relation(s.table, s.loc)] if e)
    for e in entities.values():
        found += [("entity", e.name, e.loc, None)]
        found += [("join key", k, e.loc, None) for k, _ in e.join_keys]
    seen: set[tuple[str, str]] = set()
    for kind, name, loc, model in found:
        err = None if (kind, name) in seen else name_error(kind, name, loc, model)
        seen.add((kind, name))
        if err is not None:
            errors.append(err)


def _check_seed_clash(root: Path, models: dict[str, ModelSpec],
                      errors: list[FsqlError]) -> None:
    for seed in sorted((root / "seeds").glob("*.csv")):
        if seed.stem in models:
            errors.append(ConfigError(
                f"duplicate model name '{seed.stem}'", path=models[seed.stem].path, line=1,
                col=1, model=seed.stem, expected="model and seed names unique",
                hint=f"also defined at {seed.relative_to(root).as_posix()} (a seed); "
                     f"rename one of them"))


def register_generics(texts: tuple[tuple[str, str], ...], errors: list[FsqlError]) -> None:
    """``expectations/<name>.sql``: user-defined generic expectations (Jinja SQL returning the
    failing rows), usable by name in YAML like dbt generic tests."""
    if not texts:
        return
    if not texts:
        return
    from .expectations import register_generic

    for path, text in texts:
        try:
            register_generic(Path(path).stem, text)
        except FsqlError as e:
            errors.append(e)


def _parse_checks(raws: tuple[RawExpectation, ...], model: str | None,
                  errors: list[FsqlError]) -> tuple[Any, ...]:
    from .expectations import parse_expectation
    from .expectations.drift import is_drift, parse_drift

    out = []
    for r in raws:
        parse = parse_drift if is_drift(r.raw) else parse_expectation
        try:
            out.append(parse(r.raw, column=r.column, path=r.loc.path,
                             line=r.loc.line, col=r.loc.col, model=model))
        except FsqlError as e:
            errors.append(e)
    return tuple(out)


def _freshness(s: SourceSpec) -> tuple[RawExpectation, ...]:
    """dbt-style ``freshness: {max_age: 24h, severity: warn}`` + ``loaded_at_field``."""
    if not s.freshness:
        return ()
    body = dict(s.freshness)
    column = body.pop("column", None) or s.loaded_at_field
    loc = s.loc or Loc("sources.yml")
    if column is None:
        return (RawExpectation({"expect_column_max_to_be_fresh": body}, None, loc),)
    return (RawExpectation({"expect_column_max_to_be_fresh": {**body, "column": column}}, None,
                           loc),)


def _read_text(path: Path, rel: str, errors: list[FsqlError], model: str | None = None) -> str:
    try:
        return read_utf8(path, rel, model)
    except ConfigError as e:
        errors.append(e)
        return ""


def _defaults_for(folder: str, defaults: dict) -> tuple[dict, dict]:
    parts = folder.split("/") if folder else []
    for n in range(len(parts), -1, -1):
        hit = defaults.get("/".join(parts[:n]))
        if hit is not None:
            return dict(hit[0]), dict(hit[1])
    return {}, {}


def _as_list(v: Any) -> list[str]:
    if v is None:
        return []
    return [v] if isinstance(v, str) else [str(x) for x in v]


def _seeds(root: Path) -> dict[str, SeedSpec]:
    return {p.stem: SeedSpec(p.stem, p.relative_to(root).as_posix(), Loc(p.name))
            for p in sorted((root / "seeds").glob("*.csv"))}


def _texts(root: Path, folder: str, errors: list[FsqlError]) -> tuple[tuple[str, str], ...]:
    files = sorted((p for p in walk(root, folder, errors) if p.suffix == ".sql"), key=_parts)
    rels = [p.relative_to(root).as_posix() for p in files]
    return tuple((rel, _read_text(p, rel, errors)) for p, rel in zip(files, rels, strict=True))


def _kw(loc: Loc | None) -> dict[str, Any]:
    return loc.kw() if loc else {}


def _where(loc: Loc | None) -> str:
    return f"{loc.path}:{loc.line}:{loc.col}" if loc else "?"
