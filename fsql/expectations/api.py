"""Running suites: ``run_suite`` (a DuckDB relation), ``validate`` (notebooks), generics."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from fsql.engines.duckdb import quote_ident
from fsql.errors import ConfigError

from . import frames
from .checks_agg import AGG_CHECKS, rows_check
from .checks_map import MAP_CHECKS, Check
from .checks_more import MORE_CHECKS
from .conditions import ConditionError, query_to_sql, to_query
from .params import bind_parameters
from .parse import ExpectationSpec, ValidationTimeError, parse_expectation
from .registry import ExpectationType, KwargSpec, _register
from .results import RESULT_FORMATS, ExpectationResult, SuiteResult
from .sql import CheckError, Column, Executor, run_stages

__all__ = ["run_suite", "validate", "register_generic", "GENERICS"]

CHECKS: dict[str, Callable[[Check], Any]] = {**MAP_CHECKS, **AGG_CHECKS, **MORE_CHECKS}
GENERICS: dict[str, str] = {}


def _result_format(rf: Any) -> str:
    if isinstance(rf, Mapping):
        rf = rf.get("result_format", "SUMMARY")
    value = str(rf).upper()
    if value not in RESULT_FORMATS:
        raise ConfigError(f"unknown result_format {rf!r}", expected=" / ".join(RESULT_FORMATS))
    return value


def describe(con: Any, relation: str) -> list[tuple[str, str]]:
    """(name, DuckDB type) of every column of ``relation``."""
    rows = con.execute(f"DESCRIBE SELECT * FROM {relation}").fetchall()
    return [(str(r[0]), str(r[1])) for r in rows]


def run_suite(
    con: Any,
    relation: str,
    specs: Sequence[ExpectationSpec],
    *,
    result_format: str = "SUMMARY",
    columns: Sequence[tuple[Any, ...]] | None = None,
    previous_relation: str | None = None,
    now: dt.datetime | None = None,
    dtypes: Mapping[str, str] | None = None,
    suite_parameters: Mapping[str, Any] | None = None,
    originals: Mapping[str, list[Any]] | None = None,
) -> SuiteResult:
    """Check ``specs`` against ``relation`` (already-quoted SQL name) with fused SQL.

    One aggregate statement computes every count and statistic of the expectations that
    share a ``where`` filter; unexpected samples are fetched only for failed map
    expectations. Row positions (``unexpected_index_list``) are 0-based positions in the
    relation's scan order (insertion order for fsql's version tables). ``dtypes``: the
    pandas dtype of each column when the data came from a DataFrame (type expectations).
    ``suite_parameters`` bind ``{"$PARAMETER": ...}`` kwargs (unbound: ``ConfigError``).
    """
    rf = _result_format(result_format)
    specs = [bind_parameters(s, suite_parameters or {}) for s in specs]
    cols = [Column(*c) for c in (columns if columns is not None else describe(con, relation))]
    frame_dtypes = dict(dtypes or {})
    env = {
        "previous_relation": previous_relation,
        "now": now,
        "dtypes": frame_dtypes,
        "originals": dict(originals or {}),  # SQL column -> Python objects by row (frames.py)
    }
    groups: dict[str | None, list[tuple[int, ExpectationSpec]]] = {}
    out: dict[int, ExpectationResult] = {}
    for i, spec in enumerate(specs):
        try:
            groups.setdefault(row_filter(spec, cols, frame_dtypes), []).append((i, spec))
        except ConditionError as e:
            out[i] = _error(spec, e)
    run = [(Executor(con, relation, cols, where), items) for where, items in groups.items()]
    out.update(_run_groups(run, rf, env))
    return SuiteResult(tuple(out[i] for i in range(len(specs))))


def row_filter(spec: ExpectationSpec, cols: list[Column], dtypes: Mapping[str, str]) -> str | None:
    """The SQL filter of one expectation: ``where`` AND its compiled ``row_condition``.
    Expectations with the same filter share one fused scan."""
    if spec.row_condition is None:
        return spec.where
    if spec.condition_parser == "sql":
        cond = f"({spec.row_condition})"
    else:
        by_name = {c.name: c for c in cols}
        query = to_query(spec.row_condition, spec.condition_parser)
        cond = query_to_sql(query, lambda name: _condition_column(by_name, dtypes, name))
    return cond if not spec.where else f"({spec.where}) AND {cond}"


_NULLABLE = re.compile(r"^(U?Int\d+|Float\d+|boolean|string)(\[.*\])?$")


def _condition_column(
    by_name: Mapping[str, Column], dtypes: Mapping[str, str], name: str
) -> tuple[str, str]:
    """(SQL reference, pandas null kind) of a column named in a row condition."""
    col = by_name.get(name)
    if col is None:
        raise ConditionError(f"name '{name}' is not defined (row_condition)")
    if name in dtypes:
        kind = "nullable" if _NULLABLE.match(dtypes[name]) else "nan"
    else:  # DuckDB hands integer / boolean columns with NULLs to pandas as Int64 / boolean
        kind = "nullable" if (col.is_int or col.is_bool) else "nan"
    return col.norm, ("float" if col.is_float and kind == "nan" else kind)


def _run_groups(
    run: list[tuple[Executor, list[tuple[int, ExpectationSpec]]]], rf: str, env: dict[str, Any]
) -> dict[int, ExpectationResult]:
    """Drive every expectation's check in lockstep: each stage of all filter groups is
    one fused statement (``run_stages``)."""
    gens: dict[int, tuple[Executor, Any]] = {}
    done: dict[int, ExpectationResult] = {}
    specs = {idx: spec for _, items in run for idx, spec in items}

    def step(idx: int, ex: Executor, gen: Any) -> None:
        ex.owner = idx
        try:
            next(gen)
            gens[idx] = (ex, gen)
            return
        except StopIteration as stop:
            success, result = stop.value
            done[idx] = ExpectationResult(specs[idx], bool(success), result)
        except Exception as e:  # noqa: BLE001 - GX reports any failure as exception_info
            done[idx] = _error(specs[idx], e)
        gens.pop(idx, None)

    for ex, items in run:
        for idx, spec in items:
            try:
                gen = _compile(Check(ex, spec.type, dict(spec.kwargs), rf, env))
            except Exception as e:  # noqa: BLE001 - reported as this expectation's error
                done[idx] = _error(spec, e)
                continue
            step(idx, ex, gen)
    while gens:
        run_stages([ex for ex, _ in run])
        for idx, (ex, gen) in list(gens.items()):
            if idx in ex.failed:
                done[idx] = _error(specs[idx], ex.failed[idx])
                gens.pop(idx)
                continue
            step(idx, ex, gen)
    return done


def _compile(c: Check) -> Any:
    if c.type in GENERICS:
        return _generic(c)
    fn = CHECKS.get(c.type)
    if fn is None:
        raise CheckError(f"no implementation for {c.type}")
    return fn(c)


def _error(spec: ExpectationSpec, e: Exception | str) -> ExpectationResult:
    msg = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
    return ExpectationResult(spec, False, {}, exception=msg)


# --- user-defined generic expectations ------------------------------------------------------


def register_generic(name: str, sql_template_text: str, *, doc: str = "") -> ExpectationType:
    """Register a user-defined expectation from a Jinja SQL template returning failing rows.

    The template sees ``relation`` (the checked relation, filtered by ``where``),
    ``column`` (the quoted column, when declared under one), ``column_name`` (raw) and every
    kwarg. The project loader calls this for each ``expectations/<name>.sql`` file.
    The expectation passes when the query returns no rows.
    """
    if not name.isidentifier():
        raise ConfigError(f"invalid generic expectation name {name!r}", expected="an identifier")
    import jinja2

    try:
        jinja2.Environment().parse(sql_template_text)
    except jinja2.TemplateSyntaxError as e:
        raise ConfigError(
            f"generic expectation '{name}': invalid template: {e.message}", line=e.lineno
        ) from None
    GENERICS[name] = sql_template_text
    etype = ExpectationType(
        name,
        "fsql",
        (KwargSpec("column", "column", False, None, "The column (when declared under one)."),),
        doc or "User-defined expectation (SQL returning failing rows).",
        gx=False,
        open_kwargs=True,
    )
    _register(etype)
    return etype


def _generic(c: Check) -> Any:
    import jinja2

    context = dict(c.kw)
    column = c.kw.get("column")
    context.update(
        relation=c.ex.src,
        this=c.ex.src,
        model=c.ex.src,
        column=quote_ident(column) if column else None,
        column_name=column,
    )
    sql = (
        jinja2.Environment(undefined=jinja2.StrictUndefined)
        .from_string(GENERICS[c.type])
        .render(**context)
    )
    return rows_check(c, sql.strip().rstrip(";"))


# --- notebooks ----------------------------------------------------------------------------------


def validate(
    data: Any,
    expectations: Sequence[Any],
    *,
    result_format: str = "SUMMARY",
    tables: Mapping[str, Any] | None = None,
    suite_parameters: Mapping[str, Any] | None = None,
) -> SuiteResult:
    """Validate a pandas DataFrame / Arrow table (or an object with ``_fsql_relation(con)``)
    against expectations written in the YAML form, e.g.
    ``[{"expect_column_values_to_be_between": {"column": "x", "min_value": 0}}, ...]``.
    ``tables`` names other frames the expectations may read (``other_table_name``,
    ``comparison_query``); ``suite_parameters`` give the values of ``{"$PARAMETER": ...}``
    kwargs.
    """
    if isinstance(data, str):
        raise ConfigError(
            "model names need a project: use fsql.Project(dir).validate(...)",
            expected="a pandas DataFrame or an Arrow table",
        )
    from fsql.engines.duckdb import connect, register_frame

    specs, failed = _parse_all(expectations)
    columns: list[tuple[Any, ...]] | None = None
    originals: dict[str, list[Any]] = {}
    con = connect()
    try:
        for name, frame in (tables or {}).items():
            register_frame(con, name, frame)
        if hasattr(data, "_fsql_relation"):
            relation = data._fsql_relation(con)
        else:
            if not (hasattr(data, "columns") or hasattr(data, "schema")):
                raise ConfigError(
                    f"cannot validate a {type(data).__name__}",
                    expected="a pandas DataFrame or an Arrow table",
                )
            columns, originals = frames.register(con, data)
            relation = quote_ident(frames.NAME)
        dtypes = {str(k): str(v) for k, v in getattr(data, "dtypes", {}).items()}
        suite = run_suite(
            con,
            relation,
            specs,
            result_format=result_format,
            columns=columns,
            dtypes=dtypes,
            suite_parameters=suite_parameters,
            originals=originals,
        )
        return _merge(suite, failed)
    finally:
        con.close()


def _parse_all(expectations: Sequence[Any]) -> tuple[list[ExpectationSpec], dict[int, Any]]:
    """Specs to run, and (by position) the results of configurations GX fails on while
    validating: those are exception results, as GX reports them, not a raised error."""
    specs: list[ExpectationSpec] = []
    failed: dict[int, ExpectationResult] = {}
    for i, raw in enumerate(expectations):
        try:
            specs.append(parse_expectation(raw))
        except ValidationTimeError as e:
            spec = ExpectationSpec(e.expectation, dict(e.kwargs))
            failed[i] = _error(spec, str(e).split(": ", 2)[-1])
    return specs, failed


def _merge(suite: SuiteResult, failed: dict[int, Any]) -> SuiteResult:
    ran = iter(suite.results)
    total = len(suite.results) + len(failed)
    return SuiteResult(tuple(failed[i] if i in failed else next(ran) for i in range(total)))
