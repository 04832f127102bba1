"""The expectation vocabulary, declared once as data.

Every expectation fsql understands is an :class:`ExpectationType`: its GX name, its kind
(``column_map``, ``column_aggregate``, ``table``, ``multicolumn`` or ``fsql``), its kwargs
(with a type tag, required flag, default and description) and a one-line doc. Parsing,
validation, ``fsql expectations list`` and the docs all read this table.

Type tags follow what GX 1.x (pydantic v1) accepts for each kwarg:

``column``       a string (StrictStr)
``mostly``       a number in [0, 1]
``bound``        float | date | datetime | None (numeric strings and ISO dates coerce)
``float_bound``  float | None
``int_bound``    int | None
``row_bound``    int | datetime | None
``number``       float (required)
``int``          int
``bool``         bool (pydantic-style: 0/1, "yes"/"no", "true"/"false" ...)
``opt_bool``     bool | None
``value_set``    a list (or tuple / set) of scalars
``str``          a string (numbers coerce to their text)
``str_list``     a list of strings
``opt_str_list`` a list of strings or None
``column_list``  a list of column names
``quantile_ranges`` {quantiles: [...], value_ranges: [[lo, hi], ...]}
``partition``    a KL partition object {values|bins, weights[, tail_weights]}
``literal:a|b``  one of the listed strings
``duration``     a duration such as ``"24h"``, ``"2d"``, ``"30m"``, ``"90s"``, ``"1w"``
``mapping``      a mapping (a JSON Schema)
``pair_set``     a list of [a, b] pairs
``escape``       one character, or None
``strftime``     a strftime format string
``nonneg``       a number >= 0
``any``          anything
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

__all__ = ["REGISTRY", "ALIASES", "ExpectationType", "KwargSpec", "list_expectations"]

KINDS = ("column_map", "column_aggregate", "table", "multicolumn", "fsql")


@dataclass(frozen=True)
class KwargSpec:
    """One keyword argument of an expectation."""

    name: str
    type: str
    required: bool = False
    default: Any = None
    description: str = ""


@dataclass(frozen=True)
class ExpectationType:
    """An expectation fsql can check: name, kind, kwargs and a docs one-liner."""

    name: str
    kind: str
    kwargs: tuple[KwargSpec, ...]
    doc: str
    gx: bool = True  # part of the Great Expectations vocabulary (exportable)
    open_kwargs: bool = False  # user-defined generic expectations accept any kwargs

    @property
    def kwarg_names(self) -> tuple[str, ...]:
        return tuple(k.name for k in self.kwargs)

    def kwarg(self, name: str) -> KwargSpec | None:
        for k in self.kwargs:
            if k.name == name:
                return k
        return None

    @property
    def uses_mostly(self) -> bool:
        return "mostly" in self.kwarg_names


def _k(
    name: str, type_: str, required: bool = False, default: Any = None, desc: str = ""
) -> KwargSpec:
    return KwargSpec(name, type_, required, default, desc)


COL = _k("column", "column", True, desc="The column to check.")
MOSTLY = _k(
    "mostly", "mostly", False, 1, "Pass when at least this fraction of non-null values pass."
)
MIN = _k("min_value", "bound", False, None, "Lower bound (inclusive unless strict_min).")
MAX = _k("max_value", "bound", False, None, "Upper bound (inclusive unless strict_max).")
SMIN = _k("strict_min", "bool", False, False, "Make the lower bound exclusive.")
SMAX = _k("strict_max", "bool", False, False, "Make the upper bound exclusive.")
VSET = _k("value_set", "value_set", True, desc="The set of values to compare with.")
BETWEEN = (MIN, MAX, SMIN, SMAX)
PAIR_IGNORE = _k(
    "ignore_row_if",
    "literal:both_values_are_missing|either_value_is_missing|neither",
    False,
    "both_values_are_missing",
    "Which rows to skip because of missing values.",
)
MULTI_IGNORE = _k(
    "ignore_row_if",
    "literal:all_values_are_missing|any_value_is_missing|never",
    False,
    "all_values_are_missing",
    "Which rows to skip because of missing values.",
)
COLUMN_LIST = _k("column_list", "column_list", True, desc="The columns to check together (>= 2).")


def _bounds(kind: str) -> tuple[KwargSpec, ...]:
    lo = _k("min_value", kind, False, None, "Lower bound (inclusive unless strict_min).")
    hi = _k("max_value", kind, False, None, "Upper bound (inclusive unless strict_max).")
    return (lo, hi, SMIN, SMAX)


LIKE = _k("like_pattern", "str", True, desc="SQL LIKE pattern (% any run, _ one character).")
LIKE_LIST = _k("like_pattern_list", "str_list", True, desc="SQL LIKE patterns (non-empty).")
ESCAPE = _k("escape", "escape", False, None, "One character that escapes % and _ (ESCAPE).")


def _colmap(name: str, doc: str, *extra: KwargSpec) -> ExpectationType:
    return ExpectationType(name, "column_map", (COL, MOSTLY, *extra), doc)


def _agg(name: str, doc: str, bound: str = "bound") -> ExpectationType:
    return ExpectationType(name, "column_aggregate", (COL, *_bounds(bound)), doc)


_TYPES: list[ExpectationType] = [
    ExpectationType(
        "expect_column_to_exist",
        "table",
        (COL, _k("column_index", "int_bound", False, None, "Expected 0-based position.")),
        "The column exists (optionally at a given position).",
    ),
    ExpectationType(
        "expect_column_values_to_not_be_null",
        "column_map",
        (COL, MOSTLY),
        "Values are not null (NaN counts as null).",
    ),
    ExpectationType(
        "expect_column_values_to_be_null", "column_map", (COL, MOSTLY), "Values are null."
    ),
    ExpectationType(
        "expect_column_values_to_be_unique",
        "column_map",
        (COL, MOSTLY),
        "Non-null values are unique (every copy of a duplicate is unexpected).",
    ),
    ExpectationType(
        "expect_column_values_to_be_between",
        "column_map",
        (COL, MOSTLY, *BETWEEN),
        "Non-null values lie between min_value and max_value.",
    ),
    ExpectationType(
        "expect_column_values_to_be_in_set",
        "column_map",
        (COL, MOSTLY, VSET),
        "Non-null values are in value_set.",
    ),
    ExpectationType(
        "expect_column_values_to_not_be_in_set",
        "column_map",
        (COL, MOSTLY, VSET),
        "Non-null values are not in value_set.",
    ),
    ExpectationType(
        "expect_column_values_to_match_regex",
        "column_map",
        (COL, MOSTLY, _k("regex", "str", False, "(?s).*", "Python regex, unanchored (re.search).")),
        "Non-null values contain a match of regex (unanchored).",
    ),
    ExpectationType(
        "expect_column_values_to_not_match_regex",
        "column_map",
        (COL, MOSTLY, _k("regex", "str", True, desc="Python regex, unanchored (re.search).")),
        "Non-null values contain no match of regex.",
    ),
    ExpectationType(
        "expect_column_values_to_match_regex_list",
        "column_map",
        (
            COL,
            MOSTLY,
            _k("regex_list", "str_list", True, desc="Regexes (non-empty list)."),
            _k("match_on", "literal:any|all", False, "any", "Match any or all regexes."),
        ),
        "Non-null values match any (or all) of the regexes.",
    ),
    ExpectationType(
        "expect_column_values_to_be_increasing",
        "column_map",
        (COL, MOSTLY, _k("strictly", "opt_bool", False, None, "Disallow ties.")),
        "Non-null values increase in row order.",
    ),
    ExpectationType(
        "expect_column_values_to_be_decreasing",
        "column_map",
        (COL, MOSTLY, _k("strictly", "opt_bool", False, None, "Disallow ties.")),
        "Non-null values decrease in row order.",
    ),
    ExpectationType(
        "expect_column_values_to_be_of_type",
        "column_map",
        (COL, MOSTLY, _k("type_", "str", True, desc="pandas/numpy dtype name or DuckDB type.")),
        "The column has the given type.",
    ),
    ExpectationType(
        "expect_column_values_to_be_in_type_list",
        "column_map",
        (COL, MOSTLY, _k("type_list", "opt_str_list", False, None, "Accepted type names.")),
        "The column type is one of type_list.",
    ),
    ExpectationType(
        "expect_column_value_lengths_to_be_between",
        "column_map",
        (COL, MOSTLY, *_bounds("int_bound")),
        "String lengths lie between min_value and max_value.",
    ),
    ExpectationType(
        "expect_column_value_lengths_to_equal",
        "column_map",
        (COL, MOSTLY, _k("value", "number", True, desc="The expected length.")),
        "String lengths equal value.",
    ),
    ExpectationType(
        "expect_column_value_z_scores_to_be_less_than",
        "column_map",
        (
            COL,
            MOSTLY,
            _k("threshold", "number", True, desc="Z-score threshold."),
            _k("double_sided", "bool", True, desc="Compare |z| instead of z."),
        ),
        "Z-scores (x - mean) / stdev are below threshold.",
    ),
    ExpectationType(
        "expect_column_distinct_values_to_be_in_set",
        "column_aggregate",
        (COL, VSET),
        "Every distinct non-null value is in value_set.",
    ),
    ExpectationType(
        "expect_column_distinct_values_to_contain_set",
        "column_aggregate",
        (COL, VSET),
        "Every value of value_set occurs in the column.",
    ),
    ExpectationType(
        "expect_column_distinct_values_to_equal_set",
        "column_aggregate",
        (COL, VSET),
        "The distinct non-null values equal value_set.",
    ),
    _agg("expect_column_min_to_be_between", "The minimum lies between the bounds."),
    _agg("expect_column_max_to_be_between", "The maximum lies between the bounds."),
    _agg("expect_column_mean_to_be_between", "The mean lies between the bounds."),
    _agg(
        "expect_column_median_to_be_between",
        "The median (pandas: midpoint average) lies between the bounds.",
    ),
    _agg("expect_column_sum_to_be_between", "The sum lies between the bounds."),
    _agg(
        "expect_column_stdev_to_be_between",
        "The sample standard deviation (ddof=1) lies between the bounds.",
        "float_bound",
    ),
    ExpectationType(
        "expect_column_quantile_values_to_be_between",
        "column_aggregate",
        (
            COL,
            _k(
                "quantile_ranges",
                "quantile_ranges",
                True,
                desc="{quantiles: [q...], value_ranges: [[lo, hi]...]}",
            ),
            _k(
                "allow_relative_error",
                "relative_error",
                False,
                False,
                "pandas interpolation: nearest (default), linear, lower, higher, midpoint.",
            ),
        ),
        "Quantiles lie within their ranges.",
    ),
    _agg(
        "expect_column_unique_value_count_to_be_between",
        "The number of distinct values lies between the bounds.",
        "int_bound",
    ),
    _agg(
        "expect_column_proportion_of_unique_values_to_be_between",
        "distinct / non-null lies between the bounds.",
        "float_bound",
    ),
    _agg(
        "expect_column_proportion_of_non_null_values_to_be_between",
        "non-null / rows lies between the bounds.",
        "float_bound",
    ),
    ExpectationType(
        "expect_column_most_common_value_to_be_in_set",
        "column_aggregate",
        (
            COL,
            VSET,
            _k("ties_okay", "opt_bool", False, None, "Pass if any of tied modes is in the set."),
        ),
        "The most common value is in value_set.",
    ),
    ExpectationType(
        "expect_column_kl_divergence_to_be_less_than",
        "column_aggregate",
        (
            COL,
            _k(
                "partition_object", "partition", True, desc="{values|bins, weights[, tail_weights]}"
            ),
            _k(
                "threshold",
                "float_bound",
                False,
                None,
                "Maximum KL divergence (None = report only).",
            ),
            _k("internal_weight_holdout", "holdout", False, 0, "Weight for empty internal bins."),
            _k("tail_weight_holdout", "holdout", False, 0, "Weight for the tails."),
            _k("bucketize_data", "bool", False, True, "Bucketize continuous data."),
            MIN,
            MAX,
        ),
        "KL divergence of the column vs partition_object is below threshold.",
    ),
    ExpectationType(
        "expect_column_pair_values_to_be_equal",
        "multicolumn",
        (
            _k("column_A", "column", True, desc="First column."),
            _k("column_B", "column", True, desc="Second column."),
            MOSTLY,
            PAIR_IGNORE,
        ),
        "column_A equals column_B row by row.",
    ),
    ExpectationType(
        "expect_column_pair_values_a_to_be_greater_than_b",
        "multicolumn",
        (
            _k("column_A", "column", True, desc="First column."),
            _k("column_B", "column", True, desc="Second column."),
            MOSTLY,
            _k("or_equal", "opt_bool", False, None, "Allow equality."),
            PAIR_IGNORE,
        ),
        "column_A is greater than column_B row by row.",
    ),
    ExpectationType(
        "expect_compound_columns_to_be_unique",
        "multicolumn",
        (COLUMN_LIST, MOSTLY, MULTI_IGNORE),
        "The combination of column_list is unique (nulls compare equal).",
    ),
    ExpectationType(
        "expect_multicolumn_sum_to_equal",
        "multicolumn",
        (
            COLUMN_LIST,
            MOSTLY,
            MULTI_IGNORE,
            _k("sum_total", "number", True, desc="The expected row sum."),
        ),
        "The row-wise sum of column_list equals sum_total.",
    ),
    ExpectationType(
        "expect_select_column_values_to_be_unique_within_record",
        "multicolumn",
        (COLUMN_LIST, MOSTLY, MULTI_IGNORE),
        "Values within each row are distinct.",
    ),
    ExpectationType(
        "expect_table_row_count_to_be_between",
        "table",
        _bounds("row_bound"),
        "The row count lies between the bounds.",
    ),
    ExpectationType(
        "expect_table_row_count_to_equal",
        "table",
        (_k("value", "int", True, desc="The expected row count."),),
        "The row count equals value.",
    ),
    ExpectationType(
        "expect_table_column_count_to_be_between",
        "table",
        (MIN, MAX),
        "The column count lies between the bounds.",
    ),
    ExpectationType(
        "expect_table_column_count_to_equal",
        "table",
        (_k("value", "int", True, desc="The expected column count."),),
        "The column count equals value.",
    ),
    ExpectationType(
        "expect_table_columns_to_match_ordered_list",
        "table",
        (_k("column_list", "opt_str_list", False, None, "The expected columns in order."),),
        "The columns are exactly column_list, in order.",
    ),
    ExpectationType(
        "expect_table_columns_to_match_set",
        "table",
        (
            _k("column_set", "opt_str_list", False, None, "The expected column names."),
            _k("exact_match", "opt_bool", False, True, "Fail on extra columns too."),
        ),
        "The columns match column_set (exact_match: no extra columns).",
    ),
    ExpectationType(
        "expect_column_values_to_not_match_regex_list",
        "column_map",
        (COL, MOSTLY, _k("regex_list", "str_list", True, desc="Regexes (non-empty list).")),
        "Non-null values match none of the regexes.",
    ),
    _colmap("expect_column_values_to_be_json_parseable", "Non-null values are JSON (json.loads)."),
    _colmap(
        "expect_column_values_to_match_json_schema",
        "Non-null values are JSON documents valid against json_schema.",
        _k("json_schema", "mapping", True, desc="A JSON Schema (a mapping)."),
    ),
    _colmap(
        "expect_column_values_to_be_dateutil_parseable",
        "Non-null text values parse with dateutil.parser.parse.",
    ),
    _colmap(
        "expect_column_values_to_match_strftime_format",
        "Non-null text values parse with datetime.strptime(value, strftime_format).",
        _k("strftime_format", "strftime", True, desc="A strftime format, e.g. %Y-%m-%d."),
    ),
    _colmap(
        "expect_column_values_to_match_like_pattern",
        "Non-null values match the SQL LIKE pattern.",
        LIKE,
        ESCAPE,
    ),
    _colmap(
        "expect_column_values_to_not_match_like_pattern",
        "Non-null values do not match the SQL LIKE pattern.",
        LIKE,
        ESCAPE,
    ),
    _colmap(
        "expect_column_values_to_match_like_pattern_list",
        "Non-null values match any (or all) of the SQL LIKE patterns.",
        LIKE_LIST,
        _k("match_on", "literal:any|all", False, "any", "Match any or all patterns."),
        ESCAPE,
    ),
    _colmap(
        "expect_column_values_to_not_match_like_pattern_list",
        "Non-null values match none of the SQL LIKE patterns.",
        LIKE_LIST,
        ESCAPE,
    ),
    _colmap(
        "expect_column_values_to_not_be_outliers",
        "Non-null values lie inside Tukey's fences (iqr) or within multiplier stdevs (std).",
        _k("method", "literal:iqr|std", False, "iqr", "iqr (quartiles) or std (mean, stdev)."),
        _k("multiplier", "nonneg", False, 1.5, "How many IQRs / stdevs the window reaches."),
    ),
    ExpectationType(
        "expect_column_type_to_be",
        "table",
        (COL, _k("type_", "str", True, desc="pandas dtype name (or the DuckDB type name).")),
        "The column's type is type_ (pandas dtype semantics).",
    ),
    ExpectationType(
        "expect_column_pair_values_to_be_in_set",
        "multicolumn",
        (
            _k("column_A", "column", True, desc="First column."),
            _k("column_B", "column", True, desc="Second column."),
            _k("value_pairs_set", "pair_set", True, desc="Allowed [a, b] pairs."),
            MOSTLY,
            PAIR_IGNORE,
        ),
        "(column_A, column_B) pairs are in value_pairs_set row by row.",
    ),
    ExpectationType(
        "expect_multicolumn_values_to_be_equal",
        "multicolumn",
        (COLUMN_LIST, MOSTLY, MULTI_IGNORE),
        "All columns of column_list are equal row by row (missing equals missing).",
    ),
    ExpectationType(
        "expect_multicolumn_values_to_be_unique",
        "multicolumn",
        (COLUMN_LIST, MOSTLY, MULTI_IGNORE),
        "The combination of column_list is unique (as expect_compound_columns_to_be_unique).",
    ),
    ExpectationType(
        "expect_table_row_count_to_equal_other_table",
        "table",
        (_k("other_table_name", "str", True, desc="A model, source or relation name."),),
        "The row count equals the other table's (observed {self, other}).",
    ),
    ExpectationType(
        "expect_query_results_to_match_comparison",
        "table",
        (
            _k("base_query", "str", True, desc="SQL on this table; {batch} = the relation."),
            _k("comparison_query", "str", True, desc="SQL giving the expected rows."),
            _k(
                "comparison_data_source_name",
                "str",
                True,
                desc="Recorded; fsql runs both queries on the project's warehouse.",
            ),
            MOSTLY,
        ),
        "The first 200 rows of both queries match as multisets (mostly = match fraction).",
    ),
    # fsql's own -------------------------------------------------------------------------------
    ExpectationType(
        "expect_column_max_to_be_fresh",
        "fsql",
        (
            COL,
            _k(
                "max_age",
                "duration",
                True,
                desc='Maximum age of the newest value, e.g. "24h", "2d".',
            ),
        ),
        "The newest timestamp is at most max_age older than now (freshness).",
        gx=False,
    ),
    ExpectationType(
        "expect_table_row_count_change_to_be_within",
        "fsql",
        (
            _k(
                "max_percent",
                "number",
                True,
                desc="Maximum row-count change vs the previous version, in %.",
            ),
        ),
        "Row count changed by at most max_percent vs the previous live version "
        "(passes without one).",
        gx=False,
    ),
    ExpectationType(
        "expect_sql_to_return_no_rows",
        "fsql",
        (
            _k(
                "sql",
                "str",
                True,
                desc="SQL returning failing rows; {{ this }} / {this} = the relation.",
            ),
        ),
        "A custom SQL query returns no rows.",
        gx=False,
    ),
    ExpectationType(
        "relationships",
        "fsql",
        (
            COL,
            _k(
                "to",
                "str",
                True,
                desc="The referenced model: ref('m'), a model name or a relation.",
            ),
            _k("field", "column", True, desc="The referenced column."),
        ),
        "Every non-null value exists in to.field (dbt relationships).",
        gx=False,
    ),
]

_registry: dict[str, ExpectationType] = {t.name: t for t in _TYPES}
REGISTRY: Mapping[str, ExpectationType] = MappingProxyType(_registry)

ALIASES: Mapping[str, str] = MappingProxyType(
    {
        "not_null": "expect_column_values_to_not_be_null",
        "unique": "expect_column_values_to_be_unique",
        "accepted_values": "expect_column_values_to_be_in_set",
    }
)


def _register(t: ExpectationType) -> None:
    """Add a (user-defined) expectation type; used by :func:`register_generic`."""
    _registry[t.name] = t


def list_expectations() -> list[ExpectationType]:
    """Every known expectation type, sorted by name (drives ``fsql expectations list``)."""
    return sorted(_registry.values(), key=lambda t: t.name)
