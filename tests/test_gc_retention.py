"""`fsql gc --keep N` (issue 17, part 2): N versions besides the live one survive; pinned
versions (saved training sets, rollback pins, ref(version=)) and the rollback targets within N
survive; failed versions never count; --dry-run removes nothing. Real DuckDB projects."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from conftest import query_db as q
from conftest import run_cli

import fsql
from fsql.errors import ConfigError

FILES = {
    "entities.yml": "entities:\n  - name: user\n    join_keys: [{name: user_id, type: BIGINT}]\n",
    "models/fs.sql": "{{ config(materialized='feature_set', entities=['user'], timestamp='ts') }}"
                     "\nselect range as user_id, timestamp '2026-01-01' as ts, "
                     "range * {{ var('k', 1) }} as v from range(3)",
    "models/fs.yml": "models:\n  - name: fs\n    columns:\n      - name: v\n        expectations:"
                     "\n          - expect_column_max_to_be_between: {max_value: 1000}\n",
}


def _build(root: Path, ks: list[int]) -> None:
    for k in ks:
        fsql.Project(root, vars={"k": k}).run()


def _tables(root: Path) -> list[int]:
    rows = q(root, "select table_name from duckdb_tables() where schema_name = "
                   "'fsql_versions' and table_name like 'fs__v%'")
    return sorted(int(r[0].rsplit("__v", 1)[1]) for r in rows)


def _statuses(root: Path) -> dict[int, str]:
    return {r.version: r.status for r in fsql.Project(root).versions("fs")}


@pytest.mark.parametrize("keep", [1, 3])
def test_exactly_n_besides_live_survive(make_project, keep: int) -> None:
    root = make_project(FILES)
    _build(root, list(range(1, keep + 2)))  # live + keep others: nothing to remove
    assert fsql.Project(root).gc(keep=keep).removed == ()
    assert _tables(root) == list(range(1, keep + 2))
    _build(root, [keep + 2])  # one more: only the oldest goes
    res = fsql.Project(root).gc(keep=keep)
    assert res.removed == ("fs v1",)
    assert _tables(root) == list(range(2, keep + 3))
    assert _statuses(root)[keep + 2] == "live"


def test_rollback_targets_within_n_survive(make_project) -> None:
    root = make_project(FILES)
    _build(root, [1, 2, 3, 4, 5])
    assert fsql.Project(root).rollback("fs", 2) == 5
    res = fsql.Project(root).gc(keep=2)  # live v2 + the two newest targets v5, v4
    assert res.removed == ("fs v1", "fs v3")
    assert _tables(root) == [2, 4, 5]
    assert fsql.Project(root).rollback("fs", 4) == 2  # a kept target still works
    assert q(root, "select max(v) from main.fs") == [(8,)]
    with pytest.raises(ConfigError, match="cannot roll back .fs. to v3: it is gc"):
        fsql.Project(root).rollback("fs", 3)


def test_saved_training_set_pins_beyond_n(make_project) -> None:
    root = make_project(FILES)
    _build(root, [1])
    entity = pd.DataFrame({"user_id": [2], "ts": pd.to_datetime(["2026-02-01"])})
    with fsql.FeatureStore(root) as store:
        store.save_training_set("t1", store.get_training_set(entity, ["fs:v"]))
    _build(root, [2, 3, 4])
    res = fsql.Project(root).gc(keep=1)
    assert res.removed == ("fs v2",) and res.kept_pinned == ("fs v1",)
    assert _tables(root) == [1, 3, 4]
    with fsql.FeatureStore(root) as store:
        assert store.get_saved_training_set("t1").to_pandas()["v"].tolist() == [2]


def test_failed_versions_do_not_count(make_project) -> None:
    root = make_project(FILES)
    _build(root, [1, 2])
    fsql.Project(root, vars={"k": 1000}).run()  # v3 fails its expectation: v2 stays live
    assert _statuses(root) == {1: "superseded", 2: "live", 3: "failed"}
    res = fsql.Project(root).gc(keep=1)  # v1 is the one target besides live v2
    assert "fs v1" not in res.removed
    assert _statuses(root)[1] == "superseded" and _statuses(root)[2] == "live"


def test_dry_run_lists_and_removes_nothing(make_project) -> None:
    root = make_project(FILES)
    _build(root, [1, 2, 3, 4])
    r = run_cli("gc", "--keep", "1", "--dry-run", cwd=root)
    assert r.returncode == 0, r.stderr
    assert "would remove 2 versions" in r.stdout and "fs v1" in r.stdout
    assert _tables(root) == [1, 2, 3, 4]
    r = run_cli("--log-format", "json", "gc", "--keep", "1", "--dry-run", cwd=root)
    assert json.loads(r.stdout.strip().splitlines()[-1])["removed"] == ["fs v1", "fs v2"]
    r = run_cli("gc", "--keep", "1", cwd=root)
    assert r.returncode == 0 and "removed 2 versions" in r.stdout
    assert _tables(root) == [3, 4]


def test_keep_zero_is_refused(make_project) -> None:
    root = make_project(FILES)
    _build(root, [1, 2])
    r = run_cli("gc", "--keep", "0", cwd=root)
    assert r.returncode == 2 and "--keep must be at least 1" in r.stderr
    assert _tables(root) == [1, 2]
