"""Static documentation site (``fsql docs generate`` / ``fsql docs serve``).

>>> from fsql.site import load_site_data, generate_site, serve_site   # doctest: +SKIP
>>> data = load_site_data(manifest, con)          # manifest dict + read-only DuckDB connection
>>> result = generate_site(data, Path("target/docs"))
>>> serve_site(result.out_dir, port=8080)

Self-contained: no CDN, no web font, no external request; readable without JavaScript (lineage,
charts and timelines are SVG rendered here at build time); JavaScript only adds search, lineage
depth control / column view toggle and SVG export.
"""

from __future__ import annotations

from .data import SiteData, load_site_data
from .generate import SiteResult, generate_site
from .serve import serve_site

__all__ = ["SiteData", "SiteResult", "generate_site", "load_site_data", "serve_site"]
