"""The HTTP feature server (Starlette app, served by uvicorn): Feast-compatible JSON.

``create_app(store)`` serves the feature sets found in the online store (so serving needs
neither DuckDB nor the project), or the ``feature_sets`` given. Endpoints:
``POST /get-online-features``, ``POST /push``, ``GET /health``, ``GET /feature-sets``,
``GET /openapi.json``, ``GET /docs`` (an offline page rendering the OpenAPI document).
Errors are JSON ``{"detail", "hint", "expected"}`` with 4xx codes: malformed input (invalid
UTF-8 or JSON, nesting too deep, lone surrogates, NaN, integers beyond 64 bits, wrong types)
never reaches a store. Requests pass the :class:`~fsql.online.security.Guard` first (Host,
Origin, JSON-only POSTs, bearer tokens). Large lookups run in worker threads, at most
``_HEAVY_SLOTS`` at a time, so ``/health`` and small reads stay fast beside them.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import signal
import sys
import threading
from collections.abc import Callable, Mapping
from importlib import resources
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from fsql.errors import ConfigError, FsqlError, did_you_mean
from fsql.online.base import OnlineFeatureSet, OnlineStore
from fsql.online.openapi import openapi_schema
from fsql.online.push import check_frame, push_online
from fsql.online.read import get_online_features_columns
from fsql.online.security import ACCESS_LOG, Guard, ServerPolicy, is_loopback

__all__ = ["DEFAULT_MAX_BODY", "HTTPError", "ServerPolicy", "create_app", "serve"]

DEFAULT_MAX_BODY = 10 * 1024 * 1024
_INLINE_KEYS = 256  # lookups of more entity keys run in a worker thread
_INLINE_BYTES = 64 * 1024  # larger bodies are read and parsed under a heavy slot
_SLICE = 4096  # list items per json.dumps call in large answers
_HEAVY_SLOTS = 2  # large requests at a time: bounds memory under many concurrent ones
_SURROGATE = re.compile(rb"\\u[dD][89a-fA-F]")
_LOG = logging.getLogger("fsql.serve")
Validator = Callable[[str, Mapping[str, list[Any]]], Any]
OfflineWriter = Callable[[str, Mapping[str, list[Any]]], Any]
_GET_KEYS = {"features", "entities", "full_feature_names"}
_PUSH_KEYS = {"push_source_name", "feature_set", "df", "to"}
_TO = {"online": (True, False), "offline": (False, True), "online_and_offline": (True, True),
       "both": (True, True)}


class HTTPError(Exception):
    """An error answered as JSON with ``status``."""

    def __init__(self, status: int, detail: str, *, hint: str | None = None,
                 expected: str | None = None) -> None:
        super().__init__(detail)
        self.status, self.detail, self.hint, self.expected = status, detail, hint, expected


def _json(data: Any, status: int = 200) -> Response:
    body = _dumps(data).encode()
    return Response(body, status, media_type="application/json")


def _answer(work: Callable[[Any], Any], data: Any) -> Response:
    """``work(data)`` as JSON, encoded in slices: ``json.dumps`` holds the GIL for its
    whole call, and one call on a maximal answer would stall the event loop."""
    out: list[str] = []
    _dump_sliced(work(data), out)
    return Response("".join(out).encode(), 200, media_type="application/json")


def _dump_sliced(v: Any, out: list[str]) -> None:
    if isinstance(v, dict):
        out.append("{")
        for i, (k, item) in enumerate(v.items()):
            out.append(("," if i else "") + json.dumps(str(k)) + ":")
            _dump_sliced(item, out)
        out.append("}")
    elif isinstance(v, list) and v and isinstance(v[0], dict | list):
        out.append("[")
        for i, item in enumerate(v):
            out.append("," if i else "")
            _dump_sliced(item, out)
        out.append("]")
    elif isinstance(v, list) and len(v) > _SLICE:
        parts = [_dumps(v[i:i + _SLICE])[1:-1] for i in range(0, len(v), _SLICE)]
        out.append("[" + ",".join(parts) + "]")
    else:
        out.append(_dumps(v))


def _dumps(v: Any) -> str:
    return json.dumps(v, separators=(",", ":"), default=str)


def _error(e: HTTPError) -> Response:
    return _json({"detail": e.detail, "hint": e.hint, "expected": e.expected}, e.status)


def _loads(raw: bytes) -> Any:
    """Strict JSON: UTF-8, no NaN/Infinity, bounded nesting, no lone surrogates."""
    try:
        data = json.loads(raw.decode("utf-8"), parse_constant=_no_constant)
    except UnicodeDecodeError as e:
        raise HTTPError(400, f"the body is not valid UTF-8 ({e.reason} at byte {e.start})",
                        expected="a JSON object in UTF-8") from None
    except RecursionError:
        raise HTTPError(400, "JSON nested too deeply", expected="a flat JSON object") from None
    except ValueError as e:
        raise HTTPError(400, f"invalid JSON: {e}", expected="a JSON object") from None
    if _SURROGATE.search(raw) and not _utf8_clean(data):
        raise HTTPError(400, "the body holds a lone UTF-16 surrogate (\\ud800-\\udfff)",
                        expected="valid Unicode strings")
    if not isinstance(data, dict):
        raise HTTPError(400, "the request body must be a JSON object", expected="a JSON object")
    return data


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _utf8_clean(value: Any) -> bool:
    """Every string in ``value`` encodes as UTF-8 (paired surrogates were joined by the
    decoder; only lone ones fail)."""
    stack = [value]
    while stack:
        v = stack.pop()
        if isinstance(v, str):
            try:
                v.encode("utf-8")
            except UnicodeEncodeError:
                return False
        elif isinstance(v, dict):
            stack.extend(v)
            stack.extend(v.values())
        elif isinstance(v, list):
            stack.extend(v)
    return True


class _Server:
    """Request handlers bound to one store."""

    def __init__(self, store: OnlineStore, feature_sets: Mapping[str, OnlineFeatureSet] | None,
                 validator: Validator | None, offline_writer: OfflineWriter | None,
                 max_body_bytes: int, max_entities: int) -> None:
        self.store = store
        self.fixed = feature_sets
        self.feature_sets: Mapping[str, OnlineFeatureSet] = dict(feature_sets or {})
        self.validator = validator
        self.offline_writer = offline_writer
        self.max_body = max_body_bytes
        self.max_entities = max_entities
        self.heavy: asyncio.Semaphore | None = None  # created on the server's event loop
        self.refresh()

    def refresh(self) -> None:
        """Re-read the feature sets from the store (when not given explicitly)."""
        if self.fixed is None:
            self.feature_sets = {n: lay.to_feature_set()
                                 for n, lay in sorted(self.store.layouts().items())}

    def _slot(self) -> asyncio.Semaphore:
        if self.heavy is None:
            self.heavy = asyncio.Semaphore(_HEAVY_SLOTS)
        return self.heavy

    async def handle(self, request: Request, work: Callable[[Any], Any],
                     shape: Callable[[dict[str, Any]], tuple[int, Any]]) -> Response:
        """Read the body, check its ``shape`` (-> rows, arguments), run ``work(arguments)``
        (in a worker thread when large) and answer JSON."""
        size = request.headers.get("content-length", "")
        try:
            if size.isdigit() and int(size) <= _INLINE_BYTES:
                n, args = shape(_loads(await self.body(request)))
                if n <= _INLINE_KEYS:
                    return _json(work(args))
                async with self._slot():
                    return await run_in_threadpool(_answer, work, args)
            async with self._slot():
                data = await run_in_threadpool(_loads, await self.body(request))
                return await run_in_threadpool(_answer, work, shape(data)[1])
        except HTTPError as e:
            return _error(e)
        except FsqlError as e:
            return _error(HTTPError(422, e.message, hint=e.hint, expected=e.expected))

    async def body(self, request: Request) -> bytes:
        size = request.headers.get("content-length")
        if size is not None and size.isdigit() and int(size) > self.max_body:
            raise HTTPError(413, f"request body of {size} bytes exceeds the limit of "
                            f"{self.max_body} bytes", hint="send fewer entities per request")
        chunks, total = [], 0
        async for chunk in request.stream():
            total += len(chunk)
            if total > self.max_body:
                raise HTTPError(413, f"request body exceeds the limit of {self.max_body} bytes")
            chunks.append(chunk)
        return b"".join(chunks)

    def _known(self, data: Mapping[str, Any], allowed: set[str]) -> None:
        for key in sorted(data):
            if key not in allowed:
                raise HTTPError(400, f"unknown field '{key}'", hint=did_you_mean(key, allowed),
                                expected="fields " + ", ".join(sorted(allowed)))

    def _capped(self, n: int, what: str) -> int:
        if n > self.max_entities:
            raise HTTPError(413, f"{n} {what} in one request exceed the limit of "
                            f"{self.max_entities}", expected=f"at most {self.max_entities}",
                            hint="split the request (or raise --max-entities)")
        return n

    def _get_shape(self, data: dict[str, Any]) -> tuple[int, Any]:
        self._known(data, _GET_KEYS)
        args = _parse_get(data)
        return self._capped(len(next(iter(args[1].values()))), "entity keys"), args

    def _read(self, args: tuple[list[str], dict[str, list[Any]], bool]) -> Any:
        features, entities, full = args
        if self.fixed is None and any(f.split(":", 1)[0] not in self.feature_sets
                                      for f in features):
            self.refresh()
        resp = get_online_features_columns(self.store, self.feature_sets, features,
                                           entities, full_feature_names=full)
        return resp.to_feast_json()

    async def get_online_features(self, request: Request) -> Response:
        return await self.handle(request, self._read, self._get_shape)

    def _push_shape(self, data: dict[str, Any]) -> tuple[int, Any]:
        self._known(data, _PUSH_KEYS)
        df = data.get("df")
        first = next(iter(df.values()), None) if isinstance(df, dict) else None
        return self._capped(len(first) if isinstance(first, list) else 0, "rows"), data

    def _push(self, data: dict[str, Any]) -> Any:
        fs = self._feature_set(data.get("feature_set", data.get("push_source_name")))
        to = data.get("to", "online")
        if not isinstance(to, str) or to not in _TO:
            raise HTTPError(400, f"unknown push target {to!r}", hint=did_you_mean(
                str(to), _TO), expected="online, offline or online_and_offline")
        online, offline = _TO[to]
        df = data.get("df")
        n = check_frame(fs, df)  # type: ignore[arg-type]
        if self.validator is not None:
            _check(self.validator(fs.name, df), fs.name)  # type: ignore[arg-type]
        if offline:
            if self.offline_writer is None:
                raise HTTPError(400, "offline push is not configured on this server",
                                hint="push with \"to\": \"online\"")
            self.offline_writer(fs.name, df)  # type: ignore[arg-type]
        written = push_online(self.store, fs, df) if online else 0  # type: ignore[arg-type]
        return {"feature_set": fs.name, "rows": n, "online_written": written,
                "offline": offline}

    async def push(self, request: Request) -> Response:
        return await self.handle(request, self._push, self._push_shape)

    def _feature_set(self, name: Any) -> OnlineFeatureSet:
        if not isinstance(name, str):
            raise HTTPError(400, "push needs 'feature_set' (or 'push_source_name')",
                            expected="a feature set name")
        if name not in self.feature_sets:
            self.refresh()
        fs = self.feature_sets.get(name)
        if fs is None:
            raise HTTPError(422, f"unknown feature set '{name}'",
                            hint=did_you_mean(name, self.feature_sets),
                            expected="one of: " + ", ".join(sorted(self.feature_sets)))
        return fs

    async def health(self, request: Request) -> Response:
        try:
            n = len(self.store.status())
        except Exception as e:  # noqa: BLE001 - any store failure means unhealthy
            return _json({"detail": f"online store unreachable: {e}", "status": "error"}, 503)
        return _json({"status": "ok", "store": self.store.kind, "feature_sets": n})

    async def list_feature_sets(self, request: Request) -> Response:
        self.refresh()
        status = self.store.status()
        out = []
        for name, fs in sorted(self.feature_sets.items()):
            st = status.get(name)
            out.append({
                "name": name, "version": fs.version, "join_keys": list(fs.join_keys),
                "timestamp": fs.timestamp, "ttl_seconds": fs.ttl_seconds,
                "features": [{"name": f, "type": fs.feature_types.get(f)} for f in fs.features],
                "online": st.to_dict() if st else None,
            })
        return _json(out)

    async def openapi(self, request: Request) -> Response:
        return _json(openapi_schema())

    async def docs(self, request: Request) -> Response:
        page = resources.files("fsql.online").joinpath("docs.html").read_bytes()
        return Response(page, media_type="text/html; charset=utf-8", headers={
            "content-security-policy": "default-src 'none'; script-src 'unsafe-inline'; "
            "style-src 'unsafe-inline'; connect-src 'self'"})


def _parse_get(data: Mapping[str, Any]) -> tuple[list[str], dict[str, list[Any]], bool]:
    features = data.get("features")
    if (not isinstance(features, list) or not features
            or not all(isinstance(f, str) for f in features)):
        raise HTTPError(400, "'features' must be a non-empty list of 'feature_set:feature'",
                        expected='["feature_set:feature", ...]')
    entities = data.get("entities")
    if not isinstance(entities, dict) or not entities:
        raise HTTPError(400, "'entities' must be an object of join key -> list of values",
                        expected='{"user_id": [1, 2]}')
    if (not all(isinstance(v, list) for v in entities.values())
            or len({len(v) for v in entities.values()}) != 1):
        raise HTTPError(400, "every entities value must be a list, all of the same length",
                        expected='{"user_id": [1, 2]}')
    full = data.get("full_feature_names", False)
    if not isinstance(full, bool):
        raise HTTPError(400, "'full_feature_names' must be a boolean", expected="true/false")
    return features, entities, full


def _check(outcome: Any, name: str) -> None:
    """A validator may raise FsqlError, or return failures (a list of messages / False)."""
    if outcome is None or outcome is True:
        return
    if outcome is False or (isinstance(outcome, list | tuple) and outcome):
        detail = "; ".join(map(str, outcome)) if isinstance(outcome, list | tuple) else "failed"
        raise ConfigError(f"push to '{name}' failed validation: {detail}", model=name)


def create_app(store: OnlineStore, feature_sets: Mapping[str, OnlineFeatureSet] | None = None,
               *, validator: Validator | None = None, offline_writer: OfflineWriter | None = None,
               max_body_bytes: int = DEFAULT_MAX_BODY,
               policy: ServerPolicy | None = None) -> Any:
    """Build the feature server app (an ASGI app: the Starlette routes behind the guard).

    ``feature_sets`` None = serve what is in the online store. ``validator(name, df)`` runs
    on pushes (raise FsqlError or return a list of failure messages to reject with 422);
    ``offline_writer(name, df)`` handles ``to: offline`` / ``online_and_offline``.
    ``policy`` (default: loopback names only, no tokens, no CORS) says who may call.
    """
    policy = policy or ServerPolicy()
    s = _Server(store, feature_sets, validator, offline_writer, max_body_bytes,
                policy.max_entities)
    routes = [
        Route("/get-online-features", s.get_online_features, methods=["POST"]),
        Route("/push", s.push, methods=["POST"]),
        Route("/health", s.health, methods=["GET"]),
        Route("/feature-sets", s.list_feature_sets, methods=["GET"]),
        Route("/openapi.json", s.openapi, methods=["GET"]),
        Route("/docs", s.docs, methods=["GET"]),
    ]
    app = Starlette(routes=routes, exception_handlers={Exception: _internal})
    app.state.fsql = s
    guarded: Any = Guard(app, policy)
    if policy.cors_origins:
        from starlette.middleware.cors import CORSMiddleware

        guarded = CORSMiddleware(guarded, allow_origins=list(policy.cors_origins),
                                 allow_methods=["GET", "POST"],
                                 allow_headers=["content-type", "authorization"])
    guarded.state = app.state
    return guarded


async def _internal(request: Request, exc: Exception) -> Response:
    """A bug, not the client's fault: logged with its traceback, answered as JSON."""
    _LOG.error("internal error on %s %s", request.method, request.url.path, exc_info=exc)
    return _json({"detail": f"internal error: {type(exc).__name__}", "hint": "see the "
                  "server log; please report it", "expected": None}, 500)


def check_bind(host: str, policy: ServerPolicy, insecure: bool) -> None:
    """Refuse a non-loopback bind without tokens unless ``insecure``; warn when insecure."""
    if is_loopback(host) or policy.tokens:
        return
    if not insecure:
        raise ConfigError(f"refusing to serve on {host} without authentication",
                          expected="a loopback address, or a bearer token",
                          hint="set FSQL_SERVE_TOKEN (or --token-file); or pass --insecure "
                          "to serve every client on the network without a token")
    print(f"warning: serving on {host} WITHOUT authentication (--insecure): anyone who "
          "can reach this port can read and push features", file=sys.stderr)


def serve(app: Any, host: str = "127.0.0.1", port: int = 8666, *,
          log_level: str = "warning", access_log: bool = True) -> None:
    """Run ``app`` with uvicorn until interrupted (127.0.0.1 by default). SIGTERM and
    Ctrl+C finish the requests in flight (up to 10 s), then close the store."""
    import uvicorn

    if access_log and not ACCESS_LOG.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(message)s"))
        ACCESS_LOG.addHandler(handler)
    ACCESS_LOG.setLevel(logging.INFO if access_log else logging.WARNING)
    ACCESS_LOG.propagate = False
    stops: list[int] = []
    if threading.current_thread() is threading.main_thread():
        # uvicorn re-raises the stop signal once it has shut down; answering it here makes
        # a requested stop an orderly exit (status 0, store closed) instead of a kill
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda signum, frame: stops.append(signum))
    try:
        uvicorn.run(app, host=host, port=port, log_level=log_level, access_log=False,
                    lifespan="off", server_header=False, date_header=False,
                    timeout_graceful_shutdown=10)
    finally:
        app.state.fsql.store.close()
    why = f" ({signal.Signals(stops[0]).name})" if stops else ""
    print(f"fsql serve: stopped{why}", file=sys.stderr)


def main(argv: list[str] | None = None) -> None:
    """``python -m fsql.online.server [--config JSON] [--root DIR] [--host H] [--port P]
    [--allow-host H] [--token-file F] [--insecure] [--max-entities N] [--quiet]``."""
    import argparse
    from pathlib import Path

    from fsql.online.config import store_from_config
    from fsql.online.security import load_tokens

    p = argparse.ArgumentParser(prog="python -m fsql.online.server")
    p.add_argument("--config", default=None, help="online_store section as JSON")
    p.add_argument("--root", default=".")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8666)
    p.add_argument("--allow-host", action="append", default=[])
    p.add_argument("--token-file", default=None)
    p.add_argument("--insecure", action="store_true")
    p.add_argument("--max-entities", type=int, default=10_000)
    p.add_argument("--quiet", action="store_true", help="no access log")
    a = p.parse_args(argv)
    try:
        policy = ServerPolicy.for_bind(a.host, allow_hosts=a.allow_host,
                                       tokens=load_tokens(a.token_file),
                                       max_entities=a.max_entities)
        check_bind(a.host, policy, a.insecure)
    except FsqlError as e:
        print(e.format(), file=sys.stderr)
        raise SystemExit(2) from None
    cfg = json.loads(a.config) if a.config else None
    serve(create_app(store_from_config(cfg, Path(a.root)), policy=policy), a.host, a.port,
          access_log=not a.quiet)


if __name__ == "__main__":
    main()
