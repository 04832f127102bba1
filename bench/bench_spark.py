"""Benchmark fsql on a local Spark beside a floor measured in the same run.

    .venv/bin/python bench/bench_spark.py [--reps 3] [--models 100] [--events 10000]

Projects: the sample project (``fsql init``) and a generated one (``gen_project.py``, N models
over E events). For each, in ONE Spark session (``local[2]``, the engine's own session):

* ``fsql``  — ``Project(root, target="spark").run(full_refresh=True)``: every model built as a
  new version (write, audit with its expectations, statistics of feature sets, two-phase
  publish), the state store updated;
* ``floor`` — the same compiled SQL run by hand: each model's Spark SQL (fsql's transpiler, so
  the same statements) written as a Parquet table directory, in DAG order, nothing else.

Runs alternate fsql and floor (a loaded machine slows both alike); medians are reported. Also:
the Spark session start, a no-op ``fsql --target spark run`` in a fresh process (no session
should start), and DuckDB's build of the same project for scale. Training sets on Spark:
``bench/bench_spark_retrieval.py``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(HERE))

TARGET = """
targets:
  spark:
    engine: spark
    spark:
      master: local[2]
      conf: {spark.sql.shuffle.partitions: 4, spark.default.parallelism: 4}
"""


def session_start() -> tuple[Any, float]:
    from fsql.engines.spark import session
    from fsql.spec import SparkSpec

    t0 = time.perf_counter()
    spark = session(SparkSpec(conf=(("spark.sql.shuffle.partitions", "4"),
                                    ("spark.default.parallelism", "4"))))
    spark.sql("select 1").collect()
    return spark, time.perf_counter() - t0


def sample_project(root: Path, statistics: bool = True) -> Path:
    import fsql

    proj = root / "sample"
    fsql.init_project(proj)
    text = (proj / "fsql_project.yml").read_text(encoding="utf-8")
    if not statistics:  # builds without column statistics / drift (computed on request)
        text = text.replace("    materialized: feature_set\n",
                            "    materialized: feature_set\n    statistics: false\n")
    (proj / "fsql_project.yml").write_text(text + TARGET, encoding="utf-8")
    return proj


def generated_project(root: Path, models: int, events: int) -> Path:
    from gen_project import generate

    proj = root / f"gen_{models}"
    generate(proj, models, events)
    with open(proj / "fsql_project.yml", "a", encoding="utf-8") as f:
        f.write(TARGET)
    return proj


def fsql_build(proj: Path, full: bool) -> float:
    import fsql

    t0 = time.perf_counter()
    res = fsql.Project(proj, target="spark").run(full_refresh=full)
    dt = time.perf_counter() - t0
    bad = [(r.model, r.message) for r in res.results if r.status not in ("success",
                                                                        "unchanged")]
    if bad:
        raise SystemExit(f"fsql run failed on {proj.name}: {bad[:3]}")
    return dt


def floor_build(proj: Path, spark: Any, out: Path) -> float:
    """Each model's Spark SQL (the same statements fsql runs) written as a table directory,
    in DAG order; sources are read where fsql stored them (loaded once, outside the timing)."""
    import fsql
    from fsql.engines.spark_names import transpile

    p = fsql.Project(proj, target="spark")
    manifest = p.compile(write=False)
    eng = p.engine(None)
    shutil.rmtree(out, ignore_errors=True)
    written: dict[str, str] = {}

    def resolve(db: str, name: str) -> tuple[str, str] | None:
        if db == "main":
            return "parquet", written[name]
        return eng._resolve(db, name) if db != "fsql_versions" else None

    t0 = time.perf_counter()
    for name in manifest.graph.order:
        m = manifest.models[name]
        if m.materialized == "ephemeral":
            continue
        path = str(out / name)
        if m.kind == "seed":
            eng.create_version(None, f'"fsql_versions"."{name}__v999999"', m.sql, "table")
            shutil.copytree(eng.version_path(name, 999999), path)
        else:
            spark.sql(transpile(m.sql, resolve)).write.parquet(path)
        written[name] = path
    return time.perf_counter() - t0


def duckdb_build(proj: Path) -> float:
    import fsql

    db = proj / "bench_duck.duckdb"
    for p in proj.glob("bench_duck.duckdb*"):
        p.unlink()
    t0 = time.perf_counter()
    res = fsql.Project(proj, database=db).run()
    assert res.exit_code == 0, [(r.model, r.message) for r in res.results if r.message][:3]
    return time.perf_counter() - t0


def noop_process(proj: Path) -> float:
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "fsql", "--project-dir", str(proj), "--target",
                    "spark", "run"], check=True, capture_output=True)
    return time.perf_counter() - t0


def bench(proj: Path, spark: Any, reps: int) -> dict[str, Any]:
    fsql_build(proj, full=False)  # first build: loads sources, warms the JIT
    floor_build(proj, spark, proj / "floor")
    fs, fl = [], []
    for _ in range(reps):  # alternated
        fs.append(fsql_build(proj, full=True))
        fl.append(floor_build(proj, spark, proj / "floor"))
    noop = [noop_process(proj) for _ in range(2)]
    duck = [duckdb_build(proj) for _ in range(max(1, reps // 2))]
    return {"project": proj.name, "fsql_s": statistics.median(fs),
            "floor_s": statistics.median(fl),
            "ratio": statistics.median(fs) / statistics.median(fl),
            "noop_process_s": min(noop), "duckdb_s": statistics.median(duck),
            "runs": {"fsql": fs, "floor": fl}}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--models", type=int, default=100)
    ap.add_argument("--events", type=int, default=10_000)
    ap.add_argument("--only", choices=["sample", "generated"], default=None)
    ap.add_argument("--no-statistics", action="store_true",
                    help="feature sets without build-time statistics and drift")
    args = ap.parse_args()
    spark, start_s = session_start()
    print(f"spark session start: {start_s:.1f} s")
    out = []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        projects = []
        if args.only in (None, "sample"):
            projects.append(sample_project(root, not args.no_statistics))
        if args.only in (None, "generated"):
            projects.append(generated_project(root, args.models, args.events))
        for proj in projects:
            r = bench(proj, spark, args.reps)
            out.append(r)
            print(f"{r['project']:>10}: fsql {r['fsql_s']:.1f} s | floor (same CTAS by hand) "
                  f"{r['floor_s']:.1f} s | {r['ratio']:.2f}x (target <= 1.3x) | no-op run "
                  f"{r['noop_process_s']:.2f} s (target <= 2 s) | DuckDB build "
                  f"{r['duckdb_s']:.2f} s")
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
