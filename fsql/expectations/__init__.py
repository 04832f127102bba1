"""Great Expectations-compatible expectations, checked with fused DuckDB SQL.

>>> from fsql.expectations import validate
>>> import pandas as pd
>>> r = validate(pd.DataFrame({"x": [1, 2, None]}),
...              [{"expect_column_values_to_not_be_null": {"column": "x", "mostly": 0.5}}])
>>> r.success
True
"""

from importlib import import_module
from typing import Any

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

# Lazy: unpickling a cached project (ExpectationSpec objects) must not import the SQL engine.
_WHERE = {
    "register_generic": "api", "run_suite": "api", "validate": "api",
    "to_gx_suite": "gx_interop", "ExpectationSpec": "parse", "parse_duration": "parse",
    "parse_expectation": "parse", "REGISTRY": "registry", "ExpectationType": "registry",
    "KwargSpec": "registry", "list_expectations": "registry", "ExpectationResult": "results",
    "SuiteResult": "results", "junit_xml": "results",
}


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(import_module(f"{__name__}.{_WHERE[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
