"""HTTP load on the feature server (issue 17): many concurrent keep-alive clients, each sending
mixed 1- and 100-entity reads at a fixed rate (``--rate`` per client: an open-loop load, so
latency is not just clients / throughput), plus one maximal request (10,000 entities x 10
features) every second.

    .venv/bin/python bench/bench_http_load.py                  # 200 clients, 30 s
    .venv/bin/python bench/bench_http_load.py --clients 50 --seconds 10

Reports requests, errors, p50/p99 of the small reads, the maximal requests' durations and the
server's peak RSS (VmHWM). Target: 0 errors, p99 of the small reads <= 20 ms. The clients are
asyncio streams speaking HTTP/1.1 (light enough that 200 of them fit beside the server); they
run on the same machine, so their scheduling is part of the latency measured.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import duckdb  # noqa: E402
from bench_online import AS_OF, FEATURES, free_port, make_data, pct  # noqa: E402

from fsql.online import SQLiteStore  # noqa: E402
from fsql.online.materializer import materialize  # noqa: E402

MAX_KEYS = 10_000


def _request(port: int, ids: list[int]) -> bytes:
    body = json.dumps({"features": [f"user_features:{f}" for f in FEATURES],
                       "entities": {"user_id": ids}}).encode()
    return (f"POST /get-online-features HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
            ).encode() + body


async def _call(reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                req: bytes) -> int:
    writer.write(req)
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    length = next(int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")
                  if line.lower().startswith(b"content-length:"))
    await reader.readexactly(length)
    return status


async def _client(port: int, k: int, entities: int, until: float, rate: float,
                  lat: dict[int, list[float]], errors: list[str]) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    i = 0
    start = time.perf_counter() + (k % 100) / 100 / rate  # spread the clients' phases
    while time.perf_counter() < until:
        await asyncio.sleep(max(0.0, start + i / rate - time.perf_counter()))
        size = 100 if (k + i) % 10 == 0 else 1
        req = _request(port, [(k * 7919 + i * 104729 + j * 31) % entities for j in range(size)])
        t0 = time.perf_counter()
        try:
            status = await _call(reader, writer, req)
        except (OSError, asyncio.IncompleteReadError) as e:
            errors.append(repr(e))
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            continue
        lat[size].append(time.perf_counter() - t0)
        if status != 200:
            errors.append(str(status))
        i += 1
    writer.close()


async def _maximal(port: int, entities: int, until: float, took: list[float],
                   errors: list[str]) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    req = _request(port, [i % entities for i in range(MAX_KEYS)])
    while time.perf_counter() < until:
        t0 = time.perf_counter()
        status = await _call(reader, writer, req)
        took.append(time.perf_counter() - t0)
        if status != 200:
            errors.append(f"maximal {status}")
        await asyncio.sleep(max(0.0, 1.0 - (time.perf_counter() - t0)))
    writer.close()


async def _load(port: int, clients: int, entities: int, seconds: float, rate: float) -> dict:
    until = time.perf_counter() + seconds
    lat: dict[int, list[float]] = {1: [], 100: []}
    errors: list[str] = []
    took: list[float] = []
    await asyncio.gather(_maximal(port, entities, until, took, errors),
                         *(_client(port, k, entities, until, rate, lat, errors)
                           for k in range(clients)))
    return {"lat": lat, "errors": errors, "maximal": took}


def _peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--clients", type=int, default=200)
    ap.add_argument("--seconds", type=float, default=30)
    ap.add_argument("--entities", type=int, default=100_000)
    ap.add_argument("--rate", type=float, default=5.0, help="requests/s per client")
    a = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="fsql_bench_load_"))
    con = duckdb.connect()
    fs = make_data(con, a.entities * 3, a.entities)
    with SQLiteStore(tmp / "s.sqlite") as store:
        materialize(con, fs, store, as_of=AS_OF)
    port = free_port()
    cfg = json.dumps({"type": "sqlite", "path": str(tmp / "s.sqlite")})
    proc = subprocess.Popen([sys.executable, "-m", "fsql.online.server", "--config", cfg,
                             "--port", str(port), "--quiet", "--max-entities",
                             str(MAX_KEYS)], cwd=ROOT)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with __import__("socket").create_connection(("127.0.0.1", port)):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        rss0 = _peak_rss_mb(proc.pid)
        load0 = os.getloadavg()[0]
        r = asyncio.run(_load(port, a.clients, a.entities, a.seconds, a.rate))
        rss = _peak_rss_mb(proc.pid)
    finally:
        proc.terminate()
        proc.wait()
    small = r["lat"][1]
    mid = r["lat"][100]
    total = len(small) + len(mid) + len(r["maximal"])
    print(f"HTTP load: {a.clients} clients x {a.rate:g} req/s, {a.seconds:.0f} s, "
          f"{os.cpu_count()} CPUs "
          f"(load avg {load0:.1f} -> {os.getloadavg()[0]:.1f})")
    print(f"requests {total} ({total / a.seconds:.0f}/s), errors {len(r['errors'])} "
          f"{r['errors'][:3]}")
    print(f"1-entity reads: n={len(small)} p50 {pct(small, 0.5):.1f} ms, p99 "
          f"{pct(small, 0.99):.1f} ms")
    print(f"100-entity reads: n={len(mid)} p50 {pct(mid, 0.5):.1f} ms, p99 {pct(mid, 0.99):.1f} ms")
    print(f"maximal ({MAX_KEYS} keys x 10 features): n={len(r['maximal'])} median "
          f"{pct(r['maximal'], 0.5):.0f} ms, max {max(r['maximal']) * 1000:.0f} ms")
    print(f"server peak RSS {rss:.0f} MB (after start {rss0:.0f} MB)")


if __name__ == "__main__":
    main()
