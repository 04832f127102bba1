"""fsql point-in-time retrieval agrees with Feast 0.67 on every recorded oracle case."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import ORACLES, load_pit_compare

from fsql.engines.duckdb import connect, quote_ident
from fsql.featurestore.retrieval import FeatureView, get_training_set, parse_feature_refs

pit_compare = load_pit_compare()
if pit_compare is None:
    pytest.skip(f"PIT oracle corpus not found at {ORACLES}", allow_module_level=True)
CASES = pit_compare.list_cases(str(ORACLES / "pit"))


def run_case(case: dict, *, as_arrow: bool = False):
    """Load the case's feature views into in-memory DuckDB and run fsql on it."""
    spec = case["spec"]
    con = connect()
    meta = {fv["name"]: fv for fv in spec["feature_views"]}
    for name, frame in case["feature_views"].items():
        con.register("__load", frame)
        con.execute(f"CREATE TABLE {quote_ident(name)} AS SELECT * FROM __load")
        con.unregister("__load")
    available = {n: [f["name"] for f in fv["features"]] for n, fv in meta.items()}
    views = [
        FeatureView(
            name=n,
            relation=quote_ident(n),
            join_keys=tuple(meta[n]["join_keys"]),
            timestamp=meta[n]["timestamp_field"],
            created_timestamp=meta[n]["created_timestamp_column"],
            ttl_seconds=meta[n]["ttl_seconds"],
            features=cols,
        )
        for n, cols in parse_feature_refs(spec["request"]["features"], available)
    ]
    entity = case["entity_df"]
    if as_arrow:
        import pyarrow as pa

        entity = pa.Table.from_pandas(entity, preserve_index=False)
    ts = get_training_set(
        con,
        entity,
        views,
        entity_timestamp=spec["entity_df"]["event_timestamp_column"],
        full_feature_names=spec["request"]["full_feature_names"],
    )
    return ts.to_pandas()


def test_corpus_is_not_empty() -> None:
    assert len(CASES) >= 9


@pytest.mark.parametrize("case_dir", CASES, ids=[Path(c).name for c in CASES])
def test_matches_feast(case_dir: str) -> None:
    case = pit_compare.load_case(case_dir)
    spec = case["spec"]
    actual = run_case(case)
    report = pit_compare.compare_frames(
        case["expected"], actual, allowed_alternatives=spec.get("allowed_alternatives")
    )
    assert report["equal"], report
    # Feast's column order: entity columns, then the requested features.
    assert list(actual.columns) == list(case["expected"].columns)
    # Input order is kept (the corpus entity frames are in row_id order).
    assert actual["row_id"].tolist() == case["entity_df"]["row_id"].tolist()


@pytest.mark.parametrize("case_dir", CASES[:3], ids=[Path(c).name for c in CASES[:3]])
def test_matches_feast_from_arrow_entity(case_dir: str) -> None:
    case = pit_compare.load_case(case_dir)
    report = pit_compare.compare_frames(
        case["expected"],
        run_case(case, as_arrow=True),
        allowed_alternatives=case["spec"].get("allowed_alternatives"),
    )
    assert report["equal"], report
