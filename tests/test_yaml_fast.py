"""``fsql.yamlio.validate``'s fast path (no pydantic) accepts only what the strict pydantic
models of ``fsql.yamlspec`` accept, with the same values; everything else goes to pydantic."""

from __future__ import annotations

import subprocess
import sys
import types
import typing
from typing import Any

import pytest
from pydantic import BaseModel

from fsql import yamlio, yamlspec
from fsql.yamlio import FIELDS, YamlDoc


def _kind(annotation: Any, field: Any) -> str:
    """The FIELDS kind a pydantic annotation should have."""
    args = typing.get_args(annotation)
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        names = sorted(a.__name__ for a in args if a is not type(None))
        optional = type(None) in args
        if names == ["dict"]:
            return "dict?"
        if names == ["int"] and any(getattr(m, "ge", None) == 1 for m in field.metadata):
            return "threads"  # optional, 1..256
        return {("str",): "str", ("int",): "int", ("int", "str"): "str|int"}[tuple(names)] + (
            "?" if optional else "")
    if origin is list:
        (inner,) = args
        if inner is Any:
            return "list"
        if typing.get_origin(inner) in (typing.Union, types.UnionType):
            return "list[" + "|".join(a.__name__ for a in typing.get_args(inner)) + "]"
        return f"list[{inner.__name__}]"
    if origin is dict:
        return "dict"
    if annotation is int and any(getattr(m, "ge", None) == 1 for m in field.metadata):
        return "threads"
    return annotation.__name__


def test_fields_mirror_yamlspec() -> None:
    models = {n: getattr(yamlspec, n) for n in yamlspec.__all__}
    # reached only through "=" fields (their default is all the fast path accepts)
    pydantic_only = {"SparkYml", "TargetYml"}
    assert set(FIELDS) == set(models) - pydantic_only
    models = {n: m for n, m in models.items() if n not in pydantic_only}
    for name, model in models.items():
        fields = {(f.alias or n): (n, f) for n, f in model.model_fields.items()}
        assert set(FIELDS[name]) == set(fields), name
        for key, (kind, default, *attr) in FIELDS[name].items():
            attr_name, f = fields[key]
            assert (attr[0] if attr else key) == attr_name
            assert kind == "=" or kind == _kind(f.annotation, f), (name, key)
            if f.is_required():
                assert default is yamlio._REQUIRED, (name, key)
            elif isinstance(f.default, BaseModel):
                assert f.default == type(f.default).model_validate(default)
            else:
                assert default == f.default, (name, key)


def _plain(v: Any) -> Any:
    if isinstance(v, BaseModel):
        return {k: _plain(getattr(v, k)) for k in type(v).model_fields}
    if isinstance(v, types.SimpleNamespace):
        return {k: _plain(x) for k, x in vars(v).items()}
    if isinstance(v, list):
        return [_plain(x) for x in v]
    return v


DOCS = [
    ("ProjectYml", {"name": "p"}),
    ("ProjectYml", {"name": "p", "profile": {"threads": 8, "database": "x.duckdb"},
                    "vars": {"a": 1, "b": [1, 2]}, "models": {"staging": {"+tags": ["x"]}},
                    "version": 2, "online_store": {"type": "sqlite"}}),
    ("ProjectYml", {"name": "p", "version": "1.0"}),
    ("ProjectYml", {"name": "p", "profile": {"engine": "duckdb", "spark": None}, "targets": {}}),
    ("ProjectYml", {"name": "p", "targets": {"s": {"engine": "spark",
                                                   "spark": {"master": "local[1]"}}}}),
    ("ProjectYml", {"name": "p", "profile": {"engine": "sparkk"}}),
    ("ProjectYml", {"name": "p", "version": 1.5}),
    ("ProjectYml", {"name": "p", "version": True}),
    ("ProjectYml", {"name": "p", "profile": {"threads": 0}}),
    ("ProjectYml", {"name": "p", "profile": {"threads": 257}}),
    ("ProjectYml", {"name": "p", "profile": {"threads": True}}),
    ("ProjectYml", {"name": "p", "profile": {"threads": "4"}}),
    ("ProjectYml", {"name": "p", "vars": {1: "x"}}),
    ("ProjectYml", {"name": "p", "vars": None}),
    ("ProjectYml", {"name": "p", "online_store": None}),
    ("ProjectYml", {"nam": "p"}),
    ("ProjectYml", {}),
    ("ProjectYml", ["name"]),
    ("ProjectYml", None),
    ("ModelsFileYml", {"models": [], "version": 2}),
    ("ModelYml", {"name": "m", "description": "d", "tags": ["a"], "config": {"x": 1},
                  "columns": [{"name": "c", "type": "BIGINT", "tests": ["not_null"],
                               "expectations": [{"unique": {}}], "meta": {"k": "v"}}],
                  "expectations": [{"row_count": {"min": 1}}], "meta": {}}),
    ("ModelYml", {"name": "m", "columns": [{"name": "c", "type": 5}]}),
    ("ModelYml", {"name": "m", "columns": [{"name": "c", "tags": "x"}]}),
    ("ModelYml", {"name": "m", "columns": [{"type": "INT"}]}),
    ("ModelYml", {"name": "m", "columns": {"c": {}}}),
    ("ModelYml", {"name": "m", "tags": [1]}),
    ("ModelYml", {"name": "m", "descripton": "typo"}),
    ("ModelYml", {"name": 3}),
    ("ModelYml", {"name": "m", "description": None}),
    ("FeatureSetYml", {"name": "f", "entities": ["user"], "timestamp": "ts", "ttl": "30d",
                       "online": True}),
    ("FeatureSetYml", {"name": "f", "entities": ["user"], "timestamp": "ts", "ttl": 3600,
                       "online": 1}),
    ("FeatureSetYml", {"name": "f", "timestamp": "ts"}),
    ("SourceYml", {"name": "raw", "schema": "s", "tables": [
        {"name": "t", "path": "d/*.csv", "freshness": {"max_age": "1d"}, "loaded_at_field": "ts",
         "columns": [{"name": "a"}], "tags": ["x"]}]}),
    ("SourceYml", {"name": "raw", "schema_": "s"}),
    ("SourceYml", {"name": "raw", "tables": [{"name": "t", "freshness": "1d"}]}),
    ("SourcesFileYml", {"sources": [], "version": None}),
    ("EntityYml", {"name": "user", "join_keys": ["user_id", {"name": "k", "type": "BIGINT"}]}),
    ("EntityYml", {"name": "user", "join_keys": [1]}),
    ("EntityYml", {"name": "user", "join_keys": [{"name": "k", "typ": "x"}]}),
    ("EntityYml", {"name": "user"}),
    ("EntitiesFileYml", {"entities": []}),
    ("FeatureSetsFileYml", {"feature_sets": [], "version": 1}),
]


@pytest.mark.parametrize("model,data", DOCS)
def test_fast_path_is_pydantic(model: str, data: Any) -> None:
    doc = YamlDoc("x.yml", data)
    fast = yamlio._fast(model, data)
    slow, errors = yamlio.validate(getattr(yamlspec, model), doc)
    if fast is not None:
        assert not errors and _plain(fast) == _plain(slow)
    got, got_errors = yamlio.validate(model, doc)  # what the loader calls
    assert _plain(got) == _plain(slow)
    assert [e.message for e in got_errors] == [e.message for e in errors]


def test_fast_path_takes_every_valid_document() -> None:
    for model, data in DOCS:
        if isinstance(data, dict) and data.get("targets"):
            continue  # a target is left to pydantic (see yamlio "=" fields)
        valid = not yamlio.validate(getattr(yamlspec, model), YamlDoc("x.yml", data))[1]
        assert (yamlio._fast(model, data) is not None) == valid, (model, data)


def test_valid_project_loads_without_pydantic(make_project) -> None:
    root = make_project({
        "fsql_project.yml": "name: t\nvars:\n  k: 1\nmodels:\n  stg:\n    materialized: view\n",
        "models/stg/a.sql": "select 1 as x",
        "models/stg/a.yml": "models:\n  - name: a\n    columns:\n      - name: x\n"
                            "        type: BIGINT\n        tests: [not_null]\n",
        "entities.yml": "entities:\n  - name: user\n    join_keys: [x]\n",
    })
    code = ("import sys; from fsql.loader import load_project; p = load_project(sys.argv[1]);"
            "print('pydantic' in sys.modules, p.models['a'].columns[0].type)")
    out = subprocess.run([sys.executable, "-c", code, str(root)], capture_output=True,
                         text=True, check=True).stdout.split()
    assert out == ["False", "BIGINT"]
