"""Benchmark: a 20-expectation suite via fsql's fused run_suite vs one hand-written scan.

    .venv/bin/python bench/bench_expectations.py 1e6          # fsql vs hand-written SQL
    .venv/bin/python bench/bench_expectations.py 1e7
    .venv/bin/python bench/bench_expectations.py 1e6 --gx     # + Great Expectations (pandas)
    .venv/bin/python bench/bench_expectations.py 1e6 --conditions  # row_condition on half

Prints a side-by-side table with the median of 3 runs. Target: fsql <= 1.5x hand-written.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fsql.engines.duckdb import connect  # noqa: E402
from fsql.expectations import parse_expectation, run_suite  # noqa: E402

SUITE: list[tuple[Any, str | None]] = [
    ("not_null", "id"),
    ("unique", "id"),
    ({"expect_column_values_to_not_be_null": {"mostly": 0.9}}, "user_id"),
    ({"expect_column_values_to_be_between": {"min_value": 0, "max_value": 1000}}, "amount"),
    ({"accepted_values": {"values": ["food", "travel", "rent", "fun"]}}, "category"),
    ({"expect_column_values_to_match_regex": {"regex": "^[a-z0-9.]+@[a-z]+\\.com$"}}, "email"),
    ({"expect_column_value_lengths_to_be_between": {"min_value": 5, "max_value": 40}}, "email"),
    ({"expect_compound_columns_to_be_unique": {"column_list": ["user_id", "ts"]}}, None),
    ({"expect_column_mean_to_be_between": {"min_value": 400, "max_value": 600}}, "amount"),
    ({"expect_column_stdev_to_be_between": {"min_value": 100, "max_value": 400}}, "amount"),
    ({"expect_column_quantile_values_to_be_between": {"quantile_ranges": {
        "quantiles": [0.05, 0.5, 0.95], "value_ranges": [[0, 100], [400, 600], [900, 1000]]}}},
     "amount"),
    ({"expect_column_median_to_be_between": {"min_value": 400, "max_value": 600}}, "amount"),
    ({"expect_column_min_to_be_between": {"min_value": 0}}, "amount"),
    ({"expect_column_max_to_be_between": {"max_value": 1000}}, "amount"),
    ({"expect_column_sum_to_be_between": {"min_value": 0}}, "amount"),
    ({"expect_table_row_count_to_be_between": {"min_value": 1}}, None),
    ({"expect_column_unique_value_count_to_be_between": {"min_value": 4, "max_value": 4}},
     "category"),
    ({"expect_column_proportion_of_non_null_values_to_be_between": {"min_value": 0.9}}, "user_id"),
    ({"expect_column_values_to_not_be_in_set": {"value_set": ["bogus"]}}, "category"),
    ({"expect_column_values_to_be_between": {"min_value": "2020-01-01T00:00:00"}}, "ts"),
]

HAND_WRITTEN = """
SELECT
  count(*),
  count(*) FILTER (WHERE id IS NULL),
  (SELECT coalesce(sum(c), 0) FROM (SELECT count(*) c FROM t WHERE id IS NOT NULL
     GROUP BY id HAVING count(*) > 1)),
  count(*) FILTER (WHERE user_id IS NULL),
  count(*) FILTER (WHERE NOT (amount IS NULL OR isnan(amount))
                   AND NOT (amount >= 0 AND amount <= 1000)),
  count(*) FILTER (WHERE category IS NOT NULL AND category NOT IN ('food','travel','rent','fun')),
  count(*) FILTER (WHERE email IS NOT NULL
                   AND NOT regexp_matches(email, '^[a-z0-9.]+@[a-z]+\\.com$')),
  count(*) FILTER (WHERE email IS NOT NULL AND NOT (length(email) BETWEEN 5 AND 40)),
  (SELECT coalesce(sum(c), 0) FROM (SELECT count(*) c FROM t
     WHERE NOT (user_id IS NULL AND ts IS NULL) GROUP BY user_id, ts HAVING count(*) > 1)),
  avg(amount) FILTER (WHERE NOT isnan(amount)),
  stddev_samp(amount) FILTER (WHERE NOT isnan(amount)),
  quantile_disc(amount, [0.05, 0.5, 0.95]) FILTER (WHERE NOT isnan(amount)),
  median(amount) FILTER (WHERE NOT isnan(amount)),
  min(amount), max(amount), sum(amount),
  count(DISTINCT category),
  count(*) FILTER (WHERE category = 'bogus'),
  count(*) FILTER (WHERE ts IS NOT NULL AND NOT ts >= TIMESTAMP '2020-01-01')
FROM t
"""


CONDITION = "category == 'food'"  # pandas syntax, as GX users write row_condition


def with_conditions(raw: Any) -> Any:
    """The expectation with ``row_condition`` added (YAML form)."""
    if isinstance(raw, str):
        raw = {raw: {}}
    ((name, body),) = raw.items()
    return {name: {**body, "row_condition": CONDITION, "condition_parser": "pandas"}}


def hand_written_conditions() -> str:
    """HAND_WRITTEN with the same condition folded into every other FILTER clause."""
    parts = HAND_WRITTEN.split("FILTER (WHERE ")
    out = parts[0]
    for i, part in enumerate(parts[1:]):
        out += "FILTER (WHERE " + ("category = 'food' AND " if i % 2 == 0 else "") + part
    return out


def build(con: Any, rows: int) -> None:
    con.execute(f"""
        CREATE OR REPLACE TABLE t AS SELECT
            range AS id,
            CASE WHEN range % 50 = 0 THEN NULL ELSE range % 100000 END AS user_id,
            (hash(range) % 100000) / 100.0 AS amount,
            ['food', 'travel', 'rent', 'fun'][1 + range % 4] AS category,
            'user' || (range % 100000) || '@example.com' AS email,
            TIMESTAMP '2024-01-01' + INTERVAL (range) SECOND AS ts
        FROM range({rows})
    """)


def timed(fn: Any, runs: int = 3) -> float:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def run_gx(con: Any) -> float:
    import logging
    import warnings

    import great_expectations as gx
    from great_expectations.expectations.registry import get_expectation_impl

    warnings.filterwarnings("ignore")
    logging.getLogger("great_expectations").setLevel(logging.CRITICAL)
    df = con.execute("SELECT * FROM t").df()
    ctx = gx.get_context(mode="ephemeral")
    asset = ctx.data_sources.add_pandas("b").add_dataframe_asset("t")
    bd = asset.add_batch_definition_whole_dataframe("w")
    suite = ctx.suites.add(gx.ExpectationSuite(name="bench"))
    for raw, column in SUITE:
        spec = parse_expectation(raw, column=column)
        suite.add_expectation(get_expectation_impl(spec.type)(**dict(spec.kwargs)))

    def go() -> None:
        bd.get_batch(batch_parameters={"dataframe": df}).validate(suite, result_format="SUMMARY")

    return timed(go, runs=1)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("rows", nargs="?", default="1e6", help="table size, e.g. 1e6 or 1e7")
    ap.add_argument("--gx", action="store_true", help="also time Great Expectations (pandas)")
    ap.add_argument("--conditions", action="store_true",
                    help="row_condition on every other expectation (one fused scan still)")
    args = ap.parse_args()
    rows = int(float(args.rows))
    con = connect()
    build(con, rows)
    raws = [(with_conditions(r) if args.conditions and i % 2 else r, c)
            for i, (r, c) in enumerate(SUITE)]
    specs = [parse_expectation(raw, column=c) for raw, c in raws]
    result = run_suite(con, "t", specs)
    failed = [r.message for r in result.results if not r.success and not args.conditions]
    assert not failed, failed
    hand_sql = hand_written_conditions() if args.conditions else HAND_WRITTEN
    fsql_t = timed(lambda: run_suite(con, "t", specs))
    hand_t = timed(lambda: con.execute(hand_sql).fetchall())
    print(f"rows={rows:,}  expectations={len(specs)}  (median of 3 runs)")
    print(f"{'engine':<28}{'seconds':>10}{'vs hand-written':>18}")
    print(f"{'hand-written single scan':<28}{hand_t:>10.3f}{1.0:>17.2f}x")
    print(f"{'fsql run_suite (fused)':<28}{fsql_t:>10.3f}{fsql_t / hand_t:>17.2f}x")
    if args.gx:
        if rows > 1_000_000:
            print("GX comparison is only run at <= 1e6 rows")
        else:
            gx_t = run_gx(con)
            print(f"{'great_expectations (pandas)':<28}{gx_t:>10.3f}{gx_t / hand_t:>17.2f}x")


if __name__ == "__main__":
    main()
