"""The feature server's safety (issue 17, part 1): a real uvicorn server on 127.0.0.1 hit with
httpx — Host allow-list, foreign Origins, JSON-only POSTs, bearer tokens, CORS, malformed
input always a 4xx JSON answer on a kept-alive connection, the entity-key cap, /health beside
maximal requests, the offline /docs page, the access log and SIGTERM."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import duckdb
import httpx
import pytest
from online_fixtures import ServerThread, free_port

from fsql.online import OnlineFeatureSet, SQLiteStore, materialize
from fsql.online.security import ServerPolicy
from fsql.online.server import create_app

ROOT = Path(__file__).resolve().parents[1]
N_USERS = 50_000
FS = OnlineFeatureSet("users", "tx", 1, ("user_id",), "ts", None,
                      tuple(f"f{i}" for i in range(8)) + ("tier",),
                      {"user_id": "BIGINT", **{f"f{i}": "DOUBLE" for i in range(8)},
                       "tier": "VARCHAR"})
NAMES = OnlineFeatureSet("names", "nm", 1, ("name",), "ts", None, ("x",),
                         {"name": "VARCHAR", "x": "DOUBLE"})
WRITE, READ = "w" * 8 + "-write-token-1", "r" * 8 + "-read-token-12"
JSON = {"content-type": "application/json"}


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("online_security") / "online.sqlite"
    con = duckdb.connect()
    feats = ", ".join(f"i * {k}.5 as f{k}" for k in range(8))
    con.execute(f"create table tx as select i as user_id, timestamp '2026-01-01' as ts, "
                f"{feats}, 'tier_' || (i % 7) as tier from range({N_USERS}) t(i)")
    con.execute("create table nm as select 'n' || i as name, timestamp '2026-01-01' as ts, "
                "i * 1.0 as x from range(10) t(i)")
    with SQLiteStore(path) as store:
        materialize(con, FS, store)
        materialize(con, NAMES, store)
    return path


def _server(db: Path, policy: ServerPolicy | None = None) -> ServerThread:
    return ServerThread(create_app(SQLiteStore(db), policy=policy))


@pytest.fixture(scope="module")
def open_url(db: Path) -> Iterator[str]:
    """No tokens, default policy: loopback names only."""
    with _server(db, ServerPolicy(max_entities=N_USERS)) as srv:
        yield srv.url


def _read(n: int = 1, **kw: object) -> dict[str, object]:
    return {"features": ["users:f0", "users:tier"], "entities": {"user_id": list(range(n))},
            **kw}


def _push_body(uid: int = 10**9) -> dict[str, object]:
    return {"feature_set": "users", "df": {"user_id": [uid], "ts": ["2026-02-01"],
                                           "tier": ["pushed"],
                                           **{f"f{i}": [1.0] for i in range(8)}}}


def _tier(url: str, uid: int, headers: dict[str, str] | None = None) -> object:
    r = httpx.post(url + "/get-online-features", json={"features": ["users:tier"],
                   "entities": {"user_id": [uid]}}, headers=headers)
    return r.json()["results"][1]["values"][0]


# -- cross-site writes --------------------------------------------------------------------------

def test_text_plain_push_is_refused_and_writes_nothing(open_url: str) -> None:
    """What a web page can send cross-site without a CORS preflight."""
    for ctype in ("text/plain", "application/x-www-form-urlencoded", "multipart/form-data", ""):
        r = httpx.post(open_url + "/push", content=json.dumps(_push_body(7)),
                       headers={"content-type": ctype} if ctype else {})
        assert r.status_code == 415, (ctype, r.text)
        assert r.json()["expected"] == "Content-Type: application/json"
    assert _tier(open_url, 7) == "tier_0"  # untouched
    r = httpx.post(open_url + "/push", json=_push_body(7),
                   headers={"content-type": "Application/JSON; charset=utf-8"})
    assert r.status_code == 200, r.text
    assert _tier(open_url, 7) == "pushed"


@pytest.mark.parametrize("host", ["evil.example", "evil.example:80", "127.0.0.1.evil.example",
                                  "[::2]:1", ""])
def test_foreign_host_is_refused(open_url: str, host: str) -> None:
    """DNS rebinding: a page on evil.example re-pointed to 127.0.0.1 sends its own Host."""
    for path, method in (("/push", "POST"), ("/get-online-features", "POST"),
                         ("/feature-sets", "GET")):
        r = httpx.request(method, open_url + path, json=_push_body(8), headers={"host": host})
        assert r.status_code == 400, (host, path, r.text)
        assert "is not allowed" in r.json()["detail"]
        assert "--allow-host" in r.json()["hint"]


@pytest.mark.parametrize("host", ["localhost", "LOCALHOST:8666", "127.0.0.1:1", "[::1]:8666"])
def test_loopback_hosts_are_allowed(open_url: str, host: str) -> None:
    assert httpx.get(open_url + "/health", headers={"host": host}).status_code == 200


def test_foreign_origin_is_refused_same_origin_allowed(open_url: str) -> None:
    port = open_url.rsplit(":", 1)[1]
    r = httpx.post(open_url + "/push", json=_push_body(9),
                   headers={"origin": "https://evil.example"})
    assert r.status_code == 403 and "cross-origin" in r.json()["detail"]
    assert "access-control-allow-origin" not in r.headers  # no CORS unless configured
    r = httpx.options(open_url + "/push", headers={
        "origin": "https://evil.example", "access-control-request-method": "POST"})
    assert "access-control-allow-origin" not in r.headers
    r = httpx.post(open_url + "/get-online-features", json=_read(),
                   headers={"origin": f"http://127.0.0.1:{port}"})
    assert r.status_code == 200, r.text
    assert _tier(open_url, 9) == "tier_2"


def test_cors_only_for_configured_origins(db: Path) -> None:
    site = "https://app.example"
    with _server(db, ServerPolicy(cors_origins=(site,))) as srv:
        pre = httpx.options(srv.url + "/get-online-features", headers={
            "origin": site, "access-control-request-method": "POST",
            "access-control-request-headers": "content-type"})
        assert pre.status_code == 200
        assert pre.headers["access-control-allow-origin"] == site
        r = httpx.post(srv.url + "/get-online-features", json=_read(), headers={"origin": site})
        assert r.status_code == 200 and r.headers["access-control-allow-origin"] == site
        other = httpx.post(srv.url + "/get-online-features", json=_read(),
                           headers={"origin": "https://other.example"})
        assert other.status_code == 403
        assert "access-control-allow-origin" not in other.headers


# -- bearer tokens ---------------------------------------------------------------------------

def test_tokens_separate_reads_and_writes(db: Path) -> None:
    policy = ServerPolicy(tokens={WRITE: "write", READ: "read"})
    with _server(db, policy) as srv:
        url = srv.url
        assert httpx.get(url + "/health").status_code == 200  # liveness probes: no token
        for headers in ({}, {"authorization": "Bearer nope"}, {"authorization": READ},
                        {"authorization": f"Basic {READ}"}):
            r = httpx.post(url + "/get-online-features", json=_read(), headers=headers)
            assert r.status_code == 401, headers
            assert r.headers["www-authenticate"].startswith("Bearer")
        assert httpx.get(url + "/feature-sets").status_code == 401
        as_reader = {"authorization": f"Bearer {READ}"}
        r = httpx.post(url + "/get-online-features", json=_read(), headers=as_reader)
        assert r.status_code == 200
        r = httpx.post(url + "/push", json=_push_body(11), headers=as_reader)
        assert r.status_code == 403 and "may read but not write" in r.json()["detail"]
        assert _tier(url, 11, as_reader) == "tier_4"
        as_writer = {"authorization": f"bearer {WRITE}"}
        assert httpx.post(url + "/push", json=_push_body(11), headers=as_writer
                          ).status_code == 200
        assert _tier(url, 11, as_writer) == "pushed"


def test_tokens_from_env_and_file(tmp_path: Path) -> None:
    from fsql.errors import ConfigError
    from fsql.online.security import load_tokens

    f = tmp_path / "tokens"
    f.write_text(f"# who may call\nwrite {WRITE}\n\nread {READ}  # dashboards\n")
    assert load_tokens(f, env={}) == {WRITE: "write", READ: "read"}
    assert load_tokens(None, env={"FSQL_SERVE_TOKEN": "abc", "FSQL_SERVE_READ_TOKEN": "r"}
                       ) == {"abc": "write", "r": "read"}
    f.write_text(f"write {WRITE}\nadmin {READ}\n")
    with pytest.raises(ConfigError) as e:
        load_tokens(f, env={})
    assert e.value.line == 2 and "'write <token>' or 'read <token>'" in (e.value.expected or "")
    f.write_text("write short\n")
    with pytest.raises(ConfigError, match="bad token line"):
        load_tokens(f, env={})
    with pytest.raises(ConfigError, match="cannot read the token file"):
        load_tokens(tmp_path / "missing", env={})


# -- malformed input ---------------------------------------------------------------------------

GET = "/get-online-features"
MALFORMED = [
    (GET, b'{"features":' + b"[" * 100_000 + b"]" * 100_000 + b"}", 400, "nested too deeply"),
    (GET, b'{"features": ["users:f0"], "entities": {"user_id": [' + b"[" * 500 + b"]" * 500
     + b"]}}", 422, "must be an integer"),
    (GET, json.dumps(_read()).encode().replace(b"[0]", b"[1180591620717411303424]"), 422,
     "does not fit in 64 bits"),
    (GET, json.dumps(_read()).encode().replace(b"[0]", b"[-9223372036854775809]"), 422,
     "does not fit in 64 bits"),
    (GET, json.dumps(_read()).encode().replace(b"[0]", b"[9" + b"0" * 5000 + b"]"), 400,
     "invalid JSON"),
    (GET, b'{"features": ["names:x"], "entities": {"name": ["\\ud800"]}}', 400,
     "lone UTF-16 surrogate"),
    (GET, b'{"features": ["names:\\udfff"], "entities": {"name": ["a"]}}', 400,
     "lone UTF-16 surrogate"),
    (GET, b'{"features": ["users:f0"], "entities": {"user_id": [NaN]}}', 400, "NaN"),
    (GET, b'{"features": ["users:f0"], "entities": {"user_id": [1e999]}}', 422,
     "must be an integer"),
    (GET, b'{"features": ["users:f0"], "entities": {"user_id": ["\xff"]}}', 400,
     "not valid UTF-8"),
    (GET, json.dumps(_read() | {"entities": {"user_id": [True]}}).encode(), 422,
     "must be an integer"),
    (GET, json.dumps(_read() | {"entities": {"user_id": [{"a": 1}]}}).encode(), 422,
     "must be an integer"),
    (GET, json.dumps(_read() | {"entities": {"user_id": 5}}).encode(), 400, "must be a list"),
    (GET, json.dumps(_read() | {"features": "users:f0"}).encode(), 400, "non-empty list"),
    (GET, json.dumps(_read() | {"features": [["users:f0"]]}).encode(), 400, "non-empty list"),
    (GET, json.dumps(_read() | {"features": ["users:nope"]}).encode(), 422, "unknown feature"),
    (GET, json.dumps(_read() | {"features": ["nope:f0"]}).encode(), 422, "unknown feature set"),
    (GET, json.dumps(_read() | {"full_feature_names": "yes"}).encode(), 400, "boolean"),
    (GET, b'"just a string"', 400, "must be a JSON object"),
    (GET, b"", 400, "invalid JSON"),
    ("/push", json.dumps(_push_body(1)).encode().replace(b'"2026-02-01"', b"{}"), 422,
     "not a timestamp"),
    ("/push", json.dumps(_push_body(1)).encode().replace(b'"2026-02-01"', b"1e300"), 422,
     "out of range"),
    ("/push", json.dumps(_push_body(2**70)).encode(), 422, "within 64 bits"),
    ("/push", json.dumps(_push_body(1)).encode().replace(b'"f0": [1.0]', b'"f0": [1e999]'), 422,
     "finite number"),
    ("/push", json.dumps(_push_body(1)).encode().replace(b'"f0": [1.0]',
                                                          b'"f0": [' + b"9" * 400 + b"]"), 422,
     "finite number"),
    ("/push", json.dumps(_push_body(1)).encode().replace(b'"pushed"', b'"\\ud834"'), 400,
     "surrogate"),
    ("/push", json.dumps(_push_body(1) | {"to": ["online"]}).encode(), 400,
     "unknown push target"),
    ("/push", json.dumps(_push_body(1) | {"df": [1, 2]}).encode(), 422, "df must be"),
]


@pytest.mark.parametrize(("path", "body", "status", "needle"), MALFORMED,
                         ids=[f"{i}-{m[3][:20]}" for i, m in enumerate(MALFORMED)])
def test_malformed_input_is_a_4xx_json_on_a_kept_connection(
        open_url: str, path: str, body: bytes, status: int, needle: str) -> None:
    with httpx.Client(base_url=open_url, timeout=30) as c:
        r = c.post(path, content=body, headers=JSON)
        assert r.status_code == status, r.text[:300]
        assert r.headers["content-type"] == "application/json"
        assert needle in r.json()["detail"], r.json()
        assert r.headers.get("connection") != "close"
        again = c.post(GET, json=_read())  # the same keep-alive connection still serves
        assert again.status_code == 200
        assert len(c._transport._pool.connections) == 1  # type: ignore[attr-defined]


def test_valid_surrogate_pairs_pass(open_url: str) -> None:
    body = b'{"features": ["names:x"], "entities": {"name": ["\\ud834\\udd1e", "n3"]}}'
    r = httpx.post(open_url + GET, content=body, headers=JSON)
    assert r.status_code == 200 and r.json()["results"][1]["values"] == [None, 3.0]


# -- large requests ----------------------------------------------------------------------------

def test_entity_key_cap(db: Path) -> None:
    with _server(db, ServerPolicy(max_entities=100)) as srv:
        assert httpx.post(srv.url + GET, json=_read(100)).status_code == 200
        r = httpx.post(srv.url + GET, json=_read(101))
        assert r.status_code == 413
        assert r.json()["detail"] == "101 entity keys in one request exceed the limit of 100"
        body = _push_body(1)
        body["df"] = {k: v * 101 for k, v in body["df"].items()}  # type: ignore[attr-defined]
        r = httpx.post(srv.url + "/push", json=body)
        assert r.status_code == 413 and "101 rows" in r.json()["detail"]


class ProcServer:
    """``python -m fsql.online.server`` in its own process (stderr kept in a file)."""

    def __init__(self, db: Path, tmp: Path, *args: str, env: dict[str, str] | None = None
                 ) -> None:
        self.env = env
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.err = tmp / f"server{self.port}.log"
        cfg = json.dumps({"type": "sqlite", "path": str(db)})
        self.cmd = [sys.executable, "-m", "fsql.online.server", "--config", cfg, "--port",
                    str(self.port), *args]

    def __enter__(self) -> ProcServer:
        with self.err.open("wb") as err:
            self.proc = subprocess.Popen(self.cmd, cwd=ROOT, stderr=err, env=self.env)
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(self.url + "/health", timeout=1).status_code == 200:
                    return self
            except httpx.TransportError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(self.log()) from None
                time.sleep(0.02)

    def log(self) -> str:
        return self.err.read_text()

    def __exit__(self, *exc: object) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)


def _maximal(url: str, done: list[float], n: int = N_USERS) -> None:
    body = json.dumps({"features": ["users:*"], "entities": {"user_id": list(range(n))}})
    t = time.perf_counter()
    r = httpx.post(url + GET, content=body, headers=JSON, timeout=120)
    assert r.status_code == 200 and r.content.count(b'"values"') == 10
    done.append(time.perf_counter() - t)


def test_health_answers_fast_beside_maximal_requests(db: Path, tmp_path: Path) -> None:
    """Four maximal lookups (50,000 keys x 9 features) at once; /health stays quick."""
    done: list[float] = []
    with ProcServer(db, tmp_path, "--quiet", "--max-entities", str(N_USERS)) as srv:
        threads = [threading.Thread(target=_maximal, args=(srv.url, done)) for _ in range(4)]
        for t in threads:
            t.start()
        health = []
        with httpx.Client(base_url=srv.url) as c:
            while any(t.is_alive() for t in threads):
                t0 = time.perf_counter()
                assert c.get("/health").status_code == 200
                health.append(time.perf_counter() - t0)
                time.sleep(0.01)
        for t in threads:
            t.join()
    health.sort()
    print(f"\nmaximal requests {[round(d, 2) for d in done]} s; /health during them: "
          f"n={len(health)} median {health[len(health) // 2] * 1000:.1f} ms, "
          f"p90 {health[int(len(health) * 0.9)] * 1000:.1f} ms")
    assert len(done) == 4 and max(done) > 0.2  # they ran long enough to matter
    assert health[len(health) // 2] < 0.05


# -- access log, SIGTERM, binding, /docs -------------------------------------------------------

def test_access_log_and_graceful_sigterm(db: Path, tmp_path: Path) -> None:
    """SIGTERM while a maximal request runs: it is answered, then the server exits 0."""
    done: list[float] = []
    with ProcServer(db, tmp_path, "--max-entities", str(N_USERS)) as srv:
        assert httpx.post(srv.url + GET, json=_read(3)).status_code == 200
        assert httpx.post(srv.url + GET, content=b"x", headers=JSON).status_code == 400
        t = threading.Thread(target=_maximal, args=(srv.url, done))
        t.start()
        time.sleep(0.3)
        srv.proc.send_signal(signal.SIGTERM)
        t.join()
        assert srv.proc.wait(timeout=15) == 0
        log = srv.log()
    assert len(done) == 1  # the request in flight got its full answer
    lines = [ln for ln in log.splitlines() if '"POST /get-online-features"' in ln]
    assert len(lines) == 3, log
    assert re.fullmatch(r'\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ 127\.0\.0\.1:\d+ "POST '
                        r'/get-online-features" 200 \d+B \d+\.\dms', lines[0]), lines[0]
    assert ' 400 ' in lines[1]
    assert log.rstrip().endswith("fsql serve: stopped (SIGTERM)")


def test_quiet_has_no_access_log(db: Path, tmp_path: Path) -> None:
    with ProcServer(db, tmp_path, "--quiet") as srv:
        assert httpx.post(srv.url + GET, json=_read(3)).status_code == 200
        srv.proc.send_signal(signal.SIGTERM)
        assert srv.proc.wait(timeout=15) == 0
        assert "get-online-features" not in srv.log()


def test_non_loopback_bind_needs_a_token_or_insecure(db: Path, tmp_path: Path) -> None:
    cfg = json.dumps({"type": "sqlite", "path": str(db)})
    cmd = [sys.executable, "-m", "fsql.online.server", "--config", cfg, "--host", "0.0.0.0",
           "--port", str(free_port())]
    env = {k: v for k, v in os.environ.items() if not k.startswith("FSQL_SERVE")}
    r = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=60, env=env)
    assert r.returncode == 2
    assert "refusing to serve on 0.0.0.0 without authentication" in r.stderr
    assert "--insecure" in r.stderr and "FSQL_SERVE_TOKEN" in r.stderr
    with ProcServer(db, tmp_path, "--host", "0.0.0.0", "--insecure", env=env) as srv:
        assert httpx.get(srv.url + "/health").status_code == 200
        srv.proc.send_signal(signal.SIGTERM)
        srv.proc.wait(timeout=15)
        assert "WITHOUT authentication (--insecure)" in srv.log()
    with ProcServer(db, tmp_path, "--host", "0.0.0.0",
                    env={**env, "FSQL_SERVE_TOKEN": WRITE}) as srv:
        assert httpx.get(srv.url + "/feature-sets").status_code == 401
        ok = httpx.get(srv.url + "/feature-sets", headers={"authorization": f"Bearer {WRITE}"})
        assert ok.status_code == 200
        assert "WITHOUT" not in srv.log()


def test_docs_page_is_self_contained(open_url: str) -> None:
    r = httpx.get(open_url + "/docs")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert "default-src 'none'" in r.headers["content-security-policy"]
    page = r.text
    assert "openapi.json" in page
    assert not re.search(r"(src|href)=[\"']?(https?:)?//", page)  # nothing from a CDN
    assert "http://" not in page and "https://" not in page


def test_cli_serve_refuses_open_network_bind_and_serves_with_tokens(make_project: object,
                                                                    tmp_path: Path) -> None:
    from conftest import run_cli

    root = make_project({"models/a.sql": "select 1 as x"})  # type: ignore[operator]
    env = {k: "" for k in ("FSQL_SERVE_TOKEN", "FSQL_SERVE_READ_TOKEN")}
    r = run_cli("serve", "--host", "0.0.0.0", "--port", str(free_port()), cwd=root, env=env)
    assert r.returncode == 2
    assert "refusing to serve on 0.0.0.0 without authentication" in r.stderr
    tokens = tmp_path / "tokens"
    tokens.write_text(f"read {READ}\n")
    port = free_port()
    log = tmp_path / "serve.log"
    with log.open("wb") as err:
        proc = subprocess.Popen([sys.executable, "-m", "fsql", "serve", "--host", "0.0.0.0",
                                 "--port", str(port), "--token-file", str(tokens)],
                                cwd=root, stderr=err, stdout=subprocess.DEVNULL,
                                env={**os.environ, **env})
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(url + "/health", timeout=1)
                break
            except httpx.TransportError:
                assert proc.poll() is None and time.monotonic() < deadline, log.read_text()
                time.sleep(0.05)
        assert httpx.get(url + "/feature-sets").status_code == 401
        assert httpx.get(url + "/feature-sets", headers={"authorization": f"Bearer {READ}"}
                         ).json() == []
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=15) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert '"GET /feature-sets" 401' in log.read_text()
