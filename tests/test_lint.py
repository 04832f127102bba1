"""ruff and mypy stay clean on fsql/ (the project's own code-quality gate)."""

from __future__ import annotations

import subprocess
import sys

from conftest import REPO


def test_ruff_clean():
    res = subprocess.run([sys.executable, "-m", "ruff", "check", "fsql"], cwd=REPO,
                         capture_output=True, text=True)
    assert res.returncode == 0, res.stdout + res.stderr


def test_mypy_clean():
    res = subprocess.run([sys.executable, "-m", "mypy", "fsql"], cwd=REPO, capture_output=True,
                         text=True, timeout=600)
    assert res.returncode == 0, res.stdout + res.stderr
