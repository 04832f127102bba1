"""Who may talk to the feature server: Host allow-list, Origin check, JSON-only writes,
bearer tokens (read / write), CORS when configured, and a one-line access log.

``Guard`` is a plain ASGI middleware (one pass over the request headers, no allocation on
the common path) so the checks cost microseconds per request. A web page on another site
cannot push features: a cross-site ``text/plain`` POST is refused (415) before the body is
read, an ``application/json`` one needs a CORS preflight that no origin passes unless
configured, and a DNS-rebinding page is refused by the ``Host`` check (400).
"""

from __future__ import annotations

import hmac
import ipaddress
import json
import logging
import os
import socket
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping, MutableMapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fsql.errors import ConfigError

__all__ = ["ACCESS_LOG", "Guard", "ServerPolicy", "is_loopback", "load_tokens"]

ACCESS_LOG = logging.getLogger("fsql.serve.access")
TOKEN_ENV, READ_TOKEN_ENV = "FSQL_SERVE_TOKEN", "FSQL_SERVE_READ_TOKEN"
_WRITE_ROUTES = frozenset({"/push"})
_PUBLIC_ROUTES = frozenset({"/health"})  # liveness probes carry no credentials
_LOCAL_NAMES = ("localhost", "127.0.0.1", "::1")
Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


def is_loopback(host: str) -> bool:
    """Whether binding ``host`` keeps the server on this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class ServerPolicy:
    """What the server accepts. ``allowed_hosts`` are Host header names (no port; ``*``
    accepts any); ``tokens`` maps a bearer token to ``read`` or ``write`` (write includes
    read; no tokens = no authentication); ``cors_origins`` get CORS headers."""

    allowed_hosts: frozenset[str] = frozenset(_LOCAL_NAMES)
    cors_origins: tuple[str, ...] = ()
    tokens: Mapping[str, str] = field(default_factory=dict)
    max_entities: int = 10_000

    @classmethod
    def for_bind(cls, host: str, *, allow_hosts: Iterable[str] = (),
                 cors_origins: Iterable[str] = (), tokens: Mapping[str, str] | None = None,
                 max_entities: int = 10_000) -> ServerPolicy:
        """The default policy of a server bound to ``host``: the bound address, localhost
        and 127.0.0.1 (plus this machine's name on a wildcard bind) and ``allow_hosts``."""
        names = {*_LOCAL_NAMES, *(h.lower() for h in allow_hosts)}
        if host in ("0.0.0.0", "::", ""):
            names.add(socket.gethostname().lower())
        else:
            names.add(host.lower().strip("[]"))
        if max_entities < 1:
            raise ConfigError(f"--max-entities must be at least 1, got {max_entities}")
        return cls(frozenset(names), tuple(cors_origins), dict(tokens or {}), max_entities)


def load_tokens(token_file: str | Path | None = None,
                env: Mapping[str, str] | None = None) -> dict[str, str]:
    """Bearer tokens: ``$FSQL_SERVE_TOKEN`` (read + write), ``$FSQL_SERVE_READ_TOKEN``
    (read only) and ``token_file`` lines ``write <token>`` / ``read <token>`` (``#``
    comments). An unreadable file or a bad line is a ConfigError with its line."""
    env = os.environ if env is None else env
    tokens: dict[str, str] = {}
    for var, perm in ((READ_TOKEN_ENV, "read"), (TOKEN_ENV, "write")):
        if env.get(var, "").strip():
            tokens[env[var].strip()] = perm
    if token_file is not None:
        tokens.update(_token_file(Path(token_file)))
    return tokens


def _token_file(path: Path) -> dict[str, str]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f"cannot read the token file: {e}", path=str(path),
                          hint="a text file with lines 'write <token>' or 'read <token>'"
                          ) from None
    tokens = {}
    for n, line in enumerate(text.splitlines(), 1):
        parts = line.split("#", 1)[0].split()
        if not parts:
            continue
        if len(parts) != 2 or parts[0] not in ("read", "write") or len(parts[1]) < 16:
            raise ConfigError("bad token line", path=str(path), line=n,
                              expected="'write <token>' or 'read <token>', tokens of at "
                              "least 16 characters", hint="e.g. write $(openssl rand -hex 24)")
        tokens[parts[1]] = parts[0]
    if not tokens:
        raise ConfigError("the token file holds no token", path=str(path),
                          expected="lines 'write <token>' or 'read <token>'")
    return tokens


class Guard:
    """ASGI middleware applying a :class:`ServerPolicy` and writing the access log."""

    def __init__(self, app: ASGIApp, policy: ServerPolicy) -> None:
        self.app, self.policy = app, policy
        self.origins = frozenset(policy.cors_origins)
        self.tokens = [(t.encode(), p) for t, p in sorted(policy.tokens.items())]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if not ACCESS_LOG.isEnabledFor(logging.INFO):
            await self._checked(scope, receive, send)
            return
        t0, seen = time.perf_counter(), {"status": 0, "bytes": 0}

        async def logged(message: Message) -> None:
            if message["type"] == "http.response.start":
                seen["status"] = message["status"]
            elif message["type"] == "http.response.body":
                seen["bytes"] += len(message.get("body", b""))
            await send(message)

        try:
            await self._checked(scope, receive, logged)
        finally:
            _log(scope, seen["status"], seen["bytes"], time.perf_counter() - t0)

    async def _checked(self, scope: Scope, receive: Receive, send: Send) -> None:
        refusal = self.refusal(scope)
        if refusal is None:
            await self.app(scope, receive, send)
        else:
            await _send_json(send, *refusal)

    def refusal(self, scope: Scope) -> tuple[int, dict[str, Any], list[tuple[bytes, bytes]]] | None:
        """Why this request is refused (status, error body, extra headers), or None."""
        host = origin = ctype = auth = b""
        for k, v in scope["headers"]:
            if k == b"host":
                host = v
            elif k == b"origin":
                origin = v
            elif k == b"content-type":
                ctype = v
            elif k == b"authorization":
                auth = v
        return (self._host(host) or self._origin(origin, host)
                or self._auth(scope["path"], auth)
                or self._json_only(scope["method"], ctype))

    def _host(self, host: bytes) -> Any:
        name = _host_name(host.decode("latin-1"))
        if name in self.policy.allowed_hosts or "*" in self.policy.allowed_hosts:
            return None
        return _refuse(400, f"Host '{name}' is not allowed", "one of: " + ", ".join(
            sorted(self.policy.allowed_hosts)), f"start the server with --allow-host {name} "
            "if clients reach it by that name")

    def _origin(self, origin: bytes, host: bytes) -> Any:
        if not origin:
            return None
        text = origin.decode("latin-1")
        if text in self.origins or text.partition("://")[2] == host.decode("latin-1"):
            return None
        return _refuse(403, f"cross-origin request from '{text}' refused",
                       "a same-origin request or a configured CORS origin",
                       f"start the server with --cors-origin {text} to allow that site")

    def _auth(self, path: str, auth: bytes) -> Any:
        if not self.tokens or path in _PUBLIC_ROUTES:
            return None
        scheme, _, given = auth.partition(b" ")
        perm = None
        if scheme.lower() == b"bearer":
            for token, p in self.tokens:  # compare every token: no early exit to time
                if hmac.compare_digest(token, given.strip()):
                    perm = p
        if perm is None:
            return _refuse(401, "missing or unknown bearer token", "Authorization: Bearer "
                           "<token>", "ask the server's operator for a token",
                           [(b"www-authenticate", b'Bearer realm="fsql"')])
        if path in _WRITE_ROUTES and perm != "write":
            return _refuse(403, f"this token may read but not write ({path})",
                           "a write token", "use a token listed as 'write'")
        return None

    def _json_only(self, method: str, ctype: bytes) -> Any:
        if method != "POST":
            return None
        media = ctype.partition(b";")[0].strip().lower()
        if media == b"application/json":
            return None
        return _refuse(415, f"content type '{ctype.decode('latin-1') or 'none'}' refused",
                       "Content-Type: application/json", "send the body as JSON with that "
                       "header (browsers cannot send it cross-site without CORS)")


def _host_name(host: str) -> str:
    """``Host`` without its port, lowercase (``[::1]:80`` -> ``::1``)."""
    host = host.strip().lower()
    if host.startswith("["):
        return host[1:].partition("]")[0]
    return host.rpartition(":")[0] if host.count(":") == 1 else host


def _refuse(status: int, detail: str, expected: str, hint: str,
            headers: list[tuple[bytes, bytes]] | None = None
            ) -> tuple[int, dict[str, Any], list[tuple[bytes, bytes]]]:
    return status, {"detail": detail, "hint": hint, "expected": expected}, headers or []


async def _send_json(send: Send, status: int, body: dict[str, Any],
                     headers: list[tuple[bytes, bytes]]) -> None:
    data = json.dumps(body, separators=(",", ":")).encode()
    await send({"type": "http.response.start", "status": status, "headers": [
        (b"content-type", b"application/json"), (b"content-length", str(len(data)).encode()),
        *headers]})
    await send({"type": "http.response.body", "body": data})


def _log(scope: Scope, status: int, size: int, seconds: float) -> None:
    client = scope.get("client") or ("-", 0)
    ACCESS_LOG.info('%s %s:%s "%s %s" %d %dB %.1fms',
                    time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), client[0], client[1],
                    scope["method"], scope["path"], status, size, seconds * 1000)
