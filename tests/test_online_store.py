# ruff: noqa: F811  (pytest fixtures imported from online_fixtures)
"""One contract suite for every online store: in-memory fake, SQLite, real Redis."""

from __future__ import annotations

from pathlib import Path

import pytest
from online_fixtures import redis_url, store  # noqa: F401 - pytest fixtures

from fsql.errors import ConfigError
from fsql.online import FeatureSetStatus, Layout, OnlineStore, SQLiteStore, store_from_config

LAY = Layout("users", ("user_id",), ("int",), ("spend", "n", "name", "vip", "tags"),
             ("float", "int", "str", "bool", "json"), 86400.0, 3, "ts")


def _row(uid: int, ts: int = 1_000, h: int | None = 7) -> tuple:
    return (uid, ts, h, uid * 1.5, uid, f"u{uid}", uid % 2 == 0, f'["t{uid}", {uid}]')


def test_write_then_read_values_in_requested_order(store: OnlineStore) -> None:
    assert store.write_batch(LAY, [_row(1), _row(2, ts=2_000)]) == 2
    got = store.read_batch("users", [(2,), (1,), (3,)], ["tags", "spend", "vip", "name", "n"])
    assert got == [(2_000, ["t2", 2], 3.0, True, "u2", 2),
                   (1_000, ["t1", 1], 1.5, False, "u1", 1), None]


def test_unknown_feature_set_and_feature_read_as_missing(store: OnlineStore) -> None:
    assert store.read_batch("nope", [(1,)], ["spend"]) == [None]
    store.write_batch(LAY, [_row(1)])
    assert store.read_batch("users", [(1,)], ["spend", "zzz"]) == [(1_000, 1.5, None)]
    assert store.layout("nope") is None
    assert store.layout("users") == LAY


def test_upsert_overwrites_and_nulls_roundtrip(store: OnlineStore) -> None:
    store.write_batch(LAY, [_row(1)])
    store.write_batch(LAY, [(1, 5_000, None, None, None, None, None, None)])
    assert store.read_batch("users", [(1,)], ["spend", "n", "name", "vip", "tags"]) == [
        (5_000, None, None, None, None, None)]
    assert store.count("users") == 1


def test_many_keys_duplicates_and_order(store: OnlineStore) -> None:
    store.write_batch(LAY, (_row(i, ts=i) for i in range(0, 3000, 2)))
    keys = [(i,) for i in range(2999, -1, -1)] + [(4,), (4,)]
    got = store.read_batch("users", keys, ["n"])
    assert got == [(k[0], k[0]) if k[0] % 2 == 0 else None for k in keys]
    assert store.count("users") == 1500


def test_reset_and_delete_keys(store: OnlineStore) -> None:
    store.write_batch(LAY, [_row(i) for i in range(5)])
    store.write_batch(LAY, [_row(9)], delete_keys=[(0,), (1,), (42,)])
    assert sorted(store.entity_hashes("users")) == [(2,), (3,), (4,), (9,)]
    assert store.delete("users", [(2,), (77,)]) == 1
    store.write_batch(LAY, [_row(5)], reset=True)
    assert store.entity_hashes("users") == {(5,): 7}
    assert store.read_batch("users", [(3,)], ["n"]) == [None]


def test_delete_whole_feature_set(store: OnlineStore) -> None:
    store.write_batch(LAY, [_row(1), _row(2)])
    assert store.delete("users") == 2
    assert store.layout("users") is None
    assert "users" not in store.status()
    assert store.read_batch("users", [(1,)], ["n"]) == [None]
    assert store.count("users") == 0


def test_status_is_recorded_with_row_count(store: OnlineStore) -> None:
    st = FeatureSetStatus("users", 3, "2024-05-01T00:00:00Z", "2024-05-01T00:00:00Z", 0, 0,
                          "full")
    store.write_batch(LAY, [_row(1), _row(2)], status=st)
    got = store.status()["users"]
    assert (got.version, got.row_count, got.rows_written, got.mode) == (3, 2, 2, "full")
    assert got.materialized_at == "2024-05-01T00:00:00Z"
    store.write_batch(LAY, [_row(3)])  # a push keeps the materialization status
    got = store.status()["users"]
    assert (got.version, got.row_count, got.rows_written, got.mode) == (3, 3, 1, "full")
    assert list(store.layouts()) == ["users"]


def test_push_without_status_registers_feature_set(store: OnlineStore) -> None:
    store.write_batch(LAY, [_row(1)])
    st = store.status()["users"]
    assert (st.mode, st.row_count, st.materialized_at) == ("push", 1, None)


def test_layout_change_replaces_rows(store: OnlineStore) -> None:
    store.write_batch(LAY, [_row(1)])
    lay2 = Layout("users", ("user_id",), ("int",), ("spend",), ("float",), None, 4)
    store.write_batch(lay2, [(2, 10, 1, 9.5)])
    assert store.read_batch("users", [(1,), (2,)], ["spend"]) == [None, (10, 9.5)]
    assert store.layout("users") == lay2


def test_composite_and_string_keys_never_collide(store: OnlineStore) -> None:
    lay = Layout("pairs", ("a", "b"), ("int", "str"), ("x",), ("int",))
    store.write_batch(lay, [(1, "1", 1, None, 10), (1, "2", 1, None, 20), (2, "1", 1, None, 30)])
    got = store.read_batch("pairs", [(1, "2"), (2, "1"), (1, "1"), (2, "2")], ["x"])
    assert got == [(1, 20), (1, 30), (1, 10), None]
    assert store.read_batch("pairs", [(1, "2")], ["x"]) == [(1, 20)]
    lay_s = Layout("names", ("name",), ("str",), ("x",), ("int",))
    store.write_batch(lay_s, [("1", 1, None, 1), ("a'b\"c", 1, None, 2), ("é ü", 1, None, 3)])
    assert store.read_batch("names", [("a'b\"c",), ("é ü",), ("1",)], ["x"]) == [
        (1, 2), (1, 3), (1, 1)]
    assert sorted(store.entity_hashes("pairs")) == [(1, "1"), (1, "2"), (2, "1")]


def test_feature_sets_are_isolated(store: OnlineStore) -> None:
    other = Layout("other", ("user_id",), ("int",), ("n",), ("int",))
    store.write_batch(LAY, [_row(1)])
    store.write_batch(other, [(1, 5, None, 99)])
    assert store.read_batch("other", [(1,)], ["n"]) == [(5, 99)]
    assert store.read_batch("users", [(1,)], ["n"]) == [(1_000, 1)]
    store.delete("other")
    assert store.read_batch("users", [(1,)], ["n"]) == [(1_000, 1)]


def test_sqlite_file_is_shared_between_connections(tmp_path: Path) -> None:
    writer = SQLiteStore(tmp_path / "o.sqlite")
    reader = SQLiteStore(tmp_path / "o.sqlite")
    writer.write_batch(LAY, [_row(1)])
    assert reader.read_batch("users", [(1,)], ["n"]) == [(1_000, 1)]
    lay2 = Layout("users", ("user_id",), ("int",), ("n",), ("int",))
    writer.write_batch(lay2, [(1, 5, None, 42)])  # schema change seen by the cached reader
    assert reader.read_batch("users", [(1,)], ["n"]) == [(5, 42)]
    writer.close()
    reader.close()


def test_sqlite_write_is_atomic(tmp_path: Path) -> None:
    s = SQLiteStore(tmp_path / "o.sqlite")
    s.write_batch(LAY, [_row(1)])

    def rows():
        yield _row(2)
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        s.write_batch(LAY, rows(), reset=True)
    assert s.read_batch("users", [(1,), (2,)], ["n"]) == [(1_000, 1), None]


def test_store_from_config_variants(tmp_path: Path, redis_url: str) -> None:  # noqa: F811
    s = store_from_config({"name": "demo", "profile": {}}, tmp_path)
    assert s.kind == "sqlite" and (tmp_path / "online.sqlite").exists()
    s = store_from_config({"online_store": {"type": "sqlite", "path": "data/o.db"}}, tmp_path)
    assert (tmp_path / "data" / "o.db").exists()
    assert store_from_config({"online_store": {"type": "memory"}}, tmp_path).kind == "memory"
    r = store_from_config({"online_store": {"type": "redis", "url": redis_url}}, tmp_path)
    assert r.kind == "redis" and r.status() == {}


@pytest.mark.parametrize(("cfg", "message", "hint"), [
    ({"type": "redsi"}, "unknown online_store type 'redsi'", "did you mean 'redis'?"),
    ({"type": "sqlite", "pth": "x"}, "unknown key 'pth'", "did you mean 'path'?"),
    ({"type": "redis", "ulr": "redis://x"}, "unknown key 'ulr'", "did you mean 'url'?"),
    ({"type": "redis", "url": "http://x"}, "must be a redis:// URL", None),
    ({"type": "sqlite", "path": 3}, "must be a non-empty string", None),
    ({"online_store": ["sqlite"]}, "must be a mapping", None),
])
def test_store_from_config_errors(tmp_path: Path, cfg: dict, message: str,
                                  hint: str | None) -> None:
    with pytest.raises(ConfigError) as err:
        store_from_config(cfg, tmp_path)
    assert message in err.value.message
    assert err.value.hint == hint
    assert err.value.path == "fsql_project.yml"


WIDE = Layout("wide", ("id",), ("int",),
              tuple(f"n{i}" for i in range(10)) + ("s", "b", "j"),
              ("int",) * 5 + ("float",) * 5 + ("str", "bool", "json"))


def _wide(i: int) -> tuple:
    """Row ``i`` of WIDE: every third value null (two null-bitmap bytes in use)."""
    vals = [None if (i + k) % 3 == 0 else (i * 10 + k if k < 5 else i + k / 4)
            for k in range(10)]
    vals += [None if i % 4 == 0 else f"é{i}", None if i % 5 == 0 else i % 2 == 0,
             None if i % 6 == 0 else f'{{"i": {i}}}']
    return (i, 1_000 + i, i, *vals)


def _expected(i: int, feats: list[str]) -> tuple:
    row = _wide(i)
    vals = dict(zip(WIDE.features, row[3:], strict=True))
    if vals["j"] is not None:
        vals["j"] = {"i": i}
    return (1_000 + i, *(vals.get(f) for f in feats))


def test_nulls_and_kinds_roundtrip_for_one_and_many_keys(store: OnlineStore) -> None:
    store.write_batch(WIDE, (_wide(i) for i in range(40)))
    feats = ["j", "n9", "s", "n0", "b", "missing", "n7", "n3"]
    keys = [(i,) for i in (5, 41, 0, 39, 5, 12, 7)]  # 41 is missing, 5 twice
    want = [None if k[0] >= 40 else _expected(k[0], feats) for k in keys]
    assert store.read_batch("wide", keys, feats) == want
    for k, w in zip(keys, want, strict=True):  # the one-key path agrees
        assert store.read_batch("wide", [k], feats) == [w]


def test_read_columns_matches_read_batch(store: OnlineStore) -> None:
    store.write_batch(WIDE, (_wide(i) for i in range(20)))
    ids = [3, 99, 3, 18, 0]
    ts, cols = store.read_columns("wide", [ids], ["n1", "s", "j"])
    assert ts == [1_003, None, 1_003, 1_018, 1_000]
    assert cols == [[31, None, 31, 181, 1], ["é3", None, "é3", "é18", None],
                    [{"i": 3}, None, {"i": 3}, None, None]]
    assert cols[0] is not cols[1] and ts is not store.read_columns("wide", [ids], ["s"])[0]
    assert store.read_columns("wide", [[]], ["n1", "s"]) == ([], [[], []])
    assert store.read_columns("nope", [[1, 2]], ["x"]) == ([None, None], [[None, None]])


def test_special_values_roundtrip(store: OnlineStore) -> None:
    lay = Layout("sp", ("k",), ("str",), ("f", "i", "s", "b"), ("float", "int", "str", "bool"))
    rows = [("inf", 1, None, float("inf"), 2**63 - 1, "", False),
            ("neg", 2, None, -0.0, -(2**63), "a\x00b\n✓", True),
            ("nan", 3, None, float("nan"), 0, None, None)]
    store.write_batch(lay, rows)
    got = store.read_batch("sp", [("inf",), ("neg",), ("nan",)], ["f", "i", "s", "b"])
    assert got[0] == (1, float("inf"), 2**63 - 1, "", False)
    assert got[1] == (2, -0.0, -(2**63), "a\x00b\n✓", True)
    assert got[2][0] == 3 and got[2][1] != got[2][1] and got[2][2:] == (0, None, None)


def test_out_of_range_integer_is_a_clear_error(store: OnlineStore) -> None:
    big = (2, 1_000, None, 1.0, 2**64, "x", True, "[]")
    if store.kind == "memory":  # keeps Python objects as they are
        store.write_batch(LAY, [big])
        assert store.read_batch("users", [(2,)], ["n"]) == [(1_000, 2**64)]
        return
    with pytest.raises(ConfigError) as err:
        store.write_batch(LAY, [_row(1), big])
    assert "feature set 'users'" in err.value.message
    assert "64 bits" in (err.value.expected or "")
    assert store.read_batch("users", [(1,)], ["n"]) == [None]  # nothing was written


def test_sqlite_reader_survives_the_feature_set_being_dropped(tmp_path: Path) -> None:
    writer = SQLiteStore(tmp_path / "o.sqlite")
    reader = SQLiteStore(tmp_path / "o.sqlite")
    writer.write_batch(LAY, [_row(1), _row(2)])
    assert reader.read_batch("users", [(1,), (2,)], ["n"]) == [(1_000, 1), (1_000, 2)]
    writer.delete("users")
    assert reader.read_batch("users", [(1,), (2,)], ["n"]) == [None, None]
    assert reader.read_batch("users", [(1,)], ["n"]) == [None]
    writer.write_batch(LAY, [_row(2, ts=5)])
    assert reader.read_batch("users", [(1,), (2,)], ["n"]) == [None, (5, 2)]
    writer.close()
    reader.close()
