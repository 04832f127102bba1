"""~350 dbt-style checks (not_null / unique / accepted_values) across a built N-model project:
fsql's engine (one fused suite per model, as ``fsql test`` runs them) vs the floor of running
the same check queries raw (one query per check, like dbt's tests).

    .venv/bin/python bench/gen_project.py /tmp/b1000 --models 1000 --events 1e5
    .venv/bin/fsql --project-dir /tmp/b1000 run
    .venv/bin/python bench/bench_checks.py /tmp/b1000 --reps 3
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fsql.engines import duckdb as engine  # noqa: E402
from fsql.expectations import parse_expectation, run_suite  # noqa: E402


def plan(con: object, limit: int) -> list[tuple[str, str, list[tuple[str, str]], list[Any]]]:
    """Per model: not_null + unique on its first column, accepted_values on its lowest-
    cardinality integer column (values taken from the data, so the checks pass: the usual
    case; failing checks add a sample query each)."""
    rows = con.execute("select model, relation, columns from fsql_meta.versions where status = "  # type: ignore[attr-defined]
                       "'live' and materialized <> 'view' order by model").fetchall()
    out, n = [], 0
    for model, rel, cols in rows:
        if n >= limit:
            break
        cols = json.loads(cols)
        picks = [("not_null", cols[0][0]), ("unique", cols[0][0])]
        values: list[Any] = []
        for c in [c for c, t in cols if t == "BIGINT"][1:]:
            vals = [r[0] for r in con.execute(  # type: ignore[attr-defined]
                f'select distinct "{c}" from {rel} where "{c}" is not null limit 51').fetchall()]
            if len(vals) <= 50:
                picks.append(("accepted_values", c))
                values = sorted(vals)
                break
        picks = [(k, c) for k, c in picks  # keep the passing checks: the usual case
                 if con.execute(raw_sql(rel, k, c, values)).fetchall() == [(0,)]]  # type: ignore[attr-defined]
        n += len(picks)
        if picks:
            out.append((model, rel, picks, values))
    return out


def raw_sql(rel: str, kind: str, col: str, values: list[Any]) -> str:
    q = f'"{col}"'
    if kind == "not_null":
        return f"select count(*) from {rel} where {q} is null"
    if kind == "unique":
        return f"select count(*) from (select {q} from {rel} where {q} is not null " \
               f"group by 1 having count(*) > 1)"
    vals = ", ".join(str(v) for v in values)
    return f"select count(*) from {rel} where {q} is not null and {q} not in ({vals})"


def spec(kind: str, col: str, values: list[Any]) -> object:
    if kind == "accepted_values":
        return parse_expectation({"accepted_values": {"values": values}}, column=col)
    return parse_expectation(kind, column=col)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("project")
    ap.add_argument("--checks", type=int, default=350)
    ap.add_argument("--reps", type=int, default=3)
    args = ap.parse_args()
    con = engine.connect(Path(args.project) / "warehouse.duckdb", read_only=True)
    work = plan(con, args.checks)
    suites = [(rel, [spec(k, c, vals) for k, c in picks],
               [tuple(x) for x in json.loads(con.execute(
                   "select columns from fsql_meta.versions where relation = ?", [rel])
                   .fetchone()[0])])
              for _, rel, picks, vals in work]
    n = sum(len(s) for _, s, _ in suites)
    fs, raw = [], []
    for _ in range(args.reps):
        t0 = time.perf_counter()
        for rel, specs, cols in suites:  # columns come from fsql's state, as in `fsql test`
            res = run_suite(con, rel, specs, result_format="SUMMARY", columns=cols)
            assert res.success, rel
        fs.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        for _, rel, picks, vals in work:
            for k, c in picks:
                assert con.execute(raw_sql(rel, k, c, vals)).fetchall() == [(0,)]
        raw.append(time.perf_counter() - t0)
    med = statistics.median
    print(f"{n} checks on {len(suites)} models of {args.project}, median of {args.reps}")
    print("| | seconds | vs floor | target |\n|---|---|---|---|")
    print(f"| raw check queries (floor, one query per check) | {med(raw):.2f} | 1.00x | |")
    print(f"| fsql engine (fused suite per model) | {med(fs):.2f} | {med(fs) / med(raw):.2f}x "
          f"| <= 2x (dbt ~50x) |")


if __name__ == "__main__":
    main()
