"""Lineage graph: a deterministic layered DAG layout computed once in Python, SVG renderers.

Layout = longest-path layering (sources and root models in layer 0, every node one layer right
of its deepest parent) + barycenter ordering inside each layer (a few down/up sweeps, ties by
previous position then name). A view of part of the graph (a model's neighbourhood up to N hops)
*packs* the visible nodes: it keeps the global layer and in-layer order, drops empty layers and
renumbers rows — the same ``pack`` runs in site.js, so the page script only shows/hides by depth.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from .data import ModelInfo, SiteData, split_ref
from .markup import esc, slug

__all__ = ["Graph", "build_graph", "column_svg", "graph_svg", "neighbourhood", "pack",
           "graph_json"]

NODE_W, NODE_H, COL_W, ROW_H = 190, 26, 250, 34
SWEEPS = 4


@dataclass(frozen=True)
class Graph:
    """Nodes (models and sources) with kind, url (relative to the site root), layer and order."""

    ids: tuple[str, ...]
    kind: Mapping[str, str]
    url: Mapping[str, str]
    parents: Mapping[str, tuple[str, ...]]
    children: Mapping[str, tuple[str, ...]]
    layer: Mapping[str, int]
    order: Mapping[str, int]


def model_url(name: str) -> str:
    return f"m/{slug(name)}.html"


def source_url(key: str) -> str:
    return f"s/{slug(key)}.html"


def node_kind(m: ModelInfo) -> str:
    if m.kind == "seed":
        return "seed"
    return m.materialized if m.materialized in ("feature_set", "ephemeral") else "model"


def build_graph(data: SiteData) -> Graph:
    """Nodes = models + sources (id ``source:<key>``); edges from depends_on and sources."""
    kind: dict[str, str] = {}
    url: dict[str, str] = {}
    parents: dict[str, list[str]] = {}
    for s in data.sources:
        sid = "source:" + s.key
        kind[sid], url[sid], parents[sid] = "source", source_url(s.key), []
    for m in data.models:
        kind[m.name], url[m.name] = node_kind(m), model_url(m.name)
        parents[m.name] = []
    for m in data.models:
        ps = [d for d in m.depends_on if d in kind] + [
            "source:" + s for s in m.sources if "source:" + s in kind]
        parents[m.name] = sorted(set(ps))
    children: dict[str, list[str]] = {n: [] for n in kind}
    for n, ps in parents.items():
        for p in ps:
            children[p].append(n)
    layer = _layers(parents, children)
    order = _order(layer, parents, children)
    ids = tuple(sorted(kind, key=lambda n: (layer[n], order[n])))
    return Graph(ids, kind, url, {k: tuple(v) for k, v in parents.items()},
                 {k: tuple(sorted(v)) for k, v in children.items()}, layer, order)


def _layers(parents: Mapping[str, list[str]], children: Mapping[str, list[str]]
            ) -> dict[str, int]:
    indeg = {n: len(ps) for n, ps in parents.items()}
    ready = deque(sorted(n for n, d in indeg.items() if d == 0))
    layer = {n: 0 for n in ready}
    while ready:
        n = ready.popleft()
        for c in sorted(children[n]):
            layer[c] = max(layer.get(c, 0), layer[n] + 1)
            indeg[c] -= 1
            if indeg[c] == 0:
                ready.append(c)
    for n in sorted(parents):  # nodes on a cycle (should not happen): park them at the end
        layer.setdefault(n, max(layer.values(), default=0) + 1)
    return layer


def _order(layer: Mapping[str, int], parents: Mapping[str, list[str]],
           children: Mapping[str, list[str]]) -> dict[str, int]:
    n_layers = max(layer.values(), default=-1) + 1
    rows: list[list[str]] = [[] for _ in range(n_layers)]
    for n in sorted(layer):
        rows[layer[n]].append(n)
    pos = {n: i for row in rows for i, n in enumerate(row)}

    def sweep(row: list[str], nbrs: Mapping[str, list[str]]) -> list[str]:
        def key(n: str) -> tuple[float, int, str]:
            ns = nbrs[n]
            bary = sum(pos[x] for x in ns) / len(ns) if ns else float(pos[n])
            return (bary, pos[n], n)
        new = sorted(row, key=key)
        for i, n in enumerate(new):
            pos[n] = i
        return new

    for _ in range(SWEEPS):
        for i in range(1, n_layers):
            rows[i] = sweep(rows[i], parents)
        for i in range(n_layers - 2, -1, -1):
            rows[i] = sweep(rows[i], children)
    return pos


def neighbourhood(g: Graph, focus: str, depth: int) -> dict[str, int]:
    """Nodes within ``depth`` hops upstream or downstream of ``focus`` -> their hop count."""
    dist = {focus: 0}
    for nbrs in (g.parents, g.children):
        seen = {focus: 0}
        q = deque([focus])
        while q:
            n = q.popleft()
            if seen[n] >= depth:
                continue
            for x in nbrs[n]:
                if x not in seen:
                    seen[x] = seen[n] + 1
                    q.append(x)
        for n, d in seen.items():
            dist[n] = min(d, dist.get(n, d))
    return dist


def pack(g: Graph, visible: Iterable[str]) -> dict[str, tuple[int, int]]:
    """Pixel positions: visible layers become consecutive columns, rows centred per column."""
    cols: dict[int, list[str]] = {}
    for n in visible:
        cols.setdefault(g.layer[n], []).append(n)
    tallest = max((len(v) for v in cols.values()), default=0)
    out: dict[str, tuple[int, int]] = {}
    for ci, lay in enumerate(sorted(cols)):
        row = sorted(cols[lay], key=lambda n: g.order[n])
        off = (tallest - len(row)) / 2
        for ri, n in enumerate(row):
            out[n] = (8 + ci * COL_W, int(8 + (off + ri) * ROW_H))
    return out


def _label(n: str) -> str:
    text = n[7:] if n.startswith("source:") else n
    return text if len(text) <= 26 else text[:25] + "…"


def graph_svg(g: Graph, visible: Iterable[str], *, root: str, focus: str | None = None,
              fills: Mapping[str, str] | None = None, titles: Mapping[str, str] | None = None,
              dist: Mapping[str, int] | None = None, css_id: str = "") -> str:
    """SVG of the visible part of the graph; nodes are links (work without JavaScript)."""
    vis = set(visible)
    pos = pack(g, vis)
    w = max((x for x, _ in pos.values()), default=0) + NODE_W + 16
    h = max((y for _, y in pos.values()), default=0) + NODE_H + 16
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="dag" width="{w}" height="{h}" '
             f'viewBox="0 0 {w} {h}" role="img"{f" id={css_id!r}" if css_id else ""}'
             f'{f" data-focus={esc(focus)!r}" if focus else ""}><g class="edges">']
    for n in sorted(vis, key=lambda n: (g.layer[n], g.order[n])):
        x2, y2 = pos[n]
        for p in g.parents[n]:
            if p in vis:
                x1, y1 = pos[p]
                x1, y1, y2m = x1 + NODE_W, y1 + NODE_H // 2, y2 + NODE_H // 2
                mx = (x1 + x2) // 2
                parts.append(f'<path d="M{x1} {y1}C{mx} {y1} {mx} {y2m} {x2} {y2m}"/>')
    parts.append('</g><g class="nodes">')
    for n in sorted(vis, key=lambda n: (g.layer[n], g.order[n])):
        x, y = pos[n]
        cls = f"n k-{g.kind[n]}" + (" focus" if n == focus else "") + (
            " hot" if fills and n in fills else "")
        fill = f' style="fill:{fills[n]}"' if fills and n in fills else ""
        title = titles.get(n, "") if titles else ""
        d = f' data-d="{dist[n]}"' if dist is not None else ""
        parts.append(
            f'<a href="{esc(root + g.url[n])}" class="{cls}"{d}><title>{esc(n)}'
            f'{esc(" — " + title) if title else ""}</title><rect x="{x}" y="{y}" '
            f'width="{NODE_W}" height="{NODE_H}" rx="5"{fill}/><text x="{x + 8}" '
            f'y="{y + 17}">{esc(_label(n))}</text></a>')
    parts.append("</g></svg>")
    return "".join(parts)


def graph_json(g: Graph) -> dict[str, object]:
    """Compact data for site.js: nodes [id, kind, layer, order, url], edges [parent, child]."""
    idx = {n: i for i, n in enumerate(g.ids)}
    return {"n": [[n, g.kind[n], g.layer[n], g.order[n], g.url[n]] for n in g.ids],
            "e": [[idx[p], idx[n]] for n in g.ids for p in g.parents[n]]}


# -- column-level lineage ---------------------------------------------------------------------
def column_index(data: SiteData) -> dict[str, list[tuple[str, str, str]]]:
    """relation -> [(its column, downstream model, downstream column)] from column lineage."""
    down: dict[str, list[tuple[str, str, str]]] = {}
    for m in data.models:
        for c in m.columns:
            for ref in c.lineage:
                rel, col = split_ref(ref)
                down.setdefault(rel, []).append((col, m.name, c.name))
    for v in down.values():
        v.sort()
    return down


def _rel_url(data: SiteData, rel: str) -> str:
    if rel in data.by_name:
        return model_url(rel)
    return source_url(rel) if any(s.key == rel for s in data.sources) else ""


MAX_BOXES = 40


def column_svg(data: SiteData, m: ModelInfo, down_index: Mapping[str, list[tuple[str, str, str]]],
               root: str) -> str:
    """Three stacks: upstream relations' columns -> this model's columns -> downstream columns."""
    up: dict[str, set[str]] = {}
    edges: list[tuple[tuple[str, str], tuple[str, str]]] = []
    for c in m.columns:
        for ref in c.lineage:
            rel, col = split_ref(ref)
            up.setdefault(rel, set()).add(col)
            edges.append(((rel, col), (m.name, c.name)))
    down: dict[str, set[str]] = {}
    for col, dm, dc in down_index.get(m.name, ()):
        down.setdefault(dm, set()).add(dc)
        edges.append(((m.name, col), (dm, dc)))
    if not up and not down:
        return ""
    mine = {m.name: [c.name for c in m.columns]}
    stacks = [{k: sorted(v) for k, v in sorted(up.items())[:MAX_BOXES]}, mine,
              {k: sorted(v) for k, v in sorted(down.items())[:MAX_BOXES]}]
    rows: dict[tuple[str, str, int], tuple[int, int]] = {}
    parts: list[str] = []
    height = 0
    for si, stack in enumerate(stacks):
        x, y = 8 + si * 300, 8
        for rel, cols in stack.items():
            href = _rel_url(data, rel)
            box_h = 22 + 18 * len(cols)
            parts.append(f'<g class="cbox"><rect x="{x}" y="{y}" width="220" height="{box_h}" '
                         f'rx="5"/>' + (f'<a href="{esc(root + href)}">' if href else "")
                         + f'<text class="ct" x="{x + 8}" y="{y + 15}">{esc(_label(rel))}'
                         f'</text>' + ("</a>" if href else ""))
            for i, col in enumerate(cols):
                cy = y + 22 + 18 * i
                rows[(rel, col, si)] = (x, cy + 9)
                parts.append(f'<text x="{x + 14}" y="{cy + 13}">{esc(col[:30])}</text>')
            parts.append("</g>")
            y += box_h + 10
        height = max(height, y)
    lines = []
    for (r1, c1), (r2, c2) in edges:
        s_stack = 1 if r1 == m.name else 0
        a, b = rows.get((r1, c1, s_stack)), rows.get((r2, c2, s_stack + 1))
        if a and b:
            x1, y1, x2, y2 = a[0] + 220, a[1], b[0], b[1]
            mx = (x1 + x2) // 2
            lines.append(f'<path d="M{x1} {y1}C{mx} {y1} {mx} {y2} {x2} {y2}"/>')
    w = 8 + 3 * 300 - 80 + 8
    more = sum(len(s) for s in (up, down)) - len(stacks[0]) - len(stacks[2])
    note = (f'<text x="8" y="{height + 12}">… {more} more relations not shown</text>'
            if more > 0 else "")
    return (f'<svg xmlns="http://www.w3.org/2000/svg" class="collin" width="{w}" '
            f'height="{height + (20 if note else 0)}" role="img"><g class="edges">'
            + "".join(lines) + "</g>" + "".join(parts) + note + "</svg>")
