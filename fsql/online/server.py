"""The HTTP feature server (Starlette app, served by uvicorn): Feast-compatible JSON.

``create_app(store)`` serves the feature sets found in the online store (so serving needs
neither DuckDB nor the project), or the ``feature_sets`` given. Endpoints:
``POST /get-online-features``, ``POST /push``, ``GET /health``, ``GET /feature-sets``,
``GET /openapi.json``. Errors are JSON ``{"detail", "hint", "expected"}`` with 4xx codes.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from fsql.errors import ConfigError, FsqlError, did_you_mean
from fsql.online.base import OnlineFeatureSet, OnlineStore
from fsql.online.openapi import openapi_schema
from fsql.online.push import check_frame, push_online
from fsql.online.read import get_online_features_columns

__all__ = ["DEFAULT_MAX_BODY", "HTTPError", "create_app", "serve"]

DEFAULT_MAX_BODY = 10 * 1024 * 1024
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
    body = json.dumps(data, separators=(",", ":"), default=str).encode()
    return Response(body, status, media_type="application/json")


def _error(e: HTTPError) -> Response:
    return _json({"detail": e.detail, "hint": e.hint, "expected": e.expected}, e.status)


class _Server:
    """Request handlers bound to one store."""

    def __init__(self, store: OnlineStore, feature_sets: Mapping[str, OnlineFeatureSet] | None,
                 validator: Validator | None, offline_writer: OfflineWriter | None,
                 max_body_bytes: int) -> None:
        self.store = store
        self.fixed = feature_sets
        self.feature_sets: Mapping[str, OnlineFeatureSet] = dict(feature_sets or {})
        self.validator = validator
        self.offline_writer = offline_writer
        self.max_body = max_body_bytes
        self.refresh()

    def refresh(self) -> None:
        """Re-read the feature sets from the store (when not given explicitly)."""
        if self.fixed is None:
            self.feature_sets = {n: lay.to_feature_set()
                                 for n, lay in sorted(self.store.layouts().items())}

    async def body(self, request: Request) -> Any:
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
        try:
            data = json.loads(b"".join(chunks))
        except (ValueError, UnicodeDecodeError) as e:
            raise HTTPError(400, f"invalid JSON: {e}", expected="a JSON object") from None
        if not isinstance(data, dict):
            raise HTTPError(400, "the request body must be a JSON object",
                            expected="a JSON object")
        return data

    def _known(self, data: Mapping[str, Any], allowed: set[str]) -> None:
        for key in sorted(data):
            if key not in allowed:
                raise HTTPError(400, f"unknown field '{key}'", hint=did_you_mean(key, allowed),
                                expected="fields " + ", ".join(sorted(allowed)))

    async def get_online_features(self, request: Request) -> Response:
        try:
            data = await self.body(request)
            self._known(data, _GET_KEYS)
            features, entities, full = _parse_get(data)
            if self.fixed is None and any(f.split(":", 1)[0] not in self.feature_sets
                                          for f in features):
                self.refresh()
            resp = get_online_features_columns(self.store, self.feature_sets, features,
                                               entities, full_feature_names=full)
            return _json(resp.to_feast_json())
        except HTTPError as e:
            return _error(e)
        except FsqlError as e:
            return _error(HTTPError(422, e.message, hint=e.hint, expected=e.expected))

    async def push(self, request: Request) -> Response:
        try:
            data = await self.body(request)
            self._known(data, _PUSH_KEYS)
            name = data.get("feature_set", data.get("push_source_name"))
            fs = self._feature_set(name)
            to = data.get("to", "online")
            if to not in _TO:
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
            return _json({"feature_set": fs.name, "rows": n, "online_written": written,
                          "offline": offline})
        except HTTPError as e:
            return _error(e)
        except FsqlError as e:
            return _error(HTTPError(422, e.message, hint=e.hint, expected=e.expected))

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
               max_body_bytes: int = DEFAULT_MAX_BODY) -> Starlette:
    """Build the feature server app.

    ``feature_sets`` None = serve what is in the online store. ``validator(name, df)`` runs
    on pushes (raise FsqlError or return a list of failure messages to reject with 422);
    ``offline_writer(name, df)`` handles ``to: offline`` / ``online_and_offline``.
    """
    s = _Server(store, feature_sets, validator, offline_writer, max_body_bytes)
    routes = [
        Route("/get-online-features", s.get_online_features, methods=["POST"]),
        Route("/push", s.push, methods=["POST"]),
        Route("/health", s.health, methods=["GET"]),
        Route("/feature-sets", s.list_feature_sets, methods=["GET"]),
        Route("/openapi.json", s.openapi, methods=["GET"]),
    ]
    app = Starlette(routes=routes)
    app.state.fsql = s
    return app


def serve(app: Starlette, host: str = "127.0.0.1", port: int = 8666, *,
          log_level: str = "warning") -> None:
    """Run ``app`` with uvicorn until interrupted (127.0.0.1 by default)."""
    import uvicorn

    uvicorn.run(app, host=host, port=port, log_level=log_level, access_log=False,
                lifespan="off", server_header=False, date_header=False)


def main(argv: list[str] | None = None) -> None:
    """``python -m fsql.online.server [--config JSON] [--root DIR] [--host H] [--port P]``."""
    import argparse
    from pathlib import Path

    from fsql.online.config import store_from_config

    p = argparse.ArgumentParser(prog="python -m fsql.online.server")
    p.add_argument("--config", default=None, help="online_store section as JSON")
    p.add_argument("--root", default=".")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8666)
    a = p.parse_args(argv)
    cfg = json.loads(a.config) if a.config else None
    serve(create_app(store_from_config(cfg, Path(a.root))), a.host, a.port)


if __name__ == "__main__":
    main()
