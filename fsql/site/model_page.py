"""The page of one model / feature set / seed: summary, lineage (model + column view), columns,
statistics and drift, expectations across versions, versions, builds and operator profile, SQL."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .charts import (
    check_status,
    checks_timeline_html,
    histogram_svg,
    profile_html,
    top_values_html,
)
from .data import ModelInfo, ModelRun, SiteData, Version, split_ref
from .lineage import Graph, column_svg, graph_svg, model_url, neighbourhood, source_url
from .markup import esc, fmt_num, fmt_pct, fmt_s, highlight_sql, slug

__all__ = ["builds_index", "col_anchor", "kind_label", "model_page_body"]

ROOT = "../"


def col_anchor(col: str) -> str:
    return "col-" + slug(col)


def kind_label(m: ModelInfo) -> str:
    if m.kind == "seed":
        return "seed"
    return "feature set" if m.is_feature_set else m.materialized


def _ref_link(data: SiteData, ref: str) -> str:
    rel, col = split_ref(ref)
    if rel in data.by_name:
        return f'<a href="{esc(ROOT + model_url(rel))}#{esc(col_anchor(col))}">{esc(ref)}</a>'
    if any(s.key == rel for s in data.sources):
        return f'<a href="{esc(ROOT + source_url(rel))}#{esc(col_anchor(col))}">{esc(ref)}</a>'
    return esc(ref)


def _summary(data: SiteData, m: ModelInfo, cur: Version | None) -> str:
    cfg = m.config
    rows: list[tuple[str, str]] = [("materialization", esc(m.materialized)), ("kind", esc(m.kind))]
    if m.entities:
        rows.append(("entities", ", ".join(
            f'<a href="{ROOT}e/{esc(slug(e))}.html">{esc(e)}</a>' for e in m.entities)))
    for key in ("timestamp", "ttl", "online", "unique_key"):
        if cfg.get(key) is not None:
            val = cfg.get(key)
            rows.append((key.upper() if key == "ttl" else key,
                         esc(str(val).lower() if isinstance(val, bool) else val)))
    if m.tags:
        rows.append(("tags", " ".join(f'<a class="tag" href="{ROOT}tags.html#tag-{esc(slug(t))}">'
                                      f'{esc(t)}</a>' for t in m.tags)))
    deps = [f'<a href="{esc(ROOT + model_url(d))}">{esc(d)}</a>' for d in m.depends_on]
    deps += [f'<a href="{esc(ROOT + source_url(s))}">{esc(s)}</a>' for s in m.sources]
    if deps:
        rows.append(("depends on", ", ".join(deps)))
    rows.append(("path", f"<code>{esc(m.path)}</code>"))
    if cur:
        rows += [("current version", f"v{cur.version} <span class=\"st st-{esc(cur.status)}\">"
                  f"{esc(cur.status)}</span>"), ("rows", esc(fmt_num(cur.row_count))),
                 ("built", esc(cur.created_at)), ("build time", esc(fmt_s(cur.duration_s)))]
    else:
        rows.append(("current version", "not built yet"))
    if m.fingerprint:
        rows.append(("fingerprint", f"<code>{esc(m.fingerprint[:16])}</code>"))
    return '<table class="kv">' + "".join(f"<tr><th>{k}</th><td>{v}</td></tr>"
                                          for k, v in rows) + "</table>"


def _lineage(data: SiteData, g: Graph, m: ModelInfo, down: Mapping[str, Any]) -> str:
    dist = neighbourhood(g, m.name, 1)
    svg = graph_svg(g, dist, root=ROOT, focus=m.name, dist=dist)
    col = column_svg(data, m, down, ROOT)
    tools = ('<div class="tools js-only"><button type="button" data-act="less" '
             'title="fewer hops" disabled>−</button><span class="depth">depth 1</span>'
             '<button type="button" data-act="more" '
             'title="more hops">+</button><button type="button" data-act="model" class="on">'
             'models</button><button type="button" data-act="columns">columns</button>'
             '<button type="button" data-act="export">export SVG</button></div>')
    return (f'<section id="lineage"><h2>Lineage</h2><div class="lin" data-focus="{esc(m.name)}" '
            f'data-depth="1">{tools}<div class="view vm"><h3 class="nojs">Models (1 hop)</h3>'
            f'<div class="gwrap">{svg}</div></div><div class="view vc"><h3 class="nojs">Columns'
            f'</h3><div class="gwrap">{col or "<p class=muted>No column lineage.</p>"}</div></div>'
            f'<p class="small"><a href="{ROOT}lineage.html">full lineage graph</a></p></div>'
            "</section>")


def _stats_for(data: SiteData, m: ModelInfo, cur: Version | None) -> Mapping[str, Any]:
    return data.stats.get((m.name, cur.version), {}) if cur else {}


def _columns(data: SiteData, m: ModelInfo, cur: Version | None) -> str:
    types = dict(cur.columns) if cur else {}
    stats = _stats_for(data, m, cur)
    cols = list(m.columns) or []
    names = [c.name for c in cols] + [n for n in types if n not in {c.name for c in cols}]
    by = {c.name: c for c in cols}
    rows = []
    for name in names:
        c = by.get(name)
        st = stats.get(name) or {}
        cnt = st.get("count")
        null_rate = (float(st.get("nulls") or 0) / float(cnt)) if cnt else None
        lin = ", ".join(_ref_link(data, r) for r in (c.lineage if c else ()))
        rows.append(f'<tr id="{esc(col_anchor(name))}"><td><code>{esc(name)}</code></td><td>'
                    f'{esc((c.type if c and c.type else "") or types.get(name, ""))}</td><td>'
                    f'{esc(c.description if c else "")}</td><td>{lin}</td><td class="num">'
                    f'{fmt_pct(null_rate) if st else ""}</td><td class="num">'
                    f'{esc(fmt_num(st.get("distinct"))) if st else ""}</td></tr>')
    if not rows:
        return '<section id="columns"><h2>Columns</h2><p class="muted">No columns known.</p>' \
               "</section>"
    return ('<section id="columns"><h2>Columns</h2><div class="scroll"><table class="cols">'
            "<thead><tr><th>column</th><th>type</th><th>description</th><th>upstream</th>"
            "<th>nulls</th><th>distinct</th></tr></thead><tbody>" + "".join(rows)
            + "</tbody></table></div></section>")


def _quantiles(st: Mapping[str, Any]) -> str:
    q = st.get("quantiles")
    if not isinstance(q, dict) or not q:
        return ""

    def key(k: str) -> float:
        try:
            return float(k.lstrip("pq"))
        except ValueError:
            return 1e9
    return '<p class="small">' + " · ".join(f"{esc(k)} {esc(fmt_num(q[k]))}"
                                            for k in sorted(q, key=key)) + "</p>"


def _drift_block(d: Mapping[str, Any] | None, st: Mapping[str, Any],
                 ref: Mapping[str, Any] | None) -> str:
    if not d:
        return ""
    bits = []
    for key, label in (("psi", "PSI"), ("ks", "KS"), ("mean_shift_sd", "mean shift (sd)"),
                       ("null_rate_change", "null-rate change")):
        if d.get(key) is not None:
            bits.append(f"{label} <b>{esc(fmt_num(d.get(key)))}</b>")
    raw = d.get("drift")
    extra: Mapping[str, Any] = raw if isinstance(raw, dict) else {}
    for key in ("new_categories", "vanished_categories"):
        v = d.get(key) or extra.get(key)
        if v:
            vals = v if isinstance(v, list) else [v]
            bits.append(f"{esc(key.replace('_', ' '))}: {esc(', '.join(map(str, vals[:10])))}")
    notes = extra.get("notes")
    if isinstance(notes, list) and notes:
        bits.append(esc("; ".join(map(str, notes[:5]))))
    psi = d.get("psi")
    level = "fail" if isinstance(psi, int | float) and psi >= 0.25 else (
        "warn" if isinstance(psi, int | float) and psi >= 0.1 else "pass")
    overlay = histogram_svg(st, ref) if ref else ""
    return (f'<div class="drift {level}"><h4>Drift vs v{esc(d.get("reference_version"))}</h4>'
            f'<p class="small">{" · ".join(bits)}</p>{overlay}'
            + ('<p class="legend"><span class="lc"></span>current <span class="lr"></span>'
               'reference</p>' if overlay else "") + "</div>")


def _statistics(data: SiteData, m: ModelInfo, cur: Version | None) -> str:
    head = '<section id="statistics"><h2>Statistics</h2>'
    stats = _stats_for(data, m, cur)
    if not stats:
        what = f" for v{cur.version}" if cur and data.has_stats_table else ""
        why = "" if m.is_feature_set or m.config.get("statistics") or cur is None else (
            " Builds profile feature sets; set <code>statistics: true</code> in this model's "
            f"config to profile every version, or run <code>fsql stats {esc(m.name)}</code>.")
        return head + f'<p class="muted">No statistics yet{what}.{why}</p></section>'
    drift = {str(d.get("column_name")): d for d in data.drift.get((m.name, cur.version), ())} \
        if cur else {}
    cards = []
    for col in sorted(stats, key=lambda c: ([x.name for x in m.columns] + [c]).index(c)):
        st = stats[col]
        d = drift.get(col)
        ref = None
        if d and d.get("reference_version") is not None:
            ref = data.stats.get((m.name, int(d["reference_version"])), {}).get(col)
        cnt = st.get("count")
        nr = float(st.get("nulls") or 0) / float(cnt) if cnt else 0.0
        kv = " · ".join(f"{k} <b>{esc(fmt_num(st.get(k)))}</b>" for k in
                        ("count", "distinct", "min", "max", "mean", "stdev") if k in st)
        cards.append(
            f'<div class="card"><h3><code>{esc(col)}</code></h3><p class="small">{kv}</p>'
            f'<div class="nullbar" title="null rate {fmt_pct(nr)}"><span style="width:'
            f'{nr * 100:.1f}%"></span></div><p class="small">nulls {fmt_pct(nr)}</p>'
            f'{_quantiles(st)}{"" if d and ref else histogram_svg(st)}{top_values_html(st)}'
            f'{_drift_block(d, st, ref)}</div>')
    return head + f'<p class="small">Version v{cur.version if cur else "?"}.</p>' \
        f'<div class="cards">{"".join(cards)}</div></section>'


def _expectations(vs: tuple[Version, ...]) -> str:
    return ('<section id="expectations"><h2>Expectations</h2>'
            + checks_timeline_html(vs) + "</section>")


def _versions(vs: tuple[Version, ...]) -> str:
    if not vs:
        return '<section id="versions"><h2>Versions</h2><p class="muted">Not built yet.</p>' \
               "</section>"
    rows = []
    for v in reversed(vs):
        n_fail = sum(1 for c in v.checks if check_status(c) == "fail")
        inputs = ", ".join(f"{esc(k)} v{esc(x)}" for k, x in sorted(v.input_versions.items()))
        rows.append(f'<tr><td>v{v.version}</td><td><span class="st st-{esc(v.status)}">'
                    f'{esc(v.status)}</span></td><td class="num">{esc(fmt_num(v.row_count))}</td>'
                    f'<td>{esc(v.created_at)}</td><td>{esc(v.published_at)}</td><td class="num">'
                    f'{esc(fmt_s(v.duration_s))}</td><td class="num">{len(v.checks) - n_fail}/'
                    f'{len(v.checks)}</td><td><code>{esc(v.run_id)}</code></td><td>{inputs}</td>'
                    f'<td>{esc(v.message)}</td></tr>')
    return ('<section id="versions"><h2>Versions</h2><div class="scroll"><table><thead><tr>'
            "<th>version</th><th>status</th><th>rows</th><th>created</th><th>published</th>"
            "<th>build</th><th>checks ok</th><th>run</th><th>inputs</th><th>message</th></tr>"
            "</thead><tbody>" + "".join(rows) + "</tbody></table></div></section>")


def builds_index(data: SiteData) -> dict[str, list[ModelRun]]:
    """model -> its builds in the loaded runs, newest run first."""
    out: dict[str, list[ModelRun]] = {}
    for run in data.runs:
        for mr in data.model_runs.get(run.run_id, ()):
            out.setdefault(mr.model, []).append(mr)
    return out


def _builds(data: SiteData, m: ModelInfo, builds: Mapping[str, list[ModelRun]]) -> str:
    rows = []
    for mr in builds.get(m.name, ()):
        rows.append(f'<tr><td><a href="{ROOT}r/{esc(slug(mr.run_id))}.html">'
                    f'{esc(mr.run_id)}</a></td><td><span class="st st-{esc(mr.status)}">'
                    f'{esc(mr.status)}</span></td><td>{esc(mr.version or "")}</td>'
                    f'<td class="num">{esc(fmt_s(mr.duration_s))}</td><td>'
                    f'{esc(mr.thread)}</td><td>{esc(mr.message)}</td></tr>')
    prof = data.profiles.get(m.name)
    out = '<section id="runs"><h2>Builds</h2>'
    out += ('<div class="scroll"><table><thead><tr><th>run</th><th>status</th><th>version</th>'
            "<th>time</th><th>thread</th><th>message</th></tr></thead><tbody>" + "".join(rows)
            + "</tbody></table></div>") if rows else '<p class="muted">No recent builds.</p>'
    if prof:
        out += (f'<h3 id="profile">Operator profile <small>run {esc(prof[0])}</small></h3>'
                + profile_html(prof[1]))
    return out + "</section>"


def _sql(m: ModelInfo, cur: Version | None) -> str:
    compiled = m.compiled_sql or (cur.compiled_sql if cur else "")
    out = '<section id="sql"><h2>SQL</h2>'
    if m.raw_sql:
        out += ('<details open><summary>Source <code>' + esc(m.path) + "</code></summary>"
                f'<pre class="sql"><code>{highlight_sql(m.raw_sql)}</code></pre></details>')
    if compiled:
        out += ("<details open><summary>Compiled</summary>"
                f'<pre class="sql"><code>{highlight_sql(compiled)}</code></pre></details>')
    return out + "</section>"


def model_page_body(data: SiteData, g: Graph, m: ModelInfo, down: Mapping[str, Any],
                    builds: Mapping[str, list[ModelRun]]) -> str:
    """Body HTML of ``m/<model>.html``."""
    vs = data.versions.get(m.name, ())
    cur = data.current_version(m.name)
    toc = " · ".join(f'<a href="#{k}">{k}</a>' for k in (
        "lineage", "columns", "statistics", "expectations", "versions", "runs", "sql"))
    return (f'<h1>{esc(m.name)} <span class="badge k-{esc(kind_label(m).replace(" ", "_"))}">'
            f'{esc(kind_label(m))}</span></h1><nav class="toc">{toc}</nav>'
            f'<p class="desc">{esc(m.description) or "<span class=muted>No description.</span>"}'
            f"</p>{_summary(data, m, cur)}{_lineage(data, g, m, down)}{_columns(data, m, cur)}"
            f"{_statistics(data, m, cur)}{_expectations(vs)}{_versions(vs)}"
            f"{_builds(data, m, builds)}{_sql(m, cur)}")
