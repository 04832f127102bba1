"""Write the static site: every page, the bundled CSS/JS, the search index and graph data.

Layout of ``out_dir``::

    index.html models.html sources.html entities.html tags.html lineage.html runs.html
    m/<model>.html  s/<source>.html  e/<entity>.html  r/<run>.html
    assets/site.css assets/site.js      (bundled, no external URL)
    assets/search.js                    (window.FSQL_SEARCH, loaded when the search box is used)
    assets/graph.js                     (window.FSQL_GRAPH, loaded when a lineage depth changes)

JSON goes into .js files because browsers block fetch() of file:// URLs.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from .data import SiteData
from .lineage import build_graph, column_index, graph_json, model_url
from .markup import js_json
from .model_page import builds_index, model_page_body
from .pages import iter_pages, search_index, shell

__all__ = ["SiteResult", "generate_site"]

ASSETS = ("site.css", "site.js")


@dataclass(frozen=True)
class SiteResult:
    """What ``generate_site`` wrote: relative file paths, total bytes, seconds taken."""

    out_dir: Path
    files: tuple[str, ...]
    bytes: int
    duration_s: float

    @property
    def index(self) -> Path:
        return self.out_dir / "index.html"


def _write(out: Path, rel: str, text: str, written: dict[str, int]) -> None:
    path = out / rel
    data = text.encode("utf-8")
    path.write_bytes(data)
    written[rel] = len(data)


def _remove_stale(out: Path, written: dict[str, int]) -> None:
    """Delete pages of a previous build that this build did not write (removed models)."""
    for sub in ("m", "s", "e", "r", "assets"):
        for p in (out / sub).iterdir():
            if p.is_file() and f"{sub}/{p.name}" not in written:
                p.unlink()


def generate_site(data: SiteData, out_dir: Path) -> SiteResult:
    """Render ``data`` into ``out_dir`` (created; stale pages of a previous build removed)."""
    t0 = time.perf_counter()
    out = Path(out_dir)
    for sub in ("m", "s", "e", "r", "assets"):
        (out / sub).mkdir(parents=True, exist_ok=True)
    written: dict[str, int] = {}
    pkg = resources.files("fsql.site") / "assets"
    for name in ASSETS:
        _write(out, f"assets/{name}", (pkg / name).read_text(encoding="utf-8"), written)
    g = build_graph(data)
    _write(out, "assets/graph.js", "window.FSQL_GRAPH=" + js_json(graph_json(g)) + ";\n",
           written)
    _write(out, "assets/search.js", "window.FSQL_SEARCH=" + js_json(search_index(data))
           + ";\n", written)
    for rel, title, body, root, active in iter_pages(data, g):
        _write(out, rel, shell(data, title, body, root=root, active=active), written)
    down, builds = column_index(data), builds_index(data)
    for m in data.models:
        body = model_page_body(data, g, m, down, builds)
        _write(out, model_url(m.name), shell(data, m.name, body, root="../",
                                             active="models.html"), written)
    _write(out, ".nojekyll", "", written)
    _remove_stale(out, written)
    return SiteResult(out, tuple(sorted(written)), sum(written.values()),
                      time.perf_counter() - t0)
