"""GX row conditions (pandas / great_expectations syntaxes, Condition dicts) and plain SQL
filters: fsql.validate vs real GX 1.24 (pandas), and in a YAML project."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd
import pytest
from gx_support import EXAMPLES, batch_definition, gx_compare, run_gx  # noqa: E402
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import fsql
from fsql.errors import ConfigError


@pytest.fixture(scope="module")
def gx_bd() -> Any:
    return batch_definition("fsql_cond")



@st.composite
def frames(draw: Any) -> pd.DataFrame:
    n = draw(st.integers(0, 10))
    i = draw(st.lists(st.one_of(st.none(), st.integers(-3, 3)), min_size=n, max_size=n))
    f = draw(st.lists(st.sampled_from([None, -1.5, 0.0, 0.5, 2.0]), min_size=n, max_size=n))
    s = draw(st.lists(st.sampled_from([None, "a", "b", "ab"]), min_size=n, max_size=n))
    return pd.DataFrame(
        {
            "i": pd.array(i, dtype="Int64" if None in i else "int64"),
            "j": pd.array(draw(st.lists(st.integers(-3, 3), min_size=n, max_size=n)), "int64"),
            "f": pd.array([math.nan if v is None else v for v in f], dtype="float64"),
            "s": pd.Series(s, dtype=object),
            "my col": pd.array(draw(st.lists(st.integers(0, 2), min_size=n, max_size=n)), "int64"),
        }
    )


PANDAS = [
    "i > 0", "j != 1", "f != 0.5", "f > 0", "s == 'a'", "s != 'a'", "i != 1", "not j > 0",
    "j > 0 & f < 1", "j < 0 | s == 'b'", "~(f > 0)", "s in ['a', 'ab']", "f not in [0.5, 2.0]",
    "f.isnull()", "s.notnull() and j >= 0", "-1 <= j < 2", "j + i > 1", "`my col` == 1",
    "i.isna() | i < 0", "j == [1, 2]",
]  # fmt: skip
GREAT_EXPECTATIONS = ['col("j") > 0', 'col("s") == "a"', 'col("f").notnull()', 'col("j") <= -1']
DICTS = [
    {"type": "comparison", "column": {"name": "j"}, "operator": ">=", "parameter": 1},
    {"type": "comparison", "column": {"name": "s"}, "operator": "NOT_IN", "parameter": ["a"]},
    {"type": "nullity", "column": {"name": "f"}, "is_null": False},
    {
        "type": "or",
        "conditions": [
            {"type": "comparison", "column": {"name": "j"}, "operator": "<", "parameter": 0},
            {"type": "nullity", "column": {"name": "s"}, "is_null": True},
        ],
    },
]
conditions = st.one_of(
    st.tuples(st.sampled_from(PANDAS), st.sampled_from(["pandas", None])),
    st.tuples(st.sampled_from(GREAT_EXPECTATIONS), st.just("great_expectations")),
    st.tuples(st.sampled_from(DICTS), st.just(None)),
)
EXPECTATIONS = [
    ("expect_column_values_to_not_be_null", {"column": "f"}),
    ("expect_column_values_to_be_between", {"column": "j", "min_value": 0, "mostly": 0.5}),
    ("expect_column_values_to_be_in_set", {"column": "s", "value_set": ["a", "b"]}),
    ("expect_column_values_to_be_unique", {"column": "j"}),
    ("expect_column_mean_to_be_between", {"column": "f", "min_value": 0}),
    ("expect_column_max_to_be_between", {"column": "j", "max_value": 2}),
    ("expect_table_row_count_to_be_between", {"min_value": 2}),
    ("expect_column_pair_values_a_to_be_greater_than_b", {"column_A": "j", "column_B": "f"}),
    ("expect_compound_columns_to_be_unique", {"column_list": ["j", "s"]}),
    ("expect_column_values_to_match_regex", {"column": "s", "regex": "^a"}),
    ("expect_column_distinct_values_to_equal_set", {"column": "j", "value_set": [0, 1]}),
    ("expect_column_values_to_not_be_outliers", {"column": "j", "method": "std"}),
]


@settings(max_examples=EXAMPLES * 2, deadline=None, suppress_health_check=list(HealthCheck))
@given(df=frames(), cond=conditions, expectation=st.sampled_from(EXPECTATIONS))
@example(
    df=pd.DataFrame(
        {
            "i": pd.array([None, 1], dtype="Int64"),
            "j": [1, 2],
            "f": [math.nan, 1.0],
            "s": ["a", None],
            "my col": [0, 1],
        }
    ),
    cond=("i != 1", "pandas"),  # NA != 1 is NA (dropped); NaN != 0.5 is True (kept)
    expectation=("expect_table_row_count_to_be_between", {"min_value": 2}),
)
def test_row_conditions_agree_with_gx(
    gx_bd: Any, df: pd.DataFrame, cond: tuple, expectation: tuple
) -> None:
    name, kwargs = expectation
    kwargs = {**kwargs, "row_condition": cond[0]}
    if cond[1] is not None:
        kwargs["condition_parser"] = cond[1]
    reference = run_gx(gx_bd, name, kwargs, df)
    got = fsql.validate(df, [{name: kwargs}], result_format="COMPLETE").results[0]
    if "raised_exception': True" in str(reference["exception_info"]):
        return  # GX failed (e.g. comparing NA in pandas)
    assert got.exception is None, (kwargs, got.exception)
    case = {"gx": {"success": reference["success"], "result": reference["result"]}}
    assert gx_compare.compare(case, got.to_dict()) == [], (name, kwargs, df.to_dict("list"))


def test_sql_parser_and_where_combine() -> None:
    df = pd.DataFrame({"x": [1, 2, 3, 4], "y": ["a", "b", "a", "b"]})
    exp = {
        "expect_table_row_count_to_equal": {
            "value": 1,
            "row_condition": "x % 2 = 0",
            "condition_parser": "sql",
            "where": "y = 'b'",
        }
    }
    r = fsql.validate(df, [exp]).results[0]
    assert r.result == {"observed_value": 2} and not r.success


def test_unknown_column_in_condition_is_a_result_error() -> None:
    exp = {"expect_column_values_to_not_be_null": {"column": "x", "row_condition": "nope > 1"}}
    r = fsql.validate(pd.DataFrame({"x": [1]}), [exp]).results[0]
    assert r.success is False and "nope" in (r.exception or "")


@pytest.mark.parametrize(
    ("condition", "parser", "message"),
    [
        ("x >", "pandas", "invalid row_condition"),
        ('col("x") ~ 1', "great_expectations", "unable to parse condition"),
        ("x > 1", "sparkish", "invalid condition_parser"),
        ({"type": "bogus"}, None, "Unable to determine Condition type"),
    ],
)
def test_bad_conditions_are_config_errors(condition: Any, parser: Any, message: str) -> None:
    exp = {
        "expect_column_values_to_not_be_null": {
            "column": "x",
            "row_condition": condition,
            "condition_parser": parser,
        }
    }
    with pytest.raises(ConfigError, match=message):
        fsql.validate(pd.DataFrame({"x": [1]}), [exp])


PROJECT = {
    "models/m.sql": "{{ config(materialized='table') }}\n"
    "select * from (values (1, 'DE', 5.0), (2, 'DE', -1.0), (3, 'FR', -2.0)) t(id, country, amt)",
    "models/m.yml": """
        models:
          - name: m
            columns:
              - name: amt
                expectations:
                  - expect_column_values_to_be_between:
                      min_value: 0
                      row_condition: country == 'FR'
                      condition_parser: pandas
                      severity: warn
                  - expect_column_values_to_be_between:
                      min_value: -1
                      row_condition: col("country") == "DE"
                      condition_parser: great_expectations
                  - expect_column_values_to_be_between:
                      min_value: 0
                      row_condition: "id = 1"
                      condition_parser: sql
    """,
}


def test_project_row_conditions_run_in_the_build(make_project: Any) -> None:
    root = make_project(PROJECT)
    res = fsql.Project(root).run()
    assert res.exit_code == 0
    checks = next(r for r in res.results if r.model == "m").checks
    assert [(c["success"], c["result"]["element_count"]) for c in checks] == [
        (False, 1),
        (True, 2),
        (True, 1),
    ]


def test_project_bad_condition_names_the_yaml_line(make_project: Any) -> None:
    files = dict(PROJECT)
    files["models/m.yml"] = files["models/m.yml"].replace("country == 'FR'", "country ==")
    root = make_project(files)
    with pytest.raises(Exception) as info:
        fsql.Project(root).run()
    text = str(info.value)
    assert "m.yml:" in text and "invalid row_condition" in text


class _Counting:
    """A DuckDB connection that records the statements run through it."""

    def __init__(self, con: Any) -> None:
        self.con, self.statements = con, []

    def execute(self, sql: str, params: Any = None) -> Any:
        self.statements.append(sql)
        return self.con.execute(sql, params or [])

    def create_function(self, *args: Any, **kwargs: Any) -> Any:
        return self.con.create_function(*args, **kwargs)


FUSED = [
    {"expect_column_values_to_not_be_null": {"column": "k", "mostly": 0.5}},
    {
        "expect_column_values_to_be_between": {
            "column": "amount",
            "min_value": 0,
            "row_condition": "cat == 'a'",
        }
    },
    {
        "expect_column_values_to_be_in_set": {
            "column": "cat",
            "value_set": ["a", "b"],
            "row_condition": "k > 2 & amount < 9",
        }
    },
    {
        "expect_column_max_to_be_between": {
            "column": "amount",
            "max_value": 10,
            "row_condition": "cat == 'a'",
        }
    },
    {
        "expect_table_row_count_to_be_between": {
            "min_value": 100,
            "row_condition": 'col("k") > 2',
            "condition_parser": "great_expectations",
        }
    },
    {"expect_column_unique_value_count_to_be_between": {"column": "k", "min_value": 3}},
    {
        "expect_column_proportion_of_non_null_values_to_be_between": {
            "column": "k",
            "min_value": 0.9,
            "row_condition": "id % 2 = 0",
            "condition_parser": "sql",
        }
    },
    {
        "expect_column_values_to_match_regex": {
            "column": "cat",
            "regex": "^[ab]$",
            "row_condition": "k.notnull()",
        }
    },
]


def test_row_conditions_share_one_scan() -> None:
    import duckdb

    from fsql.expectations import parse_expectation, run_suite

    con = duckdb.connect()
    con.execute(
        "CREATE TABLE m AS SELECT range AS id, CASE WHEN range % 10 = 0 THEN NULL "
        "ELSE range % 7 END AS k, (range % 13) * 1.5 AS amount, CASE WHEN range % 3 = 0 "
        "THEN 'a' WHEN range % 3 = 1 THEN 'b' ELSE 'c' END AS cat FROM range(1000)"
    )
    specs = [parse_expectation(e) for e in FUSED]
    counting = _Counting(con)
    fused = run_suite(counting, "m", specs, result_format="BASIC")
    scans = [s for s in counting.statements if s.startswith("SELECT") and "LIMIT" not in s]
    assert len(scans) == 1, scans  # five different filters, one statement
    for s, r in zip(specs, fused.results, strict=True):
        alone = run_suite(con, "m", [s], result_format="BASIC").results[0]
        assert (r.success, r.result, r.exception) == (alone.success, alone.result, None)
