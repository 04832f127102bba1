"""Docs site: data loading, highlighter, layout, escaping, self-containment (no browser here;
the Chromium tests are in test_site_browser.py and reuse ``build_project`` from this module)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

import fsql
from fsql.engines.duckdb import connect
from fsql.site import SiteData, generate_site, load_site_data
from fsql.site.charts import profile_html, profile_roots
from fsql.site.data import Column, ModelInfo
from fsql.site.lineage import build_graph, graph_json, neighbourhood, pack
from fsql.site.markup import highlight_sql, js_json, slug

XSS = "<script>alert(1)</script>"
SEARCH_TEXT = "purple widgets"

FILES = {
    "fsql_project.yml": f"""name: site_demo
description: "Demo project {XSS} for the docs site."
profile: {{database: warehouse.duckdb, threads: 2}}
""",
    "entities.yml": """entities:
  - name: user
    join_keys: [{name: user_id, type: BIGINT}]
    description: "A customer <b>bold</b>."
""",
    "sources.yml": """sources:
  - name: raw
    description: Raw files.
    tables:
      - name: events
        path: data/events.csv
        description: "Raw events <img src=x onerror=alert(3)>."
        columns:
          - {name: user_id, type: BIGINT, description: Who.}
          - {name: ts, type: TIMESTAMP, description: When.}
          - {name: amount, type: DOUBLE, description: How much.}
""",
    "seeds/segments.csv": f"user_id,segment\n1,gold\n2,silver\n3,\"{XSS}\"\n",
    "models/stg_events.sql": """{{ config(materialized='view', tags=['staging']) }}
-- staging <script>alert(2)</script>
select user_id, ts, amount, '<b>lit</b>' as note
from {{ source('raw', 'events') }}
""",
    "models/user_features.sql": """{{ config(materialized='feature_set', entities=['user'],
   timestamp='ts', ttl='30d') }}
select e.user_id, e.ts, sum(e.amount) over (partition by e.user_id order by e.ts) as spend
from {{ ref('stg_events') }} e
""",
    "models/user_segments.sql": """{{ config(materialized='table', statistics=true) }}
select user_id, segment from {{ ref('segments') }}
""",
    "models/user_features.yml": f"""models:
  - name: user_features
    description: "Running spend per user {XSS}."
    tags: [features, "{XSS}"]
    columns:
      - name: user_id
        description: The user.
      - name: spend
        description: "Running total of {SEARCH_TEXT} bought {XSS}."
""",
    "models/training_table.sql": """{{ config(materialized='table') }}
select user_id, max(spend) as max_spend from {{ ref('user_features') }} group by user_id
""",
    "models/training_table.yml": """models:
  - name: training_table
    description: Max spend per user.
    columns:
      - name: max_spend
        type: DOUBLE
        description: Largest running spend.
""",
}


def _events(shift: float) -> str:
    return "user_id,ts,amount\n" + "".join(
        f"{1 + i % 3},2026-01-{1 + i % 28:02d} 10:00:00,{(i * 7) % 50 + 0.5 + shift * (i % 5)}\n"
        for i in range(60))


def build_project(root: Path) -> Path:
    """A tiny real project (seed, source, view, feature set, table), run twice with operator
    profiles: the second run sees shifted source data (drift), adds a column (new versions) and
    declares a wrong type (a failed version)."""
    for rel, text in {**FILES, "data/events.csv": _events(0.0)}.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text, encoding="utf-8")
    fsql.Project(root).run(profile=True)
    (root / "data/events.csv").write_text(_events(9.0))
    fs = root / "models/user_features.sql"
    fs.write_text(fs.read_text().replace(" as spend", " as spend, e.amount * 2 as amount2"))
    tt = root / "models/training_table.yml"
    tt.write_text(tt.read_text().replace("type: DOUBLE", "type: VARCHAR"))
    fsql.Project(root).run(profile=True)
    return root


def site_for(root: Path, out: Path) -> SiteData:
    manifest = json.loads((root / "target" / "manifest.json").read_text())
    con = connect(root / "warehouse.duckdb", read_only=True)
    try:
        data = load_site_data(manifest, con)
    finally:
        con.close()
    generate_site(data, out)
    return data


_SHARED: dict[str, tuple[Path, SiteData]] = {}


def shared_site(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, SiteData]:
    """The project is built once per session (two fsql runs) and shared with the browser
    tests; neither module modifies it."""
    if "site" not in _SHARED:
        root = build_project(tmp_path_factory.mktemp("siteproj"))
        out = root / "target" / "docs"
        _SHARED["site"] = (out, site_for(root, out))
    return _SHARED["site"]


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, SiteData]:
    return shared_site(tmp_path_factory)


# -- tests ------------------------------------------------------------------------------------
def test_load_site_data_reads_versions_runs_stats_and_profiles(built: tuple[Path, SiteData]
                                                               ) -> None:
    _, data = built
    assert {m.name for m in data.models} >= {"stg_events", "user_features", "training_table",
                                             "segments"}
    vs = data.versions["user_features"]
    assert [v.version for v in vs] == [1, 2] and vs[-1].status == "live"
    failed = data.versions["training_table"][-1]
    assert failed.status != "live" and any(not c["success"] for c in failed.checks)
    assert len(data.runs) == 2 and data.model_runs[data.runs[0].run_id]
    assert data.stats[("user_features", 2)]["spend"]["count"] == 60
    drift = {d["column_name"]: d for d in data.drift[("user_features", 2)]}
    assert drift["spend"]["reference_version"] == 1 and drift["spend"]["psi"] > 0
    assert "user_features" in data.profiles
    uf = data.by_name["user_features"]
    assert uf.is_feature_set and uf.entities == ("user",)
    spend = next(c for c in uf.columns if c.name == "spend")
    assert "stg_events.amount" in spend.lineage


def test_missing_state_tables_give_a_complete_site(tmp_path: Path, built: tuple[Path, SiteData]
                                                   ) -> None:
    manifest = json.loads((built[0].parents[1] / "target" / "manifest.json").read_text())
    con = connect()  # empty in-memory database: no fsql_meta at all
    data = load_site_data(manifest, con)
    assert data.versions == {} and data.runs == () and not data.has_stats_table
    res = generate_site(data, tmp_path / "site")
    page = (tmp_path / "site" / "m" / "user_features.html").read_text()
    assert "No statistics yet" in page and "Not built yet" in page
    assert res.bytes > 0 and "index.html" in res.files
    assert load_site_data(manifest, None).models == data.models


def test_generated_pages_escape_user_text_and_make_no_external_reference(
        built: tuple[Path, SiteData]) -> None:
    out, _ = built
    pages = list(out.rglob("*.html")) + list(out.rglob("*.js")) + list(out.rglob("*.css"))
    assert len(pages) > 10
    for p in pages:
        text = p.read_text(encoding="utf-8")
        assert "<script>alert" not in text, p
        assert "<img src=x" not in text and "<b>lit</b>" not in text, p
        # no URL to anywhere: no scheme-qualified or protocol-relative src/href/url()
        assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", text), p
        assert not re.search(r"url\(\s*['\"]?(https?:)?//", text), p
        assert "@import" not in text and "@font-face" not in text, p
    uf = (out / "m" / "user_features.html").read_text()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in uf
    stg = (out / "m" / "stg_events.html").read_text()
    assert '<span class="c">-- staging &lt;script&gt;alert(2)&lt;/script&gt;</span>' in stg
    assert "&#x27;&lt;b&gt;lit&lt;/b&gt;&#x27;" in stg


def test_model_page_has_every_section(built: tuple[Path, SiteData]) -> None:
    out, _ = built
    page = (out / "m" / "user_features.html").read_text()
    for anchor in ("lineage", "columns", "statistics", "expectations", "versions", "runs", "sql",
                   "profile"):
        assert f'id="{anchor}"' in page, anchor
    assert 'class="hist"' in page and "Drift vs v1" in page and "PSI <b>" in page
    assert 'class="ref"' in page  # overlaid reference histogram
    assert 'class="prof"' in page and "SEQ_SCAN" in page
    seg = (out / "m" / "user_segments.html").read_text()  # statistics: true
    assert 'class="tvl">&lt;script&gt;alert(1)&lt;/script&gt;</span>' in seg  # top values
    assert 'href="../m/training_table.html"' in page  # downstream in the lineage svg
    assert 'href="../m/stg_events.html#col-amount"' in page  # column lineage link
    idx = (out / "index.html").read_text()
    assert "training_table" in idx and 'class="cell fail"' in idx  # failing expectation listed
    run_pages = list((out / "r").glob("*.html"))
    assert len(run_pages) == 2
    assert any('class="timeline"' in p.read_text() and "Build time on the DAG" in p.read_text()
               for p in run_pages)


def test_search_index_finds_a_model_by_column_description(built: tuple[Path, SiteData]) -> None:
    out, _ = built
    text = (out / "assets" / "search.js").read_text()
    rows = json.loads(text[len("window.FSQL_SEARCH="):].rstrip().rstrip(";"))
    hits = [r for r in rows if SEARCH_TEXT in r[3]]
    assert hits and hits[0][2].startswith("m/user_features.html")


def test_sql_highlighter_tokens_and_escaping() -> None:
    sql = ("select a, 'it''s <x>' as s, 1.5e3, sum(b) -- c <y>\n/* multi\nline */ from t "
           "where x::BIGINT > 2 {{ ref('m') }}")
    html = highlight_sql(sql)
    assert '<span class="k">select</span>' in html
    assert '<span class="s">&#x27;it&#x27;&#x27;s &lt;x&gt;&#x27;</span>' in html
    assert '<span class="n">1.5e3</span>' in html and '<span class="f">sum</span>' in html
    assert '<span class="c">-- c &lt;y&gt;</span>' in html
    assert '<span class="c">/* multi\nline */</span>' in html
    assert '<span class="t">BIGINT</span>' in html
    assert '<span class="j">{{ ref(&#x27;m&#x27;) }}</span>' in html
    assert re.sub(r"<[^>]+>", "", html).replace("&#x27;", "'").replace("&lt;", "<") \
        .replace("&gt;", ">") == sql
    assert highlight_sql("'unterminated <") == '<span class="s">&#x27;unterminated &lt;</span>'


def test_slug_and_js_json_are_safe() -> None:
    assert slug("user_spend_30d") == "user_spend_30d"
    assert slug("raw.events") == "raw.events"
    a, b = slug("a/b"), slug("a?b")
    assert a != b and "/" not in a and "?" not in b
    assert "</script>" not in js_json(["</script>", "\u2028"])
    assert json.loads(js_json(["</script>&"])) == ["</script>&"]


def _synthetic(n: int) -> SiteData:
    models = []
    for i in range(n):
        deps = tuple(sorted({f"m{(i * 7 + k) % i}" for k in range(1 + i % 3)})) if i else ()
        models.append(ModelInfo(f"m{i}", "model", "table", "", (), {}, "", "", "", deps, (),
                                (Column("c", "INT", ""),)))
    return SiteData("p", "", "", tuple(models))


def test_layout_is_layered_deterministic_and_packs_like_the_js() -> None:
    data = _synthetic(300)
    g1, g2 = build_graph(data), build_graph(_synthetic(300))
    assert g1.order == g2.order and g1.layer == g2.layer
    for n, ps in g1.parents.items():
        assert all(g1.layer[p] < g1.layer[n] for p in ps)
        if ps:
            assert g1.layer[n] == 1 + max(g1.layer[p] for p in ps)  # longest path
    for lay in set(g1.layer.values()):
        orders = sorted(g1.order[n] for n in g1.ids if g1.layer[n] == lay)
        assert orders == list(range(len(orders)))
    hood = neighbourhood(g1, "m150", 1)
    assert set(hood) == {"m150", *g1.parents["m150"], *g1.children["m150"]}
    assert all(d <= 2 for d in neighbourhood(g1, "m150", 2).values())
    pos = pack(g1, hood)
    xs = sorted({x for x, _ in pos.values()})
    assert xs == [8 + 250 * i for i in range(len(xs))]  # empty layers dropped
    js = graph_json(g1)
    assert len(js["n"]) == 300 and len(js["e"]) == sum(len(p) for p in g1.parents.values())


def test_barycenter_reduces_crossings() -> None:
    # two chains whose names sort against their parents: ordering must uncross them
    models = [ModelInfo(n, "model", "table", "", (), {}, "", "", "", d, (), ())
              for n, d in [("a", ()), ("b", ()), ("z1", ("a",)), ("y1", ("b",)),
                           ("z2", ("z1",)), ("y2", ("y1",))]]
    g = build_graph(SiteData("p", "", "", tuple(models)))
    assert g.order["z1"] < g.order["y1"] and g.order["z2"] < g.order["y2"]


def test_profile_tree_handles_old_and_new_duckdb_layouts() -> None:
    new = {"operator": [{"name": "PROJECTION", "timing": 0.2, "intermediate_rows": 5,
                         "children": [{"name": "SEQ_SCAN <x>", "timing": 0.8,
                                       "extra_info": {"Table": "t"}, "children": []}]}],
           "query": {"total_time": 1.1}}
    old = {"latency": 1.0, "children": [{"operator_name": "HASH_JOIN", "operator_timing": 0.5,
                                         "operator_cardinality": 3, "children": []}]}
    assert len(profile_roots(new)) == 1 and len(profile_roots(old)) == 1
    h = profile_html(new)
    assert "SEQ_SCAN &lt;x&gt;" in h and "80.0%" in h and "Table: t" in h
    assert "HASH_JOIN" in profile_html(old) and "100.0%" in profile_html(old)
    assert "no operator tree" in profile_html({})


def test_bench_project_generates(tmp_path: Path) -> None:
    """bench/bench_site.py cannot rot: its fabricated state loads and renders."""
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
    import bench_site

    manifest = bench_site.fabricate_manifest(40)
    con = bench_site.fabricate_state(manifest)
    data = load_site_data(manifest, con)
    con.close()
    res = generate_site(data, tmp_path / "site")
    assert sum(f.startswith("m/") for f in res.files) == 40
    assert len(data.runs) == bench_site.N_RUNS and data.profiles and data.drift
    weights = bench_site.weights(tmp_path / "site", "training")
    assert weights["index.html"].endswith("KiB")
