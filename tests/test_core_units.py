"""Unit tests of the load / render / compile / graph stages."""

from __future__ import annotations

import json

import pytest

import fsql
from fsql.errors import CompileError, ConfigError, ErrorGroup, SelectorError
from fsql.graph import Graph, NodeInfo
from fsql.loader import load_project


def test_unknown_project_key_has_location_and_hint(make_project):
    root = make_project({"fsql_project.yml": "name: x\nprofile:\n  threadz: 3\n"}, base=False)
    with pytest.raises(ConfigError) as info:
        load_project(root)
    e = info.value
    assert (e.path, e.line, e.col) == ("fsql_project.yml", 3, 3)
    assert e.hint == "did you mean 'threads'?"


def test_errors_are_collected(make_project):
    root = make_project({
        "models/a.yml": "models:\n  - name: a\n    descripton: x\n  - name: nope\n",
        "models/a.sql": "select 1",
        "sources.yml": "sources:\n  - name: raw\n    tables:\n      - name: t\n"
                       "        path: data/missing.csv\n",
    })
    with pytest.raises(ErrorGroup) as info:
        load_project(root)
    msgs = [e.message for e in info.value.errors]
    assert any("unknown key 'descripton'" in m for m in msgs)
    assert any("no models/**/nope.sql" in m for m in msgs)
    assert any("no file matches 'data/missing.csv'" in m for m in msgs)


def test_folder_defaults_and_yaml_config(make_project):
    root = make_project({
        "fsql_project.yml": "name: x\nmodels:\n  staging:\n    +materialized: view\n"
                            "    tags: [stg]\n  features:\n    materialized: table\n",
        "models/staging/s.sql": "select 1 as a",
        "models/features/f.sql": "select a from {{ ref('s') }}",
        "models/features/f.yml": "models:\n  - name: f\n    config: {materialized: ephemeral}\n"
                                 "    tags: [x]\n",
    }, base=False)
    spec = load_project(root)
    assert spec.models["s"].config["materialized"] == "view"
    assert spec.models["s"].tags == ("stg",)
    assert spec.models["f"].config["materialized"] == "ephemeral"
    assert spec.models["f"].tags == ("x",)


def test_duplicate_model_names_name_both_paths(make_project):
    root = make_project({"models/a/m.sql": "select 1", "models/b/m.sql": "select 2"})
    with pytest.raises(ConfigError) as info:
        load_project(root)
    assert info.value.path == "models/b/m.sql"
    assert "models/a/m.sql" in (info.value.hint or "")


def test_unknown_ref_points_at_line_and_column(make_project):
    root = make_project({"models/stg_txns.sql": "select 1 as x",
                         "models/b.sql": "select *\nfrom {{ ref('stg_txn') }}"})
    with pytest.raises(CompileError) as info:
        fsql.Project(root).compile()
    e = info.value
    assert (e.path, e.line, e.col, e.model) == ("models/b.sql", 2, 9, "b")
    assert e.hint == "did you mean 'stg_txns'?"


def test_unknown_macro_and_jinja_syntax(make_project):
    root = make_project({"macros/m.sql": "{% macro cents(c) %}{{ c }}/100{% endmacro %}",
                         "models/a.sql": "select\n{{ centz('x') }} as y",
                         "models/b.sql": "select {{ 1 + }}"})
    with pytest.raises(ErrorGroup) as info:
        fsql.Project(root).compile()
    a, b = info.value.errors
    assert (a.path, a.line) == ("models/a.sql", 2) and a.hint == "did you mean 'cents'?"
    assert b.path == "models/b.sql" and "Jinja syntax error" in b.message


def test_sql_parse_error_location(make_project):
    root = make_project({"models/a.sql": "select a,\nfrom t where"})
    with pytest.raises(CompileError) as info:
        fsql.Project(root).compile()
    assert info.value.path == "models/a.sql" and info.value.line == 2


def test_model_must_be_one_select(make_project):
    root = make_project({"models/a.sql": "create table x as select 1"})
    with pytest.raises(CompileError, match="exactly one SELECT"):
        fsql.Project(root).compile()


def test_bad_config_value_and_feature_set_checks(make_project):
    root = make_project({
        "entities.yml": "entities:\n  - name: user\n    join_keys: [user_id]\n",
        "models/a.sql": "{{ config(materialized='tabel') }}\nselect 1",
        "models/b.sql": "{{ config(materialized='feature_set', entities=['usr'], ttl='x') }}\n"
                        "select 1",
    })
    with pytest.raises(ErrorGroup) as info:
        fsql.Project(root).compile()
    text = info.value.format()
    assert "did you mean 'table'?" in text
    assert "unknown entity 'usr'" in text and "did you mean 'user'?" in text
    assert "feature_set needs 'timestamp'" in text
    assert "invalid ttl 'x'" in text


def test_cycle_error_lists_the_path_with_files(make_project):
    root = make_project({"models/a.sql": "select * from {{ ref('c') }}",
                         "models/b.sql": "select * from {{ ref('a') }}",
                         "models/c.sql": "select * from {{ ref('b') }}"})
    with pytest.raises(CompileError) as info:
        fsql.Project(root).compile()
    msg = info.value.message
    assert msg.startswith("dependency cycle: ")
    assert "a (models/a.sql)" in msg and "b (models/b.sql)" in msg and "c (models/c.sql)" in msg


def test_manifest_and_compiled_files(make_project):
    root = make_project({
        "models/s.sql": "select 1 as user_id, 2.5 as amount",
        "models/f.sql": "-- comment\nselect user_id, amount * 2 as double_amount\n"
                        "from {{ ref('s') }}",
    })
    fsql.Project(root).compile()
    manifest = json.loads((root / "target" / "manifest.json").read_text())
    assert manifest["order"] == ["s", "f"]
    node = manifest["nodes"]["f"]
    assert node["depends_on"] == ["s"]
    assert [c["name"] for c in node["columns"]] == ["user_id", "double_amount"]
    assert node["lineage"] == {"user_id": ["s.user_id"], "double_amount": ["s.amount"]}
    compiled = (root / "target" / "compiled" / "models" / "f.sql").read_text()
    assert '"main"."s"' in compiled


GRAPH = Graph.build(
    {"a": (), "b": ("a",), "c": ("a",), "d": ("b", "c"), "e": ()},
    {"a": NodeInfo("models/stg/a.sql", ("stg",), {"materialized": "view"}),
     "b": NodeInfo("models/f/b.sql", ("feat",), {"materialized": "feature_set"}),
     "c": NodeInfo("models/f/c.sql", (), {"materialized": "table"}),
     "d": NodeInfo("models/f/d.sql", ("feat",), {"materialized": "feature_set"}),
     "e": NodeInfo("models/e.sql", (), {"materialized": "table"})})


@pytest.mark.parametrize("select,exclude,expected", [
    (None, None, ["a", "b", "c", "d", "e"]),
    (["b"], None, ["b"]),
    (["b+"], None, ["b", "d"]),
    (["+b"], None, ["a", "b"]),
    (["+d"], None, ["a", "b", "c", "d"]),
    (["1+d"], None, ["b", "c", "d"]),
    (["a+1"], None, ["a", "b", "c"]),
    (["tag:feat"], None, ["b", "d"]),
    (["path:models/f"], None, ["b", "c", "d"]),
    (["config.materialized:feature_set"], None, ["b", "d"]),
    (["tag:feat e"], None, ["b", "d", "e"]),
    (["path:models/f,tag:feat"], None, ["b", "d"]),
    (["a+"], ["d"], ["a", "b", "c"]),
    (["*"], ["tag:stg"], ["b", "c", "d", "e"]),
])
def test_selectors(select, exclude, expected):
    assert GRAPH.select(select, exclude) == expected


def test_topological_order_is_deterministic():
    assert GRAPH.order == ("a", "b", "c", "d", "e")


@pytest.mark.parametrize("bad,hint", [("bb", "did you mean 'b'?"), ("tagg:feat", "'tag'"),
                                      ("tag:feet", "did you mean 'feat'?")])
def test_bad_selectors(bad, hint):
    with pytest.raises(SelectorError) as info:
        GRAPH.select([bad])
    assert hint in (info.value.hint or "")


def test_default_threads_is_the_usable_cpu_count_at_most_4(monkeypatch):
    import os

    from fsql.spec import default_threads

    for cpus, want in ((1, 1), (2, 2), (3, 3), (16, 4)):
        monkeypatch.setattr(os, "sched_getaffinity", lambda _pid, n=cpus: set(range(n)),
                            raising=False)
        assert default_threads() == want
