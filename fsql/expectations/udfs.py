"""Python functions fsql registers as DuckDB UDFs where GX's answer is a Python library's.

GX's pandas backend maps ``re.search``, ``json.loads``, ``jsonschema.validate``,
``dateutil.parser.parse`` and ``datetime.strptime`` over the values; these reproduce each one's
truth value exactly (regexes RE2 can express never get here: see ``sql.to_re2``).
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable
from functools import lru_cache
from typing import Any

__all__ = ["UDFS"]


@lru_cache(maxsize=256)
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def _re_search(pattern: str, text: str) -> bool:
    return _compiled(pattern).search(text) is not None


def _json_parseable(text: str) -> bool:
    try:
        json.loads(text)
        return True
    except Exception:  # GX: any failure means "not JSON"
        return False


@lru_cache(maxsize=64)
def _validator(schema_text: str) -> Any:
    """``jsonschema.validate`` checks the schema, then validates: do the first once."""
    import jsonschema

    schema = json.loads(schema_text)
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)  # an invalid schema raises, as in GX
    return cls(schema)


def _json_schema(schema_text: str, text: str) -> bool:
    """GX: unparseable JSON and an invalid schema raise; a failed validation is False."""
    return bool(_validator(schema_text).is_valid(json.loads(text)))


def _dateutil(text: str) -> bool:
    from dateutil.parser import parse

    try:
        parse(text)
        return True
    except (ValueError, OverflowError):
        return False


def _strptime(fmt: str, text: str) -> bool:
    try:
        dt.datetime.strptime(text, fmt)  # noqa: DTZ007 - format check only
        return True
    except ValueError:
        return False


UDFS: dict[str, tuple[Callable[..., bool], list[str]]] = {
    "fsql_re_search": (_re_search, ["VARCHAR", "VARCHAR"]),
    "fsql_json_parseable": (_json_parseable, ["VARCHAR"]),
    "fsql_json_schema": (_json_schema, ["VARCHAR", "VARCHAR"]),
    "fsql_dateutil_parseable": (_dateutil, ["VARCHAR"]),
    "fsql_strptime": (_strptime, ["VARCHAR", "VARCHAR"]),
}
