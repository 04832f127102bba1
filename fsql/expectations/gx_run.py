"""``fsql test --engine gx``: run a suite through the real great_expectations package.

The relation is read into pandas and validated with GX's pandas backend (the optional extra
``fsql[gx]``). Results come back as fsql :class:`SuiteResult` objects so reports, JUnit and
stored history work the same; fsql-only expectations (freshness, row-count change, custom
SQL, relationships, generics) still run on fsql's engine, since GX has no equivalent.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fsql.errors import ConfigError

from .api import run_suite
from .gx_interop import gx_kwargs
from .parse import ExpectationSpec
from .registry import REGISTRY
from .results import ExpectationResult, SuiteResult

__all__ = ["run_suite_gx"]


def _batch_definition() -> Any:
    import logging
    import warnings

    try:
        import great_expectations as gx
    except ImportError as e:  # pragma: no cover - depends on the installed extras
        raise ConfigError(
            "--engine gx needs great_expectations", hint="pip install 'fsql[gx]'"
        ) from e
    warnings.filterwarnings("ignore", module="great_expectations")
    logging.getLogger("great_expectations").setLevel(logging.CRITICAL)
    ctx = gx.get_context(mode="ephemeral")
    asset = ctx.data_sources.add_pandas("fsql").add_dataframe_asset("relation")
    return asset.add_batch_definition_whole_dataframe("whole")


def run_suite_gx(
    con: Any,
    relation: str,
    specs: Sequence[ExpectationSpec],
    *,
    result_format: str = "SUMMARY",
    **kwargs: Any,
) -> SuiteResult:
    """Validate ``relation`` with great_expectations (pandas); same result objects as fsql."""
    from great_expectations.expectations.registry import get_expectation_impl

    from .params import bind_parameters

    params = kwargs.get("suite_parameters") or {}
    specs = [bind_parameters(s, params) for s in specs]

    gx_specs = [(i, s) for i, s in enumerate(specs) if REGISTRY.get(s.type) and REGISTRY[s.type].gx]
    other = [(i, s) for i, s in enumerate(specs) if (i, s) not in gx_specs]
    out: dict[int, ExpectationResult] = {}
    if other:
        own = run_suite(con, relation, [s for _, s in other], result_format=result_format, **kwargs)
        out.update({i: r for (i, _), r in zip(other, own.results, strict=True)})
    if gx_specs:
        df = con.execute(f"SELECT * FROM {relation}").df()
        batch = _batch_definition().get_batch(batch_parameters={"dataframe": df})
        for i, spec in gx_specs:
            try:
                expectation = get_expectation_impl(spec.type)(**gx_kwargs(spec))
                res = batch.validate(expectation, result_format=result_format).to_json_dict()
            except Exception as e:  # GX raises many types; report them per expectation
                out[i] = ExpectationResult(spec, False, {}, exception=str(e).splitlines()[0])
                continue
            info = res.get("exception_info") or {}
            message = info.get("exception_message") if isinstance(info, dict) else None
            if message is None and "raised_exception': True" in str(info):
                message = "great_expectations raised an exception"
            out[i] = ExpectationResult(
                spec, bool(res["success"]), res.get("result") or {}, exception=message
            )
    return SuiteResult(tuple(out[i] for i in range(len(specs))))
