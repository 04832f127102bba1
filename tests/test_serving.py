"""fsql.featurestore.serving: a real project built in DuckDB, materialized to SQLite / a real
redis-server, read in-process, and pushed to over real HTTP (uvicorn in a thread)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pandas as pd
import pytest
from online_fixtures import ServerThread, redis_url  # noqa: F401 - redis_url is a fixture

import fsql
from fsql.errors import ConfigError
from fsql.featurestore import serving
from fsql.lock import WriteLock

SPEND_SQL = """{{ config(materialized='feature_set', entities=['user'], timestamp='ts',
                   ttl='30d', online=true) }}
select * from (values
  (1, timestamp '2026-01-01', 10.0, 'a'), (1, timestamp '2026-01-03', 30.0, 'b'),
  (2, timestamp '2026-01-02', 5.0, 'c'), (3, timestamp '2026-01-04', 7.0, 'd'),
  (4, timestamp '2025-10-01', 1.0, 'e')) t(user_id, ts, spend, tier)
"""
FILES = {
    "entities.yml": "entities:\n  - name: user\n    join_keys: [{name: user_id, type: BIGINT}]\n",
    "models/spend.sql": SPEND_SQL,
    "models/offline_only.sql": "{{ config(materialized='feature_set', entities=['user'], "
                               "timestamp='ts') }}\nselect 1::bigint as user_id, "
                               "timestamp '2026-01-01' as ts, 2.0 as x",
}
AS_OF = "2026-01-05"
# Store-independent behaviour runs on SQLite only (Redis: materialize/read and push tests).
SQLITE_ONLY = pytest.mark.parametrize("project", ["sqlite"], indirect=True)
AGG = pd.DataFrame({"user_id": [1, 2], "dt": pd.to_datetime(["2026-01-01", "2026-01-01"]),
                    "clicks": pd.Series([3, 4], dtype="int32"), "ratio": [0.5, 0.25]})


@pytest.fixture(params=["sqlite", "redis"])
def project(request: pytest.FixtureRequest, make_project: Callable[..., Path]) -> Path:
    """A built project whose online store is SQLite (the default) or a real Redis."""
    cfg = "name: serving_test\nprofile:\n  threads: 1\n"
    if request.param == "redis":
        url = request.getfixturevalue("redis_url")
        cfg += f"online_store: {{type: redis, url: '{url}', prefix: t{time.monotonic_ns()}}}\n"
    root = make_project({**FILES, "fsql_project.yml": cfg})
    assert fsql.Project(root).run().exit_code == 0
    return root


def _read(root: Path, features: list[str], users: list[int], now: str = AS_OF) -> dict:
    store = fsql.FeatureStore(root)
    try:
        resp = serving.get_online_features(store, features, [{"user_id": u} for u in users],
                                           now=now)
        return resp.to_dict() | {"__status": resp.statuses}
    finally:
        serving.close_online(store)


def test_materialize_read_and_incremental_rematerialize(project: Path) -> None:
    assert serving.online_status(project) == {}
    assert not (project / "online.sqlite").exists()  # status does not create the store
    [res] = serving.materialize_project(project, as_of=AS_OF)
    assert (res.feature_set, res.version, res.mode) == ("spend", 1, "full")
    assert (res.rows_written, res.row_count) == (3, 3)  # user 4 is outside the 30d TTL
    status = serving.online_status(project)
    assert list(status) == ["spend"]
    assert status["spend"]["version"] == 1 and status["spend"]["rows"] == 3
    assert status["spend"]["materialized_at"] and status["spend"]["as_of"].startswith(AS_OF)

    # the warehouse was closed: a rebuild in this process can open it for writing
    (project / "models" / "spend.sql").write_text(SPEND_SQL.replace("5.0", "6.0"))
    assert fsql.Project(project).run().exit_code == 0
    [res2] = serving.materialize_project(project, as_of=AS_OF)
    assert (res2.version, res2.mode, res2.rows_written, res2.rows_deleted) == (2, "diff", 1, 0)
    assert serving.online_status(project)["spend"]["version"] == 2

    # reads use only the online store: they work with the warehouse gone
    db = fsql.Project(project).database
    db.rename(db.with_name("moved.duckdb"))
    got = _read(project, ["spend:spend", "spend:tier"], [1, 2, 99, 4])
    assert got["user_id"] == [1, 2, 99, 4]
    assert got["spend"] == [30.0, 6.0, None, None]  # latest per entity; missing -> None
    assert got["tier"] == ["b", "c", None, None]
    assert got["__status"]["spend"] == ["PRESENT", "PRESENT", "NOT_FOUND", "NOT_FOUND"]
    late = _read(project, ["spend:*"], [3], now="2026-03-01")  # read-time TTL check
    assert late["spend"] == [None] and late["__status"]["spend"] == ["OUTSIDE_MAX_AGE"]


@SQLITE_ONLY
def test_select_errors_name_the_problem(project: Path) -> None:
    with pytest.raises(ConfigError, match="unknown feature set 'spnd'") as info:
        serving.materialize_project(project, select=["spnd"])
    assert info.value.hint == "did you mean 'spend'?"
    with pytest.raises(ConfigError, match="'offline_only' is not online"):
        serving.materialize_project(project, select=["offline_only"])
    with fsql.FeatureStore(project) as store:
        sets = serving.online_feature_sets(store)
    assert list(sets) == ["spend"]
    fs = sets["spend"]
    assert fs.relation == '"fsql_versions"."spend__v1"'
    assert (fs.join_keys, fs.timestamp, fs.features, fs.ttl_seconds) == (
        ("user_id",), "ts", ("spend", "tier"), 30 * 86400)
    assert fs.feature_types == {"user_id": "INTEGER", "ts": "TIMESTAMP",
                                "spend": "DECIMAL(3,1)", "tier": "VARCHAR"}
    with pytest.raises(ConfigError, match="'spend' is not in the online store") as info:
        _read(project, ["spend:spend"], [1])
    assert info.value.hint is not None and "fsql materialize" in info.value.hint
    serving.materialize_project(project, as_of=AS_OF)
    with pytest.raises(ConfigError, match="unknown feature 'spnd'") as info:
        _read(project, ["spend:spnd"], [1])
    assert info.value.hint == "did you mean 'spend'?"


@pytest.fixture
def served(project: Path) -> Iterator[tuple[Path, httpx.Client]]:
    """The project plus a Python-defined online feature set 'agg' (clicks >= 0), both
    materialized, served by a real uvicorn server."""
    store = fsql.FeatureStore(project)
    fs = fsql.FeatureSet("agg", entities=["user"], timestamp="dt", online=True)
    fs.infer_fields_from_df(AGG)
    fs.expectations = [{"expect_column_values_to_be_between": {"column": "clicks",
                                                                "min_value": 0}}]
    store.apply(fs)
    assert store.ingest(fs, AGG) == 1
    store.close()
    serving.materialize_project(project, as_of=AS_OF)
    with ServerThread(serving.make_app(project)) as srv, \
            httpx.Client(base_url=srv.url, timeout=30) as client:
        yield project, client


def _online(client: httpx.Client, feature: str, users: list[int]) -> list:
    r = client.post("/get-online-features", json={"features": [feature],
                                                  "entities": {"user_id": users}})
    assert r.status_code == 200, r.text
    return list(r.json()["results"][1]["values"])


def _versions(root: Path, name: str) -> list[tuple[int, str]]:
    return [(v.version, v.status) for v in fsql.Project(root).versions(name)]


def _push(client: httpx.Client, fs: str, df: dict, to: str) -> httpx.Response:
    return client.post("/push", json={"feature_set": fs, "df": df, "to": to})


def test_push_online_and_offline_over_http(served: tuple[Path, httpx.Client]) -> None:
    root, client = served
    assert client.get("/health").json()["feature_sets"] == 2
    assert _online(client, "agg:clicks", [1, 2]) == [3, 4]
    r = _push(client, "agg", {"user_id": [1], "dt": ["2026-01-02T00:00:00Z"], "clicks": [10],
                              "ratio": [0.75]}, "online_and_offline")
    assert r.status_code == 200, r.text
    assert r.json() == {"feature_set": "agg", "rows": 1, "online_written": 1, "offline": True}
    assert _versions(root, "agg") == [(1, "superseded"), (2, "live")]
    offline = fsql.Project(root).read("agg").sort_values(["user_id", "dt"])
    assert offline["clicks"].tolist() == [3, 10, 4]
    assert str(offline["clicks"].dtype) == "int32"  # stored with the declared type
    assert _online(client, "agg:clicks", [1, 2]) == [10, 4]
    assert _online(client, "agg:ratio", [1]) == [0.75]
    # the server holds no DuckDB connection: a build in this process can write meanwhile
    assert fsql.Project(root).run().exit_code == 0


@SQLITE_ONLY
def test_push_failing_expectation_stores_nothing(served: tuple[Path, httpx.Client]) -> None:
    root, client = served
    bad = {"user_id": [1, 2], "dt": ["2026-01-03", "2026-01-03"], "clicks": [5, -1],
           "ratio": [0.1, 0.2]}
    for to in ("online_and_offline", "online", "offline"):
        r = _push(client, "agg", bad, to)
        assert r.status_code == 422, r.text
        assert "clicks.expect_column_values_to_be_between" in r.json()["detail"]
    too_big = {"user_id": [1], "dt": ["2026-01-03"], "clicks": [2**40], "ratio": [0.1]}
    r = _push(client, "agg", too_big, "online")
    assert r.status_code == 422
    assert r.json()["detail"] == f"column 'clicks' row 0: {2**40} is not a valid INTEGER"
    assert r.json()["expected"] == "INTEGER"
    assert _versions(root, "agg") == [(1, "live")]
    assert _online(client, "agg:clicks", [1, 2]) == [3, 4]


@SQLITE_ONLY
def test_push_to_sql_feature_set(served: tuple[Path, httpx.Client]) -> None:
    root, client = served
    df = {"user_id": [2], "ts": ["2026-01-04T12:00:00Z"], "spend": [8.5], "tier": ["z"]}
    r = _push(client, "spend", df, "online_and_offline")
    assert r.status_code == 400
    assert r.json()["detail"] == "feature set 'spend' is built by SQL; push to online only"
    assert _versions(root, "spend") == [(1, "live")]
    got = _read(root, ["spend:tier"], [2])
    assert got["tier"] == ["c"]  # nothing was written online either
    r = _push(client, "spend", df, "online")
    assert r.status_code == 200, r.text
    assert _read(root, ["spend:spend", "spend:tier"], [2]) | {"__status": None} == {
        "user_id": [2], "spend": [8.5], "tier": ["z"], "__status": None}


@SQLITE_ONLY
def test_offline_push_while_a_build_holds_the_lock(served: tuple[Path, httpx.Client]) -> None:
    root, client = served
    df = {"user_id": [1], "dt": ["2026-01-02"], "clicks": [9], "ratio": [0.5]}
    with WriteLock(fsql.Project(root).database):
        r = _push(client, "agg", df, "online_and_offline")
    assert r.status_code == 409
    assert "locked by pid" in r.json()["detail"] and "retry" in r.json()["hint"]
    assert _online(client, "agg:clicks", [1]) == [3]
    r = _push(client, "agg", df, "online_and_offline")
    assert r.status_code == 200, r.text
    assert _versions(root, "agg")[-1] == (2, "live")
