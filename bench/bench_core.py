"""Core benchmark (issue 3): fsql load/compile/build/no-op/edit vs the raw-DuckDB floor.

Usage::

    .venv/bin/python bench/bench_core.py                   # N=1000,E=1e5 and N=100,E=1e7
    .venv/bin/python bench/bench_core.py --sizes small     # N=100,E=1e4, quick
    .venv/bin/python bench/bench_core.py --sizes 300x1e5 --reps 3 --profile bench/out/prof
    .venv/bin/python bench/bench_core.py floor PROJECT DB  # the floor runner alone

Every measurement is a fresh subprocess (interpreter startup included on both sides), timed by
wall clock in this process; CPU time (user+sys) and peak RSS come from ``os.wait4`` of that
child. **The floor** = ``python bench_core.py floor``: import duckdb, read
``target/manifest.json`` (written by ``fsql compile``), open a fresh DuckDB file, create the
source views (``read_parquet``), then execute every model's compiled SQL once, in the manifest's
topological order, on one connection: ``CREATE VIEW`` for views, ``CREATE TABLE AS`` otherwise.
It does NOT load YAML, render Jinja, parse SQL, plan, version, validate or write state — that is
exactly fsql's overhead.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
FSQL = [str(REPO / ".venv" / "bin" / "fsql")]
PY = str(REPO / ".venv" / "bin" / "python")
SIZES = {"small": [(100, 10_000)], "full": [(1000, 100_000), (100, 10_000_000)]}
TARGETS = {"help": 0.3, "compile_cold": 2.0, "compile_warm": 0.5, "noop": 1.0,
           "build_ratio": 1.1, "rss_ratio": 1.2}
EDIT_MODEL = "stg_0"

sys.path.insert(0, str(HERE))


# -- the floor -------------------------------------------------------------------------------
def floor(project: Path, db: Path) -> None:
    """Execute the compiled SQL of ``project`` with raw DuckDB into the fresh file ``db``."""
    import duckdb

    man = json.loads((project / "target" / "manifest.json").read_text(encoding="utf-8"))
    con = duckdb.connect(str(db))
    for s in sorted(man["sources"].values(), key=lambda s: (s["source"], s["name"])):
        path = str((project / s["path"]).resolve()).replace("'", "''")
        reader = "read_parquet" if s["path"].endswith(".parquet") else "read_csv"
        con.execute(f'create schema if not exists "{s["source"]}"')
        con.execute(f'create view "{s["source"]}"."{s["name"]}" as '
                    f"select * from {reader}('{path}')")
    for name in man["order"]:
        node = man["nodes"][name]
        if node["materialized"] == "ephemeral":
            continue
        kind = "view" if node["materialized"] == "view" else "table"
        con.execute(f'create {kind} "main"."{name}" as\n{node["compiled_sql"]}')
    con.close()


def relations(db: Path, names: list[str]) -> dict[str, tuple[int, tuple[str, ...]]]:
    """{model: (row count, column names)} of ``"main"."<model>"`` in ``db`` (read-only)."""
    import duckdb

    con = duckdb.connect(str(db), read_only=True)
    try:
        out = {}
        for n in names:
            cur = con.execute(f'select * from "main"."{n}" limit 0')
            cols = tuple(d[0] for d in cur.description)
            rows = con.execute(f'select count(*) from "main"."{n}"').fetchone()[0]
            out[n] = (int(rows), cols)
        return out
    finally:
        con.close()


# -- measuring -------------------------------------------------------------------------------
@dataclass(frozen=True)
class Meas:
    """One subprocess: wall seconds, CPU seconds (user+sys), peak RSS in MiB."""

    wall: float
    cpu: float
    rss_mb: float
    rc: int
    out: str


def bench_env() -> dict[str, str]:
    """The children's environment: byte-code caching ON (as after ``pip install``), kept out
    of the repository with PYTHONPYCACHEPREFIX (this sandbox sets PYTHONDONTWRITEBYTECODE=1,
    which would make every fsql start recompile fsql/*.py)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env.setdefault("PYTHONPYCACHEPREFIX", str(Path(tempfile.gettempdir()) / "fsql_bench_pyc"))
    return env


def measure(cmd: list[str], cwd: Path | None = None, check: bool = True) -> Meas:
    """Run ``cmd`` in a fresh process; its own rusage comes from ``os.wait4``."""
    with tempfile.TemporaryFile() as buf:
        t0 = time.perf_counter()
        p = subprocess.Popen(cmd, cwd=cwd, stdout=buf, stderr=subprocess.STDOUT,
                             env=bench_env())
        _, status, ru = os.wait4(p.pid, 0)
        wall = time.perf_counter() - t0
        p.returncode = os.waitstatus_to_exitcode(status)
        buf.seek(0)
        out = buf.read().decode("utf-8", "replace")
    if check and p.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited {p.returncode}:\n{out[-3000:]}")
    return Meas(wall, ru.ru_utime + ru.ru_stime, ru.ru_maxrss / 1024, p.returncode, out)


def fsql(project: Path, *args: str) -> list[str]:
    return FSQL + ["--project-dir", str(project), "-q", *args]


def floor_cmd(project: Path, db: Path) -> list[str]:
    return [PY, str(Path(__file__).resolve()), "floor", str(project), str(db)]


def fresh_db(project: Path, name: str = "warehouse.duckdb") -> Path:
    db = project / name
    for p in project.glob(name + "*"):
        p.unlink()
    return db


def med(ms: list[Meas], attr: str = "wall") -> float:
    return statistics.median(getattr(m, attr) for m in ms)


# -- graph helpers ---------------------------------------------------------------------------
def manifest(project: Path) -> dict[str, Any]:
    return json.loads((project / "target" / "manifest.json").read_text(encoding="utf-8"))


def descendants(man: dict[str, Any], model: str) -> set[str]:
    """Every model downstream of ``model`` in the manifest's graph."""
    children: dict[str, list[str]] = {}
    for name, node in man["nodes"].items():
        for d in node["depends_on"]:
            children.setdefault(d, []).append(name)
    seen: set[str] = set()
    todo = [model]
    while todo:
        for c in children.get(todo.pop(), []):
            if c not in seen:
                seen.add(c)
                todo.append(c)
    return seen


def rebuilt(project: Path) -> set[str]:
    """Models the last run built (any status but unchanged), from target/run_results.json."""
    res = json.loads((project / "target" / "run_results.json").read_text(encoding="utf-8"))
    return {r["model"] for r in res["results"] if r["status"] != "unchanged"}


def model_file(project: Path, name: str) -> Path:
    return next((project / "models").rglob(f"{name}.sql"))


# -- one size --------------------------------------------------------------------------------
@dataclass
class SizeResult:
    n_models: int
    n_events: int
    reps: int
    build_reps: int
    m: dict[str, list[Meas]] = field(default_factory=dict)
    same_tables: bool = False
    table_diff: str = ""
    edit_rebuilt: list[int] = field(default_factory=list)
    edit_expected: int = 0
    edit_exact: bool = False
    ws_rebuilt: list[int] = field(default_factory=list)
    noop_rebuilt: list[int] = field(default_factory=list)
    gen_s: float = 0.0


def run_size(root: Path, n_models: int, n_events: int, *, reps: int = 3,
             build_reps: int | None = None, log: Any = print,
             compile_phase: bool = True) -> SizeResult:
    """Generate a project under ``root`` and measure every phase; see the module docstring.

    ``compile_phase=False`` skips the cold/warm compile timings (the smoke test's quick mode).
    """
    from gen_project import generate

    build_reps = reps if build_reps is None else build_reps
    proj = root / f"p{n_models}_e{n_events}"
    t0 = time.perf_counter()
    generate(proj, n_models, n_events)
    res = SizeResult(n_models, n_events, reps, build_reps, gen_s=time.perf_counter() - t0)
    log(f"[N={n_models} E={n_events:.0e}] generated in {res.gen_s:.1f}s; compiling")
    m = res.m
    for _ in range(reps if compile_phase else 0):
        shutil.rmtree(proj / "target", ignore_errors=True)
        m.setdefault("compile_cold", []).append(measure(fsql(proj, "compile")))
        m.setdefault("compile_warm", []).append(measure(fsql(proj, "compile")))
        c, w = m["compile_cold"][-1], m["compile_warm"][-1]
        log(f"  compile cold {c.wall:.2f}s (cpu {c.cpu:.2f}) warm {w.wall:.2f}s (cpu {w.cpu:.2f})")
    floor_db = proj / "floor.duckdb"
    for _ in range(build_reps):
        fresh_db(proj)
        m.setdefault("build", []).append(measure(fsql(proj, "run")))  # also writes the manifest
        m.setdefault("floor", []).append(measure(floor_cmd(proj, fresh_db(proj, "floor.duckdb"))))
        b, f = m["build"][-1], m["floor"][-1]
        log(f"  build fsql {b.wall:.2f}s (cpu {b.cpu:.2f}, rss {b.rss_mb:.0f} MiB) "
            f"floor {f.wall:.2f}s (cpu {f.cpu:.2f}, rss {f.rss_mb:.0f} MiB)")
    for _ in range(build_reps):  # the same build without per-version statistics
        with _statistics_off(proj):
            fresh_db(proj)
            m.setdefault("build_nostats", []).append(measure(fsql(proj, "run")))
        log(f"  build fsql, statistics off {m['build_nostats'][-1].wall:.2f}s")
    fresh_db(proj)
    measure(fsql(proj, "run"))  # the default build again: the state the phases below expect
    names = [n for n in manifest(proj)["order"]
             if manifest(proj)["nodes"][n]["materialized"] != "ephemeral"]
    a, b = relations(proj / "warehouse.duckdb", names), relations(floor_db, names)
    res.same_tables = a == b
    if not res.same_tables:
        res.table_diff = "; ".join(f"{n}: fsql {a.get(n)} floor {b.get(n)}" for n in names
                                   if a.get(n) != b.get(n))[:2000]
    for _ in range(reps):
        m.setdefault("noop", []).append(measure(fsql(proj, "run")))
        res.noop_rebuilt.append(len(rebuilt(proj)))  # != 0 also if fsql/ changed meanwhile
    _edits(proj, res, reps)
    log(f"  no-op {med(m['noop']):.2f}s edit {med(m['edit']):.2f}s "
        f"(rebuilt {res.edit_rebuilt}, expected {res.edit_expected})")
    return res


def _edits(proj: Path, res: SizeResult, reps: int) -> None:
    path = model_file(proj, EDIT_MODEL)
    man = manifest(proj)
    expected = descendants(man, EDIT_MODEL) | {EDIT_MODEL}
    expected = {n for n in expected if man["nodes"][n]["materialized"] != "ephemeral"}
    res.edit_expected = len(expected)
    exact = True
    for r in range(reps):
        text = path.read_text(encoding="utf-8")
        path.write_text(text.replace("select ", f"select {r + 1} as bench_edit_{r}, ", 1),
                        encoding="utf-8")
        res.m.setdefault("edit", []).append(measure(fsql(proj, "run")))
        got = rebuilt(proj)
        res.edit_rebuilt.append(len(got))
        exact = exact and got == expected
        text = path.read_text(encoding="utf-8")
        path.write_text("-- comment-only edit\n" + text.replace(" ", "  ").replace("\n", "\n\n")
                        + f"\n-- {r}\n", encoding="utf-8")
        res.m.setdefault("ws_edit", []).append(measure(fsql(proj, "run")))
        res.ws_rebuilt.append(len(rebuilt(proj)))
    res.edit_exact = exact


# -- report ----------------------------------------------------------------------------------
def _s(ms: list[Meas]) -> str:
    return f"{med(ms):.2f} s (cpu {med(ms, 'cpu'):.2f})"


def _ok(good: bool) -> str:
    return "yes" if good else "**NO**"


@contextlib.contextmanager
def _statistics_off(proj: Path) -> Iterator[None]:
    """``statistics: false`` for every model (project-level default) while inside."""
    cfg = proj / "fsql_project.yml"
    text = cfg.read_text()
    cfg.write_text(text.replace("models:\n", "models:\n  statistics: false\n", 1))
    try:
        yield
    finally:
        cfg.write_text(text)


def table(help_ms: list[Meas], results: list[SizeResult]) -> str:
    """The markdown results table."""
    rows = ["| size | measurement | fsql | floor | fsql/floor | target | met |",
            "|---|---|---|---|---|---|---|"]
    if help_ms:
        h = med(help_ms)
        rows.append(f"| - | `fsql --help` (median of {len(help_ms)}) | {_s(help_ms)} | | | "
                    f"< {TARGETS['help']} s | {_ok(h < TARGETS['help'])} |")
    for r in results:
        m, size = r.m, f"N={r.n_models}, E={r.n_events:.0e}"
        noop = med(m["noop"])
        b, f = med(m["build"]), med(m["floor"])
        rb, rf = med(m["build"], "rss_mb"), med(m["floor"], "rss_mb")
        cold_t = TARGETS["compile_cold"] * max(1, r.n_models / 1000)
        warm_t = TARGETS["compile_warm"] * max(1, r.n_models / 1000)
        if "compile_cold" in m:
            cold, warm = med(m["compile_cold"]), med(m["compile_warm"])
            rows += [
                f"| {size} | load+compile cold, no target/ (n={len(m['compile_cold'])}) | "
                f"{_s(m['compile_cold'])} | | | "
                f"<= {cold_t:g} s | {_ok(cold <= cold_t)} |",
                f"| {size} | load+compile warm | {_s(m['compile_warm'])} | | | "
                f"<= {warm_t:g} s | {_ok(warm <= warm_t)} |"]
        rows += [
            f"| {size} | build from empty DB (n={r.build_reps}) | {_s(m['build'])} | "
            f"{_s(m['floor'])} | {b / f:.2f}x | <= {TARGETS['build_ratio']}x | "
            f"{_ok(b / f <= TARGETS['build_ratio'])} |",
            f"| {size} | build from empty DB, `statistics: false` (n={r.build_reps}) | "
            f"{_s(m['build_nostats'])} | {_s(m['floor'])} | {med(m['build_nostats']) / f:.2f}x "
            f"| <= {TARGETS['build_ratio']}x | "
            f"{_ok(med(m['build_nostats']) / f <= TARGETS['build_ratio'])} |",
            f"| {size} | peak RSS of the build | {rb:.0f} MiB | {rf:.0f} MiB | {rb / rf:.2f}x | "
            f"<= {TARGETS['rss_ratio']}x | {_ok(rb / rf <= TARGETS['rss_ratio'])} |",
            f"| {size} | same tables, columns and row counts as floor | "
            f"{'yes' if r.same_tables else 'NO: ' + r.table_diff} | | | equal | "
            f"{_ok(r.same_tables)} |",
            f"| {size} | no-op run (n={len(m['noop'])}) | {_s(m['noop'])}; rebuilt "
            f"{sorted(set(r.noop_rebuilt))} | | | <= {TARGETS['noop']} s, 0 rebuilt | "
            f"{_ok(noop <= TARGETS['noop'] and not any(r.noop_rebuilt))} |",
            f"| {size} | edit `{EDIT_MODEL}` (+1 constant column) then run | {_s(m['edit'])}; "
            f"rebuilt {sorted(set(r.edit_rebuilt))} | | | = 1 + descendants = "
            f"{r.edit_expected} | {_ok(r.edit_exact)} |",
            f"| {size} | whitespace/comment-only edit then run | {_s(m['ws_edit'])}; rebuilt "
            f"{sorted(set(r.ws_rebuilt))} | | | 0 rebuilt | "
            f"{_ok(not any(r.ws_rebuilt))} |",
        ]
    return "\n".join(rows)


# -- profiles --------------------------------------------------------------------------------
def profile(root: Path, n_models: int, n_events: int, out: Path, top: int = 15) -> str:
    """cProfile of compile cold/warm, build and no-op (main thread) + ``-X importtime``."""
    import pstats

    from gen_project import generate

    out.mkdir(parents=True, exist_ok=True)
    proj = root / f"prof{n_models}_e{n_events}"
    generate(proj, n_models, n_events)
    text = []
    steps = [("compile_cold", ["compile"]), ("compile_warm", ["compile"]),
             ("build", ["run", "--threads", "1"]), ("noop", ["run"])]
    for label, args in steps:
        prof = out / f"{label}.prof"
        measure([PY, "-m", "cProfile", "-o", str(prof), FSQL[0], "--project-dir", str(proj),
                 "-q", *args])
        for key in ("cumulative", "tottime"):
            buf = _pstats_text(pstats, prof, key, top)
            text.append(f"### {label} (N={n_models}, E={n_events:.0e}) by {key}\n```\n{buf}```")
    imp = measure([PY, "-X", "importtime", "-c", "import fsql.cli"]).out
    rows = sorted((ln for ln in imp.splitlines() if "|" in ln and "cumulative" not in ln),
                  key=lambda ln: -int(ln.split("|")[1]))[:top]
    text.append("### `python -X importtime -c 'import fsql.cli'` (top cumulative, us)\n```\n"
                + "\n".join(rows) + "\n```")
    return "\n\n".join(text)


def _pstats_text(pstats: Any, prof: Path, key: str, top: int) -> str:
    import io

    s = io.StringIO()
    st = pstats.Stats(str(prof), stream=s)
    st.strip_dirs().sort_stats(key).print_stats(top)
    body = s.getvalue()
    return body[body.find("   ncalls"):] if "   ncalls" in body else body


# -- main ------------------------------------------------------------------------------------
def parse_sizes(spec: str) -> list[tuple[int, int]]:
    if spec in SIZES:
        return SIZES[spec]
    out = []
    for part in spec.split(","):
        n, e = part.lower().split("x")
        out.append((int(n), int(float(e))))
    return out


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["floor"]:
        floor(Path(argv[1]), Path(argv[2]))
        return
    ap = argparse.ArgumentParser(description="fsql core benchmark (issue 3) vs raw DuckDB")
    ap.add_argument("--sizes", default="full",
                    help="small | full | comma list of NxE, e.g. 1000x1e5,100x1e7")
    ap.add_argument("--reps", type=int, default=3, help="repetitions (medians are reported)")
    ap.add_argument("--build-reps", type=int, default=None,
                    help="build repetitions (fsql and floor; default: --reps)")
    ap.add_argument("--big-reps", type=int, default=1,
                    help="repetitions of every phase when E >= 1e7 (a build can take minutes)")
    ap.add_argument("--workdir", default=None, help="where projects go (default: a temp dir)")
    ap.add_argument("--profile", default=None, metavar="DIR",
                    help="also write cProfile/importtime attribution for the first size")
    ap.add_argument("--keep", action="store_true", help="keep the generated projects")
    args = ap.parse_args(argv)
    root = Path(args.workdir or tempfile.mkdtemp(prefix="fsql_bench_core_"))
    root.mkdir(parents=True, exist_ok=True)
    sizes = parse_sizes(args.sizes)
    load = os.getloadavg()
    measure(FSQL + ["--help"])  # warm-up: writes the byte-code cache
    help_ms = [measure(FSQL + ["--help"]) for _ in range(5)]
    results = []
    for n, e in sizes:
        big = e >= 10_000_000
        reps = args.big_reps if big else args.reps
        br = args.big_reps if big else (args.build_reps or args.reps)
        results.append(run_size(root, n, e, reps=reps, build_reps=br,
                                log=lambda s: print(s, file=sys.stderr, flush=True)))
    end = os.getloadavg()
    print(f"\nfsql core benchmark — {time.strftime('%Y-%m-%d %H:%M')}, {os.cpu_count()} cores, "
          f"load avg {load[0]:.1f} at start, {end[0]:.1f} at end; medians of n runs "
          f"(n={args.reps}, builds n={args.build_reps or args.reps}, E>=1e7 n={args.big_reps}); "
          f"wall clock (cpu = user+sys of that process)\n")
    print(table(help_ms, results))
    if args.profile:
        n, e = sizes[0]
        print("\n" + profile(root, n, e, Path(args.profile)))
    if not args.keep and args.workdir is None:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
