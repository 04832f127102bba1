"""Docs-site benchmark: a 1000-model project with versions, expectation results, column
statistics, drift, runs and operator profiles -> generate the site, open it in Chromium.

The DAG, SQL and YAML come from ``gen_project.models_for(n)`` (the core benchmark's project);
the state (``fsql_meta`` tables) is fabricated deterministically in an in-memory DuckDB with the
schema fsql writes, so ``load_site_data`` is measured too — no 1000-model build needed.

Measured: load_site_data and generate_site time; page weight; in headless Chromium
(/usr/bin/chromium): first page (index.html over file://) DOM-interactive / load time, a model
page's load (its 1-hop lineage is inline SVG), expanding its lineage (+ button, performance.now()
inside the page, graph data loaded on first use), the full lineage page and the first search.

Usage: ``python bench/bench_site.py [--models 1000] [--out DIR] [--no-browser]``
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import gen_project  # noqa: E402

from fsql.engines.duckdb import connect  # noqa: E402
from fsql.site import generate_site, load_site_data  # noqa: E402

N_VERSIONS, N_RUNS, THREADS = 3, 5, 4
MATERIALIZED = {"staging": "view", "daily": "table", "aggregates": "table", "windows": "table",
                "features": "feature_set", "derived": "table", "training": "table"}


def _h(*parts: Any) -> int:
    return int(hashlib.sha1("|".join(map(str, parts)).encode()).hexdigest()[:8], 16)


def fabricate_manifest(n: int) -> dict[str, Any]:
    from ruamel.yaml import YAML

    yaml = YAML(typ="safe")
    nodes: dict[str, Any] = {}
    for m in gen_project.models_for(n):
        spec = yaml.load(m.yml)["models"][0]
        mat = "feature_set" if m.name.startswith("fs_") else (
            "view" if m.name.startswith("stg_") else "table")
        cols = []
        for c in spec.get("columns") or []:
            lin = [f"{p}.{c['name']}" for p in m.parents[:2]] or ["raw.events." + c["name"]]
            cols.append({"name": c["name"], "type": c.get("type") or "DOUBLE",
                         "description": c.get("description") or "", "lineage": lin})
        config: dict[str, Any] = {"materialized": mat}
        if mat == "feature_set":
            config.update(entities=["user"], timestamp="ts", ttl="30d", online=True)
        nodes[m.name] = {
            "name": m.name, "kind": "model", "materialized": mat, "config": config,
            "description": spec.get("description") or "", "tags": spec.get("tags") or [],
            "path": f"models/{m.folder}/{m.name}.sql", "raw_sql": m.sql,
            "compiled_sql": m.sql.replace("{{", "/*").replace("}}", "*/"),
            "depends_on": sorted(m.parents),
            "sources": ["raw.events"] if m.name.startswith("stg_") else [],
            "columns": cols, "lineage": {c["name"]: c["lineage"] for c in cols},
            "fingerprint": hashlib.sha256(m.sql.encode()).hexdigest()}
    return {"metadata": {"project": f"bench_{n}", "description": "Synthetic docs-site bench.",
                         "fsql_version": "0.1.0"},
            "nodes": nodes, "order": list(nodes),
            "sources": {"raw.events": {"name": "events", "source": "raw",
                                       "description": "Synthetic events.",
                                       "path": "data/events.parquet", "columns": [
                                           {"name": c, "type": "BIGINT", "description": c}
                                           for c in ("user_id", "item_id", "ts", "amount")]}},
            "entities": {"user": {"name": "user", "description": "A card holder.",
                                  "join_keys": [{"name": "user_id", "type": "BIGINT"}]}}}


def _stats(model: str, col: str, v: int) -> dict[str, Any]:
    base, shift = _h(model, col) % 100, (v - 1) * (_h(model, col, "s") % 7)
    hist = [{"lo": base + shift + 5 * i, "hi": base + shift + 5 * (i + 1),
             "count": 50 + (_h(model, col, v, i) % 400)} for i in range(20)]
    return {"count": 10000, "nulls": _h(model, col, v) % 300, "distinct": 900 + v,
            "min": base + shift, "max": base + shift + 100, "mean": base + shift + 50,
            "stdev": 12.5, "quantiles": {f"p{q:02d}": base + q for q in (1, 5, 25, 50, 75, 95, 99)},
            "histogram": hist, "top_values": [{"value": f"{col}_{k}", "count": 400 - 30 * k}
                                              for k in range(5)]}


def _profile() -> str:
    con = connect()
    prof = Path(tempfile.mkdtemp()) / "p.json"
    con.execute("pragma enable_profiling='json'")
    con.execute(f"pragma profiling_output='{prof}'")
    con.execute("select i % 7 g, sum(i) from range(100000) t(i) where i > 5 group by g "
                "order by g").fetchall()
    con.close()
    text = prof.read_text()
    shutil.rmtree(prof.parent)
    return text


def fabricate_state(manifest: dict[str, Any]) -> Any:
    """An in-memory DuckDB with fsql_meta.{versions, runs, model_runs, column_stats, drift,
    model_profiles}; ~1/40 of the checks fail."""
    con = connect()
    con.execute("create schema fsql_meta")
    con.execute("create table fsql_meta.versions (model varchar, version integer, status "
                "varchar, kind varchar, materialized varchar, fingerprint varchar, own_hash "
                "varchar, run_id varchar, relation varchar, created_at timestamp, published_at "
                "timestamp, row_count bigint, compiled_sql varchar, input_versions varchar, "
                "columns varchar, checks varchar, duration_s double, message varchar, config "
                "varchar)")
    con.execute("create table fsql_meta.runs (run_id varchar, started_at timestamp, finished_at "
                "timestamp, status varchar, pid integer, command varchar, args varchar, "
                "fsql_version varchar)")
    con.execute("create table fsql_meta.model_runs (run_id varchar, model varchar, status "
                "varchar, version integer, started_at timestamp, duration_s double, thread "
                "varchar, message varchar)")
    con.execute("create table fsql_meta.column_stats (model varchar, version integer, "
                "column_name varchar, stats varchar)")
    con.execute("create table fsql_meta.drift (model varchar, version integer, reference_version "
                "integer, column_name varchar, psi double, ks double, mean_shift_sd double, "
                "null_rate_change double, new_categories varchar, vanished_categories varchar)")
    con.execute("create table fsql_meta.model_profiles (run_id varchar, model varchar, profile "
                "varchar)")
    nodes = manifest["nodes"]
    runs = [f"20261101T{10 + r:02d}0000-{r:06x}" for r in range(N_RUNS)]
    versions, mruns, stats, drift, profiles = [], [], [], [], []
    for name, node in nodes.items():
        cols = [c["name"] for c in node["columns"]]
        for v in range(1, N_VERSIONS + 1):
            checks = []
            for k, c in enumerate(cols[:6]):
                ok = _h(name, v, k) % 40 != 0
                checks.append({"id": f"{c}.not_null", "type": "expect_column_values_to_not_be_null",
                               "column": c, "severity": "warn" if k == 5 else "error",
                               "success": ok, "message": "" if ok else "3 nulls",
                               "result": {"element_count": 10000, "unexpected_count": 0 if ok
                                          else 3}})
            failed = any(not c["success"] and c["severity"] == "error" for c in checks)
            status = "failed" if failed else ("live" if v == N_VERSIONS else "superseded")
            created = f"2026-11-0{v} 10:{_h(name) % 60:02d}:00"
            versions.append((name, v, status, "model", node["materialized"], "", "", runs[v - 1],
                             "", created, None if failed else created, 10000 + 10 * v,
                             node["compiled_sql"], json.dumps({p: v for p in node["depends_on"]}),
                             json.dumps([[c["name"], c["type"]] for c in node["columns"]]),
                             json.dumps(checks), 0.05 + (_h(name, v) % 1000) / 400, None, "{}"))
            if v >= N_VERSIONS - 1:
                for c in cols:
                    stats.append((name, v, c, json.dumps(_stats(name, c, v))))
            if v == N_VERSIONS:
                for c in cols:
                    drift.append((name, v, v - 1, c, (_h(name, c) % 40) / 100,
                                  (_h(name, c, 1) % 30) / 100, 0.3, 0.001, None, None))
    prof = _profile()
    order = manifest["order"]
    for r, run_id in enumerate(runs):
        free = [0.0] * THREADS
        for i, name in enumerate(order):
            t = min(range(THREADS), key=lambda k: (free[k], k))
            dur = 0.02 + (_h(name, r) % 1000) / 2000
            start = free[t]
            free[t] += dur
            mruns.append((run_id, name, "success", 1 + r % N_VERSIONS,
                          f"2026-11-01 {10 + r:02d}:{int(start // 60):02d}:{start % 60:09.6f}",
                          dur, f"fsql_{t}", None))
            if r == N_RUNS - 1 and i % 3 == 0:
                profiles.append((run_id, name, prof))
        con.execute("insert into fsql_meta.runs values (?, ?, ?, 'success', 1, 'run', '{}', "
                    "'0.1.0')", [run_id, f"2026-11-01 {10 + r:02d}:00:00",
                                 f"2026-11-01 {10 + r:02d}:{int(max(free) // 60):02d}:00"])
    for table, rows in (("versions", versions), ("model_runs", mruns), ("column_stats", stats),
                        ("drift", drift), ("model_profiles", profiles)):
        one = "(" + ", ".join("?" * len(rows[0])) + ")"
        for i in range(0, len(rows), 200):  # multi-row VALUES: executemany is slow
            chunk = rows[i:i + 200]
            con.execute(f"insert into fsql_meta.{table} values {', '.join([one] * len(chunk))}",
                        [x for row in chunk for x in row])
    return con


ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
NAV_JS = ("(() => { const n = performance.getEntriesByType('navigation')[0]; "
          "return [n.domInteractive, n.domContentLoadedEventEnd, n.loadEventEnd]; })()")


def browser_times(out: Path, focus: str, big: str, reps: int = 3) -> dict[str, float]:
    from playwright.sync_api import sync_playwright

    res: dict[str, list[float]] = {}

    def add(k: str, v: float) -> None:
        res.setdefault(k, []).append(v)

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        for _ in range(reps):
            ctx = b.new_context(viewport={"width": 1400, "height": 900})
            page = ctx.new_page()
            page.goto((out / "index.html").as_uri())
            di, dcl, load = page.evaluate(NAV_JS)
            add("index: DOM interactive (ms)", di)
            add("index: load event (ms)", load)
            page.goto((out / "m" / f"{focus}.html").as_uri())
            di, dcl, load = page.evaluate(NAV_JS)
            add("model page: DOM interactive, 1-hop lineage shown (ms)", di)
            add("model page: load event (ms)", load)
            lin = page.locator("#lineage .lin")
            for depth in (2, 3):
                lin.locator("button[data-act=more]").click()
                page.wait_for_function(f"document.querySelector('#lineage .lin').dataset.depth"
                                       f" === '{depth}'")
                add(f"lineage depth {depth} (ms, in page{', + graph.js' if depth == 2 else ''})",
                    float(lin.get_attribute("data-render-ms") or "nan"))
            t0 = time.perf_counter()
            page.fill("#q", "rolling")
            page.wait_for_selector("#results li a")
            add("first search incl. index load (ms, wall)", (time.perf_counter() - t0) * 1000)
            # worst case: the training table, expanded until its whole upstream graph shows
            page.goto((out / "m" / f"{big}.html").as_uri())
            lin = page.locator("#lineage .lin")
            more = lin.locator("button[data-act=more]")
            depth = 1
            while more.is_enabled():
                depth += 1
                more.click()
                page.wait_for_function(f"document.querySelector('#lineage .lin').dataset.depth"
                                       f" === '{depth}'")
            nodes = lin.locator(".vm svg a").count()
            add(f"{big} lineage at full depth {depth} ({nodes} nodes) (ms, in page)",
                float(lin.get_attribute("data-render-ms") or "nan"))
            page.goto((out / "lineage.html").as_uri())
            add("full lineage page: load event (ms)", page.evaluate(NAV_JS)[2])
            ctx.close()
        b.close()
    return {k: sorted(v)[len(v) // 2] for k, v in res.items()}  # median


def weights(out: Path, focus: str) -> dict[str, str]:
    def kb(p: Path) -> str:
        return f"{p.stat().st_size / 1024:.1f} KiB"
    models = sorted((out / "m").glob("*.html"), key=lambda p: p.stat().st_size)
    total = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    runs = sorted((out / "r").glob("*.html"))
    return {"total": f"{total / 2**20:.1f} MiB in {sum(1 for _ in out.rglob('*.html'))} pages",
            "index.html": kb(out / "index.html"),
            "model page median / max": f"{kb(models[len(models) // 2])} / {kb(models[-1])}",
            f"m/{focus}.html": kb(out / "m" / f"{focus}.html"),
            "assets/site.css + site.js": f"{(out / 'assets/site.css').stat().st_size / 1024:.1f}"
                                         f" + {(out / 'assets/site.js').stat().st_size / 1024:.1f}"
                                         " KiB",
            "assets/graph.js (lazy)": kb(out / "assets" / "graph.js"),
            "assets/search.js (lazy)": kb(out / "assets" / "search.js"),
            "lineage.html": kb(out / "lineage.html"),
            "run page": kb(runs[-1]) if runs else "-"}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", type=int, default=1000)
    ap.add_argument("--out", type=Path, default=Path(tempfile.gettempdir()) / "fsql_bench_site")
    ap.add_argument("--no-browser", action="store_true")
    a = ap.parse_args(argv)
    t0 = time.perf_counter()
    manifest = fabricate_manifest(a.models)
    con = fabricate_state(manifest)
    t_fab = time.perf_counter() - t0
    t0, c0 = time.perf_counter(), time.process_time()
    data = load_site_data(manifest, con)
    t_load, c_load = time.perf_counter() - t0, time.process_time() - c0
    con.close()
    c0 = time.process_time()
    res = generate_site(data, a.out)
    c_gen = time.process_time() - c0
    # the model with the biggest 1-hop neighbourhood is the worst case for its lineage
    down: dict[str, int] = {}
    for n in manifest["nodes"].values():
        for d in n["depends_on"]:
            down[d] = down.get(d, 0) + 1
    order = manifest["order"]
    focus = max(manifest["nodes"], key=lambda k: (len(manifest["nodes"][k]["depends_on"])
                                                  + down.get(k, 0), k))
    rows = [("models", f"{a.models} ({len(manifest['nodes'])} nodes, "
                        f"{sum(len(n['depends_on']) for n in manifest['nodes'].values())} edges)"),
            ("fabricate manifest + state (s)", f"{t_fab:.2f}"),
            ("load_site_data (s, wall / cpu)", f"{t_load:.2f} / {c_load:.2f}"),
            ("generate_site (s, wall / cpu) [target <= 5]",
             f"{res.duration_s:.2f} / {c_gen:.2f}"),
            ("files written", f"{len(res.files)}")]
    rows += [(f"weight: {k}", v) for k, v in weights(a.out, focus).items()]
    if not a.no_browser:
        n_par = len(manifest["nodes"][focus]["depends_on"])
        rows.append(("lineage focus model",
                     f"{focus} ({n_par} parents, {down.get(focus, 0)} children)"))
        for k, v in browser_times(a.out, focus, order[-1]).items():
            rows.append((f"chromium: {k}", f"{v:.0f}"))
    width = max(len(k) for k, _ in rows)
    print(f"| {'measure'.ljust(width)} | value |\n|{'-' * (width + 2)}|-------|")
    for k, v in rows:
        print(f"| {k.ljust(width)} | {v} |")
    print(f"\nsite: {a.out / 'index.html'}; load average {os.getloadavg()[0]:.1f} on "
          f"{os.cpu_count()} cpus")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
