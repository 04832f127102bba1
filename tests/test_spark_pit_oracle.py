"""Feast's point-in-time answers through the public API on both engines.

Every recorded PIT oracle case becomes part of ONE project: each feature view is a CSV
source (the oracle's CSV copy) and a ``feature_set`` model over it, with the case's join
keys, event and created timestamps and TTL. The project is built on DuckDB and on Spark;
``FeatureStore.get_training_set`` on each engine must give Feast's answer.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from conftest import ORACLES, SPARK_TARGET, load_pit_compare

import fsql

pit_compare = load_pit_compare()
if pit_compare is None:
    pytest.skip(f"PIT oracle corpus not found at {ORACLES}", allow_module_level=True)
CASES = pit_compare.list_cases(str(ORACLES / "pit"))

pytestmark = [pytest.mark.spark, pytest.mark.timeout(1200)]

_TYPES = {"int64": "BIGINT", "Int64": "BIGINT", "float64": "DOUBLE", "object": "VARCHAR",
          "boolean": "BOOLEAN", "bool": "BOOLEAN", "datetime64[ns]": "TIMESTAMP"}


def _project(root: Path) -> Path:
    """One project holding every case's feature views as feature sets."""
    sources, entities, files = [], [], {}
    for case_dir in CASES:
        spec = json.loads((Path(case_dir) / "spec.json").read_text())
        case = spec["case"]
        for i, fv in enumerate(spec["feature_views"]):
            name, types = f"{case}__{fv['name']}", fv["input_dtypes"]
            cols = [(c, _TYPES[t]) for c, t in types.items()]
            sources.append({"name": name, "path": _parquet_us(Path(case_dir) / fv["path"],
                                                              root / "data" / f"{name}.parquet"),
                            "columns": [{"name": c, "type": t} for c, t in cols]})
            entity = f"{case}_e{i}"
            entities.append({"name": entity, "join_keys": [
                {"name": k, "type": _TYPES[types[k]]} for k in fv["join_keys"]]})
            config = {"materialized": "feature_set", "entities": [entity],
                      "timestamp": fv["timestamp_field"]}
            if fv["created_timestamp_column"]:
                config["created_timestamp"] = fv["created_timestamp_column"]
            if fv["ttl_seconds"]:
                config["ttl"] = int(fv["ttl_seconds"])
            select = ", ".join(f'"{c}"' for c, _ in cols)
            args = ", ".join(f"{k}={v!r}" for k, v in config.items())
            files[f"models/{name}.sql"] = (f"{{{{ config({args}) }}}}\nselect {select} "
                                           f"from {{{{ source('pit', '{name}') }}}}")
    files["sources.yml"] = json.dumps({"sources": [{"name": "pit", "tables": sources}]})
    files["entities.yml"] = json.dumps({"entities": entities})
    files["fsql_project.yml"] = "name: pit_oracle\nprofile:\n  threads: 2\n" + SPARK_TARGET
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text, encoding="utf-8")
    return root


def _parquet_us(src: Path, dest: Path) -> str:
    """The oracle's Parquet with microsecond timestamps (Spark reads no nanosecond ones)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pq.read_table(src)
    for i, f in enumerate(table.schema):
        if pa.types.is_timestamp(f.type) and f.type.unit == "ns":
            table = table.set_column(i, f.name, table.column(i).cast(pa.timestamp("us", f.type.tz)))
    dest.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table.replace_schema_metadata(None), dest)
    return str(dest)


@pytest.fixture(scope="module")
def built(spark, tmp_path_factory) -> Path:  # type: ignore[no-untyped-def]
    root = _project(tmp_path_factory.mktemp("pit_oracle"))
    for target in (None, "spark"):
        res = fsql.Project(root, target=target).run()
        assert res.exit_code == 0, [(r.model, r.message) for r in res.results if r.message]
    return root


@pytest.mark.parametrize("target", [None, "spark"], ids=["duckdb", "spark"])
@pytest.mark.parametrize("case_dir", CASES, ids=[Path(c).name for c in CASES])
def test_training_sets_match_feast_on_both_engines(built, case_dir: str, target: Any) -> None:
    case = pit_compare.load_case(case_dir)
    spec = case["spec"]
    prefix = spec["case"] + "__"
    features = [prefix + f for f in spec["request"]["features"]]
    with fsql.FeatureStore(built, target=target) as fs:
        actual = fs.get_training_set(
            case["entity_df"], features,
            entity_timestamp=spec["entity_df"]["event_timestamp_column"],
            full_feature_names=spec["request"]["full_feature_names"]).to_pandas()
    actual.columns = [c.removeprefix(prefix) for c in actual.columns]
    report = pit_compare.compare_frames(
        case["expected"], actual, allowed_alternatives=spec.get("allowed_alternatives"))
    assert report["equal"], report
    assert list(actual.columns) == list(case["expected"].columns)
    assert actual["row_id"].tolist() == case["entity_df"]["row_id"].tolist()
