"""Relocatable projects (issue 17, part 7): moving or copying a project folder rebuilds
nothing — fingerprints hold paths relative to the root and file contents, not mtimes — while
the sources are read from the new place."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
from conftest import query_db as q
from conftest import run_cli

import fsql

FILES = {
    "data/t.csv": "id,v\n1,2\n2,3\n",
    "sources.yml": "sources:\n  - name: raw\n    tables:\n      - name: t\n"
                   "        path: data/t.csv\n      - name: p\n        path: data/*.parquet\n",
    "seeds/lab.csv": "k,label\n1,a\n2,b\n",
    "models/m.sql": "{{ config(materialized='table') }}\nselect t.id, v, w, label from "
                    "{{ source('raw', 't') }} t join {{ source('raw', 'p') }} p using (id) "
                    "join {{ ref('lab') }} l on l.k = t.id",
    "models/n.sql": "select sum(w) as total from {{ ref('m') }}",
}


def _parquet(root: Path, w: int) -> None:
    duckdb.sql(f"copy (select range + 1 as id, range * 0 + {w} as w from range(2)) to "
               f"'{root / 'data' / 'p.parquet'}' (format parquet)")


def _versions(root: Path) -> int:
    return q(root, "select count(*) from fsql_meta.versions")[0][0]


def test_move_and_copy_rebuild_nothing(make_project, tmp_path: Path) -> None:
    root = make_project(FILES)
    _parquet(root, 5)
    assert fsql.Project(root).run().exit_code == 0
    built = _versions(root)
    moved = tmp_path / "elsewhere" / "project"
    moved.parent.mkdir()
    shutil.move(root, moved)
    r = run_cli("run", cwd=moved)
    assert r.returncode == 0, r.stderr
    assert "no data work" in r.stdout and _versions(moved) == built
    copy = tmp_path / "copy"
    shutil.copytree(moved, copy, copy_function=shutil.copy)  # new mtimes, new inodes
    r = run_cli("run", cwd=copy)
    assert r.returncode == 0 and "no data work" in r.stdout, r.stdout
    assert _versions(copy) == built
    _parquet(copy, 6)  # the copy's data changes: only the copy rebuilds, from its own files
    assert fsql.Project(copy).run().exit_code == 0
    assert q(copy, "select total from main.n") == [(12,)]
    assert q(moved, "select total from main.n") == [(10,)]
    assert _versions(copy) == built + 2 and _versions(moved) == built


def test_touching_a_source_without_changing_it_rebuilds_nothing(make_project) -> None:
    root = make_project(FILES)
    _parquet(root, 5)
    fsql.Project(root).run()
    built = _versions(root)
    csv = root / "data" / "t.csv"
    csv.write_text(csv.read_text())  # same content, new mtime
    assert fsql.Project(root).run().exit_code == 0 and _versions(root) == built
    csv.write_text("id,v\n1,2\n2,4\n")
    assert fsql.Project(root).run().exit_code == 0 and _versions(root) == built + 2
