"""GX suite parameters ({"$PARAMETER": ...}): fsql.validate vs GX, project vars, --param."""

from __future__ import annotations

import datetime as dt
import json
import logging
import sys
import warnings
from pathlib import Path
from typing import Any

import great_expectations as gx  # the gx extra: .ci/run installs it, so this never skips
import pandas as pd
import pytest

import fsql
from fsql.errors import ConfigError

ORACLES = Path(__file__).resolve().parents[2] / "shared" / "oracles"
if not ORACLES.is_dir():
    pytest.skip(f"oracle helpers not found at {ORACLES}", allow_module_level=True)
sys.path.insert(0, str(ORACLES))
import gx_compare  # noqa: E402

FRAME = pd.DataFrame(
    {
        "x": [1, 2, 3, 10],
        "s": ["a", "bb", "ccc", "dddd"],
        "t": pd.to_datetime(["2026-01-01", "2026-01-05", "2026-02-01", "2026-03-01"]),
    }
)
CASES = [
    (
        "expect_column_values_to_be_between",
        {
            "column": "x",
            "min_value": {"$PARAMETER": "lo"},
            "max_value": {"$PARAMETER": "lo * 3 + 0.5"},
        },
    ),
    ("expect_column_max_to_be_between", {"column": "x", "max_value": {"$PARAMETER": "2^3"}}),
    (
        "expect_column_mean_to_be_between",
        {
            "column": "x",
            "min_value": {"$PARAMETER": "-lo"},
            "max_value": {"$PARAMETER": "round(hi / 3)"},
        },
    ),
    ("expect_column_values_to_be_in_set", {"column": "s", "value_set": {"$PARAMETER": "names"}}),
    (
        "expect_column_value_lengths_to_be_between",
        {"column": "s", "min_value": {"$PARAMETER": "trunc(lo)"}},
    ),
    ("expect_table_row_count_to_equal", {"value": {"$PARAMETER": "rows"}}),
    (
        "expect_column_max_to_be_between",
        {
            "column": "t",
            "min_value": {"$PARAMETER": "datetime(2026, 2, 1) - timedelta(days=start_days)"},
        },
    ),
]
PARAMS = {"lo": 2, "hi": 20, "names": ["a", "bb"], "rows": "4", "start_days": 10}


@pytest.fixture(scope="module")
def gx_batch() -> Any:
    warnings.filterwarnings("ignore")
    logging.getLogger("great_expectations").setLevel(logging.CRITICAL)
    ctx = gx.get_context(mode="ephemeral")
    asset = ctx.data_sources.add_pandas("fsql_params").add_dataframe_asset("frame")
    bd = asset.add_batch_definition_whole_dataframe("whole")
    return bd.get_batch(batch_parameters={"dataframe": FRAME})


@pytest.mark.parametrize(("name", "kwargs"), CASES, ids=[c[0] for c in CASES])
def test_parameters_agree_with_gx(gx_batch: Any, name: str, kwargs: dict) -> None:
    from great_expectations.expectations.registry import get_expectation_impl

    expectation = get_expectation_impl(name)(**kwargs)
    ref = gx_batch.validate(
        expectation, result_format="COMPLETE", expectation_parameters=PARAMS
    ).to_json_dict()
    got = fsql.validate(
        FRAME, [{name: kwargs}], result_format="COMPLETE", suite_parameters=PARAMS
    ).results[0]
    assert got.exception is None
    case = {"gx": {"success": ref["success"], "result": ref["result"]}}
    as_json = json.loads(json.dumps(got.to_dict(), default=lambda v: v.isoformat()))
    assert gx_compare.compare(case, as_json) == []  # GX's to_json_dict writes ISO datetimes


def test_now_is_evaluated_at_run_time() -> None:
    recent = pd.DataFrame({"t": [dt.datetime.now() - dt.timedelta(hours=2)]})
    exp = {
        "expect_column_max_to_be_between": {
            "column": "t",
            "min_value": {"$PARAMETER": "now() - timedelta(days=1)"},
        }
    }
    assert fsql.validate(recent, [exp]).results[0].success
    old = pd.DataFrame({"t": [dt.datetime.now() - dt.timedelta(days=3)]})
    assert not fsql.validate(old, [exp]).results[0].success


def test_unbound_parameter_is_a_clear_error() -> None:
    exp = {"expect_column_values_to_be_between": {"column": "x", "min_value": {"$PARAMETER": "lo"}}}
    with pytest.raises(ConfigError) as info:
        fsql.validate(FRAME, [exp], suite_parameters={"low": 1})
    text = str(info.value)
    assert "No value found for $PARAMETER lo" in text and "--param lo=" in text


def test_bound_values_are_validated_like_written_ones() -> None:
    exp = {
        "expect_column_values_to_be_between": {
            "column": "x",
            "min_value": {"$PARAMETER": "lo"},
            "max_value": {"$PARAMETER": "hi"},
        }
    }
    with pytest.raises(ConfigError, match="min_value cannot be greater than max_value"):
        fsql.validate(FRAME, [exp], suite_parameters={"lo": 5, "hi": 1})
    with pytest.raises(ConfigError, match="Parse Failure"):
        fsql.validate(
            FRAME, [{"expect_table_row_count_to_equal": {"value": {"$PARAMETER": "rows +"}}}]
        )


PROJECT = {
    "fsql_project.yml": None,  # filled by the fixture's base project
    "models/m.sql": "{{ config(materialized='table') }}\nselect range as x from range(5)",
    "models/m.yml": """
        models:
          - name: m
            columns:
              - name: x
                expectations:
                  - expect_column_max_to_be_between: {max_value: {$PARAMETER: max_x}}
            expectations:
              - expect_table_row_count_to_equal: {value: {$PARAMETER: expected_rows}}
    """,
}


def _project(make_project: Any, vars_: str) -> Path:
    files = {k: v for k, v in PROJECT.items() if v is not None}
    root = make_project(files)
    project_yml = root / "fsql_project.yml"
    project_yml.write_text(project_yml.read_text() + vars_)
    return root


def test_project_vars_bind_parameters_in_run_and_test(make_project: Any, cli: Any) -> None:
    root = _project(make_project, "\nvars:\n  max_x: 4\n  expected_rows: 5\n")
    assert fsql.Project(root).run().exit_code == 0
    res = cli("test", cwd=root)
    assert res.returncode == 0, res.stdout + res.stderr
    res = cli("test", "--param", "expected_rows=6", cwd=root)
    assert res.returncode == 1, res.stdout + res.stderr
    assert "expect_table_row_count_to_equal" in res.stdout + res.stderr


def test_project_unbound_parameter_names_the_yaml(make_project: Any, cli: Any) -> None:
    root = _project(make_project, "\nvars:\n  max_x: 4\n")
    res = cli("run", cwd=root)
    assert res.returncode != 0
    out = res.stdout + res.stderr
    assert "expected_rows" in out and "m.yml" in out
