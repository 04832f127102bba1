"""The compile fast paths agree with the slow ones, and the compile caches invalidate.

* renderer: templates whose only Jinja is ``{{ name(literals) }}`` skip Jinja;
* lineage: ``fast_lineage`` (one read-only walk) instead of ``qualify`` + scope walk;
* manifest: renders and SQL analyses cached in ``target/.cache/compile.pickle``.
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
from pathlib import Path

import pytest
import sqlglot

import fsql
from fsql import lineage
from fsql.errors import CompileError
from fsql.renderer import Renderer
from fsql.spec import ModelSpec, ProfileSpec, ProjectSpec, SourceSpec

# -- renderer -------------------------------------------------------------------------------
MACROS = (("macros/m.sql", "{% macro dollars(col) %}({{ col }} * 1.0){% endmacro %}\n"
                           "{% macro refm(n) %}{{ ref(n) }}{% endmacro %}\n"
                           "{% macro cfg() %}{{ config(materialized='table') }}{% endmacro %}\n"
                           "{% macro boom() %}{{ 1 / 0 }}{% endmacro %}\n"),)
TEMPLATES = {
    "a": "select 1 as x",
    "ref1": "select * from {{ ref('a') }}",
    "multiline": "select *\nfrom {{\n  ref('a') }}\n",
    "config": "{{ config(\n  materialized='table',\n  tags=['x', \"y\"], lookback=-2) }}\n"
              "select * from {{ ref('a')\n }} join {{ ref(\n'a') }}",
    "macro": "select {{ dollars('x') }}, {{ dollars(\n'y') }} from {{ ref('a') }}",
    "macro_ref": "select {{ refm('a') }}\n\n, {{ refm('a') }}",
    "macro_config": "\n{{ cfg() }}select 1",
    "config_late": "select 1\n{{\nconfig(materialized='view', enabled=True, meta={'k': 1})\n}}\n",
    "spaced": "select {{ ref ('a') }}  {{ var('v') }} {{ var('nope', 3) }} {{ var('none', None) }}",
    "source": "select * from {{ source('raw', 'events') }} where x > {{ var('v') }}",
    "trailing": "select {{ ref('a') }}\n\n",
    "braces": "select '{' || '}}' as b, {{ ref('a') }}",
    "tag": "{% if true %}select 1{% endif %}",
    "filter": "select {{ ref('a') | upper }}",
    "name": "select {{ this }}, '{{ start }}'",
    "dash": "select {{- ref('a') -}}",
    "comment": "{# c #}select {{ ref('a') }}",
    "incr": "select {{ is_incremental() }}",
    "builtin": "select {{ range(3) | list }}",
    "setlit": "select {{ ref('a') }} {{ dollars(1.5) }} {{ dollars(-2) }} {{ dollars(True) }}",
}
BROKEN = {
    "b_ref": "select * from {{ ref('nope') }}",
    "b_ref2": "select 1\nfrom {{ ref(\n'nope') }}",
    "b_var": "select {{ var('missing') }}",
    "b_shape": "select {{ ref() }}",
    "b_config": "select 1 {{ config('table') }}",
    "b_undef": "select {{ nope('x') }}",
    "b_macro": "select {{ boom() }}",
    "b_macro_ref": "select\n{{ refm('nope') }}",
    "b_source": "select * from {{ source('raw', 'nope') }}",
    "b_open": "select {{ ref('a') ",
    "b_env": "select {{ env_var('FSQL_TEST_SURELY_UNSET') }}",
}


def _project(templates: dict[str, str]) -> ProjectSpec:
    models = {n: ModelSpec(n, f"models/{n}.sql", t) for n, t in templates.items()}
    sources = {"raw.events": SourceSpec("raw", "events", path="data/e.csv")}
    return ProjectSpec(Path("/tmp/p"), "p", "", ProfileSpec(), {"v": 0}, models, sources, {},
                       {}, MACROS)


def _render(r: Renderer, spec: ModelSpec) -> object:
    try:
        return r.render(spec)
    except CompileError as e:
        return ("error", e.message, e.path, e.line, e.col, e.expected, e.hint)


def test_fast_render_equals_jinja() -> None:
    project = _project({**TEMPLATES, **BROKEN})
    fast = Renderer(project)
    slow = Renderer(project)
    slow.fast = False
    for name, spec in project.models.items():
        got, want = _render(fast, spec), _render(slow, spec)
        assert got == want, name
        if not isinstance(got, tuple):
            assert got.pure and want.pure  # type: ignore[attr-defined]


@pytest.mark.parametrize("name,fast", [("ref1", True), ("multiline", True), ("config", True),
                                       ("macro_ref", True), ("setlit", True), ("tag", False),
                                       ("filter", False), ("name", False), ("dash", False),
                                       ("comment", False), ("builtin", False), ("b_open", False)])
def test_fast_plan_takes_only_plain_calls(name: str, fast: bool) -> None:
    from fsql.renderer import _fast_plan

    assert (_fast_plan({**TEMPLATES, **BROKEN}[name]) is not None) is fast


def test_impure_renders_are_marked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FSQL_TEST_ENV", "v1")
    project = _project({"a": "select 1 as x",
                        "e": "select '{{ env_var(\"FSQL_TEST_ENV\") }}' as x",
                        "v": "select * from {{ ref('a', version=2) }}"})
    r = Renderer(project)
    assert not r.render(project.models["e"]).pure
    assert not r.render(project.models["v"]).pure
    assert r.render(project.models["a"]).pure


# -- lineage --------------------------------------------------------------------------------
SCHEMAS = {"p": ("user_id", "amount", "ts", "day"), "q": ("user_id", "score", "ts"), "r": (),
           "up": ("User_Id", "x")}
QUERIES = [
    'select a.user_id, a.amount * 2 as dbl from "main"."p" a',
    'select user_id, amount as amt from "main"."p"',
    'select user_id, sum(amount) as amount, max(amount) as m from "main"."p" group by user_id',
    'select a.user_id, b.score from "main"."p" a join "main"."q" b on a.user_id = b.user_id',
    'select a.user_id, score from "main"."p" a join "main"."q" b on a.user_id = b.user_id',
    'select a.user_id, a.nope from "main"."p" a',
    'select nope from "main"."p"',
    'select x.user_id from "main"."p" a',
    'select a.user_id, count(*) from "main"."p" a group by 1',
    'select A.user_id from "main"."p" a',
    'select a.user_id as "UID" from "main"."p" a',
    'select user_id, amount + 1 as x, x * 2 as y from "main"."p"',
    'select p.user_id, p from "main"."p"',
    "select a.user_id, 1, 'ABC', a.amount + 1 from \"main\".\"p\" a",
    'select a.user_id, b.user_id from "main"."p" a join "main"."q" b on true',
    'select a.user_id from "main"."p" a join "main"."p" a on true',
    'select a.user_id from "main"."p" a join "main"."q" b using (user_id)',
    'select a.user_id from "main"."p" a semi join "main"."q" b on a.user_id = b.user_id',
    'select a.user_id, (select max(score) from "main"."q") as m from "main"."p" a',
    'with c as (select * from "main"."p") select c.user_id from c',
    'select a.user_id, list_transform([1], x -> x + 1) as l from "main"."p" a',
    'select user_id, sum(amount) over w as s from "main"."p" window w as (partition by user_id)',
    'select distinct on (a.user_id) a.user_id, a.ts from "main"."p" a order by a.user_id',
    'select u.user_id from "main"."up" u',
    'select x, y as z from "raw"."events" where z > 1',
    'select x, y as z from "raw"."events" where x > 1 group by x, y',
    'select a.user_id from p a',
    'select a.user_id, a.amount.x from "main"."p" a',
    'select user_id, user_id + 1 as user_id from "main"."p"',
    'select a.user_id as _col_1, a.amount + 1 from "main"."p" a',
    'select a.user_id, a.user_id from "main"."p" a',
    'select a.user_id, case when a.amount > 0 then a.ts end as t from "main"."p" a, "main"."q" b',
    'select a.user_id, sum(a.amount) as s from "main"."p" a group by a.user_id having s > 1',
    'from "main"."p" a select a.user_id',
    'select 1 as x',
]


def _both(q: str) -> tuple[object, object]:
    t1, t2 = (sqlglot.parse_one(q, read="duckdb") for _ in range(2))
    cols = tuple(t1.named_selects)
    fast = lineage.fast_lineage(t1, cols, SCHEMAS)
    try:
        slow: object = lineage.qualified_lineage(t2, cols, SCHEMAS)
    except Exception as e:  # noqa: BLE001 - compared as such
        slow = repr(e)
    return fast, slow


@pytest.mark.parametrize("q", QUERIES)
def test_fast_lineage_agrees_with_qualify(q: str) -> None:
    fast, slow = _both(q)
    assert fast is None or fast == slow


def _random_query(rng: random.Random) -> str:
    tables = rng.sample([('"main"."p"', "p"), ('"main"."q"', "q"), ('"main"."r"', "r"),
                         ('"raw"."events"', "events")], rng.choice([1, 1, 2, 3]))
    aliases, parts = [], []
    for i, (t, name) in enumerate(tables):
        al = rng.choice([f"t{i}", name, None])
        aliases.append(al or name)
        src = f"{t} {al}" if al else t
        on = f" on {aliases[0]}.user_id = {aliases[-1]}.user_id"
        parts.append(f"from {src}" if i == 0 else f"{rng.choice(['join', 'left join'])} {src}{on}")

    def col() -> str:
        c = rng.choice(["user_id", "amount", "ts", "day", "score", "x", "a1"])
        return f"{rng.choice(aliases)}.{c}" if rng.random() < 0.6 else c

    def expr(d: int = 0) -> str:
        r = rng.random()
        if r < 0.4 or d > 2:
            return col()
        return rng.choice([f"sum({expr(d + 1)})", f"{expr(d + 1)} + {expr(d + 1)}", "1",
                           f"row_number() over (partition by {col()})", "count(*)"])

    projs = [expr() + (f" as {rng.choice(['a1', 'amount', 'user_id', 'x'])}"
                       if rng.random() < 0.5 else "") for _ in range(rng.randint(1, 4))]
    q = "select " + ", ".join(projs) + " " + " ".join(parts)
    if rng.random() < 0.3:
        q += f" where {expr()} > 1"
    if rng.random() < 0.3:
        q += f" group by {col()}"
    return q


@pytest.mark.slow
def test_fast_lineage_agrees_on_random_queries() -> None:
    rng = random.Random(7)
    taken = 0
    for _ in range(1500):
        fast, slow = _both(_random_query(rng))
        assert fast is None or fast == slow
        taken += fast is not None
    assert taken > 200  # the fast path is actually exercised


# -- caches ---------------------------------------------------------------------------------
FILES = {
    "fsql_project.yml": "name: t\nvars:\n  k: 1\n",
    "macros/m.sql": "{% macro twice(c) %}({{ c }} * 2){% endmacro %}",
    "models/a.sql": "select 1 as x, {{ var('k') }} as k",
    "models/b.sql": "select a.x, {{ twice('a.k') }} as k2 from {{ ref('a') }} a",
    "models/b.yml": "models:\n  - name: b\n    description: first\n",
    "models/e.sql": "select '{{ env_var(\"FSQL_TEST_E\", \"d\") }}' as e",
}


def _manifest(root: Path) -> dict:
    return json.loads((root / "target" / "manifest.json").read_text())


def test_caches_invalidate_on_every_input(make_project, monkeypatch) -> None:
    root = make_project(FILES)
    p = fsql.Project(root)
    m = p.compile()
    assert (root / "target/.cache/compile.pickle").is_file()
    assert m.models["b"].sql.startswith("select a.x, (a.k * 2) as k2")

    def again(**kw: object) -> object:
        return fsql.Project(root, **kw).compile()  # type: ignore[arg-type]

    cold = _manifest(root)
    again()
    assert _manifest(root) == cold  # warm == cold
    (root / "models/a.sql").write_text("select 2 as x, {{ var('k') }} as k")
    assert again().models["a"].sql == "select 2 as x, 1 as k"
    (root / "macros/m.sql").write_text("{% macro twice(c) %}({{ c }} + {{ c }}){% endmacro %}")
    assert "(a.k + a.k) as k2" in again().models["b"].sql
    (root / "fsql_project.yml").write_text("name: t\nvars:\n  k: 5\n")
    assert again().models["a"].sql == "select 2 as x, 5 as k"
    assert again(vars={"k": 7}).models["a"].sql == "select 2 as x, 7 as k"
    (root / "models/b.yml").write_text("models:\n  - name: b\n    description: second\n"
                                       "    config:\n      materialized: table\n")
    m = again()
    assert m.models["b"].description == "second" and m.models["b"].materialized == "table"
    assert _manifest(root)["nodes"]["b"]["description"] == "second"
    monkeypatch.setenv("FSQL_TEST_E", "v2")
    assert again().models["e"].sql == "select 'v2' as e"  # env_var renders are not cached
    (root / "models/a.sql").write_text("select 2 as y, {{ var('k') }} as k")
    assert again().models["b"].lineage == {}  # a.x is gone: b's analysis reads a's columns
    (root / "models/b.sql").write_text("select a.y from {{ ref('a') }} a")
    assert again().models["b"].lineage == {"y": ("a.y",)}


def test_macro_error_is_reported_once_even_with_a_cache(make_project) -> None:
    root = make_project(FILES)
    fsql.Project(root).compile()
    (root / "macros/m.sql").write_text("{% macro twice(c) %}({{ c }} * 2)")
    with pytest.raises(CompileError) as info:
        fsql.Project(root).compile()
    assert info.value.path == "macros/m.sql"


@pytest.mark.slow
def test_warm_compile_imports_no_jinja_sqlglot_or_duckdb(make_project) -> None:
    root = make_project({k: v for k, v in FILES.items() if k != "models/e.sql"})
    code = ("import sys, fsql.project_cache as pc, fsql.manifest as m;"
            "spec = pc.load_project(sys.argv[1]);"
            "m.build_manifest(spec, cache_dir=pc.Path(sys.argv[1]) / 'target/.cache');"
            "print(sorted(x for x in ('jinja2', 'sqlglot', 'duckdb', 'pandas', 'yaml',"
            " 'pydantic') if x in sys.modules))")
    first = subprocess.run([sys.executable, "-c", code, str(root)], capture_output=True,
                           text=True, check=True)
    assert "jinja2" in first.stdout and "sqlglot" in first.stdout
    warm = subprocess.run([sys.executable, "-c", code, str(root)], capture_output=True,
                          text=True, check=True)
    assert warm.stdout.strip() == "[]"


def test_forked_analysis_gives_the_same_manifest(make_project, monkeypatch) -> None:
    from fsql import manifest

    files = {f"models/m{i}.sql": f"select a.x + {i} as x{i}, a.k from {{{{ ref('a') }}}} a"
             for i in range(12)}
    files.update(FILES, **{"models/s.sql": "select x, k as kk from {{ ref('a') }} where kk > 0",
                           "models/bad_cols.sql": "select m0.nope from {{ ref('m0') }} m0"})
    one, two = make_project(files), make_project(files)
    monkeypatch.setattr(manifest, "FORK_MIN", 10**9)
    manifest.compile_project(one)
    _allow_fork(monkeypatch)
    monkeypatch.setattr(manifest, "FORK_MIN", 1)
    forks = []
    real_fork = manifest.os.fork
    monkeypatch.setattr(manifest.os, "fork", lambda: forks.append(1) or real_fork())
    m = manifest.compile_project(two)
    assert forks == [1]
    assert _manifest(one)["nodes"] == _manifest(two)["nodes"]
    assert m.models["bad_cols"].lineage == {}  # qualify() fails on m0.nope: no lineage
    assert m.models["s"].lineage == {"x": ("a.x",), "kk": ("a.k",)}
    assert m.models["m3"].lineage == {"x3": ("a.x",), "k": ("a.k",)}


def test_compile_project_is_project_compile(make_project) -> None:
    from fsql.manifest import compile_project

    one, two = make_project(FILES), make_project(FILES)
    a = compile_project(one, {"k": 3})
    b = fsql.Project(two, vars={"k": 3}).compile()
    assert a.fingerprints == b.fingerprints and _manifest(one) == _manifest(two)


def _allow_fork(monkeypatch) -> None:
    """Threads other tests leave behind (DuckDB's) would make can_fork() say no."""
    from fsql import forking, manifest

    monkeypatch.setattr(forking, "can_fork", lambda: True)
    monkeypatch.setattr(manifest, "can_fork", lambda: True)


def _force_fork(monkeypatch, module) -> list[int]:
    """Make ``module``'s split_map fork even for a few items; returns the fork log."""
    from fsql import forking

    _allow_fork(monkeypatch)
    forks: list[int] = []
    real = forking.split_map

    def split_map(fn, items, *, min_items=64, then=None):
        forks.append(len(items))
        return real(fn, items, min_items=1, then=then)

    monkeypatch.setattr(module, "split_map", split_map)
    return forks


def test_forked_yaml_load_equals_sequential(make_project, monkeypatch) -> None:
    from fsql import loader
    from fsql.errors import ErrorGroup

    files = {f"models/m{i}.sql": "select 1 as x" for i in range(9)}
    files.update({f"models/m{i}.yml": f"models:\n  - name: m{i}\n    description: d{i}\n"
                  for i in range(9)})
    good = make_project(files)
    sequential = loader.load_project(good)
    forks = _force_fork(monkeypatch, loader)
    assert loader.load_project(good) == sequential and forks == [18]  # 9 SQL + 9 YAML files
    files["models/m3.yml"] = "models:\n  - name: m3\n    descripton: typo\n"
    files["models/m6.yml"] = "models: [\n"
    files["models/m7.yml"] = "models:\n  - name: nope\n"
    bad = make_project(files)
    with pytest.raises(ErrorGroup) as forked:
        loader.load_project(bad)
    monkeypatch.undo()
    with pytest.raises(ErrorGroup) as plain:
        loader.load_project(bad)
    assert [str(e) for e in forked.value.errors] == [str(e) for e in plain.value.errors]
    assert len(plain.value.errors) == 3


def test_cold_compile_writes_compiled_sql_early_and_cleans_up_on_error(make_project,
                                                                        monkeypatch) -> None:
    from fsql import manifest

    files = {f"models/m{i}.sql": f"select a.x + {i} as x{i} from {{{{ ref('a') }}}} a"
             for i in range(6)}
    files.update(FILES)
    one, two = make_project(files), make_project(files)
    manifest.compile_project(one)  # sequential: fewer than FORK_MIN new models
    _allow_fork(monkeypatch)
    monkeypatch.setattr(manifest, "FORK_MIN", 1)
    m = manifest.compile_project(two)
    models = [f for f in files if f.startswith("models/") and f.endswith(".sql")]
    assert m.prewrite is not None and sorted(m.prewrite.files) == sorted(models)
    for p in (one / "target/compiled").rglob("*.sql"):
        assert p.read_text() == (two / p.relative_to(one)).read_text()
    assert _manifest(one) == _manifest(two)
    three = make_project({**files, "models/m5.sql": "select a.nope( from {{ ref('a') }} a"})
    with pytest.raises(Exception):  # noqa: B017 - the parse error
        manifest.compile_project(three)
    assert not (three / "target/compiled").exists()
    (three / "models/m5.sql").write_text("select 1 as x")
    manifest.compile_project(three)
    assert (three / "target/compiled/models/m5.sql").read_text() == "select 1 as x\n"


@pytest.mark.parametrize("module", ["fsql.forking", "fsql.renderer"])
def test_docstring_examples_run(module: str) -> None:
    import doctest
    import importlib

    result = doctest.testmod(importlib.import_module(module))
    assert result.failed == 0 and result.attempted > 0


def test_compiled_files_edited_by_hand_are_rewritten(make_project) -> None:
    root = make_project(FILES)
    fsql.Project(root).compile()
    compiled = root / "target/compiled/models/a.sql"
    want = compiled.read_text()
    assert (root / "target/.cache/written.pickle").is_file()
    compiled.write_text("select 'edited by hand' as x\n")
    fsql.Project(root).compile()
    assert compiled.read_text() == want
    compiled.unlink()
    fsql.Project(root).compile()
    assert compiled.read_text() == want


def test_fsql_compile_checks_versions_through_the_project(make_project) -> None:
    """`fsql compile` imports no DuckDB until a model refs a version; then it asks the
    Project (the renderer's VersionLookup) and reports an unknown version."""
    from conftest import invoke_cli

    root = make_project({"models/a.sql": "select 1 as x"})
    fsql.Project(root).run()
    (root / "models/b.sql").write_text("select x from {{ ref('a', version=1) }}")
    res = invoke_cli("--project-dir", str(root), "compile")
    assert res.returncode == 0, res.stderr
    sql = (root / "target/compiled/models/b.sql").read_text()
    assert "fsql_versions" in sql and "__v1" in sql
    (root / "models/b.sql").write_text("select x from {{ ref('a', version=99) }}")
    res = invoke_cli("--project-dir", str(root), "compile")
    assert res.returncode == 2 and "no such version" in res.stderr, res.stderr
    assert "models/b.sql:1:" in res.stderr and "one of: 1" in res.stderr


def test_manifest_json_is_regenerated_only_when_its_inputs_change(make_project, monkeypatch):
    from fsql import manifest

    root = make_project(FILES)
    fsql.Project(root).compile()
    first = _manifest(root)

    def boom(self):  # noqa: ANN001
        raise AssertionError("regenerated")

    with monkeypatch.context() as mp:  # same files, vars, renders: manifest.json is current
        mp.delenv("FSQL_TEST_E", raising=False)
        (root / "models/e.sql").unlink()  # (its env_var render is never trusted)
        fsql.Project(root).compile()
        mp.setattr(manifest.Manifest, "to_dict", boom)
        fsql.Project(root).compile()
        with pytest.raises(AssertionError, match="regenerated"):
            fsql.Project(root, vars={"k": 2}).compile()
    assert _manifest(root) != first and "e" not in _manifest(root)["nodes"]
    (root / "models/b.yml").write_text("models:\n  - name: b\n    description: third\n")
    fsql.Project(root).compile()
    assert _manifest(root)["nodes"]["b"]["description"] == "third"
    (root / "target/manifest.json").write_text("{}")  # edited by hand: rewritten
    fsql.Project(root).compile()
    assert _manifest(root)["nodes"]["b"]["description"] == "third"
    (root / "models/e.sql").write_text("select '{{ env_var(\"FSQL_TEST_E\", \"d\") }}' as e")
    fsql.Project(root).compile()
    monkeypatch.setenv("FSQL_TEST_E", "changed")
    fsql.Project(root).compile()
    assert _manifest(root)["nodes"]["e"]["compiled_sql"] == "select 'changed' as e"
