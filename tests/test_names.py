"""Names are identifiers, never SQL (issue 17, part 3). Names that become relations or files
are validated at load (the golden corpus has the hostile cases); column names — which come
from SQL aliases and CSV headers — are data and must be quoted everywhere fsql writes SQL.
A project whose columns are named to break out of a quoted identifier builds, checks,
profiles, serves training sets and online features, and runs no statement of theirs."""

from __future__ import annotations

import pandas as pd
import pytest
from conftest import query_db as q

import fsql
from fsql.errors import ConfigError
from fsql.featurestore.featureset import FeatureSet

EVIL = 'v"; drop table main.keep; --'
EVIL_SQL = EVIL.replace('"', '""')
FILES = {
    "entities.yml": "entities:\n  - name: user\n    join_keys: [{name: user_id, type: BIGINT}]\n",
    "seeds/people.csv": f'user_id,"{EVIL_SQL}"\n1,5\n2,7\n',
    "models/keep.sql": "{{ config(materialized='table') }}\nselect 42 as answer",
    "models/fs.sql": "{{ config(materialized='feature_set', entities=['user'], timestamp='ts', "
                     "online=true) }}\n"
                     f'select user_id, timestamp \'2026-01-01\' as ts, "{EVIL_SQL}" * 2.0 as '
                     f'"{EVIL_SQL}" from {{{{ ref(\'people\') }}}}',
    "models/fs.yml": "models:\n  - name: fs\n    columns:\n"
                     f"      - name: '{EVIL}'\n        expectations:\n"
                     "          - not_null\n"
                     "          - expect_column_values_to_be_between: {min_value: 0}\n"
                     "          - expect_column_mean_to_be_between: {max_value: 100}\n"
                     "          - expect_column_values_to_be_unique\n",
}


def test_hostile_column_names_are_quoted_everywhere(make_project) -> None:
    root = make_project(FILES)
    res = fsql.Project(root).run()
    assert res.exit_code == 0, res.results
    assert q(root, "select answer from main.keep") == [(42,)]
    assert q(root, f'select "{EVIL_SQL}" from main.fs order by 1') == [(10.0,), (14.0,)]
    assert fsql.Project(root).test().exit_code == 0
    entity = pd.DataFrame({"user_id": [2], "ts": pd.to_datetime(["2026-02-01"])})
    with fsql.FeatureStore(root) as store:
        assert store.get_training_set(entity, ["fs:*"]).to_pandas()[EVIL].tolist() == [14.0]
    from fsql.featurestore import serving

    assert serving.materialize_project(root, as_of="2026-01-02")[0].rows_written == 2
    store = fsql.FeatureStore(root)
    try:
        got = serving.get_online_features(store, [f"fs:{EVIL}"], [{"user_id": 1}],
                                          now="2026-01-02")
        assert got.to_dict()[EVIL] == [10.0]
    finally:
        serving.close_online(store)
    fsql.Project(root).docs_generate()
    docs = [p for p in (root / "target" / "docs").rglob("*") if p.is_file()]
    assert any("drop table main.keep" in p.read_text(errors="replace") for p in docs)
    assert q(root, "select answer from main.keep") == [(42,)]


def test_python_feature_set_name_is_checked_before_a_file_is_written(make_project) -> None:
    root = make_project({"entities.yml": FILES["entities.yml"]})
    df = pd.DataFrame({"user_id": [1], "dt": pd.to_datetime(["2026-01-01"]), "x": [1.0]})
    for name in ("../escape", 'a"; drop table x; --', "1st"):
        with fsql.FeatureStore(root) as store, pytest.raises(ConfigError) as e:
            store.apply(FeatureSet(name, ["user"], "dt").infer_fields_from_df(df))
        assert "is not an identifier" in e.value.message and "letters, digits" in (
            e.value.expected or "")
    assert not (root / "feature_sets").exists() and not (root.parent / "escape.yml").exists()
