"""Ctrl+C (issue 17, part 6): a real SIGINT during a long model cancels its query (DuckDB's
interrupt), records the unfinished version as cancelled and exits 130 within a second or
two; a second SIGINT never aborts the process; the next run recovers."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import query_db as q

FILES = {
    "models/a.sql": "{{ config(materialized='table') }}\nselect 1 as x",
    "models/slow.sql": "{{ config(materialized='table') }}\n"
                       "select sum(hash(range)) as h from range(50000000000)",
    "models/after_slow.sql": "select h from {{ ref('slow') }}",
}


def _start(root: Path) -> subprocess.Popen[str]:
    env = {**os.environ, "NO_COLOR": "1"}
    return subprocess.Popen([sys.executable, "-m", "fsql", "run"], cwd=root, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_building(root: Path, proc: subprocess.Popen[str]) -> None:
    """Until the long query runs (the run holds the lock and has recorded itself)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        lock = root / "warehouse.duckdb.lock"
        if lock.exists() and lock.read_text().strip().startswith(str(proc.pid)):
            time.sleep(2.0)  # compile is done once the lock is taken; let the query start
            return
        time.sleep(0.05)
    raise AssertionError(f"the run did not start: {proc.communicate()}")


@pytest.mark.parametrize("second", [None, 0.05], ids=["one", "two_interrupts"])
def test_ctrl_c_cancels_the_running_query(make_project, second: float | None) -> None:
    root = make_project({**FILES, "models/slow.sql": "select 1 as h"})
    assert subprocess.run([sys.executable, "-m", "fsql", "run"], cwd=root,
                          capture_output=True, timeout=120).returncode == 0
    (root / "models" / "slow.sql").write_text(FILES["models/slow.sql"])
    proc = _start(root)
    _wait_building(root, proc)
    t0 = time.monotonic()
    proc.send_signal(signal.SIGINT)
    if second is not None:
        time.sleep(second)
        proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    took = time.monotonic() - t0
    assert proc.returncode == 130, (proc.returncode, err)
    assert took < 3, took
    assert "interrupted: running queries cancelled" in err
    assert "Traceback" not in err and "terminate" not in err, err
    rows = q(root, "select model, status, message from fsql_meta.versions order by model, version")
    assert [(m, s) for m, s, _ in rows if m == "slow"] == [("slow", "live"),
                                                          ("slow", "cancelled")], rows
    assert [s for m, s, _ in rows if m == "after_slow"] == ["live"]  # v1 kept, none built
    assert q(root, "select status from fsql_meta.runs order by started_at") == [
        ("success",), ("interrupted",)]
    # the next run recovers: the slow model made fast builds, the rest is unchanged
    (root / "models" / "slow.sql").write_text("select 7 as h")
    r = subprocess.run([sys.executable, "-m", "fsql", "run"], cwd=root, capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert q(root, "select h from main.after_slow") == [(7,)]
