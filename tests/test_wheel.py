"""The wheel ships what a user needs: built from this checkout, installed into a fresh virtual
environment (which cannot see the checkout), ``fsql init`` + ``fsql run`` work from it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO

TEMPLATE = REPO / "fsql" / "project_template"


def _run(args: list[str | Path], cwd: Path, timeout: float = 600) -> str:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    res = subprocess.run([str(a) for a in args], cwd=cwd, env={**env, "NO_COLOR": "1"},
                         capture_output=True, text=True, timeout=timeout)
    assert res.returncode == 0, f"{args}:\n{res.stdout}\n{res.stderr}"
    return res.stdout


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_wheel_installs_and_runs_the_sample_project(tmp_path: Path) -> None:
    _run([sys.executable, "-m", "pip", "wheel", REPO, "-w", tmp_path / "whl", "--no-deps",
          "-q"], cwd=tmp_path)
    [wheel] = (tmp_path / "whl").glob("fsql-*.whl")
    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", venv], cwd=tmp_path)
    _run([venv / "bin" / "pip", "install", "-q", wheel], cwd=tmp_path)
    where = _run([venv / "bin" / "python", "-c", "import fsql; print(fsql.__file__)"],
                 cwd=tmp_path)
    assert where.strip().startswith(str(venv)), where  # the wheel's fsql, not the checkout's

    _run([venv / "bin" / "fsql", "init", "demo"], cwd=tmp_path)
    out = _run([venv / "bin" / "fsql", "--project-dir", "demo", "run"], cwd=tmp_path)
    features = {p.stem for p in (TEMPLATE / "models" / "features").glob("*.sql")}
    statuses = {line.split()[1]: line.split()[0] for line in out.splitlines()
                if line.split() and line.split()[0].isupper() and len(line.split()) > 2}
    assert features and features <= set(statuses), out  # every feature set was built ...
    assert set(statuses.values()) == {"SUCCESS"}, out  # ... and nothing failed
    shipped = sorted(str(p.relative_to(TEMPLATE)) for p in TEMPLATE.rglob("*")
                     if p.is_file() and "__pycache__" not in p.parts)
    copied = sorted(str(p.relative_to(tmp_path / "demo"))
                    for p in (tmp_path / "demo").rglob("*") if p.is_file())
    assert set(shipped) <= set(copied), sorted(set(shipped) - set(copied))
