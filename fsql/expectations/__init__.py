"""Great Expectations-compatible expectations, checked with fused DuckDB SQL.

>>> from fsql.expectations import validate
>>> import pandas as pd
>>> r = validate(pd.DataFrame({"x": [1, 2, None]}),
...              [{"expect_column_values_to_not_be_null": {"column": "x", "mostly": 0.5}}])
>>> r.success
True
"""

from .api import register_generic, run_suite, validate
from .gx_interop import to_gx_suite
from .parse import ExpectationSpec, parse_duration, parse_expectation
from .registry import REGISTRY, ExpectationType, KwargSpec, list_expectations
from .results import ExpectationResult, SuiteResult, junit_xml

__all__ = [
    "REGISTRY",
    "ExpectationResult",
    "ExpectationSpec",
    "ExpectationType",
    "KwargSpec",
    "SuiteResult",
    "junit_xml",
    "list_expectations",
    "parse_duration",
    "parse_expectation",
    "register_generic",
    "run_suite",
    "to_gx_suite",
    "validate",
]
