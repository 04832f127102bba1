"""Golden-file corpus of bad projects: every user-facing error, exactly as a user sees it.

Each folder in ``tests/error_cases/`` is one case, a change to the shared valid project
``tests/error_cases/_base/``:

* the project files the case changes or adds (``models/...``, ``fsql_project.yml``, ...) —
  overlaid on a temp copy of ``_base/``;
* optional ``deleted`` — paths of ``_base/`` files the case removes, one a line;
* ``cmd`` — the CLI arguments after ``--project-dir <tmp>`` (shell-quoted, e.g. ``run``);
* ``expected.txt`` — the golden stderr (temp path -> ``<PROJECT>``, run ids and timings masked);
* ``exit_code`` — the expected exit code;
* optional ``before/`` — files overlaid on the project for a first ``run`` that must succeed;
  the case's project is then restored and ``cmd`` runs (a change that breaks a live model);
* optional ``after`` + ``after_expected.txt`` — a command run last, its normalized stdout
  compared (e.g. ``ls`` to prove the previous version stayed live).

``UPDATE_GOLDEN=1 pytest tests/test_errors_golden.py`` rewrites the golden files.

Every command is its own process running ``fsql.cli.main`` exactly like ``python -m fsql``. To keep
the corpus fast, the processes are forked from one helper interpreter that imported fsql (and
duckdb, sqlglot, jinja2) once, instead of paying ~1 s of imports per command; cases run in
parallel threads. ``FSQL_GOLDEN_FORK=0`` runs plain ``python -m fsql`` subprocesses instead.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

CASES_DIR = Path(__file__).resolve().parent / "error_cases"
BASE = CASES_DIR / "_base"
META = {"cmd", "expected.txt", "exit_code", "before", "after", "after_expected.txt", "deleted"}
UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"
USE_FORK = hasattr(os, "fork") and os.environ.get("FSQL_GOLDEN_FORK", "1") != "0"
CASES = sorted(p.name for p in CASES_DIR.iterdir()
               if p.is_dir() and not p.name.startswith((".", "_")))
ENV = {**os.environ, "NO_COLOR": "1", "COLUMNS": "200", "TERM": "dumb"}
ENV.pop("FSQL_PROJECT_DIR", None)
ENV.pop("FSQL_GOLDEN_SURELY_UNSET", None)
_RUN_ID = re.compile(r"\b\d{8}T\d{6}-[0-9a-f]{6}\b")
_SECONDS = re.compile(r"\b\d+\.\d+s\b")
_TRACEBACK = "Traceback (most recent call last)"


@dataclass(frozen=True)
class Outcome:
    """What one case produced (already normalized)."""

    stderr: str
    exit_code: int
    after_stdout: str | None = None
    setup_error: str | None = None


def _overlay(src: Path, dest: Path) -> None:
    for item in src.iterdir():
        if item.name in META:
            continue
        target = dest / item.name
        if item.is_dir():
            shutil.copytree(item, target, dirs_exist_ok=True)
        else:
            shutil.copy2(item, target)


def _write_project(case: Path, dest: Path) -> None:
    """The case's project in ``dest``: ``_base/``, the case's files over it, minus ``deleted``."""
    _overlay(BASE, dest)
    _overlay(case, dest)
    deleted = case / "deleted"
    for rel in deleted.read_text(encoding="utf-8").split() if deleted.is_file() else ():
        (dest / rel).unlink()


# The helper interpreter: imports everything once, then forks one child per request. A child
# runs the CLI with stdout/stderr redirected to files and answers {"id", "rc"} on its own line
# (short writes to a pipe are atomic, so answers of concurrent children never interleave).
_SERVER = r"""
import json, os, signal, sys, traceback
import duckdb, jinja2, pydantic, rich.console, rich.table, sqlglot, yaml
import sqlglot.lineage, sqlglot.optimizer.qualify
import fsql.api, fsql.cli, fsql.manifest, fsql.report
answers = os.dup(1)
signal.signal(signal.SIGCHLD, signal.SIG_IGN)

def child(req):
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    os.chdir(req["cwd"])
    os.environ.clear()
    os.environ.update(req["env"])
    for fd, name in ((1, "stdout"), (2, "stderr")):
        os.dup2(os.open(req[name], os.O_WRONLY | os.O_CREAT | os.O_TRUNC), fd)
    rc = 0
    try:
        fsql.cli.main(req["args"])
    except SystemExit as e:
        if isinstance(e.code, str):
            print(e.code, file=sys.stderr)
        rc = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
    except BaseException:
        traceback.print_exc()
        rc = 1
    sys.stdout.flush()
    sys.stderr.flush()
    return rc

for line in sys.stdin:
    req = json.loads(line)
    if os.fork() == 0:
        rc = 1
        try:
            rc = child(req)
        finally:
            os.write(answers, (json.dumps({"id": req["id"], "rc": rc})
                               + "\n").encode())
            os._exit(0)
"""


class _ForkServer:
    """Runs fsql commands in processes forked from a warm interpreter (see ``_SERVER``)."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.proc = subprocess.Popen([sys.executable, "-c", _SERVER], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True, env=ENV)
        self.lock = threading.Lock()
        self.pending: dict[int, Future[int]] = {}
        self.next_id = 0
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            msg = json.loads(line)
            with self.lock:
                fut = self.pending.pop(msg["id"])
            fut.set_result(int(msg["rc"]))
        with self.lock:
            for fut in self.pending.values():
                fut.set_exception(RuntimeError("the fork server died"))
            self.pending.clear()

    def run(self, project: Path, args: list[str]) -> subprocess.CompletedProcess[str]:
        fut: Future[int] = Future()
        with self.lock:
            rid = self.next_id = self.next_id + 1
            self.pending[rid] = fut
        out, err = self.workdir / f"{rid}.out", self.workdir / f"{rid}.err"
        req = {"id": rid, "cwd": str(project), "env": ENV, "stdout": str(out),
               "stderr": str(err), "args": ["--project-dir", str(project), *args]}
        with self.lock:
            assert self.proc.stdin is not None
            self.proc.stdin.write(json.dumps(req) + "\n")
            self.proc.stdin.flush()
        rc = fut.result(timeout=120)
        return subprocess.CompletedProcess(args, rc, out.read_text(encoding="utf-8"),
                                           err.read_text(encoding="utf-8"))

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self.proc.wait(timeout=30)


_server: _ForkServer | None = None


def _fsql(project: Path, args: list[str]) -> subprocess.CompletedProcess[str]:
    if _server is not None:
        return _server.run(project, args)
    return subprocess.run([sys.executable, "-m", "fsql", "--project-dir", str(project), *args],
                          cwd=project, env=ENV, capture_output=True, text=True, timeout=120)


def normalize(text: str, project: Path) -> str:
    """Mask what differs between runs: the temp folder, run ids, durations."""
    for p in sorted({str(project.resolve()), str(project)}, key=len, reverse=True):
        text = text.replace(p, "<PROJECT>")
    text = _RUN_ID.sub("<RUN_ID>", text)
    text = _SECONDS.sub("<T>s", text)
    return "\n".join(line.rstrip() for line in text.strip("\n").splitlines()) + "\n"


def run_case(name: str, workdir: Path) -> Outcome:
    """Copy case ``name`` to ``workdir`` and run it as the user would."""
    src = CASES_DIR / name
    project = workdir / name
    project.mkdir(parents=True)
    _write_project(src, project)
    if (src / "before").is_dir():
        shutil.copytree(src / "before", project, dirs_exist_ok=True)
        first = _fsql(project, ["run"])
        if first.returncode != 0:
            return Outcome("", -1, setup_error=f"setup `run` failed ({first.returncode}):\n"
                           f"{first.stdout}\n{first.stderr}")
        _write_project(src, project)  # restore the case's (broken) project
    proc = _fsql(project, shlex.split((src / "cmd").read_text(encoding="utf-8")))
    after = None
    if (src / "after").is_file():
        done = _fsql(project, shlex.split((src / "after").read_text(encoding="utf-8")))
        after = normalize(done.stdout + done.stderr, project)
    return Outcome(normalize(proc.stderr, project), proc.returncode, after)


@pytest.fixture(scope="module")
def outcomes(request: pytest.FixtureRequest,
             tmp_path_factory: pytest.TempPathFactory) -> dict[str, Outcome]:
    """Run every selected case once, in parallel threads (each case is one subprocess)."""
    params = [getattr(getattr(item, "callspec", None), "params", {})
              for item in request.session.items
              if getattr(item, "module", None) is request.module]
    wanted = sorted({p["case"] for p in params if "case" in p})
    global _server
    workdir = tmp_path_factory.mktemp("error_cases")
    if USE_FORK:
        (workdir / "_io").mkdir()
        _server = _ForkServer(workdir / "_io")
    try:
        with ThreadPoolExecutor(max_workers=max(4, 2 * (os.cpu_count() or 2))) as pool:
            return dict(pool.map(lambda n: (n, run_case(n, workdir)), wanted))
    finally:
        if _server is not None:
            _server.close()
            _server = None


def _check_or_update(path: Path, actual: str, what: str) -> None:
    if UPDATE:
        path.write_text(actual, encoding="utf-8")
        return
    assert path.is_file(), f"{path} is missing: run with UPDATE_GOLDEN=1 to create it"
    expected = path.read_text(encoding="utf-8")
    assert actual == expected, f"{what} differs from {path}:\n--- actual ---\n{actual}"


def test_corpus_is_big_enough() -> None:
    assert len(CASES) >= 25, CASES


def test_cases_hold_only_what_they_change() -> None:
    """A case's project file identical to ``_base/`` hides what the case breaks: none is."""
    copies = [f"{case}/{rel}" for case in CASES for rel in _project_files(CASES_DIR / case)
              if (BASE / rel).is_file()
              and (BASE / rel).read_bytes() == (CASES_DIR / case / rel).read_bytes()]
    assert copies == []


def _project_files(case: Path) -> list[str]:
    return [str(f.relative_to(case)) for f in case.rglob("*")
            if f.is_file() and f.relative_to(case).parts[0] not in META]


@pytest.mark.parametrize("case", CASES)
def test_error_case(case: str, outcomes: dict[str, Outcome]) -> None:
    out = outcomes[case]
    src = CASES_DIR / case
    assert out.setup_error is None, out.setup_error
    assert out.stderr.strip(), "a failing command must explain itself on stderr"
    assert _TRACEBACK not in out.stderr, "no traceback without --debug"
    _check_or_update(src / "expected.txt", out.stderr, "stderr")
    _check_or_update(src / "exit_code", f"{out.exit_code}\n", "exit code")
    assert out.exit_code != 0, "every case in the corpus is an error"
    if out.after_stdout is not None:
        _check_or_update(src / "after_expected.txt", out.after_stdout, "output of `after`")


def test_normalize_masks_paths_run_ids_and_timings(tmp_path: Path) -> None:
    raw = f"{tmp_path}/x: error\nrun 20261125T150250-8d048a: 1 error in 0.21s  \n"
    assert normalize(raw, tmp_path) == "<PROJECT>/x: error\nrun <RUN_ID>: 1 error in <T>s\n"
