"""Drift between versions (fsql.stats.drift) on real DuckDB, checked against numpy/scipy."""

from __future__ import annotations

import math
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pytest
from conftest import load_df
from scipy.stats import ks_2samp

from fsql.stats.columns import profile_relation
from fsql.stats.drift import (
    DRIFT_EXPECTATIONS,
    ColumnDrift,
    drift,
    drift_to_pandas,
    evaluate_drift_expectation,
    load_drift,
    psi,
    store_drift,
)


def frame(seed: int, shift: float = 0.0, n: int = 4000) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        "x": rng.normal(10 + shift, 2, n),
        "y": rng.uniform(0, 1, n),
        "c": rng.choice(["a", "b", "c"], n),
        "ts": pd.to_datetime("2024-01-01") + pd.to_timedelta(rng.integers(0, 10**6, n), "s"),
    })


def run(con: duckdb.DuckDBPyConnection, a: str, b: str, **kw: Any) -> dict[str, ColumnDrift]:
    pa, pb = profile_relation(con, a), profile_relation(con, b)
    return {d.column: d for d in drift(con, pa, pb, a, b, **kw)}


def test_identical_versions_have_no_drift(con: duckdb.DuckDBPyConnection) -> None:
    load_df(con, "v1", frame(1))
    con.execute("create table v2 as select * from v1")
    for mode in ("exact", "approx"):
        d = run(con, "v2", "v1", ks=mode)
        for col in ("x", "y", "ts"):
            assert d[col].psi == 0.0 and d[col].ks == 0.0 and abs(d[col].mean_shift_sd) < 1e-9
            assert d[col].ks_exact == (mode == "exact")
        assert d["c"].psi == 0.0 and d["c"].new_categories == () and d["c"].score == 0.0
        assert all(x.null_rate_change == 0.0 for x in d.values())


def test_shifted_column_ranks_first(con: duckdb.DuckDBPyConnection) -> None:
    ref, cur = frame(1), frame(2, shift=2.0)
    load_df(con, "v1", ref)
    load_df(con, "v2", cur)
    pa, pb = profile_relation(con, "v2"), profile_relation(con, "v1")
    ranked = drift(con, pa, pb, "v2", "v1")
    assert ranked[0].column == "x" and ranked[0].psi > 0.25
    x = ranked[0]
    assert x.ks == pytest.approx(ks_2samp(cur["x"], ref["x"]).statistic, abs=1e-12)
    assert x.ks_exact
    assert x.mean_shift_sd == pytest.approx((cur["x"].mean() - ref["x"].mean())
                                            / ref["x"].std(ddof=1), rel=1e-9)
    y = next(d for d in ranked if d.column == "y")
    assert y.psi < 0.05 and y.ks == pytest.approx(ks_2samp(cur["y"], ref["y"]).statistic)
    approx = {d.column: d for d in drift(con, pa, pb, "v2", "v1", ks="approx")}
    assert approx["x"].ks == pytest.approx(x.ks, abs=0.02) and not approx["x"].ks_exact
    assert [d.column for d in ranked] == [d.column for d in drift(con, pa, pb, "v2", "v1")]


def test_psi_uses_reference_edges(con: duckdb.DuckDBPyConnection) -> None:
    ref, cur = frame(3), frame(4, shift=1.0)
    load_df(con, "v1", ref)
    load_df(con, "v2", cur)
    d = run(con, "v2", "v1")["x"]
    lo, hi = ref["x"].min(), ref["x"].max()
    inner = np.linspace(lo, hi, 21)[1:-1]
    r_counts = np.histogram(ref["x"], bins=[-np.inf, *inner, np.inf])[0]
    c_counts = np.histogram(cur["x"], bins=[-np.inf, *inner, np.inf])[0]
    a = np.maximum(c_counts / c_counts.sum(), 1e-4)
    e = np.maximum(r_counts / r_counts.sum(), 1e-4)
    assert d.psi == pytest.approx(float(np.sum((a - e) * np.log(a / e))), rel=1e-9)


def test_new_and_vanished_categories_and_null_rate(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("create table v1 as select ['a', 'b', 'c'][1 + i % 3] as c, "
                "case when i % 10 = 0 then null else i end as n from range(300) t(i)")
    con.execute("create table v2 as select ['a', 'b', 'd', 'e'][1 + i % 4] as c, "
                "case when i % 4 = 0 then null else i end as n from range(400) t(i)")
    d = run(con, "v2", "v1")
    c = d["c"]
    assert c.new_categories == ("d", "e") and c.vanished_categories == ("c",)
    keys = ["a", "b", "c", "d", "e"]
    want = psi([100, 100, 0, 100, 100], [100, 100, 100, 0, 0])
    assert c.psi == pytest.approx(want) and keys
    assert d["n"].null_rate_change == pytest.approx(0.25 - 0.1)
    assert c.score >= c.psi


def test_constant_reference_and_empty_side(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("create table v1 as select 5 as x, null::double as z from range(100)")
    con.execute("create table v2 as select case when i < 50 then 5 else 6 end as x, "
                "i::double as z from range(100) t(i)")
    d = run(con, "v2", "v1")
    assert d["x"].psi > 1.0 and d["x"].ks == pytest.approx(0.5)
    assert d["z"].psi is None and d["z"].ks is None and d["z"].null_rate_change == -1.0


def test_ties_sorted_by_column_name(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("create table v1 as select i as b, i as a, i as c from range(50) t(i)")
    ranked = drift(con, profile_relation(con, "v1"), profile_relation(con, "v1"), "v1", "v1")
    assert [d.column for d in ranked] == ["a", "b", "c"]
    assert list(drift_to_pandas(ranked)["column"]) == ["a", "b", "c"]


def test_store_load_drift_round_trip(tmp_path: Any) -> None:
    path = tmp_path / "w.duckdb"
    con = duckdb.connect(str(path))
    load_df(con, "v1", frame(1))
    load_df(con, "v2", frame(2, shift=1.0))
    ranked = drift(con, profile_relation(con, "v2"), profile_relation(con, "v1"), "v2", "v1")
    assert load_drift(con, "m", 2) == []
    store_drift(con, "m", 2, 1, ranked)
    store_drift(con, "m", 2, 1, ranked)
    con.close()
    con = duckdb.connect(str(path), read_only=True)
    assert load_drift(con, "m", 2) == ranked
    rows = con.execute("select rank, column_name, reference_version from fsql_meta.drift "
                       "order by rank").fetchall()
    assert [r[1] for r in rows] == [d.column for d in ranked] and rows[0][2] == 1
    con.close()


def test_drift_expectations() -> None:
    d = ColumnDrift("x", 0.3, 0.12, 1.5, -0.02, (), (), 0.3, "float", True)
    ok, res = evaluate_drift_expectation("expect_column_psi_to_be_less_than",
                                         {"column": "x", "threshold": 0.25}, d)
    assert not ok and res["observed_value"] == 0.3
    ok, res = evaluate_drift_expectation("expect_column_psi_to_be_less_than",
                                         {"column": "x", "threshold": 0.5}, d)
    assert ok
    ok, res = evaluate_drift_expectation("expect_column_ks_statistic_to_be_less_than",
                                         {"column": "x", "threshold": 0.1}, d)
    assert not ok and res["details"]["ks_exact"]
    ok, res = evaluate_drift_expectation("expect_column_null_rate_change_to_be_less_than",
                                         {"column": "x", "threshold": 0.05}, d)
    assert ok and res["observed_value"] == 0.02 and res["details"]["signed_change"] == -0.02
    ok, res = evaluate_drift_expectation("expect_column_null_rate_change_to_be_less_than",
                                         {"column": "x", "threshold": 0.01}, d)
    assert not ok
    ok, res = evaluate_drift_expectation("expect_column_psi_to_be_less_than",
                                         {"column": "x", "threshold": 0.1}, None)
    assert ok and res["observed_value"] is None and "no reference" in res["details"]["reason"]
    cat = ColumnDrift("c", 0.0, None, None, 0.0, (), (), 0.0, "string")
    ok, res = evaluate_drift_expectation("expect_column_ks_statistic_to_be_less_than",
                                         {"column": "c", "threshold": 0.1}, cat)
    assert ok and "not defined" in res["details"]["reason"]
    with pytest.raises(KeyError):
        evaluate_drift_expectation("expect_column_kl_to_be_small", {"threshold": 1}, d)
    assert set(DRIFT_EXPECTATIONS) == {"expect_column_psi_to_be_less_than",
                                       "expect_column_ks_statistic_to_be_less_than",
                                       "expect_column_null_rate_change_to_be_less_than"}


def test_psi_formula() -> None:
    a, e = [30, 70], [50, 50]
    want = (0.3 - 0.5) * math.log(0.3 / 0.5) + (0.7 - 0.5) * math.log(0.7 / 0.5)
    assert psi(a, e) == pytest.approx(want)
    assert psi([0, 10], [10, 0]) == pytest.approx(2 * (1 - 1e-4) * math.log(1 / 1e-4))


def test_sampled_drift_rebins_on_sample(con: duckdb.DuckDBPyConnection) -> None:
    load_df(con, "v1", frame(1, n=30_000))
    load_df(con, "v2", frame(2, shift=1.0, n=30_000))
    pa = profile_relation(con, "v2", sample_rows=5_000)
    pb = profile_relation(con, "v1", sample_rows=5_000)
    d = {x.column: x for x in drift(con, pa, pb, "v2", "v1", ks="approx")}
    exact = ks_2samp(frame(2, shift=1.0, n=30_000)["x"], frame(1, n=30_000)["x"]).statistic
    assert d["x"].ks == pytest.approx(exact, abs=0.05) and d["x"].psi > 0.1
    assert any("sample" in n for n in d["x"].notes)
