"""Every recorded Great Expectations 1.24.1 case must agree with fsql field by field."""

from __future__ import annotations

import sys
from pathlib import Path

import duckdb
import pytest

from fsql.errors import ConfigError
from fsql.expectations import parse_expectation, run_suite

ORACLES = Path(__file__).resolve().parents[2] / "shared" / "oracles"
if not (ORACLES / "gx").is_dir():
    pytest.skip(f"GX oracle cases not found at {ORACLES}", allow_module_level=True)
sys.path.insert(0, str(ORACLES))
import gx_compare  # noqa: E402

CASES = list(gx_compare.load_cases(ORACLES / "gx"))


def load_table(con: duckdb.DuckDBPyConnection, data: dict, name: str = "t") -> None:
    """Create ``name`` from a case's data (sql_types, nulls, {"$float": "nan"})."""
    cols = data["columns"]
    types = data["sql_types"]
    ddl = ", ".join(f'"{c}" {types[c]}' for c in cols)
    con.execute(f'CREATE OR REPLACE TABLE "{name}" ({ddl})')
    values = {c: [gx_compare.decode_value(v) for v in data["values"][c]] for c in cols}
    rows = list(zip(*(values[c] for c in cols), strict=True))
    if rows:
        ph = ", ".join("?" for _ in cols)
        con.executemany(f'INSERT INTO "{name}" VALUES ({ph})', [list(r) for r in rows])


def run_case(case: dict, result_format: str = "COMPLETE"):
    con = duckdb.connect()
    load_table(con, case["data"])
    spec = parse_expectation({case["expectation_type"]: case["kwargs"]})
    return run_suite(con, '"t"', [spec], result_format=result_format).results[0]


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_oracle_case(case: dict) -> None:
    if case["config_error"]:
        with pytest.raises(ConfigError):
            parse_expectation({case["expectation_type"]: case["kwargs"]})
        return
    result = run_case(case)
    assert result.exception is None, result.exception
    assert gx_compare.compare(case, result.to_dict()) == []


def test_all_cases_loaded() -> None:
    assert len(CASES) >= 176
