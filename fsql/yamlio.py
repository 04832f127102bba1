"""YAML with line numbers, validated by strict pydantic models.

PyYAML's C composer gives every node its start mark; we keep a map from the key path
(``("models", 0, "columns", 2)``) to ``(line, col)`` so pydantic errors and later stages can
point at the exact place. (ruamel.yaml's round-trip loader gives the same positions but is
~20x slower on a 1000-model project.)

:func:`validate` first tries :data:`FIELDS`, the models of :mod:`fsql.yamlspec` as plain data: a
document it accepts is one pydantic accepts, with the same values; anything else (every error)
is validated by pydantic, which is then imported (a valid project loads without it).

>>> doc = load_text("a: 1\\nb:\\n  - x\\n", "p.yml")
>>> doc.data, doc.loc(("b", 0))
({'a': 1, 'b': ['x']}, Loc(path='p.yml', line=3, col=5))
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import yaml

from .errors import ConfigError, did_you_mean
from .spec import Loc

__all__ = ["FIELDS", "YamlDoc", "load_file", "load_text", "validate"]

_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass
class YamlDoc:
    """Plain data plus the position of every node."""

    path: str
    data: Any
    locs: dict[tuple[Any, ...], tuple[int, int]] = field(default_factory=dict)

    def loc(self, key: Sequence[Any] = ()) -> Loc:
        """Location of the node at ``key``, or of its nearest ancestor."""
        k = tuple(key)
        while k not in self.locs and k:
            k = k[:-1]
        line, col = self.locs.get(k, (1, 1))
        return Loc(self.path, line, col)


def load_file(path: Path, rel: str) -> YamlDoc:
    from .files import read_utf8

    return load_text(read_utf8(path, rel), rel)


def load_text(text: str, rel: str) -> YamlDoc:
    """Parse YAML text; syntax errors become ConfigError with the position."""
    try:
        node = yaml.compose(text, Loader=_Loader)
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (None, None)
        msg = f"invalid YAML: {e.problem or e.context}"
        raise ConfigError(msg, path=rel, line=line, col=col,
                          hint="check indentation and quoting around this place") from None
    doc = YamlDoc(rel, None)
    doc.data = _build(node, (), doc) if node is not None else {}
    return doc


_constructor = yaml.SafeLoader("")  # only used to turn scalar nodes into Python values
_STR = "tag:yaml.org,2002:str"


def _scalar(node: Any) -> Any:
    # a str-tagged scalar is its text (what SafeConstructor.construct_yaml_str returns)
    return node.value if node.tag == _STR and isinstance(node, yaml.ScalarNode) \
        else _constructor.construct_object(node)


def _build(node: Any, key: tuple[Any, ...], doc: YamlDoc) -> Any:
    doc.locs[key] = (node.start_mark.line + 1, node.start_mark.column + 1)
    if isinstance(node, yaml.MappingNode):
        out: dict[Any, Any] = {}
        for k_node, v_node in node.value:
            k = _scalar(k_node)
            if k in out:
                raise ConfigError(f"duplicate key '{k}'", path=doc.path,
                                  line=k_node.start_mark.line + 1,
                                  col=k_node.start_mark.column + 1,
                                  hint="each key may appear once in a mapping")
            doc.locs[key + (k, "__key__")] = (k_node.start_mark.line + 1,
                                              k_node.start_mark.column + 1)
            out[k] = _build(v_node, key + (k,), doc)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_build(v, key + (i,), doc) for i, v in enumerate(node.value)]
    return _scalar(node)


def validate(model: Any, doc: YamlDoc, key: tuple[Any, ...] = (),
             data: Any = None) -> tuple[Any, list[ConfigError]]:
    """Validate ``doc.data`` (or ``data``) at ``key`` against a strict pydantic model of
    :mod:`fsql.yamlspec` (the class or its name)."""
    value = doc.data if data is None else data
    name = model if isinstance(model, str) else model.__name__
    fast = _fast(name, value)
    if fast is not None:
        return fast, []
    from pydantic import ValidationError

    from . import yamlspec

    cls = getattr(yamlspec, model) if isinstance(model, str) else model
    try:
        return cls.model_validate(value, strict=True), []
    except ValidationError as exc:
        return None, [_to_error(cls, doc, key, err) for err in exc.errors()]


# -- the fast path ----------------------------------------------------------------------------
_REQUIRED = object()
_LIST: tuple[str, Any] = ("list", [])
_DICT: tuple[str, Any] = ("dict", {})
# model -> input key -> (kind, default[, attribute]); a kind is a scalar kind, "dict", "list",
# "list[str]", a model name, or "list[<model>]" (tests/test_compile_fast.py checks it is
# fsql.yamlspec, field by field)
FIELDS: dict[str, dict[str, tuple[Any, ...]]] = {
    "ProfileYml": {"engine": ("=", "duckdb"), "database": ("str", "warehouse.duckdb"),
                   "threads": ("threads", None), "memory_limit": ("str?", None),
                   "spark": ("=", None)},
    "ProjectYml": {"name": ("str", _REQUIRED), "description": ("str", ""),
                   "version": ("str|int?", None), "profile": ("ProfileYml", {}),
                   "targets": ("=", {}), "vars": _DICT, "models": _DICT, "seeds": _DICT,
                   "online_store": ("dict?", None)},
    "ColumnYml": {"name": ("str", _REQUIRED), "type": ("str?", None), "description": ("str", ""),
                  "tags": ("list[str]", []), "expectations": _LIST, "tests": _LIST,
                  "meta": _DICT},
    "ModelYml": {"name": ("str", _REQUIRED), "description": ("str", ""), "config": _DICT,
                 "tags": ("list[str]", []), "columns": ("list[ColumnYml]", []),
                 "expectations": _LIST, "tests": _LIST, "meta": _DICT},
    "ModelsFileYml": {"version": ("int?", None), "models": ("list[ModelYml]", [])},
    "FeatureSetYml": {"name": ("str", _REQUIRED), "description": ("str", ""),
                      "entities": ("list[str]", _REQUIRED), "timestamp": ("str", _REQUIRED),
                      "created_timestamp": ("str?", None), "ttl": ("str|int?", None),
                      "online": ("bool", False), "tags": ("list[str]", []),
                      "columns": ("list[ColumnYml]", []), "expectations": _LIST,
                      "tests": _LIST, "meta": _DICT},
    "FeatureSetsFileYml": {"version": ("int?", None),
                           "feature_sets": ("list[FeatureSetYml]", [])},
    "SourceTableYml": {"name": ("str", _REQUIRED), "description": ("str", ""),
                       "path": ("str?", None), "table": ("str?", None), "format": ("str?", None),
                       "columns": ("list[ColumnYml]", []), "expectations": _LIST,
                       "tests": _LIST, "freshness": ("dict?", None),
                       "loaded_at_field": ("str?", None), "tags": ("list[str]", [])},
    "SourceYml": {"name": ("str", _REQUIRED), "description": ("str", ""),
                  "schema": ("str?", None, "schema_"), "tables": ("list[SourceTableYml]", [])},
    "SourcesFileYml": {"version": ("int?", None), "sources": ("list[SourceYml]", [])},
    "JoinKeyYml": {"name": ("str", _REQUIRED), "type": ("str", "VARCHAR"),
                   "description": ("str", "")},
    "EntityYml": {"name": ("str", _REQUIRED), "join_keys": ("list[JoinKeyYml|str]", _REQUIRED),
                  "description": ("str", "")},
    "EntitiesFileYml": {"version": ("int?", None), "entities": ("list[EntityYml]", [])},
}
_NO = object()  # "not accepted by the fast path"


def _fast(model: str, value: Any) -> Any:
    """The validated object when the fast path can vouch for it, else None."""
    fields = FIELDS.get(model)
    if fields is None or type(value) is not dict or any(k not in fields for k in value):
        return None
    out = {}
    for name, (kind, default, *attr) in fields.items():
        if name in value:
            v = _fast_value(kind, value[name])
            v = default if kind == "=" and value[name] == default else v
        else:
            v = _NO if default is _REQUIRED else (
                default if kind == "=" else _fast_value(kind, default))
        if v is _NO:
            return None
        out[attr[0] if attr else name] = v
    return SimpleNamespace(**out)


def _fast_value(kind: str, v: Any) -> Any:
    t = type(v)
    if kind == "=":  # only the default (e.g. the duckdb engine): anything else goes to pydantic
        return _NO
    if kind in ("str", "str?", "int?", "str|int?", "bool"):
        ok = {"str": (str,), "str?": (str, type(None)), "int?": (int, type(None)),
              "str|int?": (str, int, type(None)), "bool": (bool,)}[kind]
        return v if t in ok else _NO  # type() is: strict mode takes no bool for an int
    if kind == "threads":
        return v if v is None or (t is int and 1 <= v <= 256) else _NO
    if kind in ("dict", "dict?"):
        if v is None and kind == "dict?":
            return None
        return dict(v) if t is dict and all(type(k) is str for k in v) else _NO
    if t is not list and kind.startswith("list"):
        return _NO
    if kind == "list":
        return list(v)
    if kind == "list[str]":
        return list(v) if all(type(x) is str for x in v) else _NO
    if kind.startswith("list["):
        items = [x if type(x) is str and kind.endswith("|str]") else
                 _fast(kind[5:-1].split("|")[0], x) for x in v]
        return _NO if any(x is None for x in items) else items
    got = _fast(kind, v)
    return _NO if got is None else got


def _to_error(model: Any, doc: YamlDoc, key: tuple[Any, ...], err: Any) -> ConfigError:
    where = key + tuple(err["loc"])
    kind = err["type"]
    name = str(err["loc"][-1]) if err["loc"] else ""
    if kind == "extra_forbidden":
        allowed = _fields_at(model, err["loc"][:-1])
        loc = doc.loc(where + ("__key__",)) if where + ("__key__",) in doc.locs else doc.loc(where)
        return ConfigError(f"unknown key '{name}'", **loc.kw(),
                           expected="one of: " + ", ".join(sorted(allowed)),
                           hint=did_you_mean(name, allowed) or "remove it")
    if kind == "missing":
        return ConfigError(f"missing required key '{name}'", **doc.loc(where[:-1]).kw(),
                           expected=f"a '{name}' key here", hint=f"add '{name}: ...'")
    return ConfigError(f"invalid value for '{_dotted(err['loc'])}': {err['msg']}",
                       **doc.loc(where).kw(), expected=_expected(err),
                       hint="see docs/project-reference.md")


def _dotted(loc: Sequence[Any]) -> str:
    parts = [str(p) for p in loc if not str(p).endswith("]") and p not in ("str", "int")]
    return ".".join(p for p in parts if not p.startswith(("list[", "dict[", "JoinKeyYml")))


def _expected(err: Any) -> str:
    kind = str(err["type"])
    return {"string_type": "a string", "int_type": "an integer", "bool_type": "true or false",
            "list_type": "a list", "dict_type": "a mapping", "float_type": "a number",
            "model_type": "a mapping"}.get(kind, kind.replace("_", " "))


def _fields_at(model: Any, loc: Sequence[Any]) -> set[str]:
    """The field names allowed at a nested pydantic location (for did-you-mean)."""
    current: Any = model
    for part in loc:
        if isinstance(part, int) or not hasattr(current, "model_fields"):
            continue
        f = current.model_fields.get(part)
        if f is None:
            break
        current = _inner_model(f.annotation)
    fields = getattr(current, "model_fields", {})
    return {(f.alias or n) for n, f in fields.items()}


def _inner_model(annotation: Any) -> Any:
    for arg in getattr(annotation, "__args__", ()) or ():
        found = _inner_model(arg)
        if found is not None:
            return found
    from pydantic import BaseModel

    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    return None
