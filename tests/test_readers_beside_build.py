"""Readers beside a build (issue 17, part 4). DuckDB lets one process write a file or several
read it, so a reader that meets a build (or a build that meets a reader) waits, saying whom
it waits for, instead of failing; after FSQL_LOCK_TIMEOUT it fails naming the holder. Real
processes, a real long build, a real long-lived reader."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

from conftest import query_db as q
from conftest import run_cli

import fsql

FILES = {"models/a.sql": "{{ config(materialized='table') }}\nselect 1 as x",
         "models/b.sql": "select x + 1 as y from {{ ref('a') }}"}
SLOW = ("{{ config(materialized='table') }}\n"
        "select count(*) as x from range({n}) t(i) where hash(i) % 3 = 0")


def _build_in_background(root: Path, n: int) -> subprocess.Popen[str]:
    (root / "models" / "a.sql").write_text(SLOW.replace("{n}", str(n)))
    proc = subprocess.Popen([sys.executable, "-m", "fsql", "run"], cwd=root, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    lock = root / "warehouse.duckdb.lock"
    deadline = time.monotonic() + 60
    while not (lock.exists() and lock.read_text().startswith(str(proc.pid))):
        assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
        time.sleep(0.05)
    time.sleep(0.5)  # the build has the database open
    return proc


def test_reader_waits_for_a_build_then_reads_its_result(make_project) -> None:
    root = make_project(FILES)
    assert run_cli("run", cwd=root).returncode == 0
    build = _build_in_background(root, 400_000_000)
    t0 = time.monotonic()
    r = run_cli("versions", "a", cwd=root, env={"FSQL_LOCK_TIMEOUT": "120"})
    waited = time.monotonic() - t0
    out, err = build.communicate(timeout=120)
    assert build.returncode == 0, err
    assert r.returncode == 0, r.stderr
    assert f"waiting for a build (fsql pid {build.pid}, since" in r.stderr
    assert "v2" in r.stdout and waited > 0.2  # it saw the new version after waiting


def test_reader_times_out_naming_the_build(make_project) -> None:
    root = make_project(FILES)
    assert run_cli("run", cwd=root).returncode == 0
    build = _build_in_background(root, 20_000_000_000)
    try:
        t0 = time.monotonic()
        r = run_cli("ls", cwd=root, env={"FSQL_LOCK_TIMEOUT": "1.5"})
        took = time.monotonic() - t0
    finally:
        build.terminate()
        build.communicate(timeout=60)
    assert r.returncode == 2
    assert f"is in use by a build (fsql pid {build.pid}, since" in r.stderr
    assert "wait for it to finish" in r.stderr and "FSQL_LOCK_TIMEOUT" in r.stderr
    assert 1.5 <= took < 30


def test_a_reader_never_makes_a_build_fail(make_project) -> None:
    """A long-lived FeatureStore (a notebook) holds the file read-only; the build waits for
    it, says who it is, and succeeds once it is closed."""
    root = make_project(FILES)
    assert fsql.Project(root).run().exit_code == 0
    (root / "models" / "a.sql").write_text("{{ config(materialized='table') }}\nselect 5 as x")
    store = fsql.FeatureStore(root)
    store._reader()  # opens and keeps the read-only connection, as reads do
    closer = threading.Timer(2.0, store.close)
    closer.start()
    r = run_cli("run", cwd=root, env={"FSQL_LOCK_TIMEOUT": "60"})
    closer.join()
    assert r.returncode == 0, r.stderr
    assert f"(pid {os.getpid()}:" in r.stderr and "waiting for" in r.stderr
    assert q(root, "select y from main.b") == [(6,)]
