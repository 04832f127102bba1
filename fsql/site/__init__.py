"""Static documentation site (``fsql docs generate`` / ``fsql docs serve``).

>>> import pathlib, tempfile
>>> from fsql.site import generate_site, load_site_data, serve_site
>>> manifest = {"metadata": {"project": "demo"}, "nodes": {}}   # target/manifest.json
>>> data = load_site_data(manifest, None)  # or a read-only DuckDB connection to the warehouse
>>> result = generate_site(data, pathlib.Path(tempfile.mkdtemp()) / "docs")
>>> result.index.name, "demo" in result.index.read_text(encoding="utf-8")
('index.html', True)
>>> serve_site(result.out_dir, port=8080)   # doctest: +SKIP

Self-contained: no CDN, no web font, no external request; readable without JavaScript (lineage,
charts and timelines are SVG rendered here at build time); JavaScript only adds search, lineage
depth control / column view toggle and SVG export.
"""

from __future__ import annotations

from .data import SiteData, load_site_data
from .generate import SiteResult, generate_site
from .serve import serve_site

__all__ = ["SiteData", "SiteResult", "generate_site", "load_site_data", "serve_site"]
