"""The docs site in real headless Chromium (Debian's /usr/bin/chromium, driven by Playwright):
file:// and http://127.0.0.1, navigation, search, lineage click-through and depth control,
no console error, no external request, no XSS, dark mode, non-blank screenshots, no-JS."""

from __future__ import annotations

import queue
import shutil
import struct
import threading
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from test_site import SEARCH_TEXT, XSS, shared_site

from fsql.site import serve_site

pytestmark = pytest.mark.slow  # a real chromium per test

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return shared_site(tmp_path_factory)[0]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists() and not shutil.which("chromium"):
        pytest.fail("chromium is not installed: `.ci/run` installs it (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


class Watch:
    """Fails the test on any console error, page error, dialog or non-local request."""

    def __init__(self, ctx: Any, allowed_http: str = "") -> None:
        self.errors: list[str] = []
        self.external: list[str] = []
        self.dialogs: list[str] = []
        self.allowed = ("file://", "blob:", "data:") + ((allowed_http,) if allowed_http else ())

        def route(r: Any) -> None:
            url = r.request.url
            if url.startswith(self.allowed):
                r.continue_()
            else:
                self.external.append(url)
                r.abort()
        ctx.route("**/*", route)
        ctx.on("page", self.attach)

    def attach(self, page: Any) -> None:
        page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: self.errors.append(str(e)))

        def dialog(d: Any) -> None:
            self.dialogs.append(d.message)
            d.dismiss()
        page.on("dialog", dialog)

    def check(self) -> None:
        assert not self.errors, self.errors
        assert not self.external, self.external
        assert not self.dialogs, self.dialogs


@pytest.fixture()
def ctx(browser: Any) -> Iterator[tuple[Any, Watch]]:
    c = browser.new_context(viewport={"width": 1280, "height": 900})
    w = Watch(c)
    yield c, w
    c.close()
    w.check()


def _search(page: Any, text: str) -> Any:
    page.fill("#q", text)
    page.wait_for_selector("#results li a")
    return page.locator("#results li a")


def test_file_url_navigation_search_and_lineage(site: Path, ctx: tuple[Any, Watch]) -> None:
    c, _ = ctx
    page = c.new_page()
    page.goto((site / "index.html").as_uri())
    assert "site_demo" in page.title()
    page.click("header nav >> text=Models")
    assert page.url.endswith("/models.html")
    page.click("main >> text=user_features")
    assert page.url.endswith("/m/user_features.html")
    assert page.locator("h1").inner_text().startswith("user_features")
    # search by a column description finds the feature set
    hits = _search(page, SEARCH_TEXT)
    first = hits.first
    assert "user_features" in first.inner_text()
    first.click()
    page.wait_for_url("**/m/user_features.html#col-spend")
    # lineage click-through: the downstream node navigates to its page
    page.click("#lineage svg.dag a:has(title:text-is('training_table'))")
    page.wait_for_url("**/m/training_table.html")
    page.click("#lineage svg.dag a:has(title:text-is('user_features'))")
    page.wait_for_url("**/m/user_features.html")


def test_lineage_depth_columns_and_export(site: Path, ctx: tuple[Any, Watch]) -> None:
    c, _ = ctx
    page = c.new_page()
    page.goto((site / "m" / "stg_events.html").as_uri())
    lin = page.locator("#lineage .lin")
    nodes = lin.locator(".vm svg a title")

    def shown() -> set[str]:
        return set(nodes.evaluate_all("els => els.map(e => e.textContent)"))
    one_hop = shown()
    assert "user_features" in one_hop and "training_table" not in one_hop
    lin.locator("button[data-act=more]").click()
    page.wait_for_function("document.querySelector('#lineage .lin').dataset.depth === '2'")
    assert "training_table" in shown()
    assert float(lin.get_attribute("data-render-ms") or "1e9") < 500
    lin.locator("button[data-act=less]").click()
    page.wait_for_function("document.querySelector('#lineage .lin').dataset.depth === '1'")
    assert shown() == one_hop
    # column-level view
    assert not lin.locator(".vc").is_visible()
    lin.locator("button[data-act=columns]").click()
    assert lin.locator(".vc svg.collin").is_visible() and not lin.locator(".vm").is_visible()
    with page.expect_download() as dl:
        lin.locator("button[data-act=export]").click()
    data = Path(dl.value.path()).read_text()
    assert data.startswith("<svg") and "user_features" in data
    assert dl.value.suggested_filename == "stg_events-columns.svg"


def test_served_over_http(site: Path, browser: Any) -> None:
    ready: queue.Queue[Any] = queue.Queue()
    th = threading.Thread(target=serve_site, args=(site, "127.0.0.1", 0),
                          kwargs={"on_ready": ready.put}, daemon=True)
    th.start()
    server = ready.get(timeout=10)
    base = f"http://127.0.0.1:{server.server_address[1]}/"
    c = browser.new_context()
    w = Watch(c, allowed_http=base)
    try:
        page = c.new_page()
        page.goto(base + "index.html")
        page.click("header nav >> text=Lineage")
        assert page.url == base + "lineage.html"
        page.click("svg.dag a:has(title:text-is('user_features'))")
        assert page.url == base + "m/user_features.html"
        _search(page, "max spend").first.click()
        page.wait_for_url(base + "m/training_table.html*")
        page.goto(base + "runs.html")
        page.click("main table a >> nth=0")
        assert "/r/" in page.url and page.locator("svg.timeline").count() == 1
    finally:
        c.close()
        server.shutdown()
        th.join(5)
    w.check()


def test_every_page_renders_user_text_escaped(site: Path, ctx: tuple[Any, Watch]) -> None:
    c, w = ctx
    page = c.new_page()
    pages = sorted(site.rglob("*.html"))
    assert len(pages) >= 12
    for p in pages:  # a dialog (XSS) would fire while parsing
        page.goto(p.as_uri(), wait_until="domcontentloaded")
    page.goto((site / "m" / "user_features.html").as_uri())
    main = page.inner_text("main")
    assert XSS in main  # shown as text
    assert page.evaluate("document.querySelectorAll('main script').length") == 0
    page.goto((site / "m" / "stg_events.html").as_uri())
    assert "<script>alert(2)</script>" in page.inner_text("#sql")
    hits = _search(page, "alert")
    assert hits.count() >= 1
    assert page.evaluate("document.querySelectorAll('#results script, #results img').length") == 0
    assert not w.dialogs


def test_dark_mode_changes_colours(site: Path, browser: Any) -> None:
    colours = {}
    for scheme in ("light", "dark"):
        c = browser.new_context(color_scheme=scheme)
        w = Watch(c)
        page = c.new_page()
        page.goto((site / "m" / "user_features.html").as_uri())
        colours[scheme] = page.evaluate(
            "[getComputedStyle(document.body).backgroundColor, getComputedStyle("
            "document.body).color, getComputedStyle(document.querySelector('svg.dag rect'))"
            ".fill]")
        c.close()
        w.check()
    assert all(a != b for a, b in zip(colours["light"], colours["dark"], strict=True)), colours


def _png_pixels(png: bytes) -> set[bytes]:
    """Decode an 8-bit RGB/RGBA PNG (stdlib only) into its set of distinct pixels."""
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, width = 8, b"", 0
    while pos < len(png):
        (length,) = struct.unpack(">I", png[pos:pos + 4])
        kind, body = png[pos + 4:pos + 8], png[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, colour = struct.unpack(">IIBB", body[:10])
            assert depth == 8 and colour in (2, 6)
            bpp = 3 if colour == 2 else 4
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    raw = zlib.decompress(idat)
    stride = width * bpp
    prev = bytearray(stride)
    seen: set[bytes] = set()
    for y in range(height):
        f = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        if f == 2:
            line = bytearray((a + b) & 255 for a, b in zip(line, prev, strict=True))
        elif f in (1, 3, 4):
            for i in range(stride):
                left = line[i - bpp] if i >= bpp else 0
                up = prev[i]
                if f == 1:
                    pred = left
                elif f == 3:
                    pred = (left + up) >> 1
                else:
                    ul = prev[i - bpp] if i >= bpp else 0
                    p = left + up - ul
                    pa, pb, pc = abs(p - left), abs(p - up), abs(p - ul)
                    pred = left if pa <= pb and pa <= pc else (up if pb <= pc else ul)
                line[i] = (line[i] + pred) & 255
        seen.update(bytes(line[i:i + bpp]) for i in range(0, stride, bpp * 3))
        prev = line
    return seen


def test_screenshots_are_not_blank(site: Path, ctx: tuple[Any, Watch]) -> None:
    c, _ = ctx
    page = c.new_page()
    page.set_viewport_size({"width": 800, "height": 600})
    for rel in ("index.html", "m/user_features.html", "lineage.html", "runs.html"):
        page.goto((site / rel).as_uri())
        shot = page.screenshot(type="png", clip={"x": 0, "y": 0, "width": 480, "height": 360})
        colours = _png_pixels(shot)
        assert len(colours) > 40, (rel, len(colours))


def test_content_visible_without_javascript(site: Path, browser: Any) -> None:
    c = browser.new_context(java_script_enabled=False)
    w = Watch(c)
    try:
        page = c.new_page()
        page.goto((site / "m" / "user_features.html").as_uri())
        assert page.locator(".desc").is_visible()
        assert page.locator("#lineage svg.dag").is_visible()
        assert page.locator("#lineage svg.collin").is_visible()  # both views, stacked
        assert page.locator("#statistics svg.hist").first.is_visible()
        assert page.locator("#sql pre").first.is_visible()
        assert not page.locator("#q").is_visible()  # search needs JS: hidden, not broken
        page.click("#lineage svg.dag a:has(title:text-is('training_table'))")
        assert page.url.endswith("/m/training_table.html")
        page.goto((site / "index.html").as_uri())
        assert page.locator(".tiles").is_visible()
    finally:
        c.close()
    w.check()
