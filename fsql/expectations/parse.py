"""Parse one YAML expectation item into a validated :class:`ExpectationSpec`.

Validation mirrors what Great Expectations 1.x (pydantic v1 models) accepts and rejects, plus
the configurations GX only rejects at run time (``min_value > max_value`` for value bounds, an
invalid regex, mismatched quantile ranges), which fsql reports up front as ``ConfigError``.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from fsql.errors import ConfigError, did_you_mean

from .conditions import row_condition
from .params import ParameterError, check_expression, is_parameter
from .registry import ALIASES, REGISTRY, ExpectationType, KwargSpec

__all__ = [
    "ValidationTimeError",
    "ExpectationSpec",
    "parse_expectation",
    "parse_duration",
    "canonical_name",
]

SEVERITIES = ("error", "warn")
_SPEC_KEYS = ("severity", "where", "config", "meta", "notes", "description")
_IGNORED_GX_KEYS = ("result_format", "catch_exceptions")
_TRUE = {"1", "on", "t", "true", "y", "yes"}
_FALSE = {"0", "off", "f", "false", "n", "no"}
_QUANTILE_METHODS = ("linear", "lower", "higher", "midpoint", "nearest")


@dataclass(frozen=True)
class ExpectationSpec:
    """One declared expectation: GX type + kwargs, plus fsql's severity / where / location."""

    type: str
    kwargs: Mapping[str, Any]
    severity: str = "error"
    where: str | None = None
    path: str | None = None
    line: int | None = None
    col: int | None = None
    model: str | None = None
    meta: Mapping[str, Any] = field(default_factory=dict, compare=False)
    row_condition: Any = None  # GX's row_condition (string or Condition dict), as written
    condition_parser: str | None = None
    written: Mapping[str, Any] | None = field(default=None, compare=False)  # before binding

    @property
    def parameters(self) -> dict[str, str]:
        """kwarg -> ``$PARAMETER`` expression, for kwargs still waiting for a value."""
        return {k: v["$PARAMETER"] for k, v in self.kwargs.items() if is_parameter(v)}

    @property
    def id(self) -> str:
        """Stable readable id, e.g. ``user_id.expect_column_values_to_not_be_null.1a2b3c``.

        The short hash covers kwargs (other than the column) and ``where`` so two
        expectations of the same type on the same column stay distinct.
        """
        kwargs = self.written if self.written is not None else self.kwargs
        target = _target(kwargs)
        head = f"{target}.{self.type}" if target else self.type
        rest = {k: v for k, v in kwargs.items() if k not in ("column",)}
        if self.where:
            rest["__where__"] = self.where
        if self.row_condition is not None:
            rest["__row_condition__"] = [self.row_condition, self.condition_parser]
        if not rest or (set(rest) <= {"column_list", "column_A", "column_B"}):
            return head
        blob = json.dumps(rest, sort_keys=True, default=str)
        return f"{head}.{hashlib.sha1(blob.encode()).hexdigest()[:6]}"

    @property
    def column(self) -> str | None:
        c = self.kwargs.get("column")
        return c if isinstance(c, str) else None


def _target(kwargs: Mapping[str, Any]) -> str:
    if isinstance(kwargs.get("column"), str):
        return str(kwargs["column"])
    if "column_A" in kwargs:
        return f"{kwargs['column_A']},{kwargs['column_B']}"
    if isinstance(kwargs.get("column_list"), (list, tuple)):
        return ",".join(str(c) for c in kwargs["column_list"])
    return ""


def canonical_name(name: str) -> str:
    """GX name for a dbt alias / GX name; unchanged when unknown."""
    return ALIASES.get(name, name)


class ValidationTimeError(ConfigError):
    """A configuration GX accepts but fails on while validating (an invalid regex, min_value >
    max_value on values_between ...): a compile-time error in a project; ``fsql.validate``
    reports it as the expectation's exception result, as GX does."""

    expectation: str = ""
    kwargs: Mapping[str, Any] = {}


class _Ctx:
    def __init__(self, name: str, loc: dict[str, Any]) -> None:
        self.name = name
        self.loc = loc
        self.body: Mapping[str, Any] = {}

    def err(
        self,
        message: str,
        expected: str | None = None,
        hint: str | None = None,
        runtime: bool = False,
    ) -> ConfigError:
        cls = ValidationTimeError if runtime else ConfigError
        e = cls(f"{self.name}: {message}", expected=expected, hint=hint, **self.loc)
        if isinstance(e, ValidationTimeError):
            e.expectation, e.kwargs = self.name, dict(self.body)
        return e


def parse_expectation(
    raw: Any,
    *,
    column: str | None = None,
    path: str | None = None,
    line: int | None = None,
    col: int | None = None,
    model: str | None = None,
) -> ExpectationSpec:
    """Parse one YAML list item (a name, or ``{name: {kwargs}}``) into a validated spec.

    ``column`` is the column the item was declared under (it fills ``kwargs["column"]``).
    Raises :class:`fsql.errors.ConfigError` for unknown names / kwargs and invalid values.
    """
    loc: dict[str, Any] = {"path": path, "line": line, "col": col, "model": model}
    name, body = _split(raw, loc)
    ctx = _Ctx(name, loc)
    if name not in REGISTRY and name not in ALIASES:
        from .registry import list_expectations

        names = [t.name for t in list_expectations()] + list(ALIASES)
        hint = did_you_mean(name, names) or did_you_mean("expect_" + name, names)
        raise ConfigError(
            f"unknown expectation '{name}'",
            expected="a GX expectation name or not_null / unique / accepted_values / relationships",
            hint=hint or "run `fsql expectations list`",
            **loc,
        )
    body = dict(body)
    severity, where, meta = _spec_options(ctx, body)
    canonical = canonical_name(name)
    if name == "accepted_values" and "values" in body:
        body["value_set"] = body.pop("values")
    etype = REGISTRY[canonical]
    if column is not None and "column" in etype.kwarg_names:
        if "column" in body and body["column"] != column:
            raise ctx.err(
                f"declared under column '{column}' but kwargs name column '{body['column']}'"
            )
        body["column"] = column
    condition, parser = row_condition(ctx, body)
    ctx.body = body
    kwargs = _validate_kwargs(ctx, etype, body)
    return ExpectationSpec(
        canonical, kwargs, severity, where, path, line, col, model, meta, condition, parser
    )


def _split(raw: Any, loc: dict[str, Any]) -> tuple[str, Mapping[str, Any]]:
    if isinstance(raw, str):
        return raw.strip(), {}
    if isinstance(raw, Mapping) and len(raw) == 1:
        ((name, body),) = raw.items()
        if body is None:
            body = {}
        if not isinstance(name, str) or not isinstance(body, Mapping):
            raise ConfigError(
                f"expectation '{name}' must map to a mapping of kwargs",
                expected="{name: {kwarg: value, ...}}",
                **loc,
            )
        return name.strip(), body
    raise ConfigError(
        "invalid expectation item",
        expected="a name or a one-key mapping {name: {kwargs}}",
        hint=f"got {raw!r}",
        **loc,
    )


def _spec_options(ctx: _Ctx, body: dict[str, Any]) -> tuple[str, str | None, dict[str, Any]]:
    config = body.pop("config", None) or {}
    if not isinstance(config, Mapping):
        raise ctx.err("config must be a mapping", expected="{severity: warn, where: ...}")
    unknown = set(config) - {"severity", "where"}
    if unknown:
        raise ctx.err(f"unknown config key '{sorted(unknown)[0]}'", expected="severity or where")
    severity = body.pop("severity", config.get("severity", "error"))
    where = body.pop("where", config.get("where"))
    meta: dict[str, Any] = {}
    for key in ("meta", "notes", "description"):
        if key in body:
            meta[key] = body.pop(key)
    for key in _IGNORED_GX_KEYS:
        body.pop(key, None)
    if not isinstance(severity, str) or severity.lower() not in SEVERITIES:
        raise ctx.err(
            f"invalid severity {severity!r}",
            expected="error or warn",
            hint=did_you_mean(str(severity), SEVERITIES),
        )
    if where is not None and (not isinstance(where, str) or not where.strip()):
        raise ctx.err("where must be a SQL predicate string", expected='e.g. where: "amount > 0"')
    return severity.lower(), where, meta


def _validate_kwargs(ctx: _Ctx, etype: ExpectationType, body: dict[str, Any]) -> dict[str, Any]:
    names = etype.kwarg_names
    for key in body:
        if key not in names and not etype.open_kwargs:
            raise ctx.err(
                f"unknown kwarg '{key}'",
                expected="one of " + ", ".join(names),
                hint=did_you_mean(str(key), names),
            )
    out: dict[str, Any] = {}
    for spec in etype.kwargs:
        if spec.name not in body:
            if spec.required:
                raise ctx.err(
                    f"missing required kwarg '{spec.name}'", expected=spec.description or spec.type
                )
            continue
        value = body[spec.name]
        out[spec.name] = (
            _parameter(ctx, value) if is_parameter(value) else _coerce(ctx, spec, value)
        )
    if etype.open_kwargs:
        out.update({k: v for k, v in body.items() if k not in out})
    if not any(is_parameter(v) for v in out.values()):
        _check_rules(ctx, etype, out)  # else once the parameters are bound
    return out


def _parameter(ctx: _Ctx, value: Mapping[str, Any]) -> dict[str, Any]:
    """A ``{"$PARAMETER": expression}`` kwarg, kept as written until run time."""
    try:
        check_expression(value["$PARAMETER"])
    except ParameterError as e:
        raise ctx.err(
            str(e), expected='{"$PARAMETER": "name"} or e.g. "now() - timedelta(days=1)"'
        ) from None
    return dict(value)


# --- pydantic-v1-like coercion ----------------------------------------------------------------


def _bad(ctx: _Ctx, spec: KwargSpec, value: Any, expected: str) -> ConfigError:
    if isinstance(value, Mapping):
        return ctx.err(
            f"kwarg '{spec.name}' got a mapping",
            expected=expected,
            hint='a suite parameter is written {"$PARAMETER": "name"}',
        )
    return ctx.err(f"invalid value {value!r} for kwarg '{spec.name}'", expected=expected)


def _to_float(value: Any) -> float | None:
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            return None
    return None


def _to_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value) if math.isfinite(value) else None
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            return None
    return None


def _to_bool(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    return None


_DATE_RE = re.compile(r"^\d{4}-\d{1,2}-\d{1,2}$")


def _to_temporal(value: Any) -> Any:
    if isinstance(value, (_dt.date, _dt.datetime)):
        return value
    if isinstance(value, str):
        text = value.strip()
        try:
            if _DATE_RE.match(text):
                return _dt.date.fromisoformat(text)
            return _dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            return None
    return None


def _to_str(value: Any) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    return None


def _coerce(ctx: _Ctx, spec: KwargSpec, value: Any) -> Any:  # noqa: C901
    t = spec.type
    if value is None and (
        t
        in (
            "bound",
            "float_bound",
            "int_bound",
            "row_bound",
            "opt_bool",
            "opt_str_list",
            "relative_error",
            "holdout",
        )
    ):
        return None
    if t == "column":
        if not isinstance(value, str) or not value:
            raise _bad(ctx, spec, value, "a column name (a non-empty string)")
        return value
    if t == "mostly":
        f = _to_float(value)
        if f is None or not 0.0 <= f <= 1.0:
            raise _bad(ctx, spec, value, "a number between 0 and 1")
        return value if isinstance(value, (int, float)) and not isinstance(value, bool) else f
    if t in ("bound", "float_bound", "number", "holdout"):
        f = _to_float(value)
        if f is not None:
            if t == "holdout" and not 0.0 <= f <= 1.0:
                raise _bad(ctx, spec, value, "a number between 0 and 1")
            return f
        if t == "bound":
            temporal = _to_temporal(value)
            if temporal is not None:
                return temporal
        raise _bad(
            ctx, spec, value, "a number" + (", a date or a datetime" if t == "bound" else "")
        )
    if t in ("int_bound", "int", "row_bound"):
        i = _to_int(value)
        if i is not None:
            return i
        if t == "row_bound" and isinstance(value, _dt.datetime):
            return value
        raise _bad(ctx, spec, value, "an integer")
    if t in ("bool", "opt_bool"):
        b = _to_bool(value)
        if b is None:
            raise _bad(ctx, spec, value, "true or false")
        return b
    if t == "value_set":
        if not isinstance(value, (list, tuple, set, frozenset)):
            raise _bad(ctx, spec, value, "a list of values")
        return list(value)
    if t == "str":
        s = _to_str(value)
        if s is None:
            raise _bad(ctx, spec, value, "a string")
        return s
    if t in ("str_list", "opt_str_list", "column_list"):
        return _coerce_str_list(ctx, spec, value)
    if t.startswith("literal:"):
        options = t.split(":", 1)[1].split("|")
        if value not in options:
            raise ctx.err(
                f"invalid value {value!r} for kwarg '{spec.name}'",
                expected="one of " + ", ".join(options),
                hint=did_you_mean(str(value), options),
            )
        return value
    if t == "relative_error":
        if value is False or value == 0:
            return False
        if value not in _QUANTILE_METHODS:
            raise ctx.err(
                f"invalid value {value!r} for kwarg '{spec.name}'",
                expected="false or one of " + ", ".join(_QUANTILE_METHODS),
                runtime=True,
            )
        return value
    if t == "quantile_ranges":
        return _coerce_quantiles(ctx, spec, value)
    if t == "partition":
        return _coerce_partition(ctx, spec, value)
    if t == "duration":
        parse_duration(value, ctx)
        return value
    return _coerce_more(ctx, spec, value)


def _coerce_more(ctx: _Ctx, spec: KwargSpec, value: Any) -> Any:
    t = spec.type
    if t == "escape":
        if value is None or (isinstance(value, str) and len(value) == 1):
            return value
        raise _bad(ctx, spec, value, "one character (escape must be a single character)")
    if t == "mapping":
        if not isinstance(value, Mapping) or "$PARAMETER" in value:
            raise _bad(ctx, spec, value, "a mapping (a JSON Schema)")
        return dict(value)
    if t == "nonneg":
        f = _to_float(value)
        if f is None or f < 0:
            raise _bad(ctx, spec, value, "a number >= 0")
        return f
    if t == "strftime":
        return _strftime(ctx, spec, value)
    if t == "pair_set":
        pairs = value if isinstance(value, (list, tuple)) else None
        if pairs is None or not all(isinstance(p, (list, tuple)) and len(p) == 2 for p in pairs):
            raise _bad(ctx, spec, value, "a list of [a, b] pairs")
        return [list(p) for p in pairs]
    return value


def _strftime(ctx: _Ctx, spec: KwargSpec, value: Any) -> str:
    """GX's validator: the format must round-trip the current time through strptime."""
    if not isinstance(value, str):
        raise _bad(ctx, spec, value, "a strftime format string")
    now = _dt.datetime.now(tz=_dt.UTC)
    try:
        _dt.datetime.strptime(now.strftime(value), value)  # noqa: DTZ007 - format check only
    except ValueError as e:
        raise ctx.err(
            f"Unable to use provided strftime_format {value!r}: {e}", expected="e.g. %Y-%m-%d"
        ) from None
    return value


def _coerce_str_list(ctx: _Ctx, spec: KwargSpec, value: Any) -> list[str]:
    if isinstance(value, str) or not isinstance(value, (list, tuple, set)):
        raise _bad(ctx, spec, value, "a list of strings")
    out = []
    for item in value:
        s = item if spec.type == "column_list" and isinstance(item, str) else _to_str(item)
        if s is None:
            raise _bad(ctx, spec, value, "a list of strings")
        out.append(s)
    return out


def _coerce_quantiles(ctx: _Ctx, spec: KwargSpec, value: Any) -> dict[str, Any]:
    expected = "{quantiles: [q, ...], value_ranges: [[lo, hi], ...]} with one range per quantile"
    if not isinstance(value, Mapping) or set(value) != {"quantiles", "value_ranges"}:
        raise _bad(ctx, spec, value, expected)
    qs, ranges = value["quantiles"], value["value_ranges"]
    if not isinstance(qs, (list, tuple)) or not isinstance(ranges, (list, tuple)):
        raise _bad(ctx, spec, value, expected)
    quantiles = [_to_float(q) for q in qs]
    if any(q is None or not 0.0 <= q <= 1.0 for q in quantiles):
        raise ctx.err("quantiles must be numbers between 0 and 1", expected=expected)
    if len(ranges) != len(quantiles):
        raise ctx.err(
            "quantile_ranges needs one value range per quantile", expected=expected, runtime=True
        )
    out_ranges = []
    for r in ranges:
        if not isinstance(r, (list, tuple)) or len(r) != 2:
            raise ctx.err(f"invalid value range {r!r}", expected="[lower, upper] (null = open)")
        pair = [None if b is None else _to_float(b) for b in r]
        if any(b is None and r[i] is not None for i, b in enumerate(pair)):
            raise ctx.err(f"invalid value range {r!r}", expected="numbers or null")
        out_ranges.append(pair)
    return {"quantiles": quantiles, "value_ranges": out_ranges}


def _coerce_partition(ctx: _Ctx, spec: KwargSpec, value: Any) -> dict[str, Any]:
    expected = (
        "{values: [...], weights: [...]} or {bins: [...], weights: [...], tail_weights: [a, b]}"
    )
    if not isinstance(value, Mapping) or "weights" not in value:
        raise _bad(ctx, spec, value, expected)
    weights = [_to_float(w) for w in value["weights"]]
    if any(w is None or w < 0 for w in weights):
        raise ctx.err("partition weights must be non-negative numbers", expected=expected)
    total = math.fsum(w for w in weights if w is not None)
    tails = value.get("tail_weights")
    if tails is not None:
        total += math.fsum(float(t) for t in tails)
    if not math.isclose(total, 1.0, abs_tol=1e-6):
        raise ctx.err("partition weights must sum to 1", expected=expected)
    if "values" in value:
        if len(value["values"]) != len(weights) or len(set(map(repr, value["values"]))) != len(
            weights
        ):
            raise ctx.err("partition values must be distinct, one per weight", expected=expected)
        return {"values": list(value["values"]), "weights": weights}
    raw_bins = [_to_float(b) for b in value.get("bins") or []]
    bins = [b for b in raw_bins if b is not None]
    if len(raw_bins) != len(weights) + 1 or len(bins) != len(raw_bins) or bins != sorted(bins):
        raise ctx.err(
            "partition bins must be sorted numbers, one more than weights", expected=expected
        )
    out: dict[str, Any] = {"bins": bins, "weights": weights}
    if tails is not None:
        out["tail_weights"] = [float(t) for t in tails]
    return out


_DURATION = re.compile(
    r"^\s*(\d+(?:\.\d+)?)\s*(s|sec|m|min|h|hr|d|day|days|w|week|weeks)\s*$", re.I
)
_UNITS = {
    "s": 1,
    "sec": 1,
    "m": 60,
    "min": 60,
    "h": 3600,
    "hr": 3600,
    "d": 86400,
    "day": 86400,
    "days": 86400,
    "w": 604800,
    "week": 604800,
    "weeks": 604800,
}


def parse_duration(value: Any, ctx: _Ctx | None = None) -> _dt.timedelta:
    """Parse ``"24h"``, ``"2d"``, ``"30m"``, ``"90s"``, ``"1w"`` (or seconds as a number)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return _dt.timedelta(seconds=float(value))
    m = _DURATION.match(value) if isinstance(value, str) else None
    if not m:
        msg = f"invalid duration {value!r}"
        if ctx is not None:
            raise ctx.err(msg, expected='a duration such as "24h", "2d", "30m"')
        raise ConfigError(msg, expected='a duration such as "24h", "2d", "30m"')
    return _dt.timedelta(seconds=float(m.group(1)) * _UNITS[m.group(2).lower()])


# GX validates min_value <= max_value when the expectation is built for these two
_ORDERED_BOUNDS = ("expect_column_values_to_be_between", "expect_table_row_count_to_be_between")


def _check_rules(ctx: _Ctx, etype: ExpectationType, kw: dict[str, Any]) -> None:  # noqa: C901
    name = etype.name
    lo, hi = kw.get("min_value"), kw.get("max_value")
    if name in ("expect_column_values_to_be_between", "expect_column_value_lengths_to_be_between"):
        if lo is None and hi is None:
            raise ctx.err(
                "min_value and max_value cannot both be None",
                expected="at least one of min_value / max_value",
            )
    if name == "expect_column_distinct_values_to_be_in_set" and not kw.get("value_set"):
        raise ctx.err("value_set must be a non-empty set-like object", expected="a non-empty list")
    if name in _ORDERED_BOUNDS and lo is not None and hi is not None:
        runtime = name == "expect_column_values_to_be_between"  # GX: while validating
        try:
            bad = lo > hi
        except TypeError:
            raise ctx.err(
                "min_value and max_value must be of the same kind", runtime=runtime
            ) from None
        if bad:
            raise ctx.err(
                "min_value cannot be greater than max_value",
                expected=f"min_value <= max_value (got {lo!r} > {hi!r})",
                runtime=runtime,
            )
    for key in ("regex_list", "like_pattern_list"):
        if key in kw and not kw[key]:
            raise ctx.err(f"{key} must not be empty", expected="a non-empty list of patterns")
    if name.startswith("expect_column_values_to") and "regex" in name:
        for rx in kw.get("regex_list") or [kw.get("regex", "(?s).*")]:
            try:
                re.compile(rx)
            except re.error as e:
                raise ctx.err(
                    f"invalid regex {rx!r}: {e}",
                    expected="a Python regular expression",
                    runtime=True,
                ) from None
    if etype.kind == "multicolumn" and "column_list" in kw and len(kw["column_list"]) < 2:
        raise ctx.err("column_list must contain at least two columns", expected=">= 2 column names")
    if name == "expect_select_column_values_to_be_unique_within_record":
        if kw.get("ignore_row_if", "all_values_are_missing") not in (
            "all_values_are_missing",
            "any_value_is_missing",
            "never",
        ):
            raise ctx.err("invalid ignore_row_if")
    if name == "expect_column_kl_divergence_to_be_less_than":
        t = kw.get("threshold")
        if t is not None and t < 0:
            raise ctx.err(
                "threshold must be >= 0", expected="a non-negative number or null", runtime=True
            )
        po = kw.get("partition_object") or {}
        if "values" in po and kw.get("internal_weight_holdout"):
            raise ctx.err("internal_weight_holdout cannot be used for discrete data")
        if kw.get("tail_weight_holdout") and "tail_weights" in po:
            raise ctx.err("tail_weight_holdout must be 0 when the partition has tail_weights")
    if name == "expect_sql_to_return_no_rows" and not kw["sql"].strip():
        raise ctx.err("sql must not be empty")
