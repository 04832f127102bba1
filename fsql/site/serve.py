"""Serve a generated site over HTTP with the standard library (``fsql docs serve``)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

__all__ = ["serve_site"]


class _Handler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        return  # quiet: the CLI prints the URL once

    def end_headers(self) -> None:
        self.send_header("Cache-Control", "no-cache")
        self.send_header("X-Content-Type-Options", "nosniff")
        super().end_headers()


def serve_site(out_dir: Path, host: str = "127.0.0.1", port: int = 8080, *,
               on_ready: Callable[[ThreadingHTTPServer], None] | None = None) -> None:
    """Serve ``out_dir`` until interrupted (Ctrl-C) or ``server.shutdown()`` is called.

    ``port=0`` picks a free port; ``on_ready(server)`` is called once listening (its
    ``server_address`` has the real port) — the CLI prints the URL there, tests keep the handle
    to shut the server down.
    """
    root = Path(out_dir)
    if not (root / "index.html").is_file():
        from ..errors import ConfigError

        raise ConfigError(f"no generated site in {root}", hint="run `fsql docs generate` first")
    handler = functools.partial(_Handler, directory=str(root))
    with ThreadingHTTPServer((host, port), handler) as server:
        server.daemon_threads = True
        if on_ready is not None:
            on_ready(server)
        try:
            server.serve_forever(poll_interval=0.2)
        except KeyboardInterrupt:
            pass
