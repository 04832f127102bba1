"""``store.ingest`` of N rows (validated, write-audit-publish, new version) vs a raw DuckDB
``CREATE TABLE AS SELECT * FROM df`` into a fresh file.

    .venv/bin/python bench/bench_ingest.py --rows 1e6 --reps 3
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import fsql  # noqa: E402
from fsql.engines import duckdb as engine  # noqa: E402


def frame(rows: int):  # type: ignore[no-untyped-def]
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(0)
    return pd.DataFrame({
        "user_id": rng.integers(0, rows // 10, rows),
        "dt": pd.Timestamp("2026-01-01") + pd.to_timedelta(rng.integers(0, 365 * 86400, rows),
                                                           unit="s"),
        **{f"f{i}": rng.random(rows) for i in range(8)},
    })


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=float, default=1e6)
    ap.add_argument("--reps", type=int, default=3)
    args = ap.parse_args()
    df = frame(int(args.rows))
    ours, raw, raw_session = [], [], []
    for _ in range(args.reps):
        root = Path(tempfile.mkdtemp())
        (root / "fsql_project.yml").write_text("name: ing\n")
        (root / "entities.yml").write_text(
            "entities:\n  - name: user\n    join_keys: [{name: user_id, type: BIGINT}]\n")
        store = fsql.FeatureStore(root)
        fs = fsql.FeatureSet("agg", entities=["user"], timestamp="dt").infer_fields_from_df(df)
        store.apply(fs)
        t0 = time.perf_counter()
        store.ingest(fs, df)
        ours.append(time.perf_counter() - t0)
        t_open = time.perf_counter()
        con = engine.connect(root / "raw.duckdb")
        t0 = time.perf_counter()
        con.register("df", df)
        con.execute("create table t as select * from df")
        raw.append(time.perf_counter() - t0)
        con.close()
        raw_session.append(time.perf_counter() - t_open)
        shutil.rmtree(root)
    med = statistics.median
    print(f"ingest of {int(args.rows):,} rows x 10 columns, median of {args.reps}")
    print("| measurement | fsql | raw DuckDB | ratio | target |")
    print("|---|---|---|---|---|")
    print(f"| store.ingest (open, validate, new version, statistics, publish, close) | "
          f"{med(ours):.2f} s | {med(raw_session):.2f} s (connect, create table as select "
          f"from the frame, close) | {med(ours) / med(raw_session):.2f}x | <= 1.5x |")
    print(f"| the same, against the statement alone in an open session | {med(ours):.2f} s | "
          f"{med(raw):.2f} s | {med(ours) / med(raw):.2f}x | |")

if __name__ == "__main__":
    main()
