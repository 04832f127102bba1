"""Build-time SVG/HTML charts: histograms (and drift overlays), top values, run timelines per
thread, DuckDB operator-profile trees, expectation timelines. All text is escaped."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from .data import ModelRun, Version
from .markup import esc, fmt_num, fmt_pct, fmt_s

__all__ = ["heat", "histogram_svg", "top_values_html", "timeline_svg", "profile_html",
           "checks_timeline_html", "check_status"]


def heat(t: float) -> str:
    """Colour for a share in [0, 1]: pale yellow (cold) -> red (hot). Text on it stays dark."""
    t = min(1.0, max(0.0, t))
    return f"hsl({55 - 55 * t:.0f},90%,{86 - 24 * t:.0f}%)"


def _num(v: float) -> str:
    return f"{v:.4g}"


def _pos(v: Any) -> tuple[float, str] | None:
    """A histogram edge: numbers as is, ISO dates/timestamps (temporal columns) as epoch s."""
    if isinstance(v, int | float) and not isinstance(v, bool):
        return float(v), _num(float(v))
    if isinstance(v, str):
        try:
            return datetime.fromisoformat(v).timestamp(), esc(v.replace("T", " ")[:19])
        except ValueError:
            return None
    return None


Bin = tuple[float, float, float, str, str]


def _bins(stats: Mapping[str, Any]) -> list[Bin]:
    out = []
    for b in stats.get("histogram") or []:
        if not isinstance(b, dict):
            continue
        lo, hi = _pos(b.get("lo")), _pos(b.get("hi"))
        cnt = b.get("count")
        if lo is None or hi is None or not isinstance(cnt, int | float):
            continue
        out.append((lo[0], hi[0], float(cnt), lo[1], hi[1]))
    return out


def histogram_svg(cur: Mapping[str, Any], ref: Mapping[str, Any] | None = None,
                  w: int = 280, h: int = 96) -> str:
    """Histogram of ``cur``; with ``ref`` both as shares, reference drawn as an outline."""
    a, b = _bins(cur), _bins(ref) if ref else []
    if not a and not b:
        return ""
    first = min(a + b, key=lambda x: x[0])
    last = max(a + b, key=lambda x: x[1])
    lo, hi = first[0], last[1]
    span = (hi - lo) or 1.0
    ta, tb = sum(x[2] for x in a) or 1.0, sum(x[2] for x in b) or 1.0
    top = max([x[2] / ta for x in a] + [x[2] / tb for x in b] + [1e-12])
    ph = h - 18

    def bars(bins: list[Bin], total: float, cls: str) -> str:
        # edges are floats and pre-escaped labels: nothing else to escape on this hot path
        out = []
        sx, sy = w / span, ph / total / top
        for blo, bhi, cnt, llo, lhi in bins:
            bh = cnt * sy
            out.append(f'<rect class="{cls}" x="{(blo - lo) * sx:.1f}" y="{ph - bh:.1f}" '
                       f'width="{max(1.0, (bhi - blo) * sx - 1):.1f}" height="{bh:.1f}"><title>'
                       f'[{llo}, {lhi}): {int(cnt)}</title></rect>')
        return "".join(out)

    body = bars(a, ta, "cur") + (bars(b, tb, "ref") if b else "")
    return (f'<svg xmlns="http://www.w3.org/2000/svg" class="hist" width="{w}" height="{h}" '
            f'viewBox="0 0 {w} {h}" role="img">{body}<line x1="0" y1="{ph}" x2="{w}" '
            f'y2="{ph}"/><text x="0" y="{h - 3}">{first[3]}</text><text x="{w}" '
            f'y="{h - 3}" text-anchor="end">{last[4]}</text></svg>')


def top_values_html(stats: Mapping[str, Any], limit: int = 8) -> str:
    tops = [t for t in stats.get("top_values") or [] if isinstance(t, dict)][:limit]
    if not tops:
        return ""
    total = float(stats.get("count") or 0) or max(float(t.get("count") or 0) for t in tops) or 1
    rows = []
    for t in tops:
        share = float(t.get("count") or 0) / total
        rows.append(f'<div class="tv"><span class="tvb" style="width:{min(100, share * 100):.1f}%">'
                    f'</span><span class="tvl">{esc(t.get("value"))}</span><span class="tvn">'
                    f'{esc(fmt_num(t.get("count")))} · {fmt_pct(share)}</span></div>')
    return '<div class="tops">' + "".join(rows) + "</div>"


def _ticks(total: float) -> list[float]:
    for step in (0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 1800, 3600):
        if total / step <= 8:
            return [i * step for i in range(int(total / step) + 1)]
    return [0.0, total]


def timeline_svg(items: Sequence[ModelRun], root: str, url: Mapping[str, str],
                 w: int = 900) -> str:
    """Gantt chart of a run: one lane per thread, one bar per model build (links)."""
    if not items:
        return ""
    threads = sorted({m.thread for m in items})
    lane = {t: i for i, t in enumerate(threads)}
    total = max(m.start_s + m.duration_s for m in items) or 1.0
    left, lh = 90, 26
    scale = (w - left - 10) / total
    height = 24 + lh * len(threads)
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" class="timeline" width="{w}" '
           f'height="{height}" viewBox="0 0 {w} {height}" role="img">']
    for tick in _ticks(total):
        x = left + tick * scale
        out.append(f'<line class="tick" x1="{x:.1f}" y1="14" x2="{x:.1f}" y2="{height}"/>'
                   f'<text x="{x:.1f}" y="11" text-anchor="middle">{esc(fmt_s(tick))}</text>')
    for th in threads:
        out.append(f'<text x="4" y="{18 + lh * lane[th] + 15}">{esc(th[:12])}</text>')
    for m in sorted(items, key=lambda m: (m.start_s, m.model)):
        x = left + m.start_s * scale
        bw = max(1.5, m.duration_s * scale - 0.5)
        y = 18 + lh * lane[m.thread]
        label = f'<text class="bl" x="{x + 3:.1f}" y="{y + 15}">{esc(m.model[:int(bw / 7)])}' \
                "</text>" if bw > 40 else ""
        href = url.get(m.model)
        open_a = f'<a href="{esc(root + href)}">' if href else "<g>"
        out.append(f'{open_a}<title>{esc(m.model)} — {esc(m.status)}, {esc(fmt_s(m.duration_s))}'
                   f', thread {esc(m.thread)}</title><rect class="st-{esc(m.status)}" '
                   f'x="{x:.1f}" y="{y}" width="{bw:.1f}" height="{lh - 5}" rx="2"/>{label}'
                   + ("</a>" if href else "</g>"))
    out.append("</svg>")
    return "".join(out)


# -- DuckDB JSON profile ----------------------------------------------------------------------
def _op(node: Mapping[str, Any]) -> tuple[str, float, Any, Any, list[Mapping[str, Any]]]:
    name = node.get("operator_name") or node.get("name") or node.get("operator_type") or \
        node.get("type") or "?"
    timing = node.get("operator_timing", node.get("timing", 0.0))
    rows = node.get("operator_cardinality", node.get("intermediate_rows",
                                                      node.get("cardinality")))
    kids: list[Mapping[str, Any]] = [c for c in node.get("children") or []
                                     if isinstance(c, dict)]
    try:
        t = float(timing or 0.0)
    except (TypeError, ValueError):
        t = 0.0
    return str(name).strip(), t, rows, node.get("extra_info"), kids


def profile_roots(profile: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """Top operators of a DuckDB ``enable_profiling='json'`` document (old and new layouts)."""
    for key in ("operator", "children"):
        v = profile.get(key)
        if isinstance(v, list):
            return [c for c in v if isinstance(c, dict)]
    return []


def _total(nodes: list[Mapping[str, Any]]) -> float:
    s = 0.0
    for n in nodes:
        _, t, _, _, kids = _op(n)
        s += t + _total(kids)
    return s


def _extra(info: Any) -> str:
    if isinstance(info, dict):
        text = "; ".join(f"{k}: {', '.join(map(str, v)) if isinstance(v, list) else v}"
                         for k, v in info.items())
    else:
        text = str(info or "")
    text = " ".join(text.split())
    return text if len(text) <= 160 else text[:159] + "…"


def profile_html(profile: Mapping[str, Any]) -> str:
    """The operator tree, each operator coloured by its share of the summed operator time."""
    roots = profile_roots(profile)
    if not roots:
        return '<p class="muted">The profile has no operator tree.</p>'
    total = _total(roots) or 1.0
    query = profile.get("query") if isinstance(profile.get("query"), dict) else {}
    latency = (query or {}).get("total_time", profile.get("latency"))

    def node(n: Mapping[str, Any], depth: int) -> str:
        name, t, rows, extra, kids = _op(n)
        share = t / total
        inner = "".join(node(k, depth + 1) for k in kids) if depth < 60 else ""
        ex = _extra(extra)
        return (f'<li><div class="op" style="background:{heat(share * 2)}"><b>{esc(name)}</b> '
                f'<span>{esc(fmt_s(t))} · {fmt_pct(share)}</span>'
                + (f' <span>{esc(fmt_num(rows))} rows</span>' if rows is not None else "")
                + (f'<div class="ex">{esc(ex)}</div>' if ex else "") + "</div>"
                + (f"<ul>{inner}</ul>" if inner else "") + "</li>")

    head = (f'<p>Operator time {esc(fmt_s(total))}'
            + (f", query latency {esc(fmt_s(float(latency)))}" if isinstance(latency, int | float)
               else "") + ". Colour = share of operator time.</p>")
    return head + '<ul class="prof">' + "".join(node(r, 0) for r in roots) + "</ul>"


# -- expectations -----------------------------------------------------------------------------
def check_status(c: Mapping[str, Any]) -> str:
    if c.get("success"):
        return "pass"
    return "warn" if str(c.get("severity") or "error") == "warn" else "fail"


def checks_timeline_html(versions: Sequence[Version], limit: int = 24) -> str:
    """Rows = checks (by id), columns = versions, cells = pass / warn / fail."""
    shown = list(versions)[-limit:]
    ids: list[str] = []
    meta: dict[str, Mapping[str, Any]] = {}
    cells: dict[tuple[str, int], Mapping[str, Any]] = {}
    for v in shown:
        for c in v.checks:
            cid = str(c.get("id") or f"{c.get('type')}:{c.get('column')}")
            if cid not in meta:
                ids.append(cid)
            meta[cid] = c
            cells[(cid, v.version)] = c
    if not ids:
        return '<p class="muted">No expectation results recorded yet.</p>'
    head = "".join(f'<th class="vc">v{v.version}</th>' for v in shown)
    body = []
    for cid in ids:
        c = meta[cid]
        tds = []
        for v in shown:
            r = cells.get((cid, v.version))
            if r is None:
                tds.append('<td class="cell none" title="not run">·</td>')
            else:
                st = check_status(r)
                tip = f"v{v.version}: {st}" + (f" — {r.get('message')}" if r.get("message")
                                               else "")
                tds.append(f'<td class="cell {st}" title="{esc(tip)}">'
                           f'{"✓" if st == "pass" else ("!" if st == "warn" else "✗")}</td>')
        latest = cells.get((cid, shown[-1].version), c)
        body.append(f'<tr><td><code>{esc(cid)}</code></td><td>{esc(c.get("type"))}</td>'
                    f'<td>{esc(c.get("severity") or "error")}</td>{"".join(tds)}'
                    f'<td class="obs">{esc(_observed(latest))}</td></tr>')
    return ('<div class="scroll"><table class="checks"><thead><tr><th>check</th><th>type</th>'
            f'<th>severity</th>{head}<th>latest result</th></tr></thead><tbody>'
            + "".join(body) + "</tbody></table></div>")


def _observed(c: Mapping[str, Any]) -> str:
    res = c.get("result") if isinstance(c.get("result"), dict) else {}
    bits = []
    if c.get("message"):
        bits.append(str(c["message"]))
    for key in ("observed_value", "unexpected_count", "unexpected_percent"):
        v = (res or {}).get(key, c.get(key))
        if v is not None:
            bits.append(f"{key}={fmt_num(v)}")
    if "actual" in c and not bits:
        bits.append(f"actual {c.get('actual')}")
    text = "; ".join(bits)
    return text if len(text) <= 200 else text[:199] + "…"
