"""Unit tests of fsql.expectations: parsing, fused execution, formats, interop."""

from __future__ import annotations

import datetime as dt
import json
import math
import random
import re
import xml.etree.ElementTree as ET
from typing import Any

import duckdb
import pytest

from fsql.errors import ConfigError
from fsql.expectations import (
    REGISTRY,
    junit_xml,
    list_expectations,
    parse_expectation,
    register_generic,
    run_suite,
    stats,
    to_gx_suite,
    validate,
)
from fsql.expectations.sql import to_re2


class CountingConnection:
    """Wraps a DuckDB connection and counts executed statements."""

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.con = con
        self.statements: list[str] = []

    def execute(self, sql: str, params: Any = None) -> Any:
        self.statements.append(sql)
        return self.con.execute(sql, params or [])

    def create_function(self, *args: Any, **kwargs: Any) -> Any:
        return self.con.create_function(*args, **kwargs)


@pytest.fixture
def con() -> duckdb.DuckDBPyConnection:
    c = duckdb.connect()
    c.execute("""
        CREATE TABLE m AS SELECT
            range AS id,
            CASE WHEN range % 10 = 0 THEN NULL ELSE range % 7 END AS k,
            (range % 13) * 1.5 AS amount,
            CASE WHEN range % 3 = 0 THEN 'a' WHEN range % 3 = 1 THEN 'b' ELSE 'c' END AS cat,
            'u' || range AS email,
            TIMESTAMP '2024-01-01' + INTERVAL (range) HOUR AS ts
        FROM range(1000)
    """)
    return c


def spec(raw: Any, **kw: Any) -> Any:
    return parse_expectation(raw, **kw)


# --- parsing -------------------------------------------------------------------------------


def test_parse_aliases_and_column() -> None:
    s = spec("not_null", column="user_id")
    assert s.type == "expect_column_values_to_not_be_null"
    assert s.kwargs == {"column": "user_id"}
    assert s.id == "user_id.expect_column_values_to_not_be_null"
    a = spec({"accepted_values": {"values": ["a", "b"], "severity": "warn"}}, column="cat")
    assert a.type == "expect_column_values_to_be_in_set"
    assert a.kwargs["value_set"] == ["a", "b"] and a.severity == "warn"
    assert spec("unique", column="x").type == "expect_column_values_to_be_unique"
    r = spec({"relationships": {"to": "ref('users')", "field": "id"}}, column="user_id")
    assert r.type == "relationships"


def test_unknown_name_did_you_mean() -> None:
    with pytest.raises(ConfigError) as e:
        spec("expect_column_values_to_be_betwen", column="x")
    assert "did you mean 'expect_column_values_to_be_between'" in (e.value.hint or "")
    with pytest.raises(ConfigError) as e2:
        spec("not_nul", column="x", path="models/a.yml", line=3, col=9, model="a")
    assert "not_null" in (e2.value.hint or "")
    assert e2.value.format().startswith("models/a.yml:3:9: error in model 'a'")


def test_unknown_kwarg_did_you_mean() -> None:
    with pytest.raises(ConfigError) as e:
        spec({"expect_column_values_to_be_between": {"min_vale": 1}}, column="x")
    assert "min_vale" in e.value.message and "min_value" in (e.value.hint or "")


@pytest.mark.parametrize(
    "raw, needle",
    [
        (
            {"expect_column_values_to_be_between": {"column": "x", "min_value": 1, "mostly": 1.5}},
            "mostly",
        ),
        (
            {"expect_column_values_to_be_between": {"column": "x", "min_value": 5, "max_value": 1}},
            "greater than",
        ),
        ({"expect_column_values_to_be_between": {"column": "x"}}, "cannot both be None"),
        ({"expect_column_values_to_be_between": {"column": "x", "min_value": "b"}}, "min_value"),
        ({"expect_column_values_to_be_in_set": {"column": "x"}}, "value_set"),
        ({"expect_column_values_to_be_in_set": {"column": "x", "value_set": "abc"}}, "value_set"),
        ({"expect_column_values_to_be_between": {"column": 1, "min_value": 0}}, "column"),
        ({"expect_compound_columns_to_be_unique": {"column_list": ["a"]}}, "two columns"),
        ({"expect_column_values_to_match_regex": {"column": "x", "regex": "("}}, "regex"),
        ({"expect_column_values_to_match_regex_list": {"column": "x", "regex_list": []}}, "empty"),
        (
            {
                "expect_column_pair_values_to_be_equal": {
                    "column_A": "a",
                    "column_B": "b",
                    "ignore_row_if": "any_value_is_missing",
                }
            },
            "ignore_row_if",
        ),
        (
            {
                "expect_column_quantile_values_to_be_between": {
                    "column": "x",
                    "quantile_ranges": {"quantiles": [0.5], "value_ranges": [[0, 1], [1, 2]]},
                }
            },
            "one value range",
        ),
        ({"expect_table_row_count_to_equal": {}}, "value"),
        ({"expect_column_max_to_be_fresh": {"column": "ts", "max_age": "soon"}}, "duration"),
        ({"expect_column_values_to_not_be_null": {"column": "x", "severity": "fatal"}}, "severity"),
    ],
)
def test_invalid_kwargs(raw: dict, needle: str) -> None:
    with pytest.raises(ConfigError) as e:
        spec(raw)
    name = next(iter(raw))
    assert name in e.value.message
    assert needle in e.value.format()


def test_pydantic_like_coercion() -> None:
    s = spec(
        {
            "expect_column_values_to_be_between": {
                "column": "x",
                "min_value": "5",
                "strict_min": "yes",
            }
        }
    )
    assert s.kwargs["min_value"] == 5.0 and s.kwargs["strict_min"] is True
    t = spec(
        {"expect_column_max_to_be_between": {"column": "t", "max_value": "2024-01-09T00:00:00"}}
    )
    assert t.kwargs["max_value"] == dt.datetime(2024, 1, 9)


def test_registry_is_data() -> None:
    names = [t.name for t in list_expectations()]
    assert names == sorted(names) and len(names) >= 46
    for t in list_expectations():
        assert t.kind in ("column_map", "column_aggregate", "table", "multicolumn", "fsql")
        assert t.doc
    assert REGISTRY["expect_column_values_to_be_between"].kwarg("mostly").default == 1


def test_ids_unique_for_same_type() -> None:
    a = spec({"expect_column_values_to_be_between": {"min_value": 0}}, column="x")
    b = spec({"expect_column_values_to_be_between": {"min_value": 1}}, column="x")
    assert a.id != b.id and a.id.startswith("x.expect_column_values_to_be_between.")


# --- execution -----------------------------------------------------------------------------

SUITE20 = [
    ("not_null", "id"),
    ({"expect_column_values_to_not_be_null": {"mostly": 0.85}}, "email"),
    ({"expect_column_values_to_be_between": {"min_value": 0, "max_value": 18}}, "amount"),
    ({"accepted_values": {"values": ["a", "b", "c"]}}, "cat"),
    ({"expect_column_values_to_match_regex": {"regex": "^u[0-9]+$"}}, "email"),
    ("unique", "id"),
    ({"expect_compound_columns_to_be_unique": {"column_list": ["id", "cat"]}}, None),
    ({"expect_column_mean_to_be_between": {"min_value": 8, "max_value": 10}}, "amount"),
    ({"expect_column_stdev_to_be_between": {"min_value": 1}}, "amount"),
    (
        {
            "expect_column_quantile_values_to_be_between": {
                "quantile_ranges": {
                    "quantiles": [0.1, 0.5, 0.9],
                    "value_ranges": [[0, 5], [5, 12], [12, 20]],
                }
            }
        },
        "amount",
    ),
    ({"expect_table_row_count_to_be_between": {"min_value": 1}}, None),
    ({"expect_column_min_to_be_between": {"min_value": 0}}, "id"),
    ({"expect_column_max_to_be_between": {"max_value": 999}}, "id"),
    ({"expect_column_median_to_be_between": {"min_value": 0}}, "amount"),
    ({"expect_column_sum_to_be_between": {"min_value": 0}}, "amount"),
    ({"expect_column_unique_value_count_to_be_between": {"min_value": 3, "max_value": 3}}, "cat"),
    ({"expect_column_proportion_of_non_null_values_to_be_between": {"min_value": 0.9}}, "k"),
    ({"expect_column_value_lengths_to_be_between": {"min_value": 2, "max_value": 4}}, "email"),
    ({"expect_column_values_to_not_be_in_set": {"value_set": ["zz"]}}, "cat"),
    (
        {
            "expect_table_columns_to_match_set": {
                "column_set": ["id", "k", "amount", "cat", "email", "ts"]
            }
        },
        None,
    ),
]


def _suite(items: list) -> list:
    return [spec(raw, column=c) for raw, c in items]


def test_fused_suite_uses_few_queries(con: duckdb.DuckDBPyConnection) -> None:
    counting = CountingConnection(con)
    result = run_suite(
        counting,
        "m",
        _suite(SUITE20),
        columns=con.execute("DESCRIBE m").fetchall()
        and [(r[0], r[1]) for r in con.execute("DESCRIBE m").fetchall()],
    )
    assert len(result.results) == 20
    assert result.success, [r.message for r in result.results if not r.success]
    # one fused aggregate + one fetch of the small column for pandas-exact statistics
    assert len(counting.statements) <= 2, counting.statements
    assert not [s for s in counting.statements if "__fsql_rn" in s]


def test_samples_only_for_failures(con: duckdb.DuckDBPyConnection) -> None:
    counting = CountingConnection(con)
    specs = _suite(SUITE20) + [
        spec({"expect_column_values_to_be_in_set": {"value_set": ["a"]}}, column="cat")
    ]
    result = run_suite(counting, "m", specs)
    bad = result.results[-1]
    assert not bad.success and bad.result["unexpected_count"] == 666
    assert bad.result["partial_unexpected_list"][:3] == ["b", "c", "b"]
    assert bad.result["partial_unexpected_index_list"][:3] == [1, 2, 4]
    assert bad.result["partial_unexpected_counts"] == [
        {"value": "b", "count": 10},
        {"value": "c", "count": 10},
    ]
    samples = [s for s in counting.statements if "ORDER BY __fsql_rn" in s]
    assert len(samples) == 1 and "LIMIT 20" in samples[0]


def test_result_formats(con: duckdb.DuckDBPyConnection) -> None:
    s = [
        spec({"expect_column_values_to_be_between": {"max_value": 5}}, column="id"),
        spec({"expect_column_mean_to_be_between": {"min_value": 0}}, column="amount"),
    ]
    boolean = run_suite(con, "m", s, result_format="BOOLEAN_ONLY").results
    assert boolean[0].result == {} and boolean[1].result == {} and not boolean[0].success
    basic = run_suite(con, "m", s, result_format="BASIC").results[0].result
    assert basic["unexpected_count"] == 994 and len(basic["partial_unexpected_list"]) == 20
    assert "partial_unexpected_counts" not in basic and "unexpected_list" not in basic
    summary = run_suite(con, "m", s).results[0].result
    assert "partial_unexpected_counts" in summary and "unexpected_list" not in summary
    complete = run_suite(con, "m", s, result_format="complete").results[0].result
    assert len(complete["unexpected_list"]) == 994
    assert complete["unexpected_index_list"][:2] == [6, 7]
    with pytest.raises(ConfigError):
        run_suite(con, "m", s, result_format="FULL")


def test_severity_and_where(con: duckdb.DuckDBPyConnection) -> None:
    warn = spec(
        {"expect_column_values_to_be_in_set": {"value_set": ["a"], "severity": "warn"}},
        column="cat",
    )
    scoped = spec(
        {"expect_column_values_to_be_in_set": {"value_set": ["a"], "where": "id % 3 = 0"}},
        column="cat",
    )
    err = spec(
        {"expect_column_values_to_be_in_set": {"value_set": ["a"], "config": {"where": "id < 3"}}},
        column="cat",
    )
    r = run_suite(con, "m", [warn, scoped])
    assert not r.results[0].success and r.results[1].success
    assert r.success and len(r.failed_warnings) == 1 and not r.failed_errors
    assert r.results[1].result["element_count"] == 334
    r2 = run_suite(con, "m", [warn, err], result_format="COMPLETE")
    assert not r2.success and r2.failed_errors[0].result["unexpected_index_list"] == [1, 2]


def test_missing_column_and_bad_sql_are_isolated(con: duckdb.DuckDBPyConnection) -> None:
    specs = [
        spec("not_null", column="nope"),
        spec("not_null", column="id"),
        spec({"expect_sql_to_return_no_rows": {"sql": "select * from {{ this }} where bogus > 1"}}),
        spec({"expect_column_values_to_be_between": {"min_value": 1}}, column="cat"),
    ]
    r = run_suite(con, "m", specs)
    assert r.results[0].exception and "does not exist" in r.results[0].exception
    assert r.results[1].success and r.results[1].exception is None
    assert r.results[2].exception and r.results[3].exception


def test_fsql_expectations(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("CREATE TABLE prev AS SELECT * FROM m LIMIT 900")
    con.execute("CREATE TABLE users AS SELECT range AS id FROM range(500)")
    now = dt.datetime(2024, 2, 12, 12, 0)
    specs = [
        spec({"expect_column_max_to_be_fresh": {"max_age": "1d"}}, column="ts"),
        spec({"expect_column_max_to_be_fresh": {"max_age": "2h"}}, column="ts"),
        spec({"expect_table_row_count_change_to_be_within": {"max_percent": 15}}),
        spec({"expect_table_row_count_change_to_be_within": {"max_percent": 5}}),
        spec({"expect_sql_to_return_no_rows": {"sql": "select * from {this} where amount < 0"}}),
        spec({"relationships": {"to": "ref('users')", "field": "id"}}, column="id"),
    ]
    r = run_suite(con, "m", specs, previous_relation="prev", now=now).results
    assert [x.success for x in r] == [True, False, True, False, True, False]
    assert r[3].result["observed_value"] == pytest.approx(100 / 9)
    assert r[5].result["unexpected_count"] == 500
    no_prev = run_suite(con, "m", specs[2:3]).results[0]
    assert no_prev.success and no_prev.result["observed_value"] is None


def test_generic_expectation(con: duckdb.DuckDBPyConnection) -> None:
    register_generic(
        "is_even", "select * from {{ relation }} where {{ column }} % {{ divisor }} <> 0"
    )
    ok = spec({"is_even": {"divisor": 1}}, column="id")
    bad = spec({"is_even": {"divisor": 2}}, column="id")
    r = run_suite(con, "m", [ok, bad]).results
    assert r[0].success and not r[1].success
    assert (
        r[1].result["unexpected_count"] == 500
        and r[1].result["partial_unexpected_list"][0]["id"] == 1
    )


def test_regex_translation_matches_python() -> None:
    c = duckdb.connect()
    texts = ["ab\n", "ab", "Äpfel", "٣", "a b", "x\u00a0y", "abc\nd", ""]
    for pattern in [r"b$", r"^\w+$", r"\d", r"\s", r"b\Z", r"[\w-]+$", r"(?m)^d$", r"(?<=a)b"]:
        translated = to_re2(pattern)
        for t in texts:
            expected = re.search(pattern, t) is not None
            if translated is None:
                continue
            got = c.execute("select regexp_matches(?, ?)", [t, translated]).fetchone()[0]
            assert got == expected, (pattern, t)
    assert to_re2(r"(?<=a)b") is None
    r = validate(
        _frame({"s": ["ab", "cb", None]}),
        [{"expect_column_values_to_match_regex": {"column": "s", "regex": r"(?<=a)b"}}],
    )
    assert r.results[0].result["unexpected_count"] == 1


def _frame(cols: dict) -> Any:
    import pandas as pd

    return pd.DataFrame(cols)


def test_validate_pandas_and_arrow() -> None:
    import pyarrow as pa

    exps = [
        {"expect_column_values_to_be_between": {"column": "x", "min_value": 0}},
        {"expect_column_values_to_not_be_null": {"column": "x"}},
    ]
    df = _frame({"x": [1.0, -2.0, float("nan")]})
    r = validate(df, exps, result_format="COMPLETE")
    assert r.results[0].result["unexpected_list"] == [-2.0]
    assert r.results[1].result["unexpected_count"] == 1
    t = pa.table({"x": [1, 2, None]})
    r2 = validate(t, exps)
    assert r2.results[0].success and not r2.results[1].success
    with pytest.raises(ConfigError, match="fsql.Project"):
        validate("my_model", exps)

    class Hooked:
        def _fsql_relation(self, con: Any) -> str:
            con.execute("create table h as select 1 as x")
            return "h"

    assert validate(Hooked(), exps).success


def test_junit_and_html(con: duckdb.DuckDBPyConnection) -> None:
    specs = [
        spec("not_null", column="id", path="models/m.yml", line=4),
        spec({"accepted_values": {"values": ["a"]}}, column="cat"),
        spec("not_null", column="nope"),
    ]
    r = run_suite(con, "m", specs)
    xml = junit_xml({"m": r})
    root = ET.fromstring(xml)
    cases = root.findall(".//testcase")
    assert len(cases) == 3 and root.get("failures") == "1" and root.get("errors") == "1"
    assert cases[0].get("file") == "models/m.yml" and cases[0].get("line") == "4"
    assert cases[1].find("failure") is not None and "unexpected" in cases[1].find("failure").get(
        "message"
    )
    html = r._repr_html_()
    assert "<table>" in html and "&lt;" not in html.split("<table>")[0]
    weird = run_suite(
        con,
        "m",
        [spec({"expect_column_values_to_be_in_set": {"value_set": ["<b>"]}}, column="cat")],
    )
    assert (
        "&lt;b&gt;" not in weird._repr_html_() or "<b>" not in weird._repr_html_().split("<td>")[-1]
    )
    d = r.to_dict()
    assert d["statistics"]["evaluated_expectations"] == 3
    json.dumps(d, default=str)


def test_gx_suite_export() -> None:
    specs = [
        spec(
            {
                "expect_column_values_to_be_between": {
                    "min_value": 0,
                    "where": "x > 1",
                    "severity": "warn",
                }
            },
            column="x",
        ),
        spec({"expect_column_max_to_be_fresh": {"max_age": "1d"}}, column="ts"),
    ]
    suite = to_gx_suite("m", specs)
    assert suite["name"] == "m" and len(suite["expectations"]) == 1
    e = suite["expectations"][0]
    assert e["type"] == "expect_column_values_to_be_between" and e["severity"] == "warning"
    assert e["kwargs"]["row_condition"] == "x > 1"
    assert suite["meta"]["fsql_only_expectations"][0]["type"] == "expect_column_max_to_be_fresh"
    json.dumps(suite)


@pytest.mark.slow  # 200 random series, each checked against pandas
def test_stats_match_pandas() -> None:
    import pandas as pd

    rng = random.Random(7)
    for _ in range(200):
        n = rng.randint(1, 300)
        vals = [
            None if rng.random() < 0.1 else round(rng.uniform(-100, 100), rng.randint(0, 5))
            for _ in range(n)
        ]
        s = pd.Series([math.nan if v is None else v for v in vals], dtype="float64")
        assert stats.np_sum(vals) == s.sum()
        mean = stats.np_mean(vals)
        assert (mean is None and math.isnan(s.mean())) or mean == s.mean()
        std = stats.pd_std(vals)
        assert (std is None and math.isnan(s.std())) or std == s.std()
        srt = sorted(v for v in vals if v is not None)
        if srt:
            assert stats.np_median(srt) == s.median()
            for q in (0.1, 0.5, 0.9):
                for m in ("nearest", "linear", "midpoint"):
                    assert stats.np_quantile(srt.__getitem__, len(srt), q, m, False) == s.quantile(
                        q, interpolation=m
                    )


def test_large_table_uses_sql_statistics() -> None:
    c = duckdb.connect()
    n = stats.EXACT_LIMIT + 10
    c.execute(f"CREATE TABLE big AS SELECT (range % 1000)::DOUBLE AS x FROM range({n})")
    r = run_suite(
        c,
        "big",
        [
            spec({"expect_column_median_to_be_between": {"min_value": 0}}, column="x"),
            spec(
                {
                    "expect_column_quantile_values_to_be_between": {
                        "quantile_ranges": {
                            "quantiles": [0.25, 0.75],
                            "value_ranges": [[None, None], [None, None]],
                        },
                        "allow_relative_error": "linear",
                    }
                },
                column="x",
            ),
            spec({"expect_column_mean_to_be_between": {"min_value": 0}}, column="x"),
        ],
    ).results
    vals = sorted(float(i % 1000) for i in range(n))
    assert r[0].result["observed_value"] == stats.np_median(vals)
    assert r[1].result["observed_value"]["values"] == [
        stats.np_quantile(vals.__getitem__, n, q, "linear", False) for q in (0.25, 0.75)
    ]
    assert r[2].result["observed_value"] == pytest.approx(sum(vals) / n)
