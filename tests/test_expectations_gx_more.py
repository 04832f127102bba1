"""Differential tests for the rest of GX's core vocabulary: fsql.validate vs real GX (pandas).

The LIKE family exists in GX only for SQL backends; it is checked against SQLite's LIKE with
``case_sensitive_like`` (standard SQL semantics, as PostgreSQL and DuckDB) instead.
"""

from __future__ import annotations

import math
import sqlite3
from typing import Any

import pandas as pd
import pytest
from gx_support import EXAMPLES, batch_definition, gx_compare, run_gx  # noqa: E402
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import fsql

TEXTS = [
    '{"a": 1}', "[1, 2]", "1", "NaN", "true", '"x"', "x", "", "2020-01-01", "12:30",
    "Jan 3 2020", "2020-13-01", "a%b", "a_b", "ab", "Ab", "abc", "2020", "[1, 2.5]",
]  # fmt: skip


@pytest.fixture(scope="module")
def gx_bd() -> Any:
    return batch_definition("fsql_more")


@st.composite
def tables(draw: Any) -> pd.DataFrame:
    n = draw(st.integers(0, 10))
    ints = st.one_of(st.none(), st.integers(-4, 4))
    floats = st.one_of(st.none(), st.sampled_from([-2.5, 0.0, 0.5, 1.0, 3.0, 40.0, math.inf]))
    i = draw(st.lists(ints, min_size=n, max_size=n))
    return pd.DataFrame(
        {
            "i": pd.array(i, dtype="Int64" if None in i else "int64"),
            "j": pd.array(draw(st.lists(st.integers(-4, 4), min_size=n, max_size=n)), "int64"),
            "f": pd.array(
                [
                    math.nan if v is None else v
                    for v in draw(st.lists(floats, min_size=n, max_size=n))
                ],
                dtype="float64",
            ),
            "s": pd.Series(
                draw(
                    st.lists(st.one_of(st.none(), st.sampled_from(TEXTS)), min_size=n, max_size=n)
                ),
                dtype=object,
            ),
        }
    )


def _kw(**kw: Any) -> dict[str, Any]:
    return {k: v for k, v in kw.items() if v is not None}


mostly = st.sampled_from([None, 0.5, 1.0])
SCHEMAS = [
    {"type": "object"},
    {"type": "number"},
    {"type": "array", "items": {"type": "integer"}},
    {"type": "string", "minLength": 1},
]
TYPES = ["int64", "Int64", "float64", "object", "str", "string", "bool", "datetime64", "int"]
expectations = st.one_of(
    st.builds(
        lambda rl, m: (
            "expect_column_values_to_not_match_regex_list",
            _kw(column="s", regex_list=rl, mostly=m),
        ),
        st.lists(st.sampled_from(["a", "^1", r"\d$", "x|y"]), min_size=1, max_size=3),
        mostly,
    ),
    st.builds(
        lambda c, m: ("expect_column_values_to_be_json_parseable", _kw(column=c, mostly=m)),
        st.sampled_from(["s", "i", "f"]),
        mostly,
    ),
    st.builds(
        lambda sc: (
            "expect_column_values_to_match_json_schema",
            {"column": "s", "json_schema": sc},
        ),
        st.sampled_from(SCHEMAS),
    ),
    st.builds(
        lambda c: ("expect_column_values_to_be_dateutil_parseable", {"column": c}),
        st.sampled_from(["s", "s", "i"]),
    ),
    st.builds(
        lambda fmt: (
            "expect_column_values_to_match_strftime_format",
            {"column": "s", "strftime_format": fmt},
        ),
        st.sampled_from(["%Y-%m-%d", "%H:%M", "%Y", "%b %d %Y"]),
    ),
    st.builds(
        lambda c, meth, mult, m: (
            "expect_column_values_to_not_be_outliers",
            _kw(column=c, method=meth, multiplier=mult, mostly=m),
        ),
        st.sampled_from(["i", "j", "f"]),
        st.sampled_from([None, "iqr", "std"]),
        st.sampled_from([None, 0, 0.5, 1.5, 3]),
        mostly,
    ),
    st.builds(
        lambda c, t: ("expect_column_type_to_be", {"column": c, "type_": t}),
        st.sampled_from(["i", "j", "f", "s"]),
        st.sampled_from(TYPES),
    ),
    st.builds(
        lambda pairs, ig, m: (
            "expect_column_pair_values_to_be_in_set",
            _kw(column_A="i", column_B="j", value_pairs_set=pairs, ignore_row_if=ig, mostly=m),
        ),
        st.lists(
            st.tuples(st.one_of(st.none(), st.integers(-2, 2)), st.integers(-2, 2)).map(list),
            max_size=6,
        ),
        st.sampled_from([None, "either_value_is_missing", "neither"]),
        mostly,
    ),
    st.builds(
        lambda cl, ig: (
            "expect_multicolumn_values_to_be_equal",
            _kw(column_list=cl, ignore_row_if=ig),
        ),
        st.sampled_from([["i", "j"], ["i", "f"], ["j", "f", "i"], ["i", "s"]]),
        st.sampled_from([None, "any_value_is_missing", "never"]),
    ),
)


def _check(bd: Any, df: pd.DataFrame, name: str, kwargs: dict, gx_name: str | None = None) -> None:
    reference = run_gx(bd, gx_name or name, kwargs, df)
    got = fsql.validate(df, [{name: kwargs}], result_format="COMPLETE").results[0]
    if "raised_exception': True" in str(reference["exception_info"]):
        return  # GX failed on this input (e.g. the quantile of an all-NA Int64 column)
    assert got.exception is None, (name, kwargs, got.exception)
    case = {"gx": {"success": reference["success"], "result": reference["result"]}}
    assert gx_compare.compare(case, got.to_dict()) == [], (name, kwargs, df.to_dict("list"))


@settings(max_examples=EXAMPLES * 2, deadline=None, suppress_health_check=list(HealthCheck))
@given(df=tables(), expectation=expectations)
@example(
    df=pd.DataFrame({"f": [1.0, 2.0, 3.0, 100.0], "i": [1, 1, 1, 1], "j": [0] * 4, "s": ["a"] * 4}),
    expectation=("expect_column_values_to_not_be_outliers", {"column": "f"}),
)
@example(
    df=pd.DataFrame({"f": [1.0, 1.0], "i": [1, 1], "j": [0, 0], "s": ["a", None]}),
    expectation=(
        "expect_column_values_to_not_be_outliers",
        {"column": "i", "method": "std", "multiplier": 0},
    ),
)
def test_more_agree_with_gx(gx_bd: Any, df: pd.DataFrame, expectation: tuple) -> None:
    _check(gx_bd, df, *expectation)


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    df=tables(),
    cl=st.sampled_from([["i", "j"], ["i", "f"], ["i", "s"]]),
    ig=st.sampled_from([None, "any_value_is_missing", "never"]),
)
def test_multicolumn_unique_is_compound_unique(
    gx_bd: Any, df: pd.DataFrame, cl: list, ig: Any
) -> None:
    """GX 1.24 ships the class but registers no implementation; its documented semantics are
    those of expect_compound_columns_to_be_unique (every copy of a duplicate fails)."""
    kwargs = _kw(column_list=cl, ignore_row_if=ig)
    _check(
        gx_bd,
        df,
        "expect_multicolumn_values_to_be_unique",
        kwargs,
        gx_name="expect_compound_columns_to_be_unique",
    )


# --- LIKE: standard SQL semantics (SQLite with case_sensitive_like as the reference) ----------

LIKE_NAMES = [
    "expect_column_values_to_match_like_pattern",
    "expect_column_values_to_not_match_like_pattern",
    "expect_column_values_to_match_like_pattern_list",
    "expect_column_values_to_not_match_like_pattern_list",
]


def _sqlite_like(values: list[Any], patterns: list[str], escape: str | None) -> list[bool]:
    con = sqlite3.connect(":memory:")
    con.execute("PRAGMA case_sensitive_like = ON")
    esc = " ESCAPE ?" if escape else ""
    out = []
    for v in values:
        row = []
        for p in patterns:
            args = [v, p] + ([escape] if escape else [])
            row.append(bool(con.execute(f"SELECT ? LIKE ?{esc}", args).fetchone()[0]))
        out.append(row)
    return out


@settings(max_examples=EXAMPLES * 2, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    values=st.lists(st.one_of(st.none(), st.sampled_from(TEXTS)), max_size=8),
    name=st.sampled_from(LIKE_NAMES),
    patterns=st.lists(
        st.sampled_from(["a%", "%b", "a_b", "a!%b", "A%", "%", "_", "2020%", "!_%"]),
        min_size=1,
        max_size=3,
    ),
    match_on=st.sampled_from(["any", "all"]),
    escape=st.sampled_from([None, "!"]),
)
def test_like_family_is_sql_like(
    values: list, name: str, patterns: list, match_on: str, escape: str | None
) -> None:
    df = pd.DataFrame({"s": pd.Series(values, dtype=object)})
    kwargs: dict[str, Any] = {"column": "s", **_kw(escape=escape)}
    if name.endswith("_list"):
        kwargs["like_pattern_list"] = patterns
        if "not_match" not in name:
            kwargs["match_on"] = match_on
    else:
        patterns = patterns[:1]
        kwargs["like_pattern"] = patterns[0]
    present = [v for v in values if v is not None]
    hits = _sqlite_like(present, patterns, escape)
    if "not_match" in name:
        bad = [v for v, h in zip(present, hits, strict=True) if any(h)]
    else:
        agg = all if kwargs.get("match_on") == "all" else any
        bad = [v for v, h in zip(present, hits, strict=True) if not agg(h)]
    r = fsql.validate(df, [{name: kwargs}], result_format="COMPLETE").results[0]
    assert r.exception is None
    assert r.result["unexpected_list"] == bad
    assert r.success == (not bad)


def test_like_escape_must_be_one_character() -> None:
    with pytest.raises(fsql.errors.ConfigError, match="escape"):
        fsql.validate(
            pd.DataFrame({"s": ["a"]}),
            [
                {
                    "expect_column_values_to_match_like_pattern": {
                        "column": "s",
                        "like_pattern": "a",
                        "escape": "!!",
                    }
                }
            ],
        )


# --- cross-table expectations (GX: SQL backends only) ----------------------------------------


def test_row_count_equal_other_table_reads_a_frame_and_ignores_where() -> None:
    df = pd.DataFrame({"x": [1, 2, 3]})
    other = pd.DataFrame({"y": [1, 2, 3]})
    exp = {"expect_table_row_count_to_equal_other_table": {"other_table_name": "other"}}
    r = fsql.validate(df, [exp], tables={"other": other}).results[0]
    assert (r.success, r.result) == (True, {"observed_value": {"self": 3, "other": 3}})
    filtered = {
        "expect_table_row_count_to_equal_other_table": {
            "other_table_name": "other",
            "where": "x > 1",
        }
    }
    r = fsql.validate(df, [filtered], tables={"other": other}).results[0]
    assert (r.success, r.result) == (False, {"observed_value": {"self": 2, "other": 3}})


def test_query_results_to_match_comparison_counts_like_gx() -> None:
    """GX's docstring examples: matches / max(rows of either) with multiset matching."""
    df = pd.DataFrame({"a": [1, 1, 2, 3], "b": ["x", "x", "y", None]})
    other = pd.DataFrame({"a": [1, 2, 2, 4], "b": ["x", "y", "y", "z"]})
    exp = {
        "expect_query_results_to_match_comparison": {
            "base_query": "select a, b from {batch}",
            "comparison_query": "select a, b from other",
            "comparison_data_source_name": "warehouse",
            "mostly": 0.5,
        }
    }
    r = fsql.validate(df, [exp], tables={"other": other}, result_format="COMPLETE").results[0]
    assert r.success is True
    assert r.result["unexpected_count"] == 2 and r.result["unexpected_percent"] == 50.0
    assert r.result["details"] == {
        "missing_rows": [{"a": 2, "b": "y"}, {"a": 4, "b": "z"}],
        "unexpected_rows": [{"a": 1, "b": "x"}, {"a": 3, "b": None}],
    }
    exp["expect_query_results_to_match_comparison"]["mostly"] = 0.6
    assert fsql.validate(df, [exp], tables={"other": other}).results[0].success is False


def test_vocabulary_table_is_generated_from_the_registry() -> None:
    from fsql.docgen import DOCS, expectations_reference

    text = (DOCS / "expectations.md").read_text(encoding="utf-8")
    assert text == expectations_reference(text), "run: python -m fsql.docgen"
    assert "`expect_query_results_to_match_comparison`" in text
