"""Benchmark of fsql online serving (materialize, in-process reads, HTTP, start time).

    .venv/bin/python bench/bench_online.py                 # 1e6 rows, 1e5 entities x 10 features
    .venv/bin/python bench/bench_online.py --quick         # 1e5 rows, 1e4 entities

Targets: materialize <= 1.5x the floor (raw DuckDB -> SQLite bulk copy of the latest rows);
in-process p99 <= 0.1 ms (1 entity) / 1 ms (100); HTTP p99 <= 2 ms / 8 ms; server ready < 1 s.
Feast 0.67 reference: materialize 18.7 s (floor 0.7 s), in-process p99 0.28 ms / 9.6 ms,
HTTP p99 4.3 ms / 33 ms, start 4.5 s.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import duckdb  # noqa: E402  (bench code may use duckdb directly)

from fsql.online import OnlineFeatureSet, SQLiteStore, get_online_features  # noqa: E402
from fsql.online.materializer import materialize  # noqa: E402

FEATURES = tuple(f"f{i}" for i in range(10))
AS_OF = "2024-03-01T00:00:00Z"


def make_data(con: Any, rows: int, entities: int) -> OnlineFeatureSet:
    con.execute(f"""
        create or replace table feats as
        select (i % {entities})::BIGINT as user_id,
               TIMESTAMP '2024-01-01' + to_seconds((hash(i) % (59 * 86400))::BIGINT) as ts,
               random() * 100 as f0, random() as f1, random() * 1000 as f2, random() as f3,
               random() as f4, random() as f5, random() as f6,
               (i % 97)::BIGINT as f7, (i % 1013)::BIGINT as f8,
               'seg_' || (i % 13)::VARCHAR as f9
        from range({rows}) t(i)""")
    types = dict(con.execute("select column_name, data_type from information_schema.columns "
                             "where table_name = 'feats'").fetchall())
    return OnlineFeatureSet("user_features", "feats", 1, ("user_id",), "ts", 90 * 86400.0,
                            FEATURES, types)


def floor_copy(con: Any, path: Path) -> float:
    """Raw DuckDB -> SQLite bulk copy of the latest row per entity (the floor)."""
    t0 = time.perf_counter()
    cols = ", ".join(FEATURES)
    cur = con.cursor().execute(f"""
        select user_id, epoch_us(ts), {cols} from feats
        where ts <= TIMESTAMP '2024-03-01' and ts >= TIMESTAMP '2024-03-01' - interval 90 day
        qualify row_number() over (partition by user_id order by ts desc) = 1""")
    lite = sqlite3.connect(path, isolation_level=None)
    lite.execute("pragma journal_mode=wal")
    lite.execute("pragma synchronous=normal")
    lite.execute(f"create table t (k integer primary key, ts integer, {cols}) without rowid")
    lite.execute("begin")
    ins = f"insert into t values ({','.join('?' * 12)})"
    while batch := cur.fetchmany(20_000):
        lite.executemany(ins, batch)
    lite.execute("commit")
    lite.close()
    return time.perf_counter() - t0


def pct(samples: list[float], p: float) -> float:
    s = sorted(samples)
    return s[min(len(s) - 1, int(len(s) * p))] * 1000


def bench_reads(store: Any, fs: OnlineFeatureSet, entities: int, n: int) -> dict[str, float]:
    """Latencies of ``get_online_features``: read now (the 2024 rows are past their TTL:
    OUTSIDE_MAX_AGE) and as of AS_OF (every value PRESENT), 1 and 100 entities."""
    sets = {fs.name: fs}
    refs = [f"{fs.name}:{f}" for f in FEATURES]
    out = {}
    for suffix, now in (("", None), ("_present", AS_OF)):
        for size in (1, 100):
            lat = []
            for i in range(n):
                rows = [{"user_id": (i * 7919 + j * 104729) % entities} for j in range(size)]
                t = time.perf_counter()
                resp = get_online_features(store, sets, refs, rows, now=now)
                lat.append(time.perf_counter() - t)
            expected = "PRESENT" if now else "OUTSIDE_MAX_AGE"
            assert resp.statuses["f0"] == [expected] * size, resp.statuses["f0"]
            out[f"p50_{size}{suffix}"] = pct(lat, 0.5)
            out[f"p99_{size}{suffix}"] = pct(lat, 0.99)
    return out


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(db: Path) -> tuple[subprocess.Popen[bytes], int, float]:
    port = free_port()
    cfg = json.dumps({"type": "sqlite", "path": str(db)})
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "fsql.online.server", "--config", cfg,
                             "--port", str(port), "--quiet"], cwd=ROOT)
    while True:
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            c.request("GET", "/health")
            if c.getresponse().status == 200:
                return proc, port, time.perf_counter() - t0
        except OSError:
            if proc.poll() is not None or time.perf_counter() - t0 > 30:
                raise RuntimeError("server did not start") from None
            time.sleep(0.002)


def _body(entities: int, size: int, i: int) -> bytes:
    ids = [(i * 7919 + j * 104729) % entities for j in range(size)]
    return json.dumps({"features": [f"user_features:{f}" for f in FEATURES],
                       "entities": {"user_id": ids}}).encode()


def bench_http(port: int, entities: int, n: int) -> dict[str, float]:
    out = {}
    c = http.client.HTTPConnection("127.0.0.1", port)
    hdr = {"content-type": "application/json"}
    for size in (1, 100):
        bodies = [_body(entities, size, i) for i in range(n)]
        lat = []
        for b in bodies:
            t = time.perf_counter()
            c.request("POST", "/get-online-features", b, hdr)
            r = c.getresponse()
            r.read()
            lat.append(time.perf_counter() - t)
            assert r.status == 200
        out[f"p50_{size}"], out[f"p99_{size}"] = pct(lat, 0.5), pct(lat, 0.99)
    return out


def bench_load(port: int, entities: int, total: int, clients: int) -> tuple[float, int]:
    errors = [0]
    per = total // clients

    def work(k: int) -> None:
        c = http.client.HTTPConnection("127.0.0.1", port)
        bodies = [_body(entities, 1, k * per + i) for i in range(per)]
        for b in bodies:
            c.request("POST", "/get-online-features", b, {"content-type": "application/json"})
            r = c.getresponse()
            r.read()
            if r.status != 200:
                errors[0] += 1

    threads = [threading.Thread(target=work, args=(k,)) for k in range(clients)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return per * clients / (time.perf_counter() - t0), errors[0]


def redis_reads(fs: OnlineFeatureSet, con: Any, entities: int, n: int) -> dict[str, float] | str:
    binary = shutil.which("redis-server")
    if binary is None:
        return "redis-server not installed"
    from fsql.online.redis_store import RedisStore

    port = free_port()
    proc = subprocess.Popen([binary, "--port", str(port), "--save", "", "--appendonly", "no"],
                            stdout=subprocess.DEVNULL)
    try:
        store = RedisStore(f"redis://127.0.0.1:{port}/0")
        for _ in range(500):
            try:
                store.ping()
                break
            except Exception:  # noqa: BLE001
                time.sleep(0.01)
        t0 = time.perf_counter()
        materialize(con, fs, store, as_of=AS_OF)
        took = time.perf_counter() - t0
        res = bench_reads(store, fs, entities, n)
        res["materialize_s"] = took
        store.close()
        return res
    finally:
        proc.kill()
        proc.wait()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=float, default=1e6)
    ap.add_argument("--entities", type=float, default=1e5)
    ap.add_argument("--reads", type=int, default=5000)
    ap.add_argument("--load", type=int, default=10_000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--json", type=Path, default=None, help="also write results as JSON")
    a = ap.parse_args()
    if a.quick:
        a.rows, a.entities, a.reads, a.load, a.runs = 1e5, 1e4, 1000, 2000, 1
    rows, entities = int(a.rows), int(a.entities)
    tmp = Path(tempfile.mkdtemp(prefix="fsql_bench_online_"))
    con = duckdb.connect()
    fs = make_data(con, rows, entities)
    res: dict[str, Any] = {"rows": rows, "entities": entities, "cpus": os.cpu_count(),
                           "loadavg_start": os.getloadavg()[0]}

    n = [0]

    def floor() -> float:
        n[0] += 1
        return floor_copy(con, tmp / f"floor{n[0]}.sqlite")

    def full() -> float:
        n[0] += 1
        store = SQLiteStore(tmp / f"online{n[0]}.sqlite")
        t0 = time.perf_counter()
        materialize(con, fs, store, as_of=AS_OF)
        dt = time.perf_counter() - t0
        store.close()
        return dt

    # alternate the two so that a burst of load on a shared machine hits both alike
    pairs = [(floor(), full()) for _ in range(a.runs)]
    res["floor_s"] = min(p[0] for p in pairs)
    res["materialize_s"] = min(p[1] for p in pairs)
    db = tmp / "serve.sqlite"
    store = SQLiteStore(db)
    materialize(con, fs, store, as_of=AS_OF)
    t0 = time.perf_counter()
    inc = materialize(con, fs, store, as_of=AS_OF)
    res["incremental_noop_s"] = time.perf_counter() - t0
    assert inc.rows_written == 0
    con.execute("update feats set f0 = f0 + 1 where user_id < 100")
    t0 = time.perf_counter()
    diff = materialize(con, fs.__class__(**{**fs.__dict__, "version": 2}), store, as_of=AS_OF)
    res["diff_new_version_s"] = time.perf_counter() - t0
    res["diff_rows_written"] = diff.rows_written
    res["sqlite"] = bench_reads(store, fs, entities, a.reads)
    res["redis"] = redis_reads(fs, con, entities, a.reads)
    starts = []
    for _ in range(3):
        proc, port, ready = start_server(db)
        starts.append(ready)
        proc.terminate()
        proc.wait()
    res["serve_ready_s"] = sorted(starts)[1]
    proc, port, _ = start_server(db)
    try:
        res["http"] = bench_http(port, entities, a.reads)
        res["load_rps"], res["load_errors"] = bench_load(port, entities, a.load, 8)
    finally:
        proc.terminate()
        proc.wait()
    res["loadavg_end"] = os.getloadavg()[0]
    shutil.rmtree(tmp, ignore_errors=True)
    print(report(res))
    if a.json:
        a.json.write_text(json.dumps(res, indent=2))


def report(r: dict[str, Any]) -> str:
    s, h = r["sqlite"], r["http"]
    rd = r["redis"]
    ratio = r["materialize_s"] / r["floor_s"]
    lines = [
        f"fsql online bench: {r['rows']:,} rows, {r['entities']:,} entities x 10 features "
        f"({r['cpus']} CPUs, load avg {r['loadavg_start']:.1f} -> {r['loadavg_end']:.1f})",
        "",
        "| measure | fsql | target | Feast 0.67 |",
        "|---|---|---|---|",
        f"| materialize (full, SQLite) | {r['materialize_s']:.2f} s ({ratio:.2f}x floor) "
        f"| <= 1.5x floor | 18.7 s |",
        f"| floor: raw DuckDB -> SQLite copy | {r['floor_s']:.2f} s | | 0.7 s |",
        f"| materialize incremental no-op | {r['incremental_noop_s']:.2f} s | | |",
        f"| materialize new version, 100 changed | {r['diff_new_version_s']:.2f} s "
        f"({r['diff_rows_written']} written) | | |",
        f"| in-process SQLite p50 / p99, 1 entity | {s['p50_1']:.3f} / {s['p99_1']:.3f} ms "
        f"| p99 <= 0.1 ms | 0.28 ms |",
        f"| in-process SQLite p50 / p99, 100 entities | {s['p50_100']:.3f} / "
        f"{s['p99_100']:.3f} ms | p99 <= 1 ms | 9.6 ms |",
        f"| ... values present (read as of {AS_OF[:10]}), 1 / 100 entities | "
        f"{s['p50_1_present']:.3f} / {s['p99_1_present']:.3f} ms, "
        f"{s['p50_100_present']:.3f} / {s['p99_100_present']:.3f} ms | | |",
    ]
    if isinstance(rd, dict):
        lines += [
            f"| in-process Redis p50 / p99, 1 entity | {rd['p50_1']:.3f} / {rd['p99_1']:.3f} ms"
            " | | |",
            f"| in-process Redis p50 / p99, 100 entities | {rd['p50_100']:.3f} / "
            f"{rd['p99_100']:.3f} ms | | |",
            f"| ... values present, 1 / 100 entities | {rd['p50_1_present']:.3f} / "
            f"{rd['p99_1_present']:.3f} ms, {rd['p50_100_present']:.3f} / "
            f"{rd['p99_100_present']:.3f} ms | | |",
            f"| materialize (full, Redis) | {rd['materialize_s']:.2f} s | | |",
        ]
    else:
        lines.append(f"| Redis | {rd} | | |")
    lines += [
        f"| HTTP p50 / p99, 1 entity | {h['p50_1']:.2f} / {h['p99_1']:.2f} ms | p99 <= 2 ms "
        "| 4.3 ms |",
        f"| HTTP p50 / p99, 100 entities | {h['p50_100']:.2f} / {h['p99_100']:.2f} ms "
        "| p99 <= 8 ms | 33 ms |",
        f"| HTTP throughput, 8 clients | {r['load_rps']:.0f} req/s "
        f"({r['load_errors']} errors) | | |",
        f"| serve ready (spawn -> /health 200) | {r['serve_ready_s'] * 1000:.0f} ms | < 1 s "
        "| 4.5 s |",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
