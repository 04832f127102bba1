"""Generate a synthetic fsql feature project: N models over E synthetic events (deterministic).

Layers (depth 7, ~1.8 model edges per model on average)::

    stg_*    view          events source -> filtered projection           (source edge)
    daily_*  table         per user-day counts/sums                       (1 parent)
    agg_*    table         per-user rolling windows over 1/7/30/90 days  (1 parent)
    win_*    table|view    window functions (lag, row_number, ratio) over 2 aggregates
    fs_*     feature_set   joins 2..6 parents (win_* / agg_*), entities=['user'], ttl='30d'
    fx_*     table         derived features combining 1..2 feature sets
    training table         joins up to 6 fx_* models: the training table

Every model has a YAML file (description, columns, types on some, tags on some); the project
has ``entities.yml``, ``sources.yml`` and one macro. The events source is a Parquet file written
by DuckDB from pure integer arithmetic, so the same (N, E) always gives the same bytes of data.

Usage: ``python bench/gen_project.py OUT --models 1000 --events 100000``
"""

from __future__ import annotations

import argparse
import shutil
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["Layout", "generate", "layout", "write_events"]

WINDOWS = (1, 7, 30, 90)
CATEGORIES = ("grocery", "travel", "dining", "fuel", "online", "health", "fun", "other")
CHANNELS = ("web", "app", "pos")
DAYS = 180
_FRACTIONS = (("stg", 0.05), ("daily", 0.10), ("agg", 0.30), ("win", 0.25), ("fs", 0.15),
              ("fx", 0.15))


@dataclass(frozen=True)
class Layout:
    """How many models of each layer a project of ``n`` models has."""

    counts: dict[str, int]

    def names(self, layer: str) -> list[str]:
        return [f"{layer}_{i}" for i in range(self.counts[layer])]

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def layout(n_models: int) -> Layout:
    """Split ``n_models`` (>= 7) over the seven layers; every layer gets at least one model."""
    if n_models < 7:
        raise ValueError("need at least 7 models (one per layer)")
    rest = n_models - 1  # the training table
    counts = {k: max(1, round(rest * f)) for k, f in _FRACTIONS}
    while sum(counts.values()) != rest:  # the largest layer absorbs rounding
        big = max(counts, key=lambda k: (counts[k], k))
        counts[big] += 1 if sum(counts.values()) < rest else -1
    counts["training"] = 1
    return Layout(counts)


def write_events(path: Path, n_events: int) -> None:
    """Write ``n_events`` synthetic card events as Parquet (deterministic, via DuckDB)."""
    import duckdb

    n_users = max(50, n_events // 100)
    cats = "[" + ", ".join(f"'{c}'" for c in CATEGORIES) + "]"
    chans = "[" + ", ".join(f"'{c}'" for c in CHANNELS) + "]"
    sql = f"""
    copy (
      select i as event_id,
             (i * 48271) % 2147483647 % {n_users} as user_id,
             (i * 69621) % 2147483647 % 5000 as item_id,
             timestamp '2026-01-01'
               + to_seconds(((i * 16807) % 2147483647 % {DAYS * 86400})::bigint) as ts,
             ((i * 39373) % 2147483647 % 100000 / 100.0 + 1)::double as amount,
             {cats}[1 + ((i * 630360016) % 2147483647 % {len(CATEGORIES)})::int] as category,
             {chans}[1 + ((i * 742938285) % 2147483647 % {len(CHANNELS)})::int] as channel
      from range({int(n_events)}) t(i)
      order by i
    ) to '{path.as_posix()}' (format parquet, row_group_size 122880)
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    try:
        con.execute("set threads=1")  # same row groups, same bytes, every time
        con.execute(sql)
    finally:
        con.close()


@dataclass
class _Model:
    name: str
    folder: str
    sql: str
    yml: str
    main_col: str  # a numeric column children pick
    parents: list[str] = field(default_factory=list)


def _yml(name: str, desc: str, cols: list[tuple[str, str | None, str]],
         tags: list[str]) -> str:
    lines = ["models:", f"  - name: {name}", f"    description: {desc}"]
    if tags:
        lines.append(f"    tags: [{', '.join(tags)}]")
    lines.append("    columns:")
    for col, typ, cdesc in cols:
        lines.append(f"      - name: {col}")
        if typ:
            lines.append(f"        type: {typ}")
        lines.append(f"        description: {cdesc}")
    return "\n".join(lines) + "\n"


def _stg(i: int) -> _Model:
    cat = CATEGORIES[i % len(CATEGORIES)]
    name = f"stg_{i}"
    sql = (f"select user_id, item_id, ts, {{{{ dollars('amount') }}}} as amount,\n"
           f"       cast(ts as date) as event_day, channel\n"
           f"from {{{{ source('raw', 'events') }}}}\n"
           f"where category = '{cat}' and amount >= {{{{ var('min_amount') }}}}\n")
    cols = [("user_id", "BIGINT" if i % 2 == 0 else None, "The user."),
            ("amount", "DOUBLE", "Event amount in dollars."),
            ("event_day", None, "Calendar day of the event.")]
    return _Model(name, "staging", sql, _yml(name, f"Card events of category {cat}.", cols,
                                             ["staging"] if i % 3 == 0 else []), "amount")


def _daily(i: int, stg: list[str]) -> _Model:
    name, p = f"daily_{i}", stg[i % len(stg)]
    sql = (f"select user_id, event_day as day, count(*) as n, sum(amount) as amount,\n"
           f"       max(amount) as max_amount, count(distinct channel) as n_channels\n"
           f"from {{{{ ref('{p}') }}}}\n"
           f"group by user_id, event_day\n")
    cols = [("user_id", "BIGINT", "The user."), ("day", "DATE", "Calendar day."),
            ("amount", None, "Spend that day.")]
    return _Model(name, "daily", sql, _yml(name, f"Per user-day totals of {p}.", cols, []),
                  "amount", [p])


def _agg(i: int, daily: list[str]) -> _Model:
    w, p = WINDOWS[i % len(WINDOWS)], daily[i % len(daily)]
    name = f"agg_{i}"
    sql = (f"select user_id, day as feature_ts,\n"
           f"       sum(amount) over w as amount_{w}d, sum(n) over w as n_{w}d,\n"
           f"       max(max_amount) over w as max_{w}d\n"
           f"from {{{{ ref('{p}') }}}}\n"
           f"window w as (partition by user_id order by day\n"
           f"             range between interval {w - 1} days preceding and current row)\n")
    cols = [("user_id", "BIGINT" if i % 3 == 0 else None, "The user."),
            ("feature_ts", "DATE" if i % 3 == 1 else None, "Day the window ends."),
            (f"amount_{w}d", "DOUBLE" if i % 2 == 0 else None, f"Spend over {w} days.")]
    return _Model(name, "windows", sql,
                  _yml(name, f"Rolling {w}-day aggregates of {p}.", cols, [f"window_{w}d"]),
                  f"amount_{w}d", [p])


def _win(i: int, aggs: list[_Model]) -> _Model:
    a = aggs[i % len(aggs)]
    b = aggs[(i * 7 + 1) % len(aggs)]
    name = f"win_{i}"
    view = i % 5 == 4
    head = "{{ config(materialized='view') }}\n" if view else ""
    b_ref = f"{{{{ ref('{b.name}') }}}}"
    sql = (f"{head}select a.user_id, a.feature_ts,\n"
           f"       a.{a.main_col} / nullif(b.{b.main_col}, 0) as ratio,\n"
           f"       a.{a.main_col} - lag(a.{a.main_col}) over (partition by a.user_id "
           f"order by a.feature_ts) as delta,\n"
           f"       row_number() over (partition by a.user_id order by a.feature_ts) as seq\n"
           f"from {{{{ ref('{a.name}') }}}} a\n"
           f"left join {b_ref} b on a.user_id = b.user_id and a.feature_ts = b.feature_ts\n")
    parents = [a.name] if a.name == b.name else [a.name, b.name]
    if a.name == b.name:
        sql = sql.replace(b_ref, f"{{{{ ref('{a.name}') }}}}")
    cols = [("user_id", None, "The user."), ("ratio", "DOUBLE" if i % 4 == 0 else None,
                                             f"{a.main_col} of {a.name} over {b.name}.")]
    return _Model(name, "windows", sql, _yml(name, f"Window features over {a.name}.", cols,
                                             ["nightly"] if i % 7 == 0 else []),
                  "ratio", parents)


def _join_sql(parents: list[_Model], out_cols: str, head: str) -> str:
    p0 = parents[0]
    lines = [f"{head}select p0.user_id, {out_cols}"]
    lines.append(f"from {{{{ ref('{p0.name}') }}}} p0")
    for j, p in enumerate(parents[1:], start=1):
        lines.append(f"left join {{{{ ref('{p.name}') }}}} p{j} "
                     f"on p0.user_id = p{j}.user_id and p0.feature_ts = p{j}.feature_ts")
    return "\n".join(lines) + "\n"


def _pick(pool: list[_Model], start: int, step: int, k: int) -> list[_Model]:
    out: list[_Model] = []
    j = start
    while len(out) < min(k, len(pool)):
        m = pool[j % len(pool)]
        if m not in out:
            out.append(m)
        j += step
    return out


def _fs(i: int, wins: list[_Model], aggs: list[_Model]) -> _Model:
    k = 2 + i % 5  # 2..6 parents
    first = wins[i % len(wins)]
    rest = _pick(wins + aggs, i * 13 + 5, 11, k)
    parents = [first] + [p for p in rest if p is not first][: k - 1]
    feats = ",\n       ".join(f"p{j}.{p.main_col} as f{j}" for j, p in enumerate(parents))
    head = ("{{ config(materialized='feature_set', entities=['user'], timestamp='feature_ts', "
            "ttl='30d') }}\n")
    sql = _join_sql(parents, f"cast(p0.feature_ts as timestamp) as feature_ts,\n       {feats}",
                    head)
    name = f"fs_{i}"
    cols = [("user_id", "BIGINT" if i % 2 == 0 else None, "Entity key."),
            ("feature_ts", "TIMESTAMP" if i % 2 == 1 else None, "Event time of the features."),
            ("f0", None, f"{parents[0].main_col} from {parents[0].name}.")]
    return _Model(name, "features", sql, _yml(name, f"Feature set {i} ({k} inputs).", cols,
                                              ["feature"]), "f0", [p.name for p in parents])


def _fx(i: int, fss: list[_Model]) -> _Model:
    parents = _pick(fss, i, 3, 2)
    if len(parents) == 2:
        expr = "p0.f0 + coalesce(p1.f0, 0) as combo, p0.f1 * 2 as f1x2"
    else:
        expr = "p0.f0 * 2 as combo, p0.f1 * 2 as f1x2"
    sql = _join_sql(parents, f"p0.feature_ts,\n       {expr}", "")
    name = f"fx_{i}"
    cols = [("user_id", None, "The user."), ("combo", None, "Combined feature.")]
    return _Model(name, "derived", sql, _yml(name, f"Derived features {i}.", cols, []),
                  "combo", [p.name for p in parents])


def _training(fxs: list[_Model]) -> _Model:
    step = max(1, len(fxs) // 6)
    parents = [fxs[j] for j in range(0, len(fxs), step)][:6]
    feats = ",\n       ".join(f"p{j}.combo as c{j}" for j in range(len(parents)))
    sql = _join_sql(parents, f"p0.feature_ts,\n       {feats}", "")
    cols = [("user_id", "BIGINT", "The user."), ("c0", None, "First combined feature.")]
    return _Model("training", "training", sql,
                  _yml("training", "The training table.", cols, ["training"]), "c0",
                  [p.name for p in parents])


def models_for(n_models: int) -> list[_Model]:
    """Every model of an ``n_models`` project, in layer order."""
    lay = layout(n_models)
    stg = [_stg(i) for i in range(lay.counts["stg"])]
    daily = [_daily(i, [m.name for m in stg]) for i in range(lay.counts["daily"])]
    aggs = [_agg(i, [m.name for m in daily]) for i in range(lay.counts["agg"])]
    wins = [_win(i, aggs) for i in range(lay.counts["win"])]
    fss = [_fs(i, wins, aggs) for i in range(lay.counts["fs"])]
    fxs = [_fx(i, fss) for i in range(lay.counts["fx"])]
    return stg + daily + aggs + wins + fss + fxs + [_training(fxs)]


PROJECT_YML = """name: bench_core
description: Synthetic feature project for the core benchmark.
profile:
  database: warehouse.duckdb
vars:
  min_amount: 0
models:
  materialized: table
  staging:
    materialized: view
"""

ENTITIES_YML = """entities:
  - name: user
    description: A card holder.
    join_keys:
      - name: user_id
        type: BIGINT
"""

SOURCES_YML = """sources:
  - name: raw
    description: Synthetic card events.
    tables:
      - name: events
        path: data/events.parquet
        description: One row per card event.
"""

MACRO = "{% macro dollars(col) %}({{ col }} * 1.0){% endmacro %}\n"


def generate(out: str | Path, n_models: int, n_events: int, *,
             overwrite: bool = True) -> dict[str, int]:
    """Write the project to ``out``; returns the model count per layer."""
    root = Path(out)
    if root.exists() and overwrite:
        shutil.rmtree(root)
    (root / "macros").mkdir(parents=True)
    (root / "fsql_project.yml").write_text(PROJECT_YML, encoding="utf-8")
    (root / "entities.yml").write_text(ENTITIES_YML, encoding="utf-8")
    (root / "sources.yml").write_text(SOURCES_YML, encoding="utf-8")
    (root / "macros" / "money.sql").write_text(MACRO, encoding="utf-8")
    for m in models_for(n_models):
        folder = root / "models" / m.folder
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{m.name}.sql").write_text(m.sql, encoding="utf-8")
        (folder / f"{m.name}.yml").write_text(m.yml, encoding="utf-8")
    write_events(root / "data" / "events.parquet", n_events)
    return layout(n_models).counts


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("out")
    ap.add_argument("--models", type=int, default=1000)
    ap.add_argument("--events", type=float, default=1e5)
    args = ap.parse_args()
    counts = generate(args.out, args.models, int(args.events))
    print(f"wrote {sum(counts.values())} models {counts} to {args.out}")


if __name__ == "__main__":
    main()
