"""The core benchmark cannot rot: generate a tiny project, build it with fsql and with the
raw-DuckDB floor, and check both produce the same tables; the edit checks hold."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench"
sys.path.insert(0, str(BENCH))

import bench_core  # noqa: E402
import gen_project  # noqa: E402

pytestmark = pytest.mark.slow  # builds and times the benchmark project


def test_layout_has_every_layer_and_the_requested_size() -> None:
    for n in (7, 14, 100, 1000):
        lay = gen_project.layout(n)
        assert lay.total == n
        assert all(c >= 1 for c in lay.counts.values())
    models = gen_project.models_for(1000)
    assert len({m.name for m in models}) == 1000
    edges = sum(len(m.parents) for m in models)
    assert 1.5 <= edges / 1000 <= 2.5
    assert max(len(m.parents) for m in models if m.name.startswith("fs_")) == 6


def test_events_are_deterministic(tmp_path: Path) -> None:
    a, b = tmp_path / "a.parquet", tmp_path / "b.parquet"
    gen_project.write_events(a, 3000)
    gen_project.write_events(b, 3000)
    assert a.read_bytes() == b.read_bytes()


def test_fsql_matches_floor_and_edits_rebuild_exactly(tmp_path: Path) -> None:
    res = bench_core.run_size(tmp_path, 14, 3000, reps=1, log=lambda _: None,
                                compile_phase=False)
    assert res.same_tables, res.table_diff
    assert res.edit_expected >= 2
    assert res.edit_exact and res.edit_rebuilt == [res.edit_expected]
    assert res.noop_rebuilt == [0]
    assert res.ws_rebuilt == [0]
    floor_db = tmp_path / "p14_e3000" / "floor.duckdb"
    man = bench_core.manifest(tmp_path / "p14_e3000")
    counts = bench_core.relations(floor_db, man["order"])
    assert len(counts) == 14 and all(rows > 0 for rows, _ in counts.values())
    text = bench_core.table([], [res])
    assert "| N=14, E=3e+03 | build from empty DB (n=1) |" in text
