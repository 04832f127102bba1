"""FeatureStore: training sets from a built project, saved sets, FeatureSet apply + ingest."""

from __future__ import annotations

import pandas as pd
import pytest

import fsql
from fsql.errors import ConfigError, IngestError

FILES = {
    "entities.yml": "entities:\n  - name: user\n    join_keys: [{name: user_id, type: BIGINT}]\n",
    "models/spend.sql": "{{ config(materialized='feature_set', entities=['user'], "
                        "timestamp='ts', ttl='2d') }}\n"
                        "select * from (values (1, timestamp '2026-01-01', 10.0), "
                        "(1, timestamp '2026-01-03', 30.0), (2, timestamp '2026-01-02', 5.0)) "
                        "t(user_id, ts, spend)",
}

ENTITY = pd.DataFrame({"user_id": [1, 1, 2, 3, 1],
                       "event_timestamp": pd.to_datetime(["2026-01-02", "2026-01-03",
                                                          "2026-01-05", "2026-01-03",
                                                          "2025-12-31"])})


def test_training_set_from_sql_feature_set(make_project):
    root = make_project(FILES)
    fsql.Project(root).run()
    with fsql.FeatureStore(root) as store:
        info = store.feature_sets()["spend"]
        assert info.features == ("spend",) and info.join_keys == ("user_id",)
        df = store.get_training_set(ENTITY, ["spend:spend"]).to_pandas()
    assert df["spend"].tolist()[:2] == [10.0, 30.0]
    assert pd.isna(df["spend"][2])  # 2026-01-02 + ttl 2d < 2026-01-05: expired
    assert pd.isna(df["spend"][3]) and pd.isna(df["spend"][4])
    assert len(df) == len(ENTITY)


def test_saved_training_set_is_reproducible_after_rebuild(make_project):
    root = make_project(FILES)
    fsql.Project(root).run()
    store = fsql.FeatureStore(root)
    ts = store.get_training_set(ENTITY, ["spend:*"])
    first = ts.to_pandas()
    store.save_training_set("train_v1", ts)
    (root / "models" / "spend.sql").write_text(FILES["models/spend.sql"].replace("30.0", "99.0"))
    fsql.Project(root).run()
    assert store.get_training_set(ENTITY, ["spend:spend"]).to_pandas()["spend"][1] == 99.0
    again = store.get_saved_training_set("train_v1")
    pd.testing.assert_frame_equal(again.to_pandas(), first)
    assert again.manifest["feature_sets"]["spend"]["version"] == 1
    assert [s["name"] for s in store.list_saved_training_sets()] == ["train_v1"]
    with pytest.raises(ConfigError, match="no saved training set 'train_v2'"):
        store.get_saved_training_set("train_v2")
    store.close()
    (root / "models" / "spend.sql").write_text(FILES["models/spend.sql"].replace("30.0", "98.0"))
    fsql.Project(root).run()  # v3: v1 is now beyond --keep 1 (v2 kept besides live v3)
    res = fsql.Project(root).gc(keep=1)
    assert "spend v1" in res.kept_pinned and res.removed == ()


def test_unknown_feature_has_hint(make_project):
    root = make_project(FILES)
    fsql.Project(root).run()
    with fsql.FeatureStore(root) as store, pytest.raises(ConfigError) as info:
        store.get_training_set(ENTITY, ["spend:spnd"])
    assert info.value.hint == "did you mean 'spend'?"


AGG = pd.DataFrame({"user_id": [1, 2], "dt": pd.to_datetime(["2026-01-01", "2026-01-01"]),
                    "clicks": [3, 4], "ratio": [0.5, 0.25]})


def test_feature_set_apply_ingest_and_use_from_sql(make_project):
    root = make_project({**FILES, "models/uses_agg.sql": "{{ config(materialized='table') }}\n"
                         "select sum(clicks) as total from {{ ref('all_users_agg_m') }}"})
    store = fsql.FeatureStore(root)
    fs = fsql.FeatureSet("all_users_agg_m", entities=["user"], timestamp="dt")
    fs.infer_fields_from_df(AGG)
    assert "name: all_users_agg_m" in fs.to_yaml()
    store.apply(fs)
    assert (root / "feature_sets" / "all_users_agg_m.yml").exists()
    assert store.ingest(fs, AGG) == 1
    assert store.ingest(fs, AGG.assign(dt=pd.to_datetime(["2026-01-02"] * 2))) == 2
    res = fsql.Project(root).run()
    assert res.exit_code == 0
    assert fsql.Project(root).read("uses_agg")["total"].tolist() == [14]
    ent = pd.DataFrame({"user_id": [1], "event_timestamp": pd.to_datetime(["2026-01-05"])})
    out = store.get_training_set(ent, ["all_users_agg_m:clicks", "spend:spend"]).to_pandas()
    assert out["clicks"].tolist() == [3] and out["spend"].tolist() == [30.0]
    store.close()


@pytest.mark.parametrize("frame,match", [
    (AGG.drop(columns=["user_id"]), "column 'user_id' is missing"),
    (AGG.assign(clicks=["a", "b"]), "column 'clicks' has type VARCHAR"),
    (AGG.assign(extra=[1, 2]), "unknown column 'extra'"),
])
def test_bad_ingest_stores_nothing(make_project, frame, match):
    root = make_project(FILES)
    store = fsql.FeatureStore(root)
    fs = fsql.FeatureSet("agg", entities=["user"], timestamp="dt").infer_fields_from_df(AGG)
    store.apply(fs)
    store.ingest(fs, AGG)
    with pytest.raises(IngestError, match=match) as info:
        store.ingest(fs, frame)
    assert info.value.expected
    assert [v.status for v in fsql.Project(root).versions("agg")] == ["live"]


def test_apply_rejects_unknown_entity(make_project):
    root = make_project(FILES)
    fs = fsql.FeatureSet("x", entities=["usr"], timestamp="dt").infer_fields_from_df(AGG)
    with pytest.raises(ConfigError, match="unknown entity 'usr'"):
        fsql.FeatureStore(root).apply(fs)


def test_dataset_cli(make_project, tmp_path):
    import json

    import pyarrow.parquet as pq
    from conftest import invoke_cli

    root = make_project(FILES)
    fsql.Project(root).run()
    ENTITY.to_csv(tmp_path / "ent.csv", index=False)
    out = tmp_path / "train.parquet"
    res = invoke_cli("--project-dir", str(root), "dataset", "create", "--entities",
                  str(tmp_path / "ent.csv"), "-f", "spend:*", "--out", str(out), "--name", "t")
    assert res.returncode == 0, res.stderr
    assert pq.read_table(out).num_rows == len(ENTITY)
    res = invoke_cli("--project-dir", str(root), "--log-format", "json", "dataset", "ls")
    assert json.loads(res.stdout)[0]["feature_sets"]["spend"]["version"] == 1
    res = invoke_cli("--project-dir", str(root), "dataset", "show", "t")
    assert res.returncode == 0 and '"entity_rows": 5' in res.stdout
    res = invoke_cli("--project-dir", str(root), "--log-format", "json", "ls", "--feature-sets")
    assert json.loads(res.stdout)[0]["name"] == "spend"
    res = invoke_cli("--project-dir", str(root), "dataset", "create", "--entities", "nofile.csv",
                  "-f", "spend:*")
    assert res.returncode == 2 and "no such file" in res.stderr
