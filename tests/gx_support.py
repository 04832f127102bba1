"""Shared by the differential tests: real GX 1.24 (pandas) and the recorded-oracle comparer."""

from __future__ import annotations

import logging
import os
import sys
import warnings
from pathlib import Path
from typing import Any

import pytest

ORACLES = Path(__file__).resolve().parents[2] / "shared" / "oracles"
if not ORACLES.is_dir():
    pytest.skip(f"oracle helpers not found at {ORACLES}", allow_module_level=True)
sys.path.insert(0, str(ORACLES))
import gx_compare  # noqa: E402

EXAMPLES = int(os.environ.get("FSQL_GX_DIFF_EXAMPLES", "25"))

__all__ = ["EXAMPLES", "ORACLES", "batch_definition", "gx_compare", "run_gx"]


def batch_definition(name: str) -> Any:
    """A whole-dataframe batch definition of an ephemeral GX context (GX's logs silenced)."""
    import great_expectations as gx  # the gx extra: .ci/run installs it

    warnings.filterwarnings("ignore")
    logging.getLogger("great_expectations").setLevel(logging.CRITICAL)
    ctx = gx.get_context(mode="ephemeral")
    asset = ctx.data_sources.add_pandas(name).add_dataframe_asset("frame")
    return asset.add_batch_definition_whole_dataframe("whole")


def run_gx(bd: Any, name: str, kwargs: dict[str, Any], df: Any) -> dict[str, Any]:
    """GX's COMPLETE result (JSON form) of one expectation on ``df``."""
    from great_expectations.expectations.registry import get_expectation_impl

    expectation = get_expectation_impl(name)(**kwargs)
    batch = bd.get_batch(batch_parameters={"dataframe": df})
    return batch.validate(expectation, result_format="COMPLETE").to_json_dict()
